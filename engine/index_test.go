package engine

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
)

// TestIndexKeepsEveryMatch evaluates every program on every event, without the index, and
// checks the index offers each program that matches: it may offer more, never fewer. The
// programs are every CloudTrail and Windows rule of the corpora, the events CloudTrail sample
// records and Windows events of every kind.
func TestIndexKeepsEveryMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates thousands of rules on every event")
	}
	dir := testcorpora.Dir(t)
	win, _, err := LoadRules([]string{filepath.Join(dir, "sigma", "rules", "windows")}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	progs := append(cloudTrailPrograms(t, dir), win...)
	set := NewSet(progs)
	var events [][]byte
	ct := sampleRecords(t, filepath.Join(dir, "suzaku-sample-data"))
	for i, line := range bytes.Split(bytes.TrimSpace(ct), []byte{'\n'}) {
		if i%25 == 0 {
			events = append(events, line)
		}
	}
	events = append(events, bytes.Split(bytes.TrimSpace(windowsEvents(300)), []byte{'\n'})...)
	matched, offered := 0, 0
	for _, ev := range events {
		var e Event
		e.reset(ev, set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatal(err)
		}
		got := set.Match(&e, nil)
		offered += len(set.candidates(&e, nil))
		set.scanFull(&e)
		var want []int
		for i, p := range set.Programs {
			if p.corr == nil && p.root != nil && p.Match(&e) {
				want = append(want, i)
			}
		}
		matched += len(want)
		if !slices.Equal(got, want) {
			t.Fatalf("event %.200s: index matched %v, every program evaluated %v", ev, got, want)
		}
	}
	if matched == 0 {
		t.Fatal("no event matched any rule")
	}
	t.Logf("%d events, %d programs: %d matches; the index offered %.1f programs per event", len(events), len(progs), matched, float64(offered)/float64(len(events)))
}

// The index writes numbers one way: 0 and -0 are one number to the matcher, and to the index.
func TestIndexNegativeZero(t *testing.T) {
	for _, tc := range []struct{ rule, event string }{{"0", `{"n":-0}`}, {"-0", `{"n":0}`}, {"0", `{"n":-0.0}`}} {
		p, err := Compile(sel(rule.Predicate{Field: "n", Kind: rule.KindEq, Values: []string{tc.rule}}))
		if err != nil {
			t.Fatal(err)
		}
		set := NewSet([]*Program{p})
		var e Event
		e.reset([]byte(tc.event), set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatal(err)
		}
		if !p.Match(&e) || len(set.Match(&e, nil)) != 1 {
			t.Errorf("rule n: %s, event %s: the program matches %v, the set %v", tc.rule, tc.event, p.Match(&e), set.Match(&e, nil))
		}
	}
}

// A keyword program evaluated after one that needed the second scanning pass reads the
// event's strings as they are, not texts left over from the first pass.
func TestKeywordAfterSecondPass(t *testing.T) {
	kw := func(s string) *rule.Rule {
		return &rule.Rule{Title: "k", Stages: []rule.Stage{{Name: "condition", Kind: rule.StageCondition,
			Expr: &rule.Expr{Op: rule.OpPredicate, Predicate: &rule.Predicate{Kind: rule.KindKeyword, Values: []string{s}}}}}}
	}
	eq := func(f, v string) rule.Predicate {
		return rule.Predicate{Field: f, Kind: rule.KindEq, Values: []string{v}}
	}
	var progs []*Program
	for _, r := range []*rule.Rule{kw("zzz"),
		sel(rule.Predicate{Field: "a.b.c.d", Kind: rule.KindContains, Values: []string{"xyz"}}, eq("m", "FOO BAR")),
		kw("foo bar"), sel(eq("f0", "v")), sel(eq("f1", "v")), sel(eq("f2", "v")), sel(eq("f3", "v"))} {
		p, err := Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	set := NewSet(progs)
	var e Event
	e.reset([]byte(`{"m":"FOO BAR","a":{"b":{"c":{"d":"XYZ"}}}}`), set.nslots)
	if err := set.scan(&e); err != nil {
		t.Fatal(err)
	}
	if got := set.Match(&e, nil); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("matched %v, want [1 2]", got)
	}
}
