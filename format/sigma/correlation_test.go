package sigma

import (
	"strings"
	"testing"
)

// The correlation specification v2.1, "Value Percentile (value_percentile)", names no parameter
// for the rank; pySigma reads it from the condition's percentile key, and so do we.
func TestCorrelationPercentile(t *testing.T) {
	head := "title: t\ncorrelation:\n    type: value_percentile\n    rules: [r]\n    group-by: [g]\n    timespan: 1h\n    condition:\n        field: bytes\n"
	tests := []struct {
		name, cond string
		want       float64
		note       string // the rule's notes, joined
	}{
		{"given", "        percentile: 95\n        gt: 1000\n", 95, ""},
		{"fractional", "        percentile: 99.9\n        gt: 1000\n", 99.9, ""},
		{"missing", "        gt: 1000\n", 0, "correlation: value_percentile without a condition percentile"},
		{"out of range", "        percentile: 150\n        gt: 1000\n", 150, "correlation condition percentile 150 is not above 0 and at most 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parseOne(t, head+tt.cond)
			a := r.Stages[0].Aggregate
			if a.Percentile != tt.want || a.Field != "bytes" || len(a.Conditions) != 1 || a.Conditions[0].Op != "gt" {
				t.Errorf("aggregate %+v", a)
			}
			var notes []string
			for _, n := range r.Notes {
				notes = append(notes, n.Message)
			}
			if got := strings.Join(notes, "; "); got != tt.note {
				t.Errorf("notes %q, want %q", got, tt.note)
			}
		})
	}
	_, errs := Parse("c.yml", []byte(head+"        percentile: high\n        gt: 1\n"))
	if len(errs) != 1 || errs[0].Error() != `c.yml:9:21: correlation condition percentile: expected a number, found "high"` {
		t.Errorf("a percentile that is not a number: %v", errs)
	}
}
