package engine

import (
	"fmt"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// supportedCorrelation says why a correlation cannot be evaluated, or nil.
func supportedCorrelation(a *rule.Aggregate) error {
	switch a.Function {
	case "event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile":
	default:
		return fmt.Errorf("correlation type %q is not supported", a.Function)
	}
	if len(a.Rules) == 0 {
		return fmt.Errorf("%s correlation refers to no rules", a.Function)
	}
	return checkAggregate(a, a.Function+" correlation")
}

// checkAggregate says why an aggregate, named what in the reason, cannot be evaluated.
func checkAggregate(a *rule.Aggregate, what string) error {
	fn := a.Function
	if a.Window != "" && !(a.WindowSeconds > 0) {
		return fmt.Errorf("%s: timespan %q gives no time window", what, a.Window)
	}
	if (fn == "value_count" || isMetric(fn)) && a.Field == "" {
		return fmt.Errorf("%s without a field", what)
	}
	if isMetric(fn) && strings.Contains(a.Field, ", ") {
		return fmt.Errorf("%s over several fields (%s): the value aggregated is one field's", what, a.Field)
	}
	if fn == "value_percentile" && !(a.Percentile > 0 && a.Percentile <= 100) {
		return fmt.Errorf("%s without a percentile above 0 and at most 100 in its condition (e.g. percentile: 95)", what)
	}
	if fn == "temporal" || fn == "temporal_ordered" {
		return nil
	}
	if len(a.Conditions) == 0 {
		return fmt.Errorf("%s without a condition", what)
	}
	// A count or a sum only grows with the matches of a window: a condition bounding it from
	// above alone holds from the first match and is decided only once the window closes,
	// while a hunt evaluates correlations on each match.
	if (fn == "event_count" || fn == "value_count" || fn == "value_sum") && !boundedBelow(a.Conditions) {
		return fmt.Errorf("%s condition %s bounds the value from above only: it could be decided only when the window closes, and correlations are evaluated on each match", what, conditionText(a.Conditions))
	}
	return nil
}

func boundedBelow(conds []rule.Threshold) bool {
	for _, c := range conds {
		if c.Op == "gt" || c.Op == "gte" || c.Op == "eq" {
			return true
		}
	}
	return false
}

func conditionText(conds []rule.Threshold) string {
	var parts []string
	for _, c := range conds {
		parts = append(parts, fmt.Sprintf("%s %v", c.Op, c.Value))
	}
	return strings.Join(parts, " and ")
}

// legacyFunctions map the functions of Sigma v1 aggregations to the correlation types that
// compute them. v1 specification, "Aggregation expression": "The count aggregation counts all
// matching events if no field name is given. With field name it counts the distinct values in
// this field." min and max have no correlation type: value_min and value_max are ours.
var legacyFunctions = map[string]string{
	"sum": "value_sum", "avg": "value_avg", "min": "value_min", "max": "value_max",
}

// legacyAggregation returns the correlation that a Sigma v1 aggregation in a rule's condition
// (`search | count(field) by group > n`, with the rule's timeframe) stands for: the same
// function over the rule's own matches, per group, within the timeframe, or over the whole
// stream when the rule has none. It returns nil when the rule has no aggregation, and an
// error saying why when it cannot be evaluated.
func legacyAggregation(r *rule.Rule) (*rule.Aggregate, error) {
	if r.Class == rule.ClassCorrelation || !(r.Language == rule.LangSigma || r.Platform == rule.PlatformSigma) {
		return nil, nil
	}
	var aggs []*rule.Stage
	conditions := 0
	for i := range r.Stages {
		switch s := &r.Stages[i]; s.Kind {
		case rule.StageAggregate:
			aggs = append(aggs, s)
		case rule.StageCondition:
			conditions += strings.Count(s.Text, "\n") + 1 // a list's conditions, one a line
		}
	}
	if len(aggs) == 0 || aggs[0].Aggregate == nil {
		return nil, nil
	}
	s := aggs[0]
	if len(aggs) > 1 || conditions > 1 {
		return nil, fmt.Errorf("aggregation %q in a list of conditions: which condition each aggregation belongs to is not kept", s.Text)
	}
	a := *s.Aggregate
	switch {
	case a.Function == "near":
		// v1 specification, "Near aggregation expression": events that are or are not "in the
		// temporal context of the primary event": before it as well as after it.
		return nil, fmt.Errorf("aggregation %q: near looks for events on both sides of the primary event within the timeframe, which evaluating in input order cannot decide", s.Text)
	case a.Function == "count" && a.Field == "":
		a.Function = "event_count"
	case a.Function == "count":
		a.Function = "value_count"
	case legacyFunctions[a.Function] != "":
		a.Function = legacyFunctions[a.Function]
	default:
		return nil, fmt.Errorf("aggregation %q: function %q is not supported", s.Text, a.Function)
	}
	a.Rules = nil
	if err := checkAggregate(&a, fmt.Sprintf("aggregation %q", s.Text)); err != nil {
		return nil, err
	}
	return &a, nil
}
