package engine

import (
	"encoding/json"
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
