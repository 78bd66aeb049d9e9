package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/rule"
)

const testRuleID = "5d2c1f0a-7b3e-4c9d-8e1f-0a2b3c4d5e6f"

// createUserRule is a CloudTrail rule as the Sigma parser gives it, which is what the engine
// compiles in a real catalog.
func createUserRule(t testing.TB) *rule.Rule {
	return sigmaRule(t, testRuleID, "IAM CreateUser without error", "CreateUser")
}

// sigmaRule parses the CloudTrail rule with another id, title and event name, each in YAML
// single quotes.
func sigmaRule(t testing.TB, id, title, event string) *rule.Rule {
	t.Helper()
	rules, errs := sigma.Parse("create_user.yml", []byte(`title: '`+title+`'
id: '`+id+`'
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: '`+event+`'
    filter:
        errorCode|exists: true
    condition: selection and not filter
level: medium
`))
	if len(errs) > 0 || len(rules) != 1 {
		t.Fatalf("sigma: %d rules, %v", len(rules), errs)
	}
	return rules[0]
}

func newRuleTestServer(t testing.TB, extra ...*rule.Rule) *Server {
	t.Helper()
	s, _ := newTestServer(t, append(append(fixtureRules(), createUserRule(t)), extra...), Options{NoPrerender: true})
	return s
}

func post(t testing.TB, h http.Handler, target, ctype, body string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", target, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func postEvents(t testing.TB, h http.Handler, id, events string) (*http.Response, string) {
	t.Helper()
	return post(t, h, "/rules/"+id+"/test", "application/x-www-form-urlencoded", url.Values{"events": {events}}.Encode())
}

// traceSections splits a result page into its events' sections.
func traceSections(body string) []string {
	parts := strings.Split(body, `<section class="trace `)
	return parts[1:]
}

var predRowRE = regexp.MustCompile(`<tr class="(hit|miss)">\s*<td>(?:<code>([^<]*)</code>|<span class="muted">any field</span>)</td>`)

// predMarks lists "field:hit" or "field:miss" for each predicate row of one event, in order.
func predMarks(section string) []string {
	var out []string
	for _, m := range predRowRE.FindAllStringSubmatch(section, -1) {
		out = append(out, m[2]+":"+m[1])
	}
	return out
}

const (
	createUserEvent = `{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1"}`
	deleteUserEvent = `{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1"}`
	deniedEvent     = `{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorCode":"AccessDenied","awsRegion":"us-east-1"}`
)

// A matching event and a near miss are marked per event, per stage and per predicate, with
// the values the event holds.
func TestRuleTestMarks(t *testing.T) {
	s := newRuleTestServer(t)
	res, body := postEvents(t, s, testRuleID, createUserEvent+"\n"+deleteUserEvent+"\n"+deniedEvent+"\n")
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.500s", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	for _, want := range []string{"3 events, 1 matched", `href="/rules/` + testRuleID + `"`, "<code>selection and not filter</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("result page lacks %q", want)
		}
	}
	traces := traceSections(body)
	if len(traces) != 3 {
		t.Fatalf("%d event sections, want 3", len(traces))
	}
	tests := []struct {
		matched bool
		marks   []string
		found   []string
	}{
		{true, []string{"eventSource:hit", "eventName:hit", "errorCode:miss"}, []string{"<code>CreateUser</code>", `<span class="muted">absent</span>`}},
		{false, []string{"eventSource:hit", "eventName:miss", "errorCode:miss"}, []string{"<code>DeleteUser</code>"}},
		// Every stage holds, and the condition negates the filter: the page says so.
		{false, []string{"eventSource:hit", "eventName:hit", "errorCode:hit"}, []string{"<code>AccessDenied</code>", "Every stage holds"}},
	}
	for i, tt := range tests {
		sec := traces[i]
		if got := strings.HasPrefix(sec, "hit"); got != tt.matched {
			t.Errorf("event %d: section matched %v, want %v", i+1, got, tt.matched)
		}
		mark := "✗ not matched</span></h3>"
		if tt.matched {
			mark = "✓ matched</span></h3>"
		}
		if !strings.Contains(sec, mark) {
			t.Errorf("event %d: heading lacks %q", i+1, mark)
		}
		if got := predMarks(sec); strings.Join(got, " ") != strings.Join(tt.marks, " ") {
			t.Errorf("event %d: predicate marks %v, want %v", i+1, got, tt.marks)
		}
		for _, f := range tt.found {
			if !strings.Contains(sec, f) {
				t.Errorf("event %d lacks %q", i+1, f)
			}
		}
	}
	// The stage marks of the near miss: the selection fails, the filter does not hold.
	if !strings.Contains(traces[1], `selection <span class="mark miss">✗ does not hold</span>`) {
		t.Error("event 2: selection not marked as failing")
	}
}

