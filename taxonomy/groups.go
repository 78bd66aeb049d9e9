package taxonomy

import "github.com/ruleatlas/ruleatlas/rule"

// maxTerms bounds the disjunctive normal form: beyond it the rule's relevant predicates are
// treated as one group, which can over-pair but never loses an event.
const maxTerms = 512

// andGroups returns the rule's logic in disjunctive normal form restricted to the predicates
// keep accepts among its positive ones: each group holds predicates that must all hold
// together. Other predicates, and negated subtrees, count as true, so they only widen groups.
// Pairing values within a group (an eventSource with an eventName) follows the rule's logic
// instead of crossing every source with every name.
func andGroups(r *rule.Rule, keep func(*rule.Predicate) bool) [][]*rule.Predicate {
	positive := map[*rule.Predicate]bool{}
	var all []*rule.Predicate
	for _, p := range r.PositivePredicates() {
		if keep(p) {
			positive[p] = true
			all = append(all, p)
		}
	}
	if len(all) == 0 {
		return nil
	}
	byName := map[string]*rule.Stage{}
	var index func(stages []rule.Stage)
	index = func(stages []rule.Stage) {
		for i := range stages {
			byName[stages[i].Name] = &stages[i]
			index(stages[i].Stages)
		}
	}
	index(r.Stages)
	d := dnf{byName: byName, keep: positive, visiting: map[string]bool{}}

	var terms [][]*rule.Predicate
	if roots := rootStages(r.Stages, true); len(roots) > 0 {
		// Sigma: the condition; several conditions are alternatives.
		for _, s := range roots {
			terms = append(terms, d.expr(s.Expr)...)
		}
	} else {
		// Pipelines: every filtering stage applies, so they combine with AND.
		terms = [][]*rule.Predicate{nil}
		for _, s := range rootStages(r.Stages, false) {
			terms = d.and(terms, d.expr(s.Expr))
		}
	}
	if d.overflow || len(terms) > maxTerms {
		return [][]*rule.Predicate{all}
	}
	var out [][]*rule.Predicate
	for _, t := range terms {
		if len(t) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func rootStages(stages []rule.Stage, conditions bool) []*rule.Stage {
	var out []*rule.Stage
	for i := range stages {
		s := &stages[i]
		switch {
		case conditions && s.Kind == rule.StageCondition:
			out = append(out, s)
		case !conditions && (s.Kind == rule.StageSelection || s.Kind == rule.StageFilter || s.Kind == rule.StageSource):
			out = append(out, s)
		}
		if !conditions {
			out = append(out, rootStages(s.Stages, false)...)
		}
	}
	return out
}

type dnf struct {
	byName   map[string]*rule.Stage
	keep     map[*rule.Predicate]bool
	visiting map[string]bool
	overflow bool
}

var truth = [][]*rule.Predicate{nil}

func (d *dnf) expr(e *rule.Expr) [][]*rule.Predicate {
	if e == nil || d.overflow {
		return truth
	}
	switch e.Op {
	case rule.OpPredicate:
		if d.keep[e.Predicate] {
			return [][]*rule.Predicate{{e.Predicate}}
		}
	case rule.OpAnd:
		out := truth
		for _, a := range e.Args {
			out = d.and(out, d.expr(a))
		}
		return out
	case rule.OpOr:
		var out [][]*rule.Predicate
		for _, a := range e.Args {
			out = append(out, d.expr(a)...)
		}
		return d.cap(out)
	case rule.OpNot:
		// not (not x) is x; any other negation cannot name what the rule watches.
		if len(e.Args) == 1 && e.Args[0].Op == rule.OpNot && len(e.Args[0].Args) == 1 {
			return d.expr(e.Args[0].Args[0])
		}
	case rule.OpRef:
		return d.ref(e.Ref)
	case rule.OpQuantifier:
		// "all of" combines with AND; "1 of" (and "N of", approximated) with OR.
		if e.All {
			out := truth
			for _, name := range e.Refs {
				out = d.and(out, d.ref(name))
			}
			return out
		}
		var out [][]*rule.Predicate
		for _, name := range e.Refs {
			out = append(out, d.ref(name)...)
		}
		return d.cap(out)
	}
	return truth
}

func (d *dnf) ref(name string) [][]*rule.Predicate {
	s := d.byName[name]
	if s == nil || d.visiting[name] {
		return truth
	}
	d.visiting[name] = true
	defer func() { d.visiting[name] = false }()
	return d.expr(s.Expr)
}

func (d *dnf) and(a, b [][]*rule.Predicate) [][]*rule.Predicate {
	if len(a)*len(b) > maxTerms {
		d.overflow = true
		return truth
	}
	out := make([][]*rule.Predicate, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			t := make([]*rule.Predicate, 0, len(x)+len(y))
			out = append(out, append(append(t, x...), y...))
		}
	}
	return out
}

func (d *dnf) cap(terms [][]*rule.Predicate) [][]*rule.Predicate {
	if len(terms) > maxTerms {
		d.overflow = true
		return truth
	}
	return terms
}
