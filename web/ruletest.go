package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/engine"
	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/store"
)

// Testing a rule runs engine.Explain, the evaluator of `ruleatlas hunt`, over events the
// visitor pastes. Nothing of it is cached: the results depend on the request body.

const (
	// maxTestEvents bounds the event text of one test, so one request cannot hold the server.
	maxTestEvents = 256 << 10
	// maxTestForm bounds the form body: URL encoding can triple JSON (every quote and brace
	// becomes %XX), and the limit the visitor reads about is the one on the text they pasted.
	maxTestForm = 3*maxTestEvents + 4<<10
	// maxTestShown is how many event traces a result holds; the counts cover every event
	// evaluated.
	maxTestShown = 1000
	// maxTestEvaluated bounds the events evaluated: 256 KiB of tiny events would otherwise
	// be tens of thousands of evaluations for one request.
	maxTestEvaluated = 10 * maxTestShown
	testLimitText    = "256 KiB"
	// maxTestReferred bounds the rules a correlation test loads: a correlation refers to a
	// handful, and each is compiled for the request.
	maxTestReferred = 20
)

// testForm is the "Test this rule" form, on the rule page (empty) and on the result page
// (holding the text submitted, to edit and resubmit).
type testForm struct {
	Action      string
	Events      string
	Placeholder string
	Limit       string
}

func newTestForm(r *rule.Rule) testForm {
	return testForm{Action: ruleHref(r.ID) + "/test", Placeholder: testPlaceholder(r), Limit: testLimitText}
}

// testPlaceholder is an example event for the form: a one-line CloudTrail record with the
// rule's own call when the rule reads CloudTrail, else a generic JSON Lines example.
func testPlaceholder(r *rule.Rule) string {
	if !isCloudTrail(r) {
		return `{"process": {"name": "example.exe", "command_line": "example.exe --flag"}, "user": {"name": "alice"}}` + "\n" +
			`{"process": {"name": "other.exe"}, "user": {"name": "bob"}}`
	}
	ev := struct {
		EventVersion    string `json:"eventVersion"`
		EventTime       string `json:"eventTime"`
		EventSource     string `json:"eventSource"`
		EventName       string `json:"eventName"`
		AWSRegion       string `json:"awsRegion"`
		SourceIPAddress string `json:"sourceIPAddress"`
		UserIdentity    struct {
			Type string `json:"type"`
			ARN  string `json:"arn"`
		} `json:"userIdentity"`
	}{EventVersion: "1.08", EventTime: "2026-01-01T00:00:00Z", EventSource: "iam.amazonaws.com", EventName: "CreateUser",
		AWSRegion: "us-east-1", SourceIPAddress: "203.0.113.7"}
	ev.UserIdentity.Type, ev.UserIdentity.ARN = "IAMUser", "arn:aws:iam::111122223333:user/alice"
	if len(r.Events) > 0 && r.Events[0].Event != "" {
		ev.EventName = r.Events[0].Event
	}
	for _, ind := range r.Indicators {
		if ind.Kind != rule.KindEq || len(ind.Values) == 0 {
			continue
		}
		switch ind.Canonical {
		case "eventSource":
			ev.EventSource = ind.Values[0].Value
		case "eventName":
			ev.EventName = ind.Values[0].Value
		}
	}
	b, _ := json.Marshal(ev) // a struct of strings always marshals
	return string(b)
}

func isCloudTrail(r *rule.Rule) bool {
	if strings.EqualFold(r.LogSource.Service, "cloudtrail") {
		return true
	}
	for _, n := range r.LogSource.Native {
		if strings.Contains(strings.ToLower(n), "cloudtrail") {
			return true
		}
	}
	for _, e := range r.Events {
		if strings.HasPrefix(e.Provider, "AWS-") {
			return true
		}
	}
	return false
}

