package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/rule"
)

func TestExplain(t *testing.T) {
	rules, errs := sigma.Parse("r.yml", []byte(`title: IAM CreateUser
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: CreateUser
    filter:
        errorCode|exists: true
    condition: selection and not filter
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	events := `{"eventSource":"iam.amazonaws.com","eventName":"CreateUser"}
{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorCode":"AccessDenied"}
{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}
{"broken":
`
	traces, rerrs, err := Explain(rules[0], []byte(events), ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 3 || len(rerrs) != 1 || rerrs[0].Record != 3 {
		t.Fatalf("%d traces, errors %v", len(traces), rerrs)
	}
	want := []bool{true, false, false}
	for i, tr := range traces {
		if tr.Matched != want[i] {
			t.Errorf("event %d matched %v, want %v", i, tr.Matched, want[i])
		}
	}
	// Event 1: the selection holds, the filter too (errorCode exists), so the rule does not.
	s := traces[1].Stages
	if len(s) != 2 || s[0].Name != "selection" || !s[0].Matched || s[1].Name != "filter" || !s[1].Matched {
		t.Fatalf("stages of event 1: %+v", s)
	}
	if f := s[1].Predicates[0]; f.Field != "errorCode" || !f.Matched || len(f.Found) != 1 || f.Found[0] != "AccessDenied" {
		t.Errorf("filter predicate: %+v", f)
	}
	// Event 2: eventName fails, eventSource holds.
	p := traces[2].Stages[0].Predicates
	if !p[0].Matched || p[1].Matched || p[1].Found[0] != "DeleteUser" {
		t.Errorf("selection predicates of event 2: %+v", p)
	}
}

func parseSigma(t *testing.T, src string) *rule.Rule {
	t.Helper()
	rules, errs := sigma.Parse("r.yml", []byte(src))
	if len(errs) > 0 || len(rules) != 1 {
		t.Fatalf("%d rules, errors %v", len(rules), errs)
	}
	return rules[0]
}

const createUserRule = `title: IAM CreateUser
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: CreateUser
    filter:
        errorCode|exists: true
    condition: selection and not filter
`

func TestExplainMaxEvents(t *testing.T) {
	r := parseSigma(t, createUserRule)
	events := strings.Repeat(`{"eventName":"CreateUser"}`+"\n", 3) + "{broken\n" + strings.Repeat(`{"eventName":"CreateUser"}`+"\n", 3)
	for _, tc := range []struct {
		max, traces int
		errs        []int64 // records of the read errors, in order
		stop        bool    // the last error says reading stopped
	}{
		{0, 6, []int64{3}, false},
		{6, 6, []int64{3}, false}, // exactly the bound: nothing left out, nothing said
		{2, 2, []int64{2}, true},  // stopped at line 2, before the broken line
		{4, 4, []int64{3, 5}, true},
	} {
		traces, errs, err := Explain(r, []byte(events), ExplainOptions{MaxEvents: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		var recs []int64
		for _, e := range errs {
			recs = append(recs, e.Record)
		}
		if len(traces) != tc.traces || !slices.Equal(recs, tc.errs) {
			t.Errorf("max %d: %d traces, errors %v; want %d, at %v", tc.max, len(traces), errs, tc.traces, tc.errs)
			continue
		}
		last := errs[len(errs)-1].Msg
		if got := strings.HasPrefix(last, "stopped after "); got != tc.stop {
			t.Errorf("max %d: last error %q", tc.max, last)
		}
	}
	// Inside a CloudTrail envelope the message says from which element on.
	traces, errs, err := Explain(r, []byte(`{"Records":[{"eventName":"A"},{"eventName":"B"},{"eventName":"C"}]}`), ExplainOptions{MaxEvents: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 2 || len(errs) != 1 || errs[0].Record != 0 || !strings.Contains(errs[0].Msg, "from its element 2 on") {
		t.Errorf("envelope: %d traces, errors %v", len(traces), errs)
	}
}

// Events and read errors count records alike: blank lines, a broken line and a CloudTrail
// envelope all keep an event's record its line.
func TestExplainRecords(t *testing.T) {
	r := parseSigma(t, createUserRule)
	events := "\n" + `{"eventName":"CreateUser"}` + "\n\n{broken\n" +
		`{"Records":[{"eventName":"A"},{"eventName":"CreateUser"}]}` + "\n" + `{"eventName":"B"}`
	traces, errs, err := Explain(r, []byte(events), ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type pos struct{ rec, elem int64 }
	var got []pos
	for _, tr := range traces {
		got = append(got, pos{tr.Record, tr.Element})
	}
	want := []pos{{1, -1}, {4, 0}, {4, 1}, {5, -1}}
	if !slices.Equal(got, want) || len(errs) != 1 || errs[0].Record != 3 {
		t.Fatalf("traces at %v, want %v; errors %v", got, want, errs)
	}
	if !traces[2].Matched || traces[1].Matched {
		t.Errorf("envelope elements matched %v %v, want false true", traces[1].Matched, traces[2].Matched)
	}
	// Multi-line documents: records are documents.
	docs := "{\n \"eventName\": \"X\"\n}\n{\n \"eventName\": \"CreateUser\"\n}\n"
	traces, _, err = Explain(r, []byte(docs), ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 2 || traces[1].Record != 1 || !traces[1].Matched {
		t.Errorf("documents: %+v", traces)
	}
}

func TestExplainNegated(t *testing.T) {
	r := parseSigma(t, `title: t
logsource:
    product: aws
detection:
    selection:
        eventName: CreateUser
        errorCode|exists: false
    condition: selection
`)
	traces, _, err := Explain(r, []byte(`{"eventName":"CreateUser"}`), ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := traces[0].Stages[0].Predicates
	if len(p) != 2 || p[0].Negated || !p[1].Negated || !p[1].Matched {
		t.Fatalf("predicates: %+v", p)
	}
	b, _ := json.Marshal(p[1])
	if !strings.Contains(string(b), `"negated":true`) {
		t.Errorf("JSON: %s", b)
	}
}

// An event the rule's log source rules out says so, while its stages are still traced.
func TestExplainSkipped(t *testing.T) {
	const cloudtrail = `{"eventSource":"iam.amazonaws.com","awsRegion":"us-east-1","eventName":"CreateUser","Image":"C:\\x.exe"}`
	const sysmon = `{"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Image":"C:\\x.exe","eventName":"CreateUser"}}}`
	const sysmon3 = `{"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":3},"EventData":{"Image":"C:\\x.exe"}}}`
	aws := parseSigma(t, createUserRule)
	win := parseSigma(t, `title: t
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\x.exe'
    condition: selection
`)
	winAny := parseSigma(t, `title: t
logsource:
    product: windows
    service: no-such-service
detection:
    selection:
        Image|endswith: '\x.exe'
    condition: selection
`)
	gcp := parseSigma(t, `title: t
logsource:
    product: gcp
detection:
    selection:
        eventName: CreateUser
    condition: selection
`)
	web := parseSigma(t, `title: t
logsource:
    category: webserver
detection:
    selection:
        eventName: CreateUser
    condition: selection
`)
	anywhere := parseSigma(t, `title: t
logsource: {}
detection:
    selection:
        eventName: CreateUser
    condition: selection
`)
	for _, tc := range []struct {
		name    string
		r       *rule.Rule
		event   string
		matched bool
		skipped string // a word of the reason; "" for none
	}{
		{"aws on cloudtrail", aws, cloudtrail, true, ""},
		{"aws on windows", aws, sysmon, false, "Windows event log record"},
		{"windows on cloudtrail", win, cloudtrail, false, "Channel Microsoft-Windows-Sysmon/Operational with EventID 1"},
		{"windows on its stream", win, sysmon, true, ""},
		{"windows on another event id", win, sysmon3, false, "not an event of the rule's log source"},
		{"windows, no stream known, on cloudtrail", winAny, cloudtrail, false, "no Event.System"},
		{"windows, no stream known, on windows", winAny, sysmon3, true, ""},
		{"gcp on cloudtrail", gcp, cloudtrail, false, "CloudTrail record"},
		{"gcp on other JSON", gcp, `{"eventName":"CreateUser"}`, true, ""},
		{"webserver, no product, on cloudtrail", web, cloudtrail, false, "has no product, not aws"},
		{"webserver on other JSON", web, `{"eventName":"CreateUser"}`, true, ""},
		{"no log source on cloudtrail", anywhere, cloudtrail, true, ""},
	} {
		traces, _, err := Explain(tc.r, []byte(tc.event), ExplainOptions{})
		if err != nil {
			t.Fatal(tc.name, err)
		}
		tr := traces[0]
		if tr.Matched != tc.matched || (tc.skipped == "") != (tr.Skipped == "") || !strings.Contains(tr.Skipped, tc.skipped) {
			t.Errorf("%s: matched %v, skipped %q; want %v, %q", tc.name, tr.Matched, tr.Skipped, tc.matched, tc.skipped)
		}
		// Skipped or not, the selection is traced on the event's own values.
		if len(tr.Stages) == 0 || tr.Stages[0].Name != "selection" || len(tr.Stages[0].Predicates) != 1 {
			t.Errorf("%s: stages %+v", tc.name, tr.Stages)
		}
	}
}

func TestReadErrorJSON(t *testing.T) {
	b, err := json.Marshal(ReadError{File: "a.json", Record: 7, Msg: "malformed JSON"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"file":"a.json","record":7,"message":"malformed JSON"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// aggSteps renders what each event did to the aggregates: "rule:group=value" for a value
// reached, "rule:group!value" for a completion, "-" for an event without timestamp.
func aggSteps(traces []Trace) []string {
	var out []string
	for _, tr := range traces {
		var parts []string
		if tr.NoTimestamp {
			parts = append(parts, "-")
		}
		for _, s := range tr.Aggregates {
			mark := "="
			if s.Completed {
				mark = "!"
			}
			parts = append(parts, fmt.Sprintf("%s:%s%s%v", s.Title, strings.Join(s.Group, ","), mark, s.Value))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// A Sigma v1 aggregation is evaluated over the events in order with the hunt's correlator: the
// event completing it is the one a hunt reports, with its group and count; the others say the
// count their group reached. A near miss completes nothing, and an event without a timestamp
// counts toward no window.
func TestExplainLegacyAggregation(t *testing.T) {
	events := strings.Join([]string{
		login(0, "bob", "x", false),
		login(1, "alice", "y", false),
		login(2, "bob", "x", false),
		login(3, "bob", "y", false),
		login(4, "carol", "x", true), // a success: not a match of the search
		login(5, "bob", "x", false),  // x: 3 failures within 5 minutes
		login(7, "bob", "y", false),  // y: 1, 3, 7: the first is out of 5 minutes
		`{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","sourceIPAddress":"x"}`,
	}, "\n")
	for _, tc := range []struct {
		aggregation string
		want        []string
	}{
		{"count() by sourceIPAddress > 2", []string{"L:x=1", "L:y=1", "L:x=2", "L:y=2", "", "L:x!3", "L:y=2", "-"}},
		// The near miss: x reaches 3, which is not above 3.
		{"count() by sourceIPAddress > 3", []string{"L:x=1", "L:y=1", "L:x=2", "L:y=2", "", "L:x=3", "L:y=2", "-"}},
		// Distinct users per address, over the whole stream.
		{"count(userIdentity.userName) by sourceIPAddress >= 2", []string{"L:x=1", "L:y=1", "L:x=1", "L:y!2", "", "L:x=1", "L:y=1", "-"}},
	} {
		r := parseSigma(t, legacyRule("L", tc.aggregation, "5m"))
		traces, errs, err := Explain(r, []byte(events), ExplainOptions{})
		if err != nil || len(errs) > 0 {
			t.Fatalf("%s: %v %v", tc.aggregation, err, errs)
		}
		if got := aggSteps(traces); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.aggregation, got, tc.want)
		}
		// The per-event trace of the search is kept.
		if !traces[0].Matched || traces[4].Matched || len(traces[0].Stages) != 1 || traces[0].Stages[0].Name != "selection" {
			t.Errorf("%s: search traces %+v", tc.aggregation, traces[:5])
		}
		if len(traces[0].Referred) != 0 {
			t.Errorf("%s: a rule's own matches listed as referred: %v", tc.aggregation, traces[0].Referred)
		}
	}
}