// JSON Lines, an array and a CloudTrail envelope (on one line or pretty-printed) are all
// events; counts come from the engine's reading of each.
func TestRuleTestFormats(t *testing.T) {
	s := newRuleTestServer(t)
	tests := []struct {
		name            string
		events          string
		count, matched  int
		errors          int
		recordOfAnError int64
	}{
		{"json lines", createUserEvent + "\n" + deleteUserEvent + "\n" + createUserEvent, 3, 2, 0, 0},
		{"array", "[" + createUserEvent + "," + deleteUserEvent + "]", 2, 1, 0, 0},
		{"envelope", `{"Records":[` + createUserEvent + "," + deleteUserEvent + "," + deniedEvent + `]}`, 3, 1, 0, 0},
		{"pretty envelope", "{\n  \"Records\": [\n    " + createUserEvent + ",\n    " + createUserEvent + "\n  ]\n}\n", 2, 2, 0, 0},
		{"broken line", createUserEvent + "\n{\"eventName\": \n" + createUserEvent + "\n", 2, 2, 1, 1},
		{"not json", "hello, world", 0, 0, 1, 0},
		{"empty", "", 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := post(t, s, "/api/rules/"+testRuleID+"/test", "application/json", tt.events)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %.300s", res.StatusCode, body)
			}
			var got testResult
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Events != tt.count || got.Matched != tt.matched || len(got.Traces) != tt.count || len(got.Errors) != tt.errors {
				t.Fatalf("events %d, matched %d, %d traces, errors %v; want %d, %d, %d, %d errors",
					got.Events, got.Matched, len(got.Traces), got.Errors, tt.count, tt.matched, tt.count, tt.errors)
			}
			if tt.errors > 0 && got.Errors[0].Record != tt.recordOfAnError {
				t.Errorf("error at record %d, want %d", got.Errors[0].Record, tt.recordOfAnError)
			}
		})
	}
}

// Malformed input is a result, not a failure: the page lists what could not be read beside
// the events that could.
func TestRuleTestMalformedInput(t *testing.T) {
	s := newRuleTestServer(t)
	res, body := postEvents(t, s, testRuleID, createUserEvent+"\n{\"eventName\": \n")
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.300s", res.StatusCode, body)
	}
	for _, want := range []string{"1 event, 1 matched", "1 could not be read", "<h2>Not read</h2>", "<li>Line or document 2: "} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	res, body = postEvents(t, s, testRuleID, "   ")
	if res.StatusCode != 200 || !strings.Contains(body, "No event found in the text.") {
		t.Errorf("blank input: status %d, page without the hint", res.StatusCode)
	}
	// A form that cannot be decoded is the client's error.
	res, _ = post(t, s, "/rules/"+testRuleID+"/test", "application/x-www-form-urlencoded", "events=%zz")
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("undecodable form: status %d, want 400", res.StatusCode)
	}
}

// The bound is on the pasted text: a body under it passes even when URL encoding makes the
// form larger, a body over it is refused with a page that says the limit.
func TestRuleTestSizeBound(t *testing.T) {
	s := newRuleTestServer(t)
	line := deleteUserEvent + "\n"
	big := strings.Repeat(line, maxTestEvents/len(line)+1)
	res, body := postEvents(t, s, testRuleID, big)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "256 KiB") {
		t.Errorf("form over the bound: status %d, want 413 with the limit; %.300s", res.StatusCode, body)
	}
	// A form far over even the encoded bound is cut while reading.
	res, _ = postEvents(t, s, testRuleID, strings.Repeat(big, 4))
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("form over the encoded bound: status %d, want 413", res.StatusCode)
	}
	under := strings.Repeat(line, (maxTestEvents-1)/len(line))
	if enc := len(url.Values{"events": {under}}.Encode()); enc <= maxTestEvents {
		t.Fatalf("test needs a form larger than the text bound once encoded; %d bytes", enc)
	}
	res, body = postEvents(t, s, testRuleID, under)
	if res.StatusCode != 200 {
		t.Errorf("form under the bound: status %d: %.300s", res.StatusCode, body)
	}
	res, body = post(t, s, "/api/rules/"+testRuleID+"/test", "application/json", big)
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "256 KiB") {
		t.Errorf("API over the bound: status %d: %.300s", res.StatusCode, body)
	}
}