// testView is the result page of a test.
type testView struct {
	Title      string
	RuleTitle  string
	RuleHref   string
	Form       testForm
	Reason     string   // why the engine cannot evaluate the rule; nothing else is shown then
	Conditions []string // the rule's conditions, which combine the stages traced below
	Events     int
	Matched    int
	// MatchedWhat says what Matched counts when it is not the rule's own match: "the search"
	// of an aggregation, "a referred rule" for a correlation.
	MatchedWhat string
	Truncated   bool // more events than maxTestShown: only the first are traced below
	Traces      []traceRow
	Errors      []readErrorRow
	NoStages    bool // a correlation: no per-event stage to trace
	Aggregate   *aggregateView
}

type traceRow struct {
	N int // 1-based, counting the events read (lines or documents that failed are not events)
	engine.Trace
	// Hit and Mark are the event's heading: whether it matched what the rule matches on one
	// event (itself, its search, a referred rule), in words.
	Hit  bool
	Mark string
	// AllStages: every stage holds, yet the event does not match; said in words, as it
	// puzzles readers who expect a match.
	AllStages    bool
	ReferredRows []refRow
	Steps        []stepRow
}

// stepRow is what an event did to an aggregate, for the page.
type stepRow struct {
	// Rule is whose aggregate it is: "the aggregation" or "the correlation" for the rule's
	// own, else the title of a correlation it refers to, at Href.
	Rule      string
	Href      string
	Completed bool
	Noun      string // what the value is: count, distinct count, sum, ...
	Value     string
	Group     []groupPart
}

// groupPart is one group-by field and the value of a group.
type groupPart struct{ Field, Value string }

// aggregateView is the aggregate's result over the events, for the page.
type aggregateView struct {
	Heading     string
	Name        string // the heading within a sentence
	Text        string
	Noun        string
	Fired       int
	Completions []completionView
	More        int // completions not listed
	Highest     *stepRow
	// Counted: some event with a timestamp matched a rule the aggregate counts. It may have
	// counted without a Highest: temporal_ordered has no value short of completing.
	Counted  bool
	Untimed  int
	Referred []referredView
}

type completionView struct {
	N     int
	Shown bool // the event is traced on the page, and can be linked
	Value string
	Group []groupPart
}

type referredView struct {
	Title, Href string
	Matched     int
}

type readErrorRow struct {
	Record int64  `json:"record"` // 0-based line, or document for multi-line JSON, as the engine counts
	Msg    string `json:"message"`
	N      int64  `json:"-"` // Record counted from 1, for people
}

// testRun is one evaluation of a rule over pasted events, for the page and the API.
type testRun struct {
	rule     *rule.Rule
	referred []*rule.Rule // a correlation's rules, and those of the correlations among them
	missing  []string     // references of a correlation to rules not in the catalog
	traces   []engine.Trace
	errs     []readErrorRow
	events   int
	matched  int
	// matchedReferred counts the events matching a rule a correlation refers to (one event
	// may match several, so the referred rules' counts do not add up to it).
	matchedReferred int
	agg             *aggregateResult
	err             error // the engine cannot compile the rule
}

// runTest looks up the rule and explains it over events; a missing rule is an error, a rule
// the engine cannot evaluate is not (it is reported in run.err).
func (s *Server) runTest(id string, events []byte) (*testRun, error) {
	ru, err := s.Store().Rule(id)
	if err != nil {
		return nil, err
	}
	run := &testRun{rule: ru, traces: []engine.Trace{}, errs: []readErrorRow{}}
	if ru.Class == rule.ClassCorrelation {
		var tooMany bool
		run.referred, run.missing, tooMany, err = s.referredRules(ru)
		switch {
		case err != nil:
			return nil, err
		case tooMany:
			run.err = fmt.Errorf("it refers to more than %d rules, directly and through the correlations it refers to; run ruleatlas hunt with them instead", maxTestReferred)
			return run, nil
		case len(run.missing) > 0:
			run.err = fmt.Errorf("it refers to %s, not in the catalog", quoteList(run.missing))
			return run, nil
		}
	}
	traces, errs, err := engine.Explain(ru, events, engine.ExplainOptions{MaxEvents: maxTestEvaluated, Referred: run.referred})
	if err != nil {
		run.err = err
		return run, nil
	}
	run.events = len(traces)
	for _, t := range traces {
		if t.Matched {
			run.matched++
		}
		if len(t.Referred) > 0 {
			run.matchedReferred++
		}
	}
	run.agg = newAggregateResult(ru, run.referred, traces)
	if len(traces) > 0 {
		run.traces = traces[:min(len(traces), maxTestShown)]
	}
	for _, e := range errs {
		run.errs = append(run.errs, readErrorRow{e.Record, e.Msg, e.Record + 1})
	}
	return run, nil
}

