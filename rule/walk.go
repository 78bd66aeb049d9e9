package rule

// PositivePredicates returns the predicates that must hold, rather than fail, for the rule to
// match: those reached from the rule's roots under an even number of negations and not
// negated themselves. Roots are the condition stages where the rule has them (Sigma), else
// every selection, filter and source stage (pipelines), including child stages.
// Each predicate is returned once, in the order first reached.
func (r *Rule) PositivePredicates() []*Predicate {
	byName := make(map[string]*Stage, len(r.Stages))
	for i := range r.Stages {
		byName[r.Stages[i].Name] = &r.Stages[i]
	}
	w := walker{byName: byName, seen: map[*Predicate]bool{}, visiting: map[string]bool{}}
	roots := conditionStages(r.Stages)
	if len(roots) == 0 {
		roots = filterStages(r.Stages)
	}
	for _, s := range roots {
		w.expr(s.Expr, true)
	}
	return w.out
}

func conditionStages(stages []Stage) []*Stage {
	var out []*Stage
	for i := range stages {
		if stages[i].Kind == StageCondition {
			out = append(out, &stages[i])
		}
	}
	return out
}

func filterStages(stages []Stage) []*Stage {
	var out []*Stage
	for i := range stages {
		switch stages[i].Kind {
		case StageSelection, StageFilter, StageSource, StageJoin, StageSequence:
			out = append(out, &stages[i])
		}
		out = append(out, filterStages(stages[i].Stages)...)
	}
	return out
}

type walker struct {
	byName   map[string]*Stage
	seen     map[*Predicate]bool
	visiting map[string]bool
	out      []*Predicate
}

func (w *walker) expr(e *Expr, positive bool) {
	if e == nil {
		return
	}
	switch e.Op {
	case OpAnd, OpOr:
		for _, a := range e.Args {
			w.expr(a, positive)
		}
	case OpNot:
		for _, a := range e.Args {
			w.expr(a, !positive)
		}
	case OpRef:
		w.ref(e.Ref, positive)
	case OpQuantifier:
		for _, name := range e.Refs {
			w.ref(name, positive)
		}
	case OpPredicate:
		p := e.Predicate
		if p == nil || w.seen[p] {
			return
		}
		if positive != p.Flags.Negated {
			w.seen[p] = true
			w.out = append(w.out, p)
		}
	}
}

func (w *walker) ref(name string, positive bool) {
	s := w.byName[name]
	if s == nil || w.visiting[name] { // a cycle is a parser bug; never loop on it
		return
	}
	w.visiting[name] = true
	w.expr(s.Expr, positive)
	w.visiting[name] = false
}

// Walk calls fn for every node of the expression tree, parents before children.
func (e *Expr) Walk(fn func(*Expr)) {
	if e == nil {
		return
	}
	fn(e)
	for _, a := range e.Args {
		a.Walk(fn)
	}
}

// HasOpaque reports whether any stage of the rule, or any node of its expressions, is opaque:
// the rule was not fully understood.
func (r *Rule) HasOpaque() bool {
	return len(r.OpaqueReasons()) > 0
}

// OpaqueReasons lists, for every opaque stage or expression node, the stage and the reason.
func (r *Rule) OpaqueReasons() []OpaqueReason {
	var out []OpaqueReason
	var visit func(stages []Stage)
	visit = func(stages []Stage) {
		for i := range stages {
			s := &stages[i]
			if s.Kind == StageOpaque {
				out = append(out, OpaqueReason{Stage: s.Index, Name: s.Name, Pos: s.Pos, Reason: s.Reason})
			}
			s.Expr.Walk(func(e *Expr) {
				if e.Op == OpOpaque {
					out = append(out, OpaqueReason{Stage: s.Index, Name: s.Name, Pos: e.Pos, Reason: e.Reason})
				}
			})
			visit(s.Stages)
		}
	}
	visit(r.Stages)
	return out
}

// OpaqueReason is where and why a rule was not fully understood.
type OpaqueReason struct {
	Stage  int
	Name   string
	Pos    Pos
	Reason string
}
