package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/rule"
)

// parseRules parses Sigma documents; links to rules are resolved by name or id among them, as
// the catalog build resolves them.
func parseRules(t testing.TB, src string) []*rule.Rule {
	t.Helper()
	rules, errs := sigma.Parse("rules.yml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, r := range rules {
		for i := range r.Links {
			l := &r.Links[i]
			for _, o := range rules {
				if o.ID == l.Ref || o.Name == l.Ref {
					l.ID, l.Title = o.ID, o.Title
				}
			}
		}
	}
	return rules
}

const loginRules = `title: Login Failed
name: login_failed
id: base-failed
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage: Failed authentication
    condition: selection
level: low
---
title: Login Succeeded
name: login_ok
id: base-ok
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Success
    condition: selection
level: low
---
title: Failed Logins From One Address
id: legacy-count
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage: Failed authentication
    condition: selection | count() by sourceIPAddress > 2
    timeframe: 5m
level: medium
---
title: Fail and Success
id: corr-temporal
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
---
title: Fail and Nothing
id: corr-missing
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: temporal
    rules:
        - login_failed
        - no_such_rule
    group-by:
        - userIdentity.userName
    timespan: 5m
level: high
`

func login(minute int, user, ip string, ok bool) string {
	el := `"errorMessage":"Failed authentication"`
	if ok {
		el = `"responseElements":{"ConsoleLogin":"Success"}`
	}
	u, _ := json.Marshal(user)
	return fmt.Sprintf(`{"eventTime":"2024-01-01T10:%02d:00Z","eventName":"ConsoleLogin","userIdentity":{"userName":%s},"sourceIPAddress":%q,%s}`, minute, u, ip, el)
}

func newAggregateTestServer(t testing.TB, extra ...*rule.Rule) *Server {
	t.Helper()
	return newRuleTestServer(t, append(parseRules(t, loginRules), extra...)...)
}

// The failed logins of one address, in minutes 0, 2, 3 and 5: x has three within 5 minutes
// at the fourth event. Event 5 is a success, event 6 has no timestamp.
var legacyEvents = strings.Join([]string{
	login(0, "bob", "x", false),
	login(1, "alice", "y", false),
	login(2, "bob", "x", false),
	login(3, "bob", "x", false),
	login(4, "carol", "x", true),
	`{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","sourceIPAddress":"x"}`,
}, "\n")

func testAPI(t *testing.T, s *Server, id, events string) (testResult, string) {
	t.Helper()
	res, body := post(t, s, "/api/rules/"+id+"/test", "application/json", events)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.500s", res.StatusCode, body)
	}
	var got testResult
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	return got, body
}

// A Sigma aggregation: the search is traced per event, and the aggregate evaluated over the
// events says which event completed it, in which group, with which count.
func TestRuleTestLegacyAggregation(t *testing.T) {
	s := newAggregateTestServer(t)
	res, body := postEvents(t, s, "legacy-count", legacyEvents)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.500s", res.StatusCode, body)
	}
	for _, want := range []string{
		"6 events, 5 matched the search",
		"the aggregation fired once",
		"<h2>Aggregation</h2>",
		"<code>count() by sourceIPAddress &gt; 2 within 5m</code>",
		`<td><a href="#event-4">Event 4</a></td><td><code>sourceIPAddress</code> <code>x</code></td><td>3</td>`,
		"1 event matches but has no timestamp the engine reads",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	traces := traceSections(body)
	if len(traces) != 6 {
		t.Fatalf("%d event sections", len(traces))
	}
	for i, want := range []string{
		"counts toward</span> the aggregation, group <code>sourceIPAddress</code> <code>x</code>: count 1",
		"counts toward</span> the aggregation, group <code>sourceIPAddress</code> <code>y</code>: count 1",
		"counts toward</span> the aggregation, group <code>sourceIPAddress</code> <code>x</code>: count 2",
		"✓ completes</span> the aggregation, group <code>sourceIPAddress</code> <code>x</code>: count 3",
		"✗ did not match the search",
		"no timestamp the engine reads: it counts toward no window",
	} {
		if !strings.Contains(traces[i], want) {
			t.Errorf("event %d lacks %q:\n%s", i+1, want, traces[i])
		}
	}
	// The per-predicate trace of the search is kept.
	if got := predMarks(traces[4]); strings.Join(got, " ") != "eventName:hit errorMessage:miss" {
		t.Errorf("event 5 predicates %v", got)
	}

	got, _ := testAPI(t, s, "legacy-count", legacyEvents)
	a := got.Aggregate
	if a == nil || a.Kind != "aggregation" || a.Fired != 1 || len(a.Complete) != 1 || a.Untimed != 1 || a.Highest != nil {
		t.Fatalf("aggregate %+v", a)
	}
	if c := a.Complete[0]; c.Event != 3 || c.Record != 3 || c.Value != 3 || strings.Join(c.Group, ",") != "x" {
		t.Errorf("completion %+v", c)
	}
	if got.Matched != 5 {
		t.Errorf("matched %d, want the 5 events matching the search", got.Matched)
	}
}