// referredRules loads the rules a correlation refers to, by the ids the catalog build
// resolved, and those the correlations among them refer to in turn. missing lists the
// references the catalog holds no rule for; tooMany says there are more than maxTestReferred.
func (s *Server) referredRules(ru *rule.Rule) (rules []*rule.Rule, missing []string, tooMany bool, err error) {
	seen := map[string]bool{ru.ID: true}
	queue := append([]rule.Link(nil), ru.Links...)
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		if l.ID == "" {
			missing = append(missing, l.Ref)
			continue
		}
		if seen[l.ID] {
			continue
		}
		seen[l.ID] = true
		if len(rules) == maxTestReferred {
			return nil, nil, true, nil
		}
		r, err := s.Store().Rule(l.ID)
		if errors.Is(err, store.ErrNotFound) {
			// The catalog changed since the link was resolved.
			missing = append(missing, l.Ref)
			continue
		}
		if err != nil {
			return nil, nil, false, err
		}
		rules = append(rules, r)
		if r.Class == rule.ClassCorrelation {
			queue = append(queue, r.Links...)
		}
	}
	return rules, missing, false, nil
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// aggregateResult is what a rule's aggregate did over the events: the JSON of the test API,
// and what the page shows.
type aggregateResult struct {
	Kind     string           `json:"kind"` // "aggregation" (Sigma v1, in the condition) or "correlation"
	Text     string           `json:"text"`
	Function string           `json:"function"`
	GroupBy  []string         `json:"group_by"`
	Window   string           `json:"window,omitempty"`
	Fired    int              `json:"fired"`
	Complete []completionRow  `json:"completions"`
	Highest  *completionRow   `json:"highest,omitempty"`
	Untimed  int              `json:"untimed"`
	Referred []referredResult `json:"referred,omitempty"`
	agg      *rule.Aggregate
	// counted: some event with a timestamp matched a rule the aggregate counts.
	counted bool
}

// completionRow is an event that completed the aggregate, or, as highest, the event with which
// a group reached the highest value when the aggregate did not fire.
type completionRow struct {
	Event   int      `json:"event"` // 0-based, among the events evaluated (the index in traces)
	Record  int64    `json:"record"`
	Element int64    `json:"element"`
	Group   []string `json:"group"`
	Value   float64  `json:"value"`
}

// referredResult is a rule a correlation refers to, and the number of events that matched it.
type referredResult struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Matched int    `json:"matched"`
}

// aggregateOf returns the rule's aggregate and whether it is a correlation's; nil when the
// rule has none.
func aggregateOf(ru *rule.Rule) (*rule.Stage, bool) {
	for i := range ru.Stages {
		if st := &ru.Stages[i]; st.Kind == rule.StageAggregate && st.Aggregate != nil {
			return st, ru.Class == rule.ClassCorrelation
		}
	}
	return nil, false
}

