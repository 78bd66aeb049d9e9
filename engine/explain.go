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
	// Record is the 0-based line, or document for multi-line JSON, holding the event: the
	// numbering of ReadError, so that events and errors point into the same input.
	Record int64 `json:"record"`
	// Element is the event's 0-based position in the array or CloudTrail envelope of its
	// record, or -1 when the record is the event itself.
	Element int64 `json:"element"`
	Matched bool  `json:"matched"`
	// Skipped says why the rule's log source rules the event out (a CloudTrail record for a
	// Windows rule, say); empty when it does not. A skipped event never matches, whatever its
	// stages.
	Skipped string       `json:"skipped,omitempty"`
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
	Field  string    `json:"field"`
	Kind   rule.Kind `json:"kind"`
	Values []string  `json:"values"`
	// Negated is the rule's negation of the predicate (neq, !=, exists: false): it holds when
	// the comparison fails. Matched is the predicate's result, after negation.
	Negated bool `json:"negated"`
	Matched bool `json:"matched"`
	// Found are the event's values of the field (at most a few, each cut to a readable length).
	Found []string `json:"found"`
}

// ExplainOptions bound an Explain.
type ExplainOptions struct {
	// MaxEvents is how many events are evaluated; reading stops at the next one, which is
	// reported as a read error. 0: no bound.
	MaxEvents int
}

// Explain evaluates one rule over events given as text (JSON Lines, an array, a CloudTrail
// envelope or concatenated documents) and reports, per event, per stage and per predicate,
// what matched. Malformed input is returned as read errors beside the traces, in the same
// record numbering.
func Explain(r *rule.Rule, events []byte, opts ExplainOptions) ([]Trace, []ReadError, error) {
	p, err := Compile(r)
	if err != nil {
		return nil, nil, err
	}
	set := NewSet([]*Program{p})
	var traces []Trace
	var errs []ReadError
	var stopped *ReadError
	w := newWorker(set)
	w.visit = func(e *Event) bool {
		if opts.MaxEvents > 0 && len(traces) == opts.MaxEvents {
			// Reported where the first event left out is, so the reader knows what was seen.
			msg := fmt.Sprintf("stopped after %d events: this record and the rest were not evaluated", opts.MaxEvents)
			if w.inArray && e.Record > 0 {
				msg = fmt.Sprintf("stopped after %d events: this record from its element %d on, and the rest, were not evaluated", opts.MaxEvents, e.Record)
			}
			stopped = &ReadError{File: e.File, Record: w.rec, Msg: msg}
			return false
		}
		t := Trace{Record: w.rec, Element: -1, Matched: p.Match(e)}
		if w.inArray {
			t.Element = e.Record
		}
		for _, g := range p.guards {
			if !p.eval(g.node, e) {
				t.Skipped = g.why
				break
			}
		}
		for _, st := range p.stages {
			s := StageTrace{Name: st.name, Matched: p.eval(st.node, e)}
			for _, pr := range st.preds {
				pt := PredicateTrace{Kind: pr.kind, Negated: pr.src.Flags.Negated, Matched: p.evalPred(pr, e), Values: pr.src.Values}
				if pr.field >= 0 {
					pt.Field = pr.src.Field
					pt.Found = p.found(pr.field, e)
				}
				s.Predicates = append(s.Predicates, pt)
			}
			t.Stages = append(t.Stages, s)
		}
		traces = append(traces, t)
		return true
	}
	// Chunks are evaluated as they are cut, so that reading ends where the bound is reached.
	c := cutter{ctx: context.Background(), name: "events", r: bytes.NewReader(events), send: func(ch *chunk) bool {
		errs = append(errs, w.process(ch).errs...)
		return !w.stop
	}}
	c.run()
	if stopped != nil {
		// After the errors of the records before it, which its chunk reported at the end.
		errs = append(errs, *stopped)
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
