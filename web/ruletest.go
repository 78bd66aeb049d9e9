package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
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
	Truncated  bool // more events than maxTestShown: only the first are traced below
	Traces     []traceRow
	Errors     []readErrorRow
	NoStages   bool // a rule evaluated over groups of events: no per-event stage to trace
}

type traceRow struct {
	N int // 1-based, counting the events read (lines or documents that failed are not events)
	engine.Trace
	// AllStages: every stage holds, yet the event does not match; said in words, as it
	// puzzles readers who expect a match.
	AllStages bool
}

type readErrorRow struct {
	Record int64  `json:"record"` // 0-based line, or document for multi-line JSON, as the engine counts
	Msg    string `json:"message"`
	N      int64  `json:"-"` // Record counted from 1, for people
}

// testRun is one evaluation of a rule over pasted events, for the page and the API.
type testRun struct {
	rule    *rule.Rule
	traces  []engine.Trace
	errs    []readErrorRow
	events  int
	matched int
	err     error // the engine cannot compile the rule
}

// runTest looks up the rule and explains it over events; a missing rule is an error, a rule
// the engine cannot evaluate is not (it is reported in run.err).
func (s *Server) runTest(id string, events []byte) (*testRun, error) {
	ru, err := s.Store().Rule(id)
	if err != nil {
		return nil, err
	}
	run := &testRun{rule: ru, traces: []engine.Trace{}, errs: []readErrorRow{}}
	traces, errs, err := engine.Explain(ru, events, engine.ExplainOptions{MaxEvents: maxTestEvaluated})
	if err != nil {
		run.err = err
		return run, nil
	}
	run.events = len(traces)
	for _, t := range traces {
		if t.Matched {
			run.matched++
		}
	}
	if len(traces) > 0 {
		run.traces = traces[:min(len(traces), maxTestShown)]
	}
	for _, e := range errs {
		run.errs = append(run.errs, readErrorRow{e.Record, e.Msg, e.Record + 1})
	}
	return run, nil
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
	for i, t := range run.traces {
		row := traceRow{N: i + 1, Trace: t, AllStages: !t.Matched && len(t.Stages) > 0}
		for _, st := range t.Stages {
			row.AllStages = row.AllStages && st.Matched
		}
		v.Traces = append(v.Traces, row)
	}
	v.NoStages = run.events > 0 && len(run.traces) > 0 && len(run.traces[0].Stages) == 0
	return v
}

// testResult is the JSON answer of the test API.
type testResult struct {
	RuleID    string         `json:"rule_id"`
	Events    int            `json:"events"`
	Matched   int            `json:"matched"`
	Truncated bool           `json:"truncated,omitempty"` // traces holds the first maxTestShown events
	Traces    []engine.Trace `json:"traces"`
	Errors    []readErrorRow `json:"errors"`
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
		s.writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"rule_id": run.rule.ID, "error": "the engine cannot evaluate this rule: " + run.err.Error()})
		return
	}
	s.writeJSON(w, http.StatusOK, testResult{RuleID: run.rule.ID, Events: run.events, Matched: run.matched,
		Truncated: run.events > len(run.traces), Traces: run.traces, Errors: run.errs})
}