// newAggregateResult sums up the traces of a rule the engine evaluated with an aggregate; nil
// for other rules. An evaluated rule with an aggregate stage is a Sigma aggregation or a
// correlation: the engine refuses any other.
func newAggregateResult(ru *rule.Rule, referred []*rule.Rule, traces []engine.Trace) *aggregateResult {
	st, corr := aggregateOf(ru)
	if st == nil {
		return nil
	}
	a := st.Aggregate
	res := &aggregateResult{Kind: "aggregation", Function: a.Function, GroupBy: a.GroupBy, Window: a.Window,
		Complete: []completionRow{}, agg: a}
	if res.GroupBy == nil {
		res.GroupBy = []string{}
	}
	if corr {
		res.Kind, res.Text = "correlation", correlationText(a)
	} else {
		res.Text = st.Text
		if a.Window != "" {
			res.Text += " within " + a.Window
		}
	}
	matched := map[string]int{}
	for i, t := range traces {
		if t.NoTimestamp {
			res.Untimed++
		} else if t.Matched || len(t.Referred) > 0 {
			res.counted = true
		}
		for _, id := range t.Referred {
			matched[id]++
		}
		for _, step := range t.Aggregates {
			if step.RuleID != ru.ID {
				continue // a correlation it refers to
			}
			row := completionRow{Event: i, Record: t.Record, Element: t.Element, Group: step.Group, Value: step.Value}
			if step.Completed {
				res.Fired++
				if len(res.Complete) < maxTestShown {
					res.Complete = append(res.Complete, row)
				}
			} else if res.Highest == nil || step.Value > res.Highest.Value {
				res.Highest = &row
			}
		}
	}
	if res.Fired > 0 {
		res.Highest = nil
	}
	for _, r := range referred {
		res.Referred = append(res.Referred, referredResult{ID: r.ID, Title: r.Title, Matched: matched[r.ID]})
	}
	return res
}