// More events than a page shows are counted, and the first ones traced.
func TestRuleTestShownCap(t *testing.T) {
	s := newRuleTestServer(t)
	_, body := post(t, s, "/api/rules/"+testRuleID+"/test", "application/json", strings.Repeat(createUserEvent+"\n", maxTestShown+5))
	var got testResult
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Events != maxTestShown+5 || got.Matched != maxTestShown+5 || len(got.Traces) != maxTestShown || !got.Truncated {
		t.Errorf("events %d, matched %d, %d traces, truncated %v", got.Events, got.Matched, len(got.Traces), got.Truncated)
	}
}

func TestRuleTestNotFound(t *testing.T) {
	s := newRuleTestServer(t)
	for _, target := range []string{"/rules/no-such-rule/test", "/rules/" + testRuleID, "/api/rules/no-such-rule/test", "/api/rules/" + testRuleID} {
		res, body := post(t, s, target, "application/x-www-form-urlencoded", "events=%7B%7D")
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404: %.200s", target, res.StatusCode, body)
		}
	}
}

// A rule the engine cannot compile shows the engine's reason, and no result.
func TestRuleTestUnevaluable(t *testing.T) {
	s := newRuleTestServer(t)
	res, body := postEvents(t, s, "kusto-1", createUserEvent)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.StatusCode)
	}
	for _, want := range []string{"The engine cannot evaluate this rule:", "is opaque: evaluate plugins are not modelled", `href="/rules/kusto-1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "matched") {
		t.Error("a rule that cannot be evaluated shows a result")
	}
	res, body = post(t, s, "/api/rules/kusto-1/test", "application/json", createUserEvent)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "opaque") {
		t.Errorf("API: status %d: %s", res.StatusCode, body)
	}
}

// Rule text and event text are both untrusted: the result page shows them escaped, the
// textarea keeps the submitted text exactly, and nothing becomes markup.
func TestRuleTestEscapes(t *testing.T) {
	const x = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	s := newRuleTestServer(t, sigmaRule(t, "xss-test", x, x))
	events := `{"eventSource":"iam.amazonaws.com","eventName":"` + strings.ReplaceAll(x, `"`, `\"`) + `","awsRegion":"x"}` + "\n" +
		`{"eventName":"</textarea><script>alert(3)</script>","awsRegion":"x"}`
	res, body := postEvents(t, s, "xss-test", events)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.500s", res.StatusCode, body)
	}
	lower := strings.ToLower(body)
	for _, bad := range []string{"<script", "<img", "</textarea><"} {
		if i := strings.Index(lower, bad); i >= 0 {
			t.Errorf("page contains %q: …%s…", bad, body[max(0, i-80):min(len(body), i+80)])
		}
	}
	esc := "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
	if n := strings.Count(body, esc); n < 4 { // title, rule value, event value, textarea
		t.Errorf("escaped payload shown %d times, want at least 4", n)
	}
	if !strings.Contains(body, "1 matched") {
		t.Error("the event holding the rule's value did not match")
	}
	// The textarea holds the submitted text, which a browser decodes back to the original.
	m := regexp.MustCompile(`(?s)<textarea[^>]*>\n(.*?)</textarea>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no textarea on the result page")
	}
	if got := htmlUnescape(m[1]); got != events {
		t.Errorf("textarea holds\n%s\nwant\n%s", got, events)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&amp;", "&", "&#43;", "+").Replace(s)
}

