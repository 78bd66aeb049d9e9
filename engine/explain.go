package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Trace is how one rule evaluated on one event: the overall result, each selection stage's,
// and each predicate's with the values the event holds for its field.
type Trace struct {
	Record  int64        `json:"record"`
	Matched bool         `json:"matched"`
	Stages  []StageTrace `json:"stages"`
}

// StageTrace is one selection or filter stage of a rule on one event.
type StageTrace struct {
	Name       string           `json:"name"`
	Matched    bool             `json:"matched"`
	Predicates []PredicateTrace `json:"predicates"`
}

// PredicateTrace is one predicate on one event.
type PredicateTrace struct {
	Field   string    `json:"field"`
	Kind    rule.Kind `json:"kind"`
	Values  []string  `json:"values"`
	Matched bool      `json:"matched"`
	// Found are the event's values of the field (at most a few, each cut to a readable length).
	Found []string `json:"found"`
}

// Explain evaluates one rule over events given as text (JSON Lines, an array, a CloudTrail
// envelope or concatenated documents) and reports, per event, per stage and per predicate,
// what matched. Malformed input is returned as read errors beside the traces.
func Explain(r *rule.Rule, events []byte) ([]Trace, []ReadError, error) {
	p, err := Compile(r)
	if err != nil {
		return nil, nil, err
	}
	set := NewSet([]*Program{p})
	var chunks []*chunk
	c := cutter{ctx: context.Background(), name: "events", r: bytes.NewReader(events), send: func(ch *chunk) bool {
		chunks = append(chunks, ch)
		return true
	}}
	c.run()
	var traces []Trace
	var errs []ReadError
	w := newWorker(set)
	w.visit = func(e *Event) {
		t := Trace{Record: int64(len(traces)), Matched: p.Match(e)}
		for _, st := range p.stages {
			s := StageTrace{Name: st.name, Matched: p.eval(st.node, e)}
			for _, pr := range st.preds {
				pt := PredicateTrace{Kind: pr.kind, Matched: p.evalPred(pr, e), Values: pr.src.Values}
				if pr.field >= 0 {
					pt.Field = pr.src.Field
					pt.Found = p.found(pr.field, e)
				}
				s.Predicates = append(s.Predicates, pt)
			}
			t.Stages = append(t.Stages, s)
		}
		traces = append(traces, t)
	}
	for _, ch := range chunks {
		errs = append(errs, w.process(ch).errs...)
	}
	return traces, errs, nil
}

// found returns the event's values of a field, for display.
func (p *Program) found(field int, e *Event) []string {
	const maxValues, maxLen = 5, 200
	out := []string{}
	for _, s := range p.slots[field] {
		vs := e.values(s)
		for i := range vs {
			if len(out) == maxValues {
				return append(out, fmt.Sprintf("… %d more", len(vs)-i))
			}
			t := string(e.text(&vs[i]))
			if vs[i].kind == kNull {
				t = "null"
			}
			if r := []rune(t); len(r) > maxLen {
				t = string(r[:maxLen]) + "…"
			}
			out = append(out, t)
		}
	}
	return out
}