// correlationText writes a correlation's aggregate on one line, as a legacy aggregation reads:
// "value_count of user by sourceIPAddress > 2 within 10m".
func correlationText(a *rule.Aggregate) string {
	var b strings.Builder
	b.WriteString(a.Function)
	if a.Function == "value_percentile" && a.Percentile > 0 {
		fmt.Fprintf(&b, " (%s)", formatValue(a.Percentile))
	}
	switch {
	case a.Field != "":
		b.WriteString(" of " + a.Field)
	case len(a.Rules) > 0:
		fmt.Fprintf(&b, " of %d %s", len(a.Rules), plural(len(a.Rules), "rule", "rules"))
	}
	if len(a.GroupBy) > 0 {
		b.WriteString(" by " + strings.Join(a.GroupBy, ", "))
	}
	ops := map[string]string{"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "!="}
	for i, c := range a.Conditions {
		if i > 0 {
			b.WriteString(" and")
		}
		fmt.Fprintf(&b, " %s %s", ops[c.Op], formatValue(c.Value))
	}
	if a.Window != "" {
		b.WriteString(" within " + a.Window)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// valueNoun names the value of an aggregate function, legacy or correlation.
func valueNoun(a *rule.Aggregate) string {
	switch a.Function {
	case "count":
		if a.Field != "" {
			return "distinct count"
		}
		return "count"
	case "event_count":
		return "count"
	case "value_count":
		return "distinct count"
	case "sum", "value_sum":
		return "sum"
	case "avg", "value_avg":
		return "average"
	case "value_percentile":
		return "percentile"
	case "min":
		return "minimum"
	case "max":
		return "maximum"
	case "temporal", "temporal_ordered":
		return "rules matched"
	}
	return "value"
}

// stepValue writes a value of an aggregate: a number, or for the temporal types, the rules
// matched out of those referred to.
func stepValue(a *rule.Aggregate, v float64) string {
	if a.Function == "temporal" || a.Function == "temporal_ordered" {
		return fmt.Sprintf("%s of %d", formatValue(v), len(a.Rules))
	}
	return formatValue(v)
}

func groupParts(fields, values []string) []groupPart {
	var out []groupPart
	for i, v := range values {
		f := ""
		if i < len(fields) {
			f = fields[i]
		}
		out = append(out, groupPart{f, v})
	}
	return out
}

// testID is the rule id of a test URL: ids may hold slashes, so the route captures the rest
// of the path and the "/test" suffix is cut here.
func testID(r *http.Request) (string, bool) {
	return strings.CutSuffix(r.PathValue("id"), "/test")
}

func (s *Server) testRule(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, ok := testID(r)
	if !ok {
		s.notFound(w, r, "No page at this address.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTestForm)
	if err := r.ParseForm(); err != nil {
		s.badTestInput(w, err)
		return
	}
	text := r.PostForm.Get("events")
	if len(text) > maxTestEvents {
		s.badTestInput(w, &http.MaxBytesError{Limit: maxTestEvents})
		return
	}
	run, err := s.runTest(id, []byte(text))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := newTestView(run, text)
	status := http.StatusOK
	if run.err != nil {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, status, "test", layout{Title: v.Title, Nav: "rules", Content: v})
}

func (s *Server) badTestInput(w http.ResponseWriter, err error) {
	if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
		s.render(w, http.StatusRequestEntityTooLarge, "error", layout{Title: "Too large", Content: errorView{413, "Too many events",
			"A test takes at most " + testLimitText + " of events. Paste fewer events, or run ruleatlas hunt over the file."}})
		return
	}
	s.render(w, http.StatusBadRequest, "error", layout{Title: "Bad request", Content: errorView{400, "Bad request",
		"The form could not be read: " + err.Error()}})
}

func newTestView(run *testRun, text string) *testView {
	ru := run.rule
	v := &testView{Title: "Test: " + orID(ru.Title, ru.ID), RuleTitle: orID(ru.Title, ru.ID), RuleHref: ruleHref(ru.ID), Form: newTestForm(ru),
		Events: run.events, Matched: run.matched, Truncated: run.events > len(run.traces), Errors: run.errs}
	v.Form.Events = text
	if run.err != nil {
		v.Reason = run.err.Error()
		return v
	}
	for _, st := range ru.Stages {
		if st.Kind == rule.StageCondition && st.Text != "" {
			v.Conditions = append(v.Conditions, st.Text)
		}
	}
	byID := map[string]*rule.Rule{}
	for _, r := range run.referred {
		byID[r.ID] = r
	}
	corr := ru.Class == rule.ClassCorrelation
	switch {
	case corr:
		// A correlation matches no event on its own: what counts is the rules it refers to.
		v.MatchedWhat, v.Matched = "a rule it refers to", run.matchedReferred
	case run.agg != nil:
		v.MatchedWhat = "the search"
	}
	for i, t := range run.traces {
		v.Traces = append(v.Traces, newTraceRow(run, i, t, byID))
	}
	if run.agg != nil {
		v.Aggregate = newAggregateView(run)
	}
	v.NoStages = corr && run.events > 0
	return v
}

// newTraceRow is the i-th event's trace as the page shows it.
func newTraceRow(run *testRun, i int, t engine.Trace, byID map[string]*rule.Rule) traceRow {
	ru := run.rule
	row := traceRow{N: i + 1, Trace: t, AllStages: !t.Matched && len(t.Stages) > 0, Hit: t.Matched, Mark: "matched"}
	for _, st := range t.Stages {
		row.AllStages = row.AllStages && st.Matched
	}
	switch {
	case ru.Class == rule.ClassCorrelation:
		row.Hit, row.Mark = len(t.Referred) > 0, "matched no rule it refers to"
		if row.Hit {
			row.Mark = "matched " + plural(len(t.Referred), "a rule", "rules") + " it refers to"
		}
		for _, id := range t.Referred {
			title := id
			if r := byID[id]; r != nil {
				title = orID(r.Title, id)
			}
			row.ReferredRows = append(row.ReferredRows, refRow{Title: title, Href: ruleHref(id)})
		}
	case run.agg != nil:
		row.Mark = "matched the search"
		if !row.Hit {
			row.Mark = "did not match the search"
		}
	case !row.Hit:
		row.Mark = "not matched"
	}
	for _, step := range t.Aggregates {
		sr := stepRow{Completed: step.Completed, Noun: "value", Value: formatValue(step.Value)}
		var a *rule.Aggregate
		if step.RuleID == ru.ID && run.agg != nil {
			a, sr.Rule = run.agg.agg, "the "+run.agg.Kind
		} else {
			// A correlation this one refers to: its own aggregate names its values.
			sr.Rule, sr.Href = orID(step.Title, step.RuleID), ruleHref(step.RuleID)
			if r := byID[step.RuleID]; r != nil {
				if st, _ := aggregateOf(r); st != nil {
					a = st.Aggregate
				}
			}
		}
		if a != nil {
			sr.Noun, sr.Value, sr.Group = valueNoun(a), stepValue(a, step.Value), groupParts(a.GroupBy, step.Group)
		}
		row.Steps = append(row.Steps, sr)
	}
	return row
}

// newAggregateView is the aggregate's result as the page shows it.
func newAggregateView(run *testRun) *aggregateView {
	res := run.agg
	a := res.agg
	av := &aggregateView{Heading: "Aggregation", Text: res.Text, Noun: valueNoun(a), Fired: res.Fired,
		More: res.Fired - len(res.Complete), Counted: res.counted, Untimed: res.Untimed}
	if res.Kind == "correlation" {
		av.Heading = "Correlation"
	}
	av.Name = strings.ToLower(av.Heading)
	for _, c := range res.Complete {
		av.Completions = append(av.Completions, completionView{N: c.Event + 1, Shown: c.Event < len(run.traces),
			Value: stepValue(a, c.Value), Group: groupParts(a.GroupBy, c.Group)})
	}
	if h := res.Highest; h != nil {
		av.Highest = &stepRow{Noun: av.Noun, Value: stepValue(a, h.Value), Group: groupParts(a.GroupBy, h.Group)}
	}
	for _, r := range res.Referred {
		av.Referred = append(av.Referred, referredView{Title: orID(r.Title, r.ID), Href: ruleHref(r.ID), Matched: r.Matched})
	}
	return av
}

// testResult is the JSON answer of the test API.
type testResult struct {
	RuleID    string         `json:"rule_id"`
	Events    int            `json:"events"`
	Matched   int            `json:"matched"`
	Truncated bool           `json:"truncated,omitempty"` // traces holds the first maxTestShown events
	Traces    []engine.Trace `json:"traces"`
	Errors    []readErrorRow `json:"errors"`
	// Aggregate is what the rule's aggregate (a Sigma aggregation or a correlation) did over
	// the events, in order; absent for rules without one.
	Aggregate *aggregateResult `json:"aggregate,omitempty"`
}

func (s *Server) apiTestRule(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, ok := testID(r)
	if !ok {
		s.writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API route"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTestEvents))
	if err != nil {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			s.writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "the body holds more than " + testLimitText + " of events"})
			return
		}
		s.writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading the body: " + err.Error()})
		return
	}
	run, err := s.runTest(id, body)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.writeJSON(w, http.StatusNotFound, map[string]string{"error": "no rule with this id"})
			return
		}
		s.log.Error("api test", "err", err)
		s.writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "catalog read failed"})
		return
	}
	if run.err != nil {
		ans := map[string]any{"rule_id": run.rule.ID, "error": "the engine cannot evaluate this rule: " + run.err.Error()}
		if len(run.missing) > 0 {
			ans["missing"] = run.missing
		}
		s.writeJSON(w, http.StatusUnprocessableEntity, ans)
		return
	}
	s.writeJSON(w, http.StatusOK, testResult{RuleID: run.rule.ID, Events: run.events, Matched: run.matched,
		Truncated: run.events > len(run.traces), Traces: run.traces, Errors: run.errs, Aggregate: run.agg})
}