// The completion Explain reports is the detection a hunt reports for the same events.
func TestExplainAggregationAsHunt(t *testing.T) {
	r := parseSigma(t, legacyRule("L", "count() by sourceIPAddress > 1", "10m"))
	var lines []string
	for i := range 9 {
		lines = append(lines, login(i, "bob", fmt.Sprint("ip", i%3), false))
	}
	events := strings.Join(lines, "\n")
	traces, _, err := Explain(r, []byte(events), ExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var explained []string
	for _, tr := range traces {
		for _, s := range tr.Aggregates {
			if s.Completed {
				explained = append(explained, fmt.Sprintf("%d=%v/%s", tr.Record, s.Value, strings.Join(s.Group, ",")))
			}
		}
	}
	p, err := Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	var hunted []string
	if _, err := Run(context.Background(), NewSet([]*Program{p}), []string{"-"}, Options{Stdin: strings.NewReader(events), Threads: 1}, func(d *Detection) error {
		hunted = append(hunted, fmt.Sprintf("%d=%v/%s", d.Record, d.Value, strings.Join(d.Group, ",")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(hunted) == 0 || !slices.Equal(explained, hunted) {
		t.Errorf("explained %v, hunted %v", explained, hunted)
	}
}

// referredRules parses the base rules the correlation tests refer to.
func referredRules(t *testing.T, src string) []*rule.Rule {
	t.Helper()
	rules, errs := sigma.Parse("base.yml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return rules
}

const failThenSuccess = `title: Fail and Success
id: 00000000-0000-0000-0000-0000000000c1
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: temporal
    rules:
        - login_failed
        - login_ok
    group-by:
        - userIdentity.userName
    timespan: 5m
level: high
`

// A correlation is evaluated over the rules it refers to, given as referred rules: each event
// says which of them it matched and what it did to the correlation.
func TestExplainCorrelation(t *testing.T) {
	r := parseSigma(t, failThenSuccess)
	events := strings.Join([]string{
		login(0, "bob", "1.1.1.1", true),
		login(1, "alice", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", false), // bob: success then failure within 5m: fires
		login(20, "alice", "1.1.1.1", true),
		`{"eventName":"GetObject"}`,
	}, "\n")
	traces, _, err := Explain(r, []byte(events), ExplainOptions{Referred: referredRules(t, baseRules)})
	if err != nil {
		t.Fatal(err)
	}
	const failed, ok = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
	wantReferred := [][]string{{ok}, {failed}, {failed}, {ok}, nil}
	for i, tr := range traces {
		if !slices.Equal(tr.Referred, wantReferred[i]) {
			t.Errorf("event %d: referred %v, want %v", i, tr.Referred, wantReferred[i])
		}
		if tr.Matched {
			t.Errorf("event %d: a correlation matched a single event", i)
		}
	}
	want := []string{"Fail and Success:bob=1", "Fail and Success:alice=1", "Fail and Success:bob!2", "Fail and Success:alice=1", ""}
	if got := aggSteps(traces); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if s := traces[2].Aggregates[0]; s.RuleID != "00000000-0000-0000-0000-0000000000c1" {
		t.Errorf("completion of rule %q", s.RuleID)
	}
}

// A chain: the correlation below completes on an event, and the one above takes it there.
func TestExplainChainedCorrelation(t *testing.T) {
	r := parseSigma(t, `title: Top
id: top
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - many_failed
    group-by:
        - userIdentity.userName
    timespan: 1h
    condition:
        gte: 2
level: high
`)
	referred := referredRules(t, baseRules+`---
title: Many Failed
id: many
name: many_failed
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - login_failed
    group-by:
        - userIdentity.userName
    timespan: 10m
    condition:
        gte: 2
level: medium
`)
	var lines []string
	for i := range 4 {
		lines = append(lines, login(i, "bob", "1.1.1.1", false))
	}
	traces, _, err := Explain(r, []byte(strings.Join(lines, "\n")), ExplainOptions{Referred: referred})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Many Failed:bob=1", "Many Failed:bob!2 Top:bob=1", "Many Failed:bob=1", "Many Failed:bob!2 Top:bob!2"}
	if got := aggSteps(traces); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A correlation whose referred rules are not all given is not evaluated: the error names the
// rule missing.
func TestExplainMissingReferred(t *testing.T) {
	r := parseSigma(t, failThenSuccess)
	base := referredRules(t, baseRules)
	for _, referred := range [][]*rule.Rule{nil, base[:1]} {
		traces, _, err := Explain(r, []byte(login(0, "bob", "1.1.1.1", true)), ExplainOptions{Referred: referred})
		missing := `"login_ok"`
		if referred == nil {
			missing = `"login_failed"`
		}
		if err == nil || !strings.Contains(err.Error(), missing) || traces != nil {
			t.Errorf("%d referred: traces %v, error %v; want an error naming %s", len(referred), traces, err, missing)
		}
	}
	// A referred rule the engine cannot evaluate is named too.
	broken := *base[1]
	broken.Stages = append([]rule.Stage{{Name: "x", Kind: rule.StageOpaque, Reason: "not modelled"}}, broken.Stages...)
	_, _, err := Explain(r, nil, ExplainOptions{Referred: []*rule.Rule{base[0], &broken}})
	if err == nil || !strings.Contains(err.Error(), `"Login Succeeded"`) {
		t.Errorf("broken referred rule: %v", err)
	}
}
