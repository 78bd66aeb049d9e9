package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
)

// fuzzSeeds are inline documents exercising the constructs of the table tests.
var fuzzSeeds = []string{
	detectionRule("        A|contains|all|windash: ['-a', '-b']\n        B|re|i: x\n        C: null\n"),
	detectionRule("        - A: x\n        - k1\n        - B|base64offset|contains: y\n"),
	detectionRule("        '|all':\n            - 'a'\n            - 'b'\n"),
	"title: t\ndetection:\n    selection: {EventID: 4625}\n    timeframe: 10m\n    condition: selection | count(User) by Ip > 10\n",
	"title: t\ndetection:\n    a: {x: 1}\n    b: {y: 2}\n    condition: a | near b and not a\n",
	"title: t\ncorrelation:\n    type: value_count\n    rules: [a, b]\n    group-by: [g]\n    timespan: 1h\n    condition: {field: f, gt: 1}\n    aliases: {ip: {a: s, b: d}}\n",
	"title: t\nfilter:\n    rules: [x]\n    selection: {User|startswith: adm_}\n    condition: selection\n",
	"action: global\ntitle: g\ndetection:\n    condition: sel\n---\ndetection:\n    sel: {a: b}\n---\naction: repeat\ndetection:\n    sel: {a: c}\n",
	"title: t\ndetection:\n    sel: &v {a: b}\n    other: *v\n    condition:\n        - 1 of them and not (sel or other)\n        - all of s*\n",
	"title: t\ndetection:\n    sel: {a: b}\n    condition: |\n        sel and\n        not sel\n",
}

// checkInvariants fails on results that break the model's contract.
func checkInvariants(t *testing.T, rules []*rule.Rule, errs []error) {
	for _, err := range errs {
		var re *rule.Error
		if !errors.As(err, &re) {
			t.Fatalf("error %T %v is not a *rule.Error", err, err)
		}
	}
	for _, r := range rules {
		if len(r.Stages) == 0 {
			t.Fatalf("rule %q without stages", r.Title)
		}
		names := map[string]bool{}
		for i, s := range r.Stages {
			if s.Index != i || s.Predicates == nil {
				t.Fatalf("stage %d: index %d, predicates %v", i, s.Index, s.Predicates)
			}
			names[s.Name] = true
		}
		for _, s := range r.Stages {
			s.Expr.Walk(func(e *rule.Expr) {
				switch e.Op {
				case rule.OpRef:
					if !names[e.Ref] {
						t.Fatalf("ref to unknown stage %q", e.Ref)
					}
				case rule.OpQuantifier:
					if len(e.Refs) == 0 {
						t.Fatalf("quantifier %q resolved to nothing", e.Pattern)
					}
				case rule.OpPredicate:
					if e.Predicate == nil || e.Predicate.Values == nil {
						t.Fatal("predicate without values slice")
					}
				case rule.OpAnd, rule.OpOr:
					if len(e.Args) < 2 {
						t.Fatalf("%s with %d args", e.Op, len(e.Args))
					}
				case rule.OpNot:
					if len(e.Args) != 1 {
						t.Fatalf("not with %d args", len(e.Args))
					}
				}
			})
		}
		_ = r.PositivePredicates()
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, tt := range modifierTests {
		f.Add([]byte(detectionRule("        " + tt.item + "\n")))
	}
	for _, tt := range shapeTests {
		f.Add([]byte(detectionRule(tt.sel)))
	}
	for _, tt := range errorTests {
		f.Add([]byte(tt.src))
	}
	if dir := testcorpora.Find(); dir != "" {
		// A sample of the corpora: every 50th file.
		i := 0
		for _, c := range []string{"sigma", "suzaku-rules", filepath.Join("sigma-spec", "tests")} {
			filepath.WalkDir(filepath.Join(dir, c), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
					if i%50 == 0 {
						if data, err := os.ReadFile(p); err == nil {
							f.Add(data)
						}
					}
					i++
				}
				return nil
			})
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, errs := Parse("fuzz.yml", data)
		checkInvariants(t, rules, errs)
		// The body of a single-document rule is the whole file.
		if len(rules) == 1 && len(splitDocuments(data)) == 1 && !strings.Contains(string(data), "action") && rules[0].Body != string(data) {
			t.Fatalf("body %q, want the file", rules[0].Body)
		}
	})
}

func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"selection", "a and not b", "1 of sel* or all of them", "not (a or b) and c", "any of x*",
		"((a))", "a | count() by b > 3", "near a and not b", "2 of x", "1 of )", "é and )",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := ParseCondition(text)
		if err != nil {
			var ce *ConditionError
			if !errors.As(err, &ce) || ce.Col < 1 || ce.Col > len([]rune(text))+1 {
				t.Fatalf("error %v: want a *ConditionError with a column in 1..%d", err, len([]rune(text))+1)
			}
			return
		}
		// A parsed condition renders and re-parses to the same tree.
		again, err := ParseCondition(condText(e))
		if err != nil || render(again) != render(e) {
			t.Fatalf("%q parsed as %s, written %q, which re-parses as %v (%v)", text, render(e), condText(e), render(again), err)
		}
		if _, err := parseAggregation(text); err != nil {
			var ce *ConditionError
			if !errors.As(err, &ce) {
				t.Fatalf("aggregation error %T", err)
			}
		}
	})
}

func BenchmarkParseCorpus(b *testing.B) {
	dir, files := corpusFiles(b)
	var data [][]byte
	var size int64
	for _, rel := range files {
		d, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
		size += int64(len(d))
	}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		for i, d := range data {
			Parse(files[i], d)
		}
	}
}

// condText writes an expression back as a condition, parenthesising every operator.
func condText(e *rule.Expr) string {
	var parts []string
	for _, a := range e.Args {
		parts = append(parts, condText(a))
	}
	switch e.Op {
	case rule.OpAnd:
		return "(" + strings.Join(parts, " and ") + ")"
	case rule.OpOr:
		return "(" + strings.Join(parts, " or ") + ")"
	case rule.OpNot:
		return "not " + parts[0]
	case rule.OpQuantifier:
		if e.All {
			return "all of " + e.Pattern
		}
		return "1 of " + e.Pattern
	}
	return e.Ref
}
