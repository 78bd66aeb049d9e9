package rule

import (
	"slices"
	"testing"
)

func pred(field string, negated bool) *Predicate {
	return &Predicate{Field: field, Kind: KindEq, Values: []string{"x"}, Flags: Flags{Negated: negated}}
}

func fields(ps []*Predicate) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	return out
}

func TestPositivePredicatesFollowConditionPolarity(t *testing.T) {
	sel, filt, neq, twice := pred("sel", false), pred("filter", false), pred("neq", true), pred("twice", false)
	r := &Rule{Stages: []Stage{
		{Name: "condition", Kind: StageCondition, Expr: &Expr{Op: OpAnd, Args: []*Expr{
			{Op: OpRef, Ref: "selection"},
			{Op: OpNot, Args: []*Expr{{Op: OpRef, Ref: "filter"}}},
			{Op: OpNot, Args: []*Expr{{Op: OpNot, Args: []*Expr{{Op: OpQuantifier, Count: 1, Pattern: "o*", Refs: []string{"other"}}}}}},
		}}},
		{Name: "selection", Kind: StageSelection, Expr: &Expr{Op: OpAnd, Args: []*Expr{{Op: OpPredicate, Predicate: sel}, {Op: OpPredicate, Predicate: neq}}}},
		{Name: "filter", Kind: StageSelection, Expr: &Expr{Op: OpOr, Args: []*Expr{{Op: OpPredicate, Predicate: filt}, {Op: OpPredicate, Predicate: neq}}}},
		{Name: "other", Kind: StageSelection, Expr: &Expr{Op: OpPredicate, Predicate: twice}},
		{Name: "unused", Kind: StageSelection, Expr: &Expr{Op: OpPredicate, Predicate: pred("unused", false)}},
	}}
	// sel: positive. neq under selection: negated, so not positive; under "not filter" it is
	// negated twice, so positive. filter: under not. twice: under not not. unused: unreachable.
	got := fields(r.PositivePredicates())
	if want := []string{"sel", "neq", "twice"}; !slices.Equal(got, want) {
		t.Errorf("positive predicates = %v, want %v", got, want)
	}
}

func TestPositivePredicatesOfPipelines(t *testing.T) {
	// Without a condition stage every filtering stage is a root, children included.
	r := &Rule{Stages: []Stage{
		{Name: "source", Kind: StageSource},
		{Name: "where", Kind: StageFilter, Expr: &Expr{Op: OpPredicate, Predicate: pred("a", false)}},
		{Name: "join", Kind: StageJoin, Stages: []Stage{{Name: "sub", Kind: StageFilter, Expr: &Expr{Op: OpPredicate, Predicate: pred("b", false)}}}},
		{Name: "project", Kind: StageTransform, Expr: &Expr{Op: OpPredicate, Predicate: pred("c", false)}},
	}}
	if got := fields(r.PositivePredicates()); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("positive predicates = %v, want [a b]", got)
	}
}

func TestPositivePredicatesSurviveCycles(t *testing.T) {
	r := &Rule{Stages: []Stage{
		{Name: "condition", Kind: StageCondition, Expr: &Expr{Op: OpRef, Ref: "a"}},
		{Name: "a", Kind: StageSelection, Expr: &Expr{Op: OpOr, Args: []*Expr{{Op: OpRef, Ref: "a"}, {Op: OpPredicate, Predicate: pred("p", false)}}}},
	}}
	if got := fields(r.PositivePredicates()); !slices.Equal(got, []string{"p"}) {
		t.Errorf("positive predicates = %v", got)
	}
}

func TestOpaqueReasons(t *testing.T) {
	r := &Rule{Stages: []Stage{
		{Index: 0, Name: "condition", Kind: StageCondition, Expr: &Expr{Op: OpRef, Ref: "s"}},
		{Index: 1, Name: "s", Kind: StageSelection, Expr: &Expr{Op: OpAnd, Args: []*Expr{
			{Op: OpOpaque, Reason: `unknown modifier "foo"`, Pos: Pos{Line: 9, Col: 5}},
		}}},
		{Index: 2, Name: "agg", Kind: StageOpaque, Reason: "not read"},
	}}
	got := r.OpaqueReasons()
	if len(got) != 2 || got[0].Stage != 1 || got[0].Pos.Line != 9 || got[1].Reason != "not read" {
		t.Errorf("opaque reasons = %+v", got)
	}
	if !r.HasOpaque() {
		t.Error("HasOpaque = false")
	}
	if (&Rule{Stages: r.Stages[:1]}).HasOpaque() {
		t.Error("a rule without opaque parts reports one")
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{Errorf("r.yml", 14, 9, "condition: expected %s", "identifier"), "r.yml:14:9: condition: expected identifier"},
		{Errorf("r.yml", 3, 0, "yaml: bad"), "r.yml:3: yaml: bad"},
		{Errorf("r.yml", 0, 0, "too large"), "r.yml: too large"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