// An aggregation that does not fire says so, with the highest value a group reached.
func TestRuleTestAggregationNotFired(t *testing.T) {
	s := newAggregateTestServer(t)
	events := strings.Join(strings.Split(legacyEvents, "\n")[:3], "\n")
	_, body := postEvents(t, s, "legacy-count", events)
	for _, want := range []string{
		"the aggregation did not fire",
		"✗ did not fire</span>: the highest count a group reached is 2 (<code>sourceIPAddress</code> <code>x</code>).",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	got, _ := testAPI(t, s, "legacy-count", events)
	a := got.Aggregate
	if a == nil || a.Fired != 0 || len(a.Complete) != 0 || a.Highest == nil || a.Highest.Value != 2 || a.Highest.Event != 2 ||
		strings.Join(a.Highest.Group, ",") != "x" {
		t.Errorf("aggregate %+v", a)
	}
	// No event for the search: nothing counted.
	_, body = postEvents(t, s, "legacy-count", login(0, "bob", "x", true))
	if !strings.Contains(body, "✗ did not fire</span>: no event counted toward it.") {
		t.Error("no word on an aggregate nothing counted toward")
	}
}

// A correlation is evaluated with the rules it refers to, loaded from the catalog: each event
// says which of them it matched, and the page which event completed the correlation.
func TestRuleTestCorrelation(t *testing.T) {
	s := newAggregateTestServer(t)
	events := strings.Join([]string{
		login(0, "bob", "1.1.1.1", true),
		login(1, "alice", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", false), // bob: success then failure within 5m
		login(20, "alice", "1.1.1.1", true),
		`{"eventName":"GetObject"}`,
	}, "\n")
	res, body := postEvents(t, s, "corr-temporal", events)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.500s", res.StatusCode, body)
	}
	for _, want := range []string{
		"5 events, 4 matched a rule it refers to",
		"the correlation fired once",
		"<h2>Correlation</h2>",
		"<code>temporal of 2 rules by userIdentity.userName within 5m</code>",
		`<tr class="hit"><td><a href="/rules/base-failed">Login Failed</a></td><td>2</td></tr>`,
		`<td><a href="#event-3">Event 3</a></td><td><code>userIdentity.userName</code> <code>bob</code></td><td>2 of 2</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	traces := traceSections(body)
	if len(traces) != 5 {
		t.Fatalf("%d event sections", len(traces))
	}
	for i, want := range []string{
		`✓ matched a rule it refers to</span></h3>`,
		`Rules it refers to that the event matched: <a href="/rules/base-failed">Login Failed</a>`,
		"✓ completes</span> the correlation, group <code>userIdentity.userName</code> <code>bob</code>: rules matched 2 of 2",
		"counts toward</span> the correlation, group <code>userIdentity.userName</code> <code>alice</code>: rules matched 1 of 2",
		"✗ matched no rule it refers to",
	} {
		if !strings.Contains(traces[i], want) {
			t.Errorf("event %d lacks %q:\n%s", i+1, want, traces[i])
		}
	}

	got, _ := testAPI(t, s, "corr-temporal", events)
	a := got.Aggregate
	if a == nil || a.Kind != "correlation" || a.Fired != 1 || len(a.Complete) != 1 || len(a.Referred) != 2 {
		t.Fatalf("aggregate %+v", a)
	}
	if c := a.Complete[0]; c.Event != 2 || c.Value != 2 || strings.Join(c.Group, ",") != "bob" {
		t.Errorf("completion %+v", c)
	}
	if r := a.Referred[1]; r.ID != "base-ok" || r.Title != "Login Succeeded" || r.Matched != 2 {
		t.Errorf("referred %+v", r)
	}
	if tr := got.Traces[1]; len(tr.Referred) != 1 || tr.Referred[0] != "base-failed" {
		t.Errorf("event 2 referred %v", tr.Referred)
	}
}

// A correlation referring to a rule missing from the catalog is not evaluated, and the answer
// says which.
func TestRuleTestCorrelationMissingRule(t *testing.T) {
	s := newAggregateTestServer(t)
	res, body := postEvents(t, s, "corr-missing", login(0, "bob", "1.1.1.1", false))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", res.StatusCode)
	}
	if !strings.Contains(body, `it refers to &#34;no_such_rule&#34;, not in the catalog`) || strings.Contains(body, "fired") {
		t.Errorf("page: %.2000s", body)
	}
	res, body = post(t, s, "/api/rules/corr-missing/test", "application/json", login(0, "bob", "1.1.1.1", false))
	var got struct {
		Error   string   `json:"error"`
		Missing []string `json:"missing"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, %v: %s", res.StatusCode, err, body)
	}
	if len(got.Missing) != 1 || got.Missing[0] != "no_such_rule" || !strings.Contains(got.Error, "no_such_rule") {
		t.Errorf("answer %+v", got)
	}
}

// A correlation referring to more rules than a test loads is refused, not cut short.
func TestRuleTestCorrelationTooManyRules(t *testing.T) {
	var src strings.Builder
	src.WriteString("title: Many\nid: corr-many\nlogsource:\n    product: aws\ncorrelation:\n    type: event_count\n    rules:\n")
	for i := range maxTestReferred + 1 {
		fmt.Fprintf(&src, "        - r%d\n", i)
	}
	src.WriteString("    timespan: 5m\n    condition:\n        gte: 2\n")
	for i := range maxTestReferred + 1 {
		fmt.Fprintf(&src, "---\ntitle: R%d\nid: r%d\nlogsource:\n    product: aws\ndetection:\n    selection:\n        eventName: E%d\n    condition: selection\n", i, i, i)
	}
	s := newRuleTestServer(t, parseRules(t, src.String())...)
	res, body := post(t, s, "/api/rules/corr-many/test", "application/json", `{"eventName":"E1"}`)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "more than 20 rules") {
		t.Errorf("status %d: %s", res.StatusCode, body)
	}
}

// Titles of the rules referred to and group values from events are untrusted: the aggregate's
// output shows them escaped, in the page and in the JSON.
func TestRuleTestAggregateEscapes(t *testing.T) {
	const x = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	rules := parseRules(t, strings.ReplaceAll(loginRules, "title: Login Failed\n", "title: '"+x+"'\n"))
	s := newRuleTestServer(t, rules...)
	events := login(0, x, "1.1.1.1", true) + "\n" + login(1, x, "1.1.1.1", false)
	res, body := postEvents(t, s, "corr-temporal", events)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %.500s", res.StatusCode, body)
	}
	lower := strings.ToLower(body)
	for _, bad := range []string{"<script", "<img"} {
		if i := strings.Index(lower, bad); i >= 0 {
			t.Errorf("page contains %q: …%s…", bad, body[max(0, i-80):min(len(body), i+80)])
		}
	}
	esc := "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
	for _, want := range []string{
		`<a href="/rules/base-failed">` + esc + `</a></td><td>1</td>`,                             // the rule referred to
		`<code>userIdentity.userName</code> <code>` + esc + `</code></td><td>2 of 2</td>`,         // the group completed
		"group <code>userIdentity.userName</code> <code>" + esc + "</code>: rules matched 1 of 2", // an event's step
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	got, raw := testAPI(t, s, "corr-temporal", events)
	if strings.Contains(raw, "<script") {
		t.Error("JSON holds markup unescaped")
	}
	if a := got.Aggregate; a == nil || len(a.Complete) != 1 || a.Complete[0].Group[0] != x || a.Referred[0].Title != x {
		t.Errorf("aggregate %+v", a)
	}
}

// A correlation of a correlation: the rules the one below refers to are loaded too, and each
// event says what it did to both.
func TestRuleTestChainedCorrelation(t *testing.T) {
	chain := parseRules(t, loginRules+`---
title: Many Failed
id: corr-many-failed
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
---
title: Brute Force Then Success
id: corr-chain
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: temporal_ordered
    rules:
        - many_failed
        - login_ok
    group-by:
        - userIdentity.userName
    timespan: 10m
level: critical
`)
	s := newRuleTestServer(t, chain...)
	events := strings.Join([]string{
		login(0, "bob", "1.1.1.1", false),
		login(1, "bob", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", true),
	}, "\n")
	got, _ := testAPI(t, s, "corr-chain", events)
	a := got.Aggregate
	if a == nil || a.Fired != 1 || a.Complete[0].Event != 2 || len(a.Referred) != 3 {
		t.Fatalf("aggregate %+v", a)
	}
	if r := a.Referred[2]; r.ID != "base-failed" || r.Matched != 2 {
		t.Errorf("the rule the correlation below refers to: %+v", r)
	}
	_, body := postEvents(t, s, "corr-chain", events)
	second := traceSections(body)[1]
	if want := `✓ completes</span> <a href="/rules/corr-many-failed">Many Failed</a>, group <code>userIdentity.userName</code> <code>bob</code>: count 2`; !strings.Contains(second, want) {
		t.Errorf("event 2 lacks %q:\n%s", want, second)
	}
	// Without the success it does not fire; temporal_ordered has no value short of completing,
	// yet events counted toward it.
	_, body = postEvents(t, s, "corr-chain", strings.Join(strings.Split(events, "\n")[:2], "\n"))
	if !strings.Contains(body, "✗ did not fire</span></p>") || strings.Contains(body, "no event counted") {
		t.Errorf("not fired: %.3000s", body[strings.Index(body, `<section id="aggregate">`):])
	}
}
