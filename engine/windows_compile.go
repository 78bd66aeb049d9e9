package engine

import (
	"strconv"

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
		root, stages, err := compileRule(p, r, nil, &rule.Expr{Op: rule.OpPredicate, Predicate: &rule.Predicate{Field: "Event.System", Kind: rule.KindExists, Values: []string{"true"}}})
		if err != nil {
			return nil, err
		}
		p.root, p.stages = root, stages
		return p, nil
	}
	or := &node{op: opOr}
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
		var gx *rule.Expr
		if len(guard) > 0 {
			gx = &rule.Expr{Op: rule.OpAnd}
			for _, g := range guard {
				gx.Args = append(gx.Args, &rule.Expr{Op: rule.OpPredicate, Predicate: g})
			}
		}
		root, stages, err := compileRule(p, r, src.Fields, gx)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			p.stages = stages
		}
		or.kids = append(or.kids, root)
	}
	p.root = or
	if len(or.kids) == 1 {
		p.root = or.kids[0]
	}
	return p, nil
}