// The API answers with the documented keys, and traces as the engine gives them.
func TestRuleTestAPIShape(t *testing.T) {
	s := newRuleTestServer(t)
	res, body := post(t, s, "/api/rules/"+testRuleID+"/test", "application/json", deleteUserEvent+"\nnope\n")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rule_id", "events", "matched", "traces", "errors"} {
		if _, ok := m[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, body)
		}
	}
	if _, ok := m["truncated"]; ok {
		t.Error("truncated shown for a short input")
	}
	var got struct {
		RuleID  string `json:"rule_id"`
		Events  int    `json:"events"`
		Matched int    `json:"matched"`
		Traces  []struct {
			Record  int64 `json:"record"`
			Matched bool  `json:"matched"`
			Stages  []struct {
				Name       string `json:"name"`
				Matched    bool   `json:"matched"`
				Predicates []struct {
					Field   string   `json:"field"`
					Kind    string   `json:"kind"`
					Values  []string `json:"values"`
					Matched bool     `json:"matched"`
					Found   []string `json:"found"`
				} `json:"predicates"`
			} `json:"stages"`
		} `json:"traces"`
		Errors []struct {
			Record  int64  `json:"record"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.RuleID != testRuleID || got.Events != 1 || got.Matched != 0 || len(got.Traces) != 1 {
		t.Fatalf("answer %+v", got)
	}
	if len(got.Errors) != 1 || got.Errors[0].Record != 1 || got.Errors[0].Message == "" {
		t.Errorf("errors %+v, want one at record 1", got.Errors)
	}
	st := got.Traces[0].Stages
	if len(st) != 2 || st[0].Name != "selection" || st[0].Matched || st[1].Name != "filter" {
		t.Fatalf("stages %+v", st)
	}
	p := st[0].Predicates[1]
	if p.Field != "eventName" || p.Kind != "eq" || p.Matched || len(p.Values) != 1 || p.Values[0] != "CreateUser" ||
		len(p.Found) != 1 || p.Found[0] != "DeleteUser" {
		t.Errorf("eventName predicate %+v", p)
	}
	// An empty body still answers with arrays, not nulls.
	_, body = post(t, s, "/api/rules/"+testRuleID+"/test", "application/json", "")
	if !strings.Contains(body, `"traces":[]`) || !strings.Contains(body, `"errors":[]`) {
		t.Errorf("empty input: %s", body)
	}
}

// The form lives in the cached rule page, with an example event fitting the rule; results
// never reach the cache.
func TestRulePageTestForm(t *testing.T) {
	s := newRuleTestServer(t)
	_, body := get(t, s, "/rules/"+userCreationID)
	for _, want := range []string{
		`<h2>Test this rule</h2>`,
		`<form class="test-form" method="post" action="/rules/` + userCreationID + `/test">`,
		`name="events"`,
		`&#34;eventSource&#34;:&#34;iam.amazonaws.com&#34;,&#34;eventName&#34;:&#34;CreateUser&#34;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("rule page lacks %q", want)
		}
	}
	if i, j := strings.Index(body, "<h2>Indicators</h2>"), strings.Index(body, "<h2>Test this rule</h2>"); i < 0 || j < i {
		t.Error("the test section is not after the indicators")
	}
	_, body = get(t, s, "/rules/kusto-1")
	if !strings.Contains(body, "&#34;process&#34;") || strings.Contains(body, "eventSource") {
		t.Error("a rule on other logs does not get the generic example")
	}
	postEvents(t, s, userCreationID, `{"marker":"submitted-text-7"}`)
	if _, body = get(t, s, "/rules/"+userCreationID); strings.Contains(body, "submitted-text-7") {
		t.Error("a submitted text reached the cached rule page")
	}
}

// Tiny events fit many to the byte limit: evaluation stops at its own bound and says so.
func TestRuleTestEvaluationBound(t *testing.T) {
	s := newRuleTestServer(t)
	_, body := post(t, s, "/api/rules/"+testRuleID+"/test", "application/json", strings.Repeat("{}\n", maxTestEvaluated+3))
	var got testResult
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Events != maxTestEvaluated {
		t.Errorf("evaluated %d events, want the bound %d", got.Events, maxTestEvaluated)
	}
	stopped := false
	for _, e := range got.Errors {
		stopped = stopped || strings.Contains(e.Msg, "stopped")
	}
	if !stopped {
		t.Errorf("no error says where evaluation stopped: %+v", got.Errors)
	}
}
