package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

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
	// Referred are the ids of the rules a correlation refers to (directly or through the
	// correlations it refers to) that the event matched.
	Referred []string `json:"referred,omitempty"`
	// Aggregates is what the event did to the aggregates its matches feed: the rule's own (a
	// Sigma v1 aggregation, or the correlation) and those of the correlations it refers to.
	Aggregates []AggregateStep `json:"aggregates,omitempty"`
	// NoTimestamp: the event matched a rule an aggregate counts, but has no timestamp the
	// engine reads, so it counts toward no window.
	NoTimestamp bool `json:"no_timestamp,omitempty"`
}

// AggregateStep is one aggregate that an event fed, in one group: the value the group reached
// with it, or that the event completed the aggregate there (as a hunt reports it; the group
// then starts over).
type AggregateStep struct {
	RuleID    string   `json:"rule_id"`
	Title     string   `json:"title"`
	Group     []string `json:"group"` // the group-by values, in the aggregate's order
	Value     float64  `json:"value"`
	Completed bool     `json:"completed"`
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
	// Referred are, for a correlation rule, the rules it refers to and those the correlations
	// among them refer to in turn. Ignored for other rules.
	Referred []*rule.Rule
}

// Explain evaluates one rule over events given as text (JSON Lines, an array, a CloudTrail
// envelope or concatenated documents) and reports, per event, per stage and per predicate,
// what matched. Malformed input is returned as read errors beside the traces, in the same
// record numbering.
//
// A rule with an aggregate (a Sigma v1 aggregation, or a correlation over the referred rules)
// is also evaluated as a hunt evaluates it, over the events in order: each trace says what
// the event did to the aggregate. A correlation referring to a rule that is not among the
// referred rules, or one that cannot be evaluated, is an error.
func Explain(r *rule.Rule, events []byte, opts ExplainOptions) ([]Trace, []ReadError, error) {
	p, err := Compile(r)
	if err != nil {
		return nil, nil, err
	}
	progs := []*Program{p}
	if p.corr != nil {
		for _, rr := range opts.Referred {
			q, err := Compile(rr)
			if err != nil {
				return nil, nil, fmt.Errorf("referred rule %s cannot be evaluated: %w", orTitle(rr), err)
			}
			progs = append(progs, q)
		}
		if why := linkCorrelations(progs).problem[0]; why != "" {
			return nil, nil, errors.New(why)
		}
	}
	set := NewSet(progs)
	agg := newAggExplainer(set, p)
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
		if agg != nil {
			agg.feed(&t, e)
		}
		traces = append(traces, t)
		return true
	}
	// Chunks are evaluated as they are cut, so that reading ends where the bound is reached.
	c := cutter{ctx: context.Background(), name: "events", r: bytes.NewReader(events), send: func(ch *chunk) bool {
		errs = append(errs, w.process(ch).errs...)
		return !w.stop
	}}
	for c.step() {
	}
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

func orTitle(r *rule.Rule) string {
	if r.Title != "" {
		return fmt.Sprintf("%q", r.Title)
	}
	return fmt.Sprintf("%q", r.ID)
}

// aggExplainer evaluates a set's aggregates over the events of an Explain, with the code of a
// hunt (Set.Match, the correlator's keys and feed), and records on each trace what happened.
type aggExplainer struct {
	set     *Set
	p       *Program // the rule explained
	run     *corrRun
	matches []int
}

// newAggExplainer returns nil when the set has no aggregate.
func newAggExplainer(set *Set, p *Program) *aggExplainer {
	if len(set.corr.cs) == 0 {
		return nil
	}
	// Every completion is reported here, including those of correlations that a hunt only
	// feeds to the correlation above them: the trace shows each link of a chain.
	for _, cr := range set.corr.cs {
		cr.reports = true
	}
	return &aggExplainer{set: set, p: p, run: set.corr.start()}
}

// feed evaluates the event as a worker of Run does and feeds its matches to the correlations
// in order, as Run's emitter does.
func (x *aggExplainer) feed(t *Trace, e *Event) {
	x.matches = x.set.Match(e, x.matches[:0])
	var cols Detection
	filled := false
	for _, pi := range x.matches {
		q := x.set.Programs[pi]
		if q != x.p {
			t.Referred = append(t.Referred, q.Rule.ID)
		}
		keys := x.set.corr.keys(pi, e)
		if len(keys) == 0 {
			continue
		}
		if !filled {
			x.set.fill(&cols, e)
			filled = true
		}
		if !cols.atOK {
			if cols.at, cols.atOK = parseTime(cols.Timestamp); !cols.atOK {
				t.NoTimestamp = true // the correlator leaves it out: no time, no window
				continue
			}
		}
		d := x.set.detection(&cols, pi, e)
		d.corr = keys
		outs := x.run.feed(&d)
		x.progress(t, d.corr, -1)
		for _, o := range outs {
			group := o.Group
			if group == nil {
				group = []string{}
			}
			t.Aggregates = append(t.Aggregates, AggregateStep{RuleID: o.RuleID, Title: o.Title, Group: group, Value: o.Value, Completed: true})
			x.progress(t, o.corr, x.corrIndex(o.Program))
		}
	}
}

func (x *aggExplainer) corrIndex(p *Program) int {
	for i, cr := range x.set.corr.cs {
		if cr.prog == p {
			return i
		}
	}
	return -1
}

// progress records the value reached by the groups that the keys fed, taking a rule's match
// (from -1) or a detection of correlation from; a group that completed is gone from the state,
// and its completion is among those feed returned.
func (x *aggExplainer) progress(t *Trace, keys []corrKey, from int) {
	for _, k := range keys {
		cr := x.set.corr.cs[k.corr]
		if cr.subs[k.step] != from {
			continue
		}
		st := x.run.groups[k.corr][k.group]
		if st == nil {
			continue
		}
		v, ok := cr.reached(st)
		if !ok {
			continue
		}
		group := []string{}
		if len(cr.agg.GroupBy) > 0 {
			group = splitGroup(k.group, len(cr.agg.GroupBy))
		}
		t.step(AggregateStep{RuleID: cr.prog.Rule.ID, Title: cr.prog.Rule.Title, Group: group, Value: v})
	}
}

// step adds a value reached, replacing the one the same group reached earlier in the event (an
// event matching two rules of one correlation feeds it twice).
func (t *Trace) step(s AggregateStep) {
	for i, o := range t.Aggregates {
		if !o.Completed && o.RuleID == s.RuleID && o.Title == s.Title && slices.Equal(o.Group, s.Group) {
			t.Aggregates[i] = s
			return
		}
	}
	t.Aggregates = append(t.Aggregates, s)
}

// reached is the value a group's state holds after an update, the value the correlator
// compared with the condition (see correlation.update and updateMetric). ok is false where the
// state alone does not tell: temporal_ordered is decided by the order of the matches, and a
// metric group may hold no number yet.
func (cr *correlation) reached(st *corrState) (float64, bool) {
	switch fn := cr.agg.Function; {
	case fn == "event_count":
		n := 0
		for _, ts := range st.times {
			n += len(ts)
		}
		for _, c := range st.counts { // over the whole stream
			n += c
		}
		return float64(n), true
	case fn == "value_count":
		return float64(len(st.values)), true
	case fn == "temporal":
		n, _ := cr.stepsSeen(st)
		return n, true
	case isMetric(fn):
		if len(st.samples) == 0 && st.n == 0 {
			return 0, false
		}
		return cr.metric(st), true
	}
	return 0, false
}
