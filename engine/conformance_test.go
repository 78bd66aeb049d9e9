package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
)

// conformanceCase is one case of testdata/conformance/*.txt: a Sigma rule (its detection; a
// title and log source are added when absent), events one per line, and the 0-based indexes of
// the events it must match. Each case's comment cites the specification.
type conformanceCase struct {
	file, name string
	rule       string
	events     []string
	want       []int
}

func readConformance(t *testing.T) []conformanceCase {
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance cases: %v", err)
	}
	var out []conformanceCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split("\n"+string(data), "\n=== ")[1:] {
			name, body, _ := strings.Cut(block, "\n")
			c := conformanceCase{file: f, name: name}
			section := ""
			var rule []string
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, "--- ") {
					section = strings.TrimPrefix(line, "--- ")
					continue
				}
				switch section {
				case "rule":
					rule = append(rule, line)
				case "events":
					if strings.TrimSpace(line) != "" {
						c.events = append(c.events, line)
					}
				case "matches":
					for _, f := range strings.Fields(line) {
						n, err := strconv.Atoi(f)
						if err != nil {
							t.Fatalf("%s: %s: bad match index %q", f, name, f)
						}
						c.want = append(c.want, n)
					}
				}
			}
			c.rule = strings.Join(rule, "\n")
			if !strings.Contains(c.rule, "title:") {
				c.rule = "title: " + name + "\nlogsource:\n  product: test\n" + c.rule
			}
			if c.want == nil {
				c.want = []int{}
			}
			out = append(out, c)
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	cases := readConformance(t)
	if len(cases) < 50 {
		t.Fatalf("only %d conformance cases", len(cases))
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file)+"/"+c.name, func(t *testing.T) {
			rules, errs := sigma.Parse(c.name+".yml", []byte(c.rule))
			if len(errs) > 0 || len(rules) != 1 {
				t.Fatalf("parse: %v (%d rules)", errs, len(rules))
			}
			p, err := Compile(rules[0])
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			set := NewSet([]*Program{p})
			got := []int{}
			var e Event
			for i, ev := range c.events {
				e.reset([]byte(ev), set.nslots)
				if err := set.scan(&e); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if len(set.Match(&e, nil)) == 1 {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("matches %v, want %v\nrule:\n%s", got, c.want, c.rule)
			}
		})
	}
}
