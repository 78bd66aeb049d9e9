package taxonomy

import "github.com/ruleatlas/ruleatlas/rule"

// Builders for rules as the Sigma parser produces them: stage 0 the condition, then one stage
// per detection block whose expression is the AND of its predicates.

func eq(field string, values ...string) rule.Predicate {
	return rule.Predicate{Field: field, Kind: rule.KindEq, Values: values}
}

func wild(field string, values ...string) rule.Predicate {
	p := eq(field, values...)
	p.Flags.Wildcard = true
	return p
}

func sel(name string, preds ...rule.Predicate) rule.Stage {
	s := rule.Stage{Name: name, Kind: rule.StageSelection, Predicates: preds}
	and := &rule.Expr{Op: rule.OpAnd}
	for i := range preds {
		p := preds[i] // the expression holds its own copy, as parsers build it
		and.Args = append(and.Args, &rule.Expr{Op: rule.OpPredicate, Predicate: &p})
	}
	s.Expr = and
	return s
}

func ref(name string) *rule.Expr { return &rule.Expr{Op: rule.OpRef, Ref: name} }

func and(args ...*rule.Expr) *rule.Expr { return &rule.Expr{Op: rule.OpAnd, Args: args} }

func or(args ...*rule.Expr) *rule.Expr { return &rule.Expr{Op: rule.OpOr, Args: args} }

func not(arg *rule.Expr) *rule.Expr { return &rule.Expr{Op: rule.OpNot, Args: []*rule.Expr{arg}} }

// sigma builds a rule whose condition is cond over the given selections; a nil cond means
// "the only selection".
func sigma(ls rule.LogSource, cond *rule.Expr, sels ...rule.Stage) *rule.Rule {
	if cond == nil {
		cond = ref(sels[0].Name)
	}
	r := &rule.Rule{Platform: rule.PlatformSigma, LogSource: ls}
	r.Stages = append(r.Stages, rule.Stage{Name: "condition", Kind: rule.StageCondition, Expr: cond})
	r.Stages = append(r.Stages, sels...)
	for i := range r.Stages {
		r.Stages[i].Index = i
	}
	return r
}

// pipeline builds a rule of filter stages, as the Kusto, SPL and Elastic parsers produce them.
func pipeline(ls rule.LogSource, stages ...rule.Stage) *rule.Rule {
	r := &rule.Rule{Platform: rule.PlatformKusto, LogSource: ls}
	for i, s := range stages {
		s.Kind = rule.StageFilter
		s.Index = i
		r.Stages = append(r.Stages, s)
	}
	return r
}

var (
	cloudtrail = rule.LogSource{Product: "aws", Service: "cloudtrail"}
	windows    = func(category, service string) rule.LogSource {
		return rule.LogSource{Product: "windows", Category: category, Service: service}
	}
)
