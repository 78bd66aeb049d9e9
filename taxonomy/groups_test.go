package taxonomy

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

func quant(all bool, refs ...string) *rule.Expr {
	return &rule.Expr{Op: rule.OpQuantifier, All: all, Count: 1, Refs: refs}
}

func TestEventsQuantifiers(t *testing.T) {
	iam := sel("sel_iam", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateUser"))
	s3 := sel("sel_s3", eq("eventSource", "s3.amazonaws.com"), eq("eventName", "PutBucketPolicy"))
	checkEvents(t, []eventsTest{
		{"1 of pairs within each selection", sigma(cloudtrail, quant(false, "sel_iam", "sel_s3"), iam, s3),
			[]rule.Event{ev("AWS-iam", "CreateUser"), ev("AWS-s3", "PutBucketPolicy")}},
		{"all of combines", sigma(cloudtrail, quant(true, "source", "name"),
			sel("source", eq("eventSource", "sts.amazonaws.com")), sel("name", eq("eventName", "AssumeRole"))),
			[]rule.Event{ev("AWS-sts", "AssumeRole")}},
		{"not not is positive", sigma(cloudtrail, not(not(ref("sel_iam"))), iam),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
		{"a cycle of references ends", sigma(cloudtrail, ref("loop"),
			rule.Stage{Name: "loop", Kind: rule.StageSelection, Expr: or(ref("loop"), ref("sel_iam"))}, iam),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
	})
}

// A condition whose normal form would exceed maxTerms falls back to one group: names may pair
// with more services than they should, but none is lost.
func TestEventsOverflow(t *testing.T) {
	var sels []rule.Stage
	var ors []*rule.Expr
	var want []rule.Event
	for g := 0; g < 3; g++ {
		var alts []*rule.Expr
		for i := 0; i < 10; i++ {
			name := fmt.Sprintf("Op%c%02d", 'A'+g, i)
			s := fmt.Sprintf("s%d_%d", g, i)
			sels = append(sels, sel(s, eq("eventName", name)))
			alts = append(alts, ref(s))
			want = append(want, ev("AWS", name))
		}
		ors = append(ors, or(alts...))
	}
	r := sigma(cloudtrail, and(ors...), sels...)
	keep := func(p *rule.Predicate) bool { return true }
	if groups := andGroups(r, keep); len(groups) != 1 || len(groups[0]) != 30 {
		t.Errorf("andGroups gave %d groups, want the one fallback group of all 30 predicates", len(groups))
	}
	// Without the bound, the same rule with two alternatives per OR has 2*2*2 groups.
	small := sigma(cloudtrail, and(or(ref("s0_0"), ref("s0_1")), or(ref("s1_0"), ref("s1_1")), or(ref("s2_0"), ref("s2_1"))), sels...)
	if groups := andGroups(small, keep); len(groups) != 8 || len(groups[0]) != 3 {
		t.Errorf("andGroups gave %d groups, want 8 of 3", len(groups))
	}
	got := Events(r)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Events\n got %v\nwant %v", got, want)
	}
}
