package engine

import (
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/taxonomy"
)

// compileWindows compiles a rule on Windows event logs. Its log source selects event streams
// (Sigma taxonomy appendix: process_creation is Sysmon event 1 or Security 4688); the program
// is the rule's condition guarded by each stream's channel and event ids, with the rule's
// fields renamed where the stream names them differently (Security 4688: Image is
// NewProcessName), the alternatives ORed.
func compileWindows(p *Program, r *rule.Rule) (*Program, error) {
	sources := taxonomy.WindowsSources(r.LogSource)
	if len(sources) == 0 {
		// No stream is known for the log source: keep the rule to Windows event records.
		g := guardExpr{&rule.Expr{Op: rule.OpPredicate, Predicate: &rule.Predicate{Field: "Event.System", Kind: rule.KindExists, Values: []string{"true"}}},
			"not a Windows event log record (it has no Event.System) and the rule's log source is Windows"}
		root, gs, stages, err := compileRule(p, r, nil, []guardExpr{g})
		if err != nil {
			return nil, err
		}
		p.root, p.stages = root, stages
		p.guards = []guard{{gs[0], g.why}}
		return p, nil
	}
	or := &node{op: opOr}
	// streams is the OR of the sources' guards, for Explain; nil when a source has none (it
	// lets every event through).
	streams := &node{op: opOr}
	var want []string
	for i, src := range sources {
		var guard []*rule.Predicate
		switch {
		case src.Channel != "":
			guard = append(guard, &rule.Predicate{Field: "Channel", Kind: rule.KindEq, Values: []string{src.Channel}})
		case src.Provider != "":
			guard = append(guard, &rule.Predicate{Field: "Provider_Name", Kind: rule.KindEq, Values: []string{src.Provider}})
		}
		if len(src.EventIDs) > 0 {
			g := &rule.Predicate{Field: "EventID", Kind: rule.KindEq, Flags: rule.Flags{Numeric: true}}
			for _, id := range src.EventIDs {
				g.Values = append(g.Values, strconv.Itoa(id))
			}
			guard = append(guard, g)
		}
		var gx []guardExpr
		if len(guard) > 0 {
			x := &rule.Expr{Op: rule.OpAnd}
			var w []string
			for _, g := range guard {
				x.Args = append(x.Args, &rule.Expr{Op: rule.OpPredicate, Predicate: g})
				w = append(w, g.Field+" "+strings.Join(g.Values, " or "))
			}
			gx = []guardExpr{{expr: x}}
			want = append(want, strings.Join(w, " with "))
		}
		root, gs, stages, err := compileRule(p, r, src.Fields, gx)
		if err != nil {
			return nil, err
		}
		if len(gs) == 0 {
			streams = nil
		} else if streams != nil {
			streams.kids = append(streams.kids, gs[0])
		}
		if i == 0 {
			p.stages = stages
		}
		or.kids = append(or.kids, root)
	}
	if streams != nil {
		p.guards = []guard{{streams, "not an event of the rule's log source: that is " + strings.Join(want, ", or ")}}
	}
	p.root = or
	if len(or.kids) == 1 {
		p.root = or.kids[0]
	}
	return p, nil
}
