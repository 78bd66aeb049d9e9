package sigma

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ruleatlas/ruleatlas/rule"
)

// correlationTypes are the types of the correlation specification v2.1, "Correlation Types".
var correlationTypes = map[string]bool{
	"event_count": true, "value_count": true, "temporal": true, "temporal_ordered": true,
	"value_sum": true, "value_avg": true, "value_percentile": true,
}

// correlation reads a correlation document's `correlation` section into one aggregate stage.
func (f *file) correlation(r *rule.Rule, key, c *yaml.Node) []error {
	if c.Kind != yaml.MappingNode {
		return []error{f.errorf(c, "correlation must be a mapping, found %s", kindName(c))}
	}
	typ := scalar(lookup(c, "type"))
	if typ == "" {
		return []error{f.errorf(key, "correlation: missing type")}
	}
	st := rule.Stage{
		Index: 0, Name: "correlation", Kind: rule.StageAggregate, Text: f.blockText(key, c),
		Pos: pos(key), Predicates: []rule.Predicate{},
	}
	a := &rule.Aggregate{Function: typ}
	a.Rules = stringList(lookup(c, "rules"))
	for _, ref := range a.Rules {
		r.Links = append(r.Links, rule.Link{Ref: ref})
	}
	a.GroupBy = stringList(lookup(c, "group-by"))
	span := lookup(c, "timespan")
	if span == nil {
		span = lookup(c, "timeframe") // the name of the field in Sigma v1 and early drafts
	}
	if w := scalar(span); w != "" {
		a.Window = w
		if s, ok := parseWindow(w); ok {
			a.WindowSeconds = s
		} else {
			f.note(r, pos(span), 0, fmt.Sprintf("timespan %q is not a number and a unit (s, m, h, d)", w))
		}
	}
	if cond := lookup(c, "condition"); cond != nil {
		if cond.Kind != yaml.MappingNode {
			return []error{f.errorf(cond, "correlation condition must be a mapping, found %s", kindName(cond))}
		}
		for i := 0; i+1 < len(cond.Content); i += 2 {
			k, v := cond.Content[i], deref(cond.Content[i+1])
			switch k.Value {
			case "field":
				// value_count may count several fields together ("Value Count": linked by AND).
				a.Field = strings.Join(stringList(v), ", ")
			case "gt", "gte", "lt", "lte", "eq", "neq":
				n, err := conditionNumber(v)
				if err != nil {
					return []error{f.errorf(v, "correlation condition %s: expected a number, found %s", k.Value, kindName(v))}
				}
				a.Conditions = append(a.Conditions, rule.Threshold{Op: k.Value, Value: n})
			case "percentile":
				// The specification ("Value Percentile") names no parameter for the rank; the
				// reference implementation, pySigma, reads it from the condition's percentile.
				n, err := conditionNumber(v)
				if err != nil {
					return []error{f.errorf(v, "correlation condition percentile: expected a number, found %s", kindName(v))}
				}
				if !(n > 0 && n <= 100) {
					f.note(r, pos(v), 0, fmt.Sprintf("correlation condition percentile %v is not above 0 and at most 100", n))
				}
				a.Percentile = n
			default:
				return []error{f.errorf(k, "correlation condition: unknown key %q (expected gt, gte, lt, lte, eq, neq, field or percentile)", k.Value)}
			}
		}
	}
	if al := lookup(c, "aliases"); al != nil && al.Kind == yaml.MappingNode {
		a.Aliases = map[string]map[string]string{}
		for i := 0; i+1 < len(al.Content); i += 2 {
			m := map[string]string{}
			per := deref(al.Content[i+1])
			if per != nil && per.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(per.Content); j += 2 {
					m[per.Content[j].Value] = scalar(per.Content[j+1])
				}
			}
			a.Aliases[al.Content[i].Value] = m
		}
	}
	if g := lookup(c, "generate"); g != nil && !isNull(g) {
		r.Details = append(r.Details, rule.Detail{Label: "generate", Value: shortText(g)})
	}
	st.Aggregate = a
	if !correlationTypes[typ] {
		st.Kind = rule.StageOpaque
		st.Reason = fmt.Sprintf("unknown correlation type %q", typ)
		f.note(r, pos(lookup(c, "type")), 0, st.Reason)
	} else {
		f.checkCorrelation(r, c, a)
	}
	r.Stages = append(r.Stages, st)
	return nil
}

// checkCorrelation notes what a correlation type requires but the document lacks ("Correlation
// Types": every type needs group-by and timespan; counts and metrics a condition; value types
// a field). The rule stays readable, so these are notes, not errors.
func (f *file) checkCorrelation(r *rule.Rule, c *yaml.Node, a *rule.Aggregate) {
	at := pos(c)
	if len(a.Rules) == 0 {
		f.note(r, at, 0, "correlation: no rules")
	}
	if a.Window == "" {
		f.note(r, at, 0, "correlation: no timespan")
	}
	switch a.Function {
	case "event_count", "value_count", "value_sum", "value_avg", "value_percentile":
		if len(a.Conditions) == 0 {
			f.note(r, at, 0, "correlation: "+a.Function+" without a condition")
		}
	}
	if strings.HasPrefix(a.Function, "value_") && a.Field == "" {
		f.note(r, at, 0, "correlation: "+a.Function+" without a condition field")
	}
	if a.Function == "value_percentile" && lookup(lookup(c, "condition"), "percentile") == nil {
		f.note(r, at, 0, "correlation: value_percentile without a condition percentile")
	}
}

// conditionNumber reads a number of a correlation condition. ParseFloat also reads "inf" and
// "NaN", which compare with no value and which JSON cannot carry.
func conditionNumber(v *yaml.Node) (float64, error) {
	n, err := strconv.ParseFloat(scalar(v), 64)
	if err == nil && (math.IsInf(n, 0) || math.IsNaN(n)) {
		err = fmt.Errorf("%v is not a finite number", n)
	}
	return n, err
}
