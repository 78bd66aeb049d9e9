package taxonomy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/taxonomy"
)

var (
	parsedMu sync.Mutex
	parsed   = map[string][]*rule.Rule{}
)

// sigmaRules parses every Sigma rule file under the given corpus directories, once per test
// binary: Annotate is idempotent, so tests can share the rules.
func sigmaRules(t *testing.T, dirs ...string) []*rule.Rule {
	t.Helper()
	parsedMu.Lock()
	defer parsedMu.Unlock()
	key := strings.Join(dirs, ",")
	if rules, ok := parsed[key]; ok {
		return rules
	}
	var out []*rule.Rule
	for _, d := range dirs {
		root := testcorpora.Path(t, d)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".yml") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rules, _ := sigma.Parse(path, data)
			for _, r := range rules {
				r.Source.Path = path
			}
			out = append(out, rules...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	parsed[key] = out
	return out
}

// Every Sigma and Suzaku CloudTrail rule that names an eventName in a positive exact predicate
// gets at least one AWS event with an operation.
func TestCorpusCloudTrail(t *testing.T) {
	rules := sigmaRules(t, "sigma", "suzaku-rules")
	n := 0
	for _, r := range rules {
		if !strings.EqualFold(r.LogSource.Product, "aws") || !strings.EqualFold(r.LogSource.Service, "cloudtrail") || !namesOperation(r) {
			continue
		}
		n++
		taxonomy.Annotate(r)
		ok := false
		for _, e := range r.Events {
			if strings.HasPrefix(e.Provider, "AWS") && e.Event != rule.CatchAll {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s (%s): events %v, want an AWS operation", r.Source.Path, r.Title, r.Events)
		}
	}
	if n < 700 {
		t.Errorf("%d CloudTrail rules name an eventName; the corpora have over 700", n)
	}
}

// Every Sigma rule annotates without panicking; events are well formed, and every Windows rule
// on a log source of the taxonomy has at least one.
func TestCorpusSigma(t *testing.T) {
	windows := 0
	for _, r := range sigmaRules(t, "sigma", "suzaku-rules") {
		taxonomy.Annotate(r)
		for _, e := range r.Events {
			if e.Provider == "" || e.Event == "" {
				t.Errorf("%s: malformed event %+v", r.Source.Path, e)
			}
		}
		if r.Class != rule.ClassDetection || !strings.EqualFold(r.LogSource.Product, "windows") || len(taxonomy.WindowsSources(r.LogSource)) == 0 {
			continue
		}
		windows++
		if len(r.Events) == 0 {
			t.Errorf("%s: Windows rule on %+v has no events", r.Source.Path, r.LogSource)
		}
	}
	if windows < 2500 {
		t.Errorf("%d Windows rules on taxonomy log sources; the corpora have over 2500", windows)
	}
}

func namesOperation(r *rule.Rule) bool {
	for _, p := range r.PositivePredicates() {
		if p.Kind == rule.KindEq && strings.EqualFold(p.Field, "eventName") && !(p.Flags.Wildcard && strings.ContainsAny(strings.Join(p.Values, ""), "*?")) {
			return true
		}
	}
	return false
}

func TestCorpusSeeds(t *testing.T) {
	want := map[string][]rule.Event{
		"8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d": {{Provider: "AWS-iam", Event: "CreateUser"}},
		"2c4d6e8f-0a1b-3c5d-7e9f-1a2b3c4d5e70": {{Provider: "AWS-iam", Event: "CreateAccessKey"}},
	}
	found := 0
	for _, r := range sigmaRules(t, "suzaku-rules") {
		w, ok := want[r.ID]
		if !ok {
			continue
		}
		found++
		taxonomy.Annotate(r)
		if !reflect.DeepEqual(r.Events, w) {
			t.Errorf("%s: events %+v, want %+v", r.Title, r.Events, w)
		}
		for _, s := range r.Stages {
			for _, p := range s.Predicates {
				if p.Canonical != p.Field {
					t.Errorf("%s: %s canonical %q, want CloudTrail's own name", r.Title, p.Field, p.Canonical)
				}
			}
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the %d seed rules", found, len(want))
	}
}

// BenchmarkAnnotate annotates every Sigma and Suzaku rule; bytes are the rules' source text.
func BenchmarkAnnotate(b *testing.B) {
	var rules []*rule.Rule
	var size int64
	for _, d := range []string{"sigma", "suzaku-rules"} {
		root := testcorpora.Path(b, d)
		filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".yml") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rs, _ := sigma.Parse(path, data)
			rules = append(rules, rs...)
			size += int64(len(data))
			return nil
		})
	}
	b.SetBytes(size)
	for b.Loop() {
		for _, r := range rules {
			taxonomy.Annotate(r)
		}
	}
}
