package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/store"
)

const (
	userCreationID = "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d"
	accessKeyID    = "2c4d6e8f-0a1b-3c5d-7e9f-1a2b3c4d5e70"
)

// seedRule builds the rule of a seed page: a Sigma CloudTrail selection on one IAM call.
func seedRule(id, title, event, technique, techniqueName string) *rule.Rule {
	sel := rule.Stage{Index: 1, Name: "selection", Kind: rule.StageSelection,
		Text: "selection:\n    eventSource: iam.amazonaws.com\n    eventName: " + event + "\n    errorCode: AccessDenied"}
	for _, kv := range [][2]string{{"eventSource", "iam.amazonaws.com"}, {"eventName", event}, {"errorCode", "AccessDenied"}} {
		sel.Predicates = append(sel.Predicates, rule.Predicate{Field: kv[0], Canonical: kv[0], Kind: rule.KindEq, Values: []string{kv[1]}})
	}
	sel.Expr = &rule.Expr{Op: rule.OpAnd}
	for i := range sel.Predicates {
		sel.Expr.Args = append(sel.Expr.Args, &rule.Expr{Op: rule.OpPredicate, Predicate: &sel.Predicates[i]})
	}
	return &rule.Rule{
		ID: id, Platform: rule.PlatformSigma, Language: rule.LangSigma, Class: rule.ClassDetection,
		Title: title, Status: "test", Severity: "medium",
		Description: "Detects a failed attempt (AccessDenied).\nEven though the attempt failed, it indicates the attacker has valid\ncredentials.",
		Author:      "nishikawaakira (@nishikawaakira)", Date: "2026-05-03", Modified: "2026-05-29",
		References: []string{"https://attack.mitre.org/techniques/" + strings.Replace(technique, ".", "/", 1) + "/", "https://docs.aws.amazon.com/IAM/latest/APIReference/API_" + event + ".html"},
		Tags:       []string{"attack.persistence", "attack." + strings.ToLower(technique)},
		LogSource:  rule.LogSource{Product: "aws", Service: "cloudtrail"},
		Source: rule.Source{Corpus: "suzaku-rules", Repo: "github.com/Yamato-Security/suzaku-rules",
			Path: "suzaku/aws/cloudtrail/" + strings.ToLower(event) + ".yml", URL: "https://github.com/Yamato-Security/suzaku-rules"},
		Body: "title: " + title + "\nid: " + id + "\nstatus: test\n# a comment\ndetection:\n    selection:\n        eventName: " + event +
			"\n    condition: selection\nlevel: medium\n",
		Stages: []rule.Stage{{Index: 0, Name: "condition", Kind: rule.StageCondition, Text: "selection",
			Expr: &rule.Expr{Op: rule.OpRef, Ref: "selection"}}, sel},
		Attack: []rule.Attack{{TacticID: "TA0003", Tactic: "Persistence", TechniqueID: technique, Technique: techniqueName}},
		Events: []rule.Event{{Provider: "AWS-iam", Event: event}},
		Indicators: []rule.Indicator{
			{Field: "errorCode", Canonical: "errorCode", Kind: rule.KindEq, Values: []rule.IndicatorValue{{Value: "AccessDenied", Corpus: 41}}},
			{Field: "eventName", Canonical: "eventName", Kind: rule.KindEq, Values: []rule.IndicatorValue{{Value: event, Corpus: 11}}},
			{Field: "eventSource", Canonical: "eventSource", Kind: rule.KindEq, Values: []rule.IndicatorValue{{Value: "iam.amazonaws.com", Corpus: 160}}},
		},
	}
}

func fixtureRules() []*rule.Rule {
	user := seedRule(userCreationID, "IAM User Creation Attempt", "CreateUser", "T1136.003", "Create Account: Cloud Account")
	key := seedRule(accessKeyID, "IAM Access Key Creation Attempt", "CreateAccessKey", "T1098.001", "Account Manipulation: Additional Cloud Credentials")
	user.SameAction = []rule.RuleRef{
		{ID: "elastic-1", Title: "AWS IAM Create User via Assumed Role on EC2 Instance", Platform: rule.PlatformElastic},
		{ID: "kusto-1", Title: "High-Risk Cross-Cloud User Impersonation", Platform: rule.PlatformKusto},
	}
	elastic := &rule.Rule{ID: "elastic-1", Platform: rule.PlatformElastic, Language: rule.LangKQL, Class: rule.ClassDetection,
		Title: "AWS IAM Create User via Assumed Role on EC2 Instance", Status: "production", Severity: "low",
		LogSource: rule.LogSource{Product: "aws", Native: []string{"logs-aws.cloudtrail-*"}},
		Source:    rule.Source{Corpus: "elastic", Path: "rules/integrations/aws/x.toml"},
		Details:   []rule.Detail{{Label: "Rule type", Value: "query"}, {Label: "Risk score", Value: "21"}},
		Body:      "[metadata]\ncreation_date = \"2024/11/04\"\n\n[rule]\nname = \"AWS IAM Create User\"\nquery = '''\nevent.action: \"CreateUser\"\n'''\n",
		Stages: []rule.Stage{{Index: 0, Name: "query", Kind: rule.StageFilter, Text: `event.action: "CreateUser"`,
			Predicates: []rule.Predicate{{Field: "event.action", Canonical: "eventName", Kind: rule.KindEq, Values: []string{"CreateUser"}}}}},
		Attack: []rule.Attack{{TacticID: "TA0003", Tactic: "Persistence", TechniqueID: "T1136.003", Technique: "Create Account: Cloud Account"}},
		Events: []rule.Event{{Provider: "AWS-iam", Event: "CreateUser"}},
	}
	kusto := &rule.Rule{ID: "kusto-1", Platform: rule.PlatformKusto, Language: rule.LangKusto, Class: rule.ClassHunting,
		Title: "High-Risk Cross-Cloud User Impersonation", Status: "available", Severity: "high",
		Source: rule.Source{Corpus: "sentinel", Path: "Hunting Queries/x.yaml"},
		Stages: []rule.Stage{
			{Index: 0, Name: "source", Kind: rule.StageSource, Text: "AWSCloudTrail"},
			{Index: 1, Name: "evaluate", Kind: rule.StageOpaque, Text: "evaluate bag_unpack(x)", Reason: "evaluate plugins are not modelled"},
			{Index: 2, Name: "summarize", Kind: rule.StageAggregate, Text: "summarize count() by UserName",
				Aggregate: &rule.Aggregate{Function: "count", GroupBy: []string{"UserName"}, Window: "1h"}},
		},
		Events: []rule.Event{{Provider: "Microsoft.Authorization", Event: "roleAssignments/write", Title: "Role assignment"},
			{Provider: "odd/provider name", Event: "50%?#"}},
		Notes: []rule.Note{{Pos: rule.Pos{Line: 12, Col: 3}, Stage: 1, Message: "evaluate plugins are not modelled"}},
	}
	return []*rule.Rule{user, key, elastic, kusto}
}

func writeCatalog(t testing.TB, path string, rules []*rule.Rule) {
	t.Helper()
	w, err := store.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if err := w.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	for i, tac := range []store.Tactic{{ID: "TA0003", Name: "Persistence"}, {ID: "TA0040", Name: "Impact"}} {
		tac.Order = i
		if err := w.AddTactic(tac); err != nil {
			t.Fatal(err)
		}
	}
	for _, tech := range []store.Technique{
		{ID: "T1136", Name: "Create Account", Tactics: []string{"TA0003"}},
		{ID: "T1136.003", Name: "Create Account: Cloud Account", Tactics: []string{"TA0003"}},
		{ID: "T1098", Name: "Account Manipulation", Tactics: []string{"TA0003"}},
		{ID: "T1098.001", Name: "Account Manipulation: Additional Cloud Credentials", Tactics: []string{"TA0003"}},
		{ID: "T1485", Name: "Data Destruction", Tactics: []string{"TA0040"}},
	} {
		if err := w.AddTechnique(tech); err != nil {
			t.Fatal(err)
		}
	}
	w.SetMeta(store.MetaBuilt, "2026-11-23T05:00:00Z")
	w.SetMeta(store.MetaSources, `[{"name":"suzaku-rules","repo":"github.com/Yamato-Security/suzaku-rules","rules":2}]`)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func newTestServer(t testing.TB, rules []*rule.Rule, opts Options) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	writeCatalog(t, path, rules)
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, opts)
	t.Cleanup(func() { s.Store().Close() })
	return s, path
}

func get(t testing.TB, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	tests := []struct {
		target string
		status int
		ctype  string
		want   []string
	}{
		{"/", 200, "text/html", []string{"4</span><span class=\"label\">rules", "Sigma", "suzaku-rules", "23 November 2026"}},
		{"/rules", 200, "text/html", []string{"4 rules", "IAM User Creation Attempt", `href="/rules?platform=sigma"`, "Persistence"}},
		{"/rules?q=CreateUser", 200, "text/html", []string{"2 rules", "IAM User Creation Attempt", "AWS IAM Create User via Assumed Role"}},
		{"/rules?platform=kusto", 200, "text/html", []string{"1 rule<", "High-Risk Cross-Cloud"}},
		{"/rules?technique=T1136", 200, "text/html", []string{"2 rules"}},
		{"/rules/" + userCreationID, 200, "text/html", []string{"<h1>IAM User Creation Attempt</h1>"}},
		{"/attack", 200, "text/html", []string{"Persistence", "Impact", `href="/attack/T1136"`, "T1485", "heat-0"}},
		{"/attack/T1136", 200, "text/html", []string{"Create Account", "IAM User Creation Attempt", "Cloud Account", "https://attack.mitre.org/techniques/T1136/"}},
		{"/attack/T1136.003", 200, "text/html", []string{"IAM User Creation Attempt", `href="/attack/T1136"`}},
		{"/events/AWS-iam/CreateUser", 200, "text/html", []string{"AWS-iam / CreateUser", "IAM User Creation Attempt", "AWS IAM Create User via Assumed Role"}},
		{"/events/Microsoft.Authorization/roleAssignments/write", 200, "text/html", []string{"Role assignment", "High-Risk Cross-Cloud"}},
		{eventHref("odd/provider name", "50%?#"), 200, "text/html", []string{"odd/provider name / 50%?#", "High-Risk Cross-Cloud"}},
		{"/healthz", 200, "application/json", []string{`"status":"ok"`, `"rules":4`}},
		{"/api/rules/" + userCreationID, 200, "application/json", []string{`"same_action"`}},
		{"/api/rules?q=CreateUser&platform=sigma", 200, "application/json", []string{`"total":1`, userCreationID, `"facets"`}},
		{"/static/style.css", 200, "text/css", []string{"prefers-color-scheme: dark"}},
		{"/static/favicon.svg", 200, "image/svg+xml", []string{"<svg"}},
		{"/rules/no-such-rule", 404, "text/html", []string{"Not found"}},
		{"/api/rules/no-such-rule", 404, "application/json", []string{"error"}},
		{"/attack/T9999", 404, "text/html", []string{"Not found"}},
		{"/events/AWS-iam/NoSuchCall", 404, "text/html", []string{"Not found"}},
		{"/static/nope.css", 404, "text/html", nil},
		{"/no/such/page", 404, "text/html", []string{"Not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			res, body := get(t, s, tt.target)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body:\n%.400s", res.StatusCode, tt.status, body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %s", ct, tt.ctype)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
		})
	}
}

// The rule page has the seed's sections, in the seed's order, with their content.
func TestRulePageFollowsSeed(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	_, body := get(t, s, "/rules/"+userCreationID)
	order := []string{
		`<a href="/rules">Detection rules</a>`, "›", `>Sigma</a>`,
		"<h1>IAM User Creation Attempt</h1>",
		"<dt>Status</dt><dd>test</dd>", "<dt>Severity</dt>", "medium",
		"<dt>Log source</dt><dd>product aws, service cloudtrail</dd>",
		"<dt>Author</dt><dd>nishikawaakira (@nishikawaakira)</dd>",
		`<dt>Source</dt><dd><a href="https://github.com/Yamato-Security/suzaku-rules" rel="nofollow noopener">github.com/Yamato-Security/suzaku-rules</a>`,
		"<p>Detects a failed attempt (AccessDenied). Even though the attempt failed, it indicates the attacker has valid credentials.</p>",
		"<h2>MITRE ATT&amp;CK coverage</h2>", "<th scope=\"col\">Tactic</th>", "<th scope=\"col\">Techniques</th>",
		`<a href="https://attack.mitre.org/tactics/TA0003/" rel="nofollow noopener">Persistence</a>`,
		`<a href="https://attack.mitre.org/techniques/T1136/003/" rel="nofollow noopener"><code>T1136.003</code></a> Create Account: Cloud Account`,
		`href="/attack/T1136.003"`,
		"<h2>Event coverage</h2>", "<th scope=\"col\">Provider</th>", "AWS-iam", `<a href="/events/AWS-iam/CreateUser">CreateUser</a>`,
		"<h2>Rules detecting the same action</h2>",
		"<p>Other rules on this platform that filter on the same API call or operation.</p>",
		`<a href="/rules/elastic-1">AWS IAM Create User via Assumed Role on EC2 Instance</a> <span class="muted">(Elastic)</span>`,
		`(Kusto)`,
		`<h2>Rule body <span class="lang">yaml</span></h2>`,
		`<span class="t-k">title</span><span class="t-p">: </span>IAM User Creation Attempt`,
		"<span class=\"t-c\"># a comment\n</span>",
		"<h2>Stages and Predicates</h2>",
		"Stage 0: condition", "Stage 1: selection", "(selection)", "<code>eventSource</code>",
		"<h2>Indicators</h2>",
		"<p>Each row is a field, operator, and value that the rule matches. The corpus column counts how many other rules in the catalog look for the same combination: high numbers point to widely-used, community-vetted indicators. Blank or 1 shows that the indicator is specific to this rule.</p>",
		`<th scope="col">Field</th><th scope="col">Kind</th><th scope="col">Values`,
		"<code>errorCode</code>", `<a href="/rules?q=%22AccessDenied%22"><code>AccessDenied</code></a> <span class="corpus"`, ">41<",
		"<code>eventName</code>", "<code>eventSource</code>", ">160<",
		"<h2>References</h2>", `<a href="https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html" rel="nofollow noopener">`,
		"<h2>Tags</h2>", "attack.t1136.003",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(body[at:], want)
		if i < 0 {
			if strings.Contains(body, want) {
				t.Fatalf("%q is out of order (before position %d)", want, at)
			}
			t.Fatalf("page lacks %q", want)
		}
		at += i + len(want)
	}
}

func TestRulePageOtherPlatforms(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	_, body := get(t, s, "/rules/kusto-1")
	for _, want := range []string{
		"Detection rules</a> <span aria-hidden=\"true\">›</span> <a href=\"/rules?platform=kusto\">Kusto</a>",
		`<section class="stage opaque">`, "<strong>Not understood:</strong> evaluate plugins are not modelled",
		"<dt>Group by</dt><dd>UserName</dd>", "<dt>Window</dt><dd>1h</dd>",
		`<a href="/events/Microsoft.Authorization/roleAssignments/write">roleAssignments/write</a> <span class="muted">Role assignment</span>`,
		"<h2>Notes</h2>", "line 12, stage 1:",
		"<p class=\"muted\">The rule names no ATT&amp;CK technique.</p>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("kusto page lacks %q", want)
		}
	}
	_, body = get(t, s, "/rules/elastic-1")
	for _, want := range []string{
		`<span class="lang">toml</span>`, `<span class="t-h">[metadata]`, `<span class="t-s">&#39;&#39;&#39;`,
		"<dt>Rule type</dt><dd>query</dd>", "<dt>Risk score</dt><dd>21</dd>",
		"<dt>Log source</dt><dd>product aws, logs-aws.cloudtrail-*</dd>",
		`<div class="muted small">eventName</div>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("elastic page lacks %q", want)
		}
	}
}

// Every text a rule carries is untrusted: the page must show it, escaped, and never as markup
// or a script URL.
func TestRulePageEscapesRuleText(t *testing.T) {
	const x = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	r := seedRule("xss-rule", x, x, "T1136.003", x)
	r.Description, r.Author, r.Status, r.Severity, r.Body = x, x, x, x, x
	r.References = []string{x, "javascript:alert(3)", "data:text/html,<script>alert(4)</script>", "https://example.com/?" + x}
	r.Tags, r.FalsePositives = []string{x}, []string{x}
	r.LogSource = rule.LogSource{Product: x, Service: x, Category: x, Native: []string{x}}
	r.Source = rule.Source{Corpus: x, Repo: x, Path: x, URL: "javascript:alert(5)"}
	r.Details = []rule.Detail{{Label: x, Value: x}}
	r.Attack = []rule.Attack{{TacticID: x, Tactic: x, TechniqueID: x, Technique: x, Note: x}}
	r.Events = []rule.Event{{Provider: x, Event: x, Title: x}}
	r.SameAction = []rule.RuleRef{{ID: x, Title: x, Platform: rule.Platform(x)}}
	r.Similar = []rule.Similar{{RuleRef: rule.RuleRef{ID: x, Title: x, Platform: rule.PlatformSigma}, Score: 0.5}}
	r.Mirrors = []rule.Source{{Corpus: x, Repo: x, Path: x, URL: "javascript:alert(6)"}}
	r.Links = []rule.Link{{Ref: x, ID: x, Title: x}}
	r.Related = []rule.Related{{ID: x, Type: x}}
	r.Notes = []rule.Note{{Message: x, Stage: -1}}
	r.Stages[1].Name, r.Stages[1].Text, r.Stages[1].Reason = x, x, x
	r.Stages[1].Predicates[0] = rule.Predicate{Field: x, Canonical: x, Kind: rule.Kind(x), Values: []string{x}, Modifiers: []string{x}}
	r.Indicators = []rule.Indicator{{Field: x, Kind: rule.Kind(x), Values: []rule.IndicatorValue{{Value: x, Corpus: 3}}}}
	r.Class = rule.Class(x)
	s, _ := newTestServer(t, []*rule.Rule{r}, Options{})

	pages := []string{"/rules/xss-rule", "/rules", "/rules?q=" + url.QueryEscape(x), "/rules?platform=" + url.QueryEscape(x) + "&tactic=" + url.QueryEscape(x),
		"/events/" + url.PathEscape(x) + "/" + url.PathEscape(x), "/"}
	for _, p := range pages {
		res, body := get(t, s, p)
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d", p, res.StatusCode)
			continue
		}
		// Escaped text may say "onerror=alert" or "javascript:"; what must never appear is
		// markup from a rule, or an unsafe URL in an attribute.
		lower := strings.ToLower(body)
		for _, bad := range []string{"<script", "<img", `href="javascript:`, `href="data:`, `src="javascript:`} {
			if i := strings.Index(lower, bad); i >= 0 {
				t.Errorf("%s contains %q: …%s…", p, bad, body[max(0, i-80):min(len(body), i+80)])
			}
		}
	}
	_, body := get(t, s, "/rules/xss-rule")
	if n := strings.Count(body, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"); n < 20 {
		t.Errorf("escaped payload shown %d times, want it in every field (at least 20)", n)
	}
	for _, want := range []string{"<li>javascript:alert(3)</li>", "<li>data:text/html,&lt;script&gt;alert(4)&lt;/script&gt;</li>"} {
		if !strings.Contains(body, want) {
			t.Errorf("unsafe reference not listed as plain text %s", want)
		}
	}
	if !strings.Contains(body, `href="https://example.com/?%3cscript%3e`) {
		t.Error("an https reference with markup in its query was not linked, escaped")
	}
	if s := res(t, s, "/rules/xss-rule").Header.Get("Content-Security-Policy"); !strings.Contains(s, "default-src 'none'") {
		t.Errorf("CSP = %q", s)
	}
}

func res(t *testing.T, h http.Handler, target string) *http.Response {
	r, _ := get(t, h, target)
	return r
}

// The API returns the model with the documented snake_case keys.
func TestAPIRuleKeys(t *testing.T) {
	rules := fixtureRules()
	rules[0].Similar = []rule.Similar{{RuleRef: rule.RuleRef{ID: accessKeyID, Title: "IAM Access Key Creation Attempt", Platform: rule.PlatformSigma}, Score: 0.8}}
	rules[0].Mirrors = []rule.Source{{Corpus: "mirror", Repo: "github.com/x/y", Path: "a.yml"}}
	s, _ := newTestServer(t, rules, Options{})
	_, body := get(t, s, "/api/rules/"+userCreationID)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "platform", "language", "class", "title", "status", "severity", "description", "author",
		"date", "modified", "references", "tags", "falsepositives", "logsource", "source", "attack", "events", "same_action",
		"details", "output_fields", "stages", "indicators", "similar", "mirrors", "body", "notes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("API JSON lacks %q", k)
		}
	}
	var r struct {
		Attack     []map[string]any `json:"attack"`
		Events     []map[string]any `json:"events"`
		SameAction []map[string]any `json:"same_action"`
		Stages     []map[string]any `json:"stages"`
		Indicators []struct {
			Values []map[string]any `json:"values"`
		} `json:"indicators"`
		Similar []map[string]any `json:"similar"`
	}
	json.Unmarshal([]byte(body), &r)
	keys := func(m map[string]any, want ...string) {
		t.Helper()
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("object %v lacks %q", m, k)
			}
		}
	}
	keys(r.Attack[0], "tactic_id", "tactic", "technique_id", "technique")
	keys(r.Events[0], "provider", "event", "title")
	keys(r.SameAction[0], "id", "title", "platform")
	keys(r.Stages[1], "index", "name", "kind", "text", "predicates")
	keys(r.Indicators[0].Values[0], "value", "corpus")
	keys(r.Similar[0], "id", "title", "platform", "score")
}

func TestAPISearch(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	_, body := get(t, s, "/api/rules?q=CreateUser&per_page=1")
	var res store.Results
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || len(res.Rules) != 1 || res.PerPage != 1 {
		t.Errorf("total %d, %d rules, per_page %d; want 2, 1, 1", res.Total, len(res.Rules), res.PerPage)
	}
	if n := len(res.Facets["platform"]); n != 2 {
		t.Errorf("platform facet has %d values, want 2", n)
	}
}

// Facet links add and remove filters and keep the rest of the query.
func TestFacetLinks(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	_, body := get(t, s, "/rules?q=CreateUser&platform=sigma")
	for _, want := range []string{
		`href="/rules?platform=sigma&amp;platform=elastic&amp;q=CreateUser"`, // add elastic
		`href="/rules?q=CreateUser" aria-current="true"`,                     // remove sigma
		`<span class="muted">Platform:</span> Sigma`,
		`<span class="muted">Text:</span> CreateUser`,
		`<input type="hidden" name="platform" value="sigma">`, // a new search keeps the filters
		"1 rule<",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestPaging(t *testing.T) {
	var rules []*rule.Rule
	for i := range 120 {
		rules = append(rules, &rule.Rule{ID: fmt.Sprintf("r%03d", i), Platform: rule.PlatformSigma, Title: fmt.Sprintf("Rule %03d", i)})
	}
	s, _ := newTestServer(t, rules, Options{})
	_, body := get(t, s, "/rules?page=2")
	for _, want := range []string{"51–100 of 120", `href="/rules?page=3" rel="next"`, `href="/rules" rel="prev"`, "Rule 050", `aria-current="page">2<`} {
		if !strings.Contains(body, want) {
			t.Errorf("page 2 lacks %q", want)
		}
	}
	if strings.Contains(body, "Rule 049") {
		t.Error("page 2 shows a rule of page 1")
	}
}

// No query string, however malformed, makes the server fail.
func TestBadInputNever500(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	for _, target := range []string{
		`/rules?q=%22`, `/rules?q=*`, `/rules?q=NEAR(`, `/rules?q=title:x`, `/rules?q=%00`, `/rules?q=%zz`,
		`/rules?page=-1`, `/rules?page=abc`, `/rules?page=99999999999999999999`, `/rules?per_page=0`, `/rules?per_page=-5`,
		`/rules?per_page=100000`, `/rules?platform=&tactic=%22`, `/rules?q=` + strings.Repeat("a+", 2000),
		`/api/rules?q=%22%22%22`, `/api/rules?page=-3`, `/attack/%22`, `/events/%00/%00`, `/rules/%2e%2e`, `/attack/T1136?page=zz`,
	} {
		res, body := get(t, s, target)
		if res.StatusCode >= 500 {
			t.Errorf("%s: status %d: %.300s", target, res.StatusCode, body)
		}
	}
}

func TestConditionalRequests(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	first := res(t, s, "/rules/"+userCreationID)
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the rule page")
	}
	req := httptest.NewRequest("GET", "/rules/"+userCreationID, nil)
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", rec.Code)
	}
	if other := res(t, s, "/rules/"+accessKeyID).Header.Get("ETag"); other == etag {
		t.Error("two rules share an ETag")
	}

	css := res(t, s, "/static/style.css?v=1")
	if cc := css.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned CSS Cache-Control = %q", cc)
	}
	req = httptest.NewRequest("GET", "/static/style.css", nil)
	req.Header.Set("If-None-Match", css.Header.Get("ETag"))
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("CSS revalidation: status %d", rec.Code)
	}
	_, home := get(t, s, "/")
	if !strings.Contains(home, `href="/static/style.css?v=`) {
		t.Error("pages do not link the versioned stylesheet")
	}
}

// A finished build renamed over the file is picked up; a broken file keeps the last good catalog.
func TestReload(t *testing.T) {
	rules := fixtureRules()
	s, path := newTestServer(t, rules[:2], Options{ReloadInterval: -1})
	if r := res(t, s, "/rules/elastic-1"); r.StatusCode != 404 {
		t.Fatalf("elastic-1 before the rebuild: %d", r.StatusCode)
	}
	cached := res(t, s, "/rules/"+userCreationID).Header.Get("ETag")

	writeCatalog(t, path, rules)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := res(t, s, "/rules/elastic-1"); r.StatusCode != 200 {
		t.Fatalf("elastic-1 after the rebuild: %d", r.StatusCode)
	}
	if now := res(t, s, "/rules/"+userCreationID).Header.Get("ETag"); now == cached {
		t.Error("the ETag did not change with the catalog")
	}

	// A file that is not a catalog lands at the path: serving goes on from the last good one.
	tmp := path + ".junk"
	os.WriteFile(tmp, []byte(strings.Repeat("not sqlite ", 100)), 0o644)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil {
		t.Error("Reload of a broken file reported no error")
	}
	if r := res(t, s, "/rules/elastic-1"); r.StatusCode != 200 {
		t.Errorf("after a broken build: %d", r.StatusCode)
	}
	if err := s.Reload(); err != nil {
		t.Errorf("the same broken file was retried: %v", err)
	}
}

// Requests notice the replaced file by themselves.
func TestReloadOnRequests(t *testing.T) {
	rules := fixtureRules()
	s, path := newTestServer(t, rules[:2], Options{ReloadInterval: 1})
	writeCatalog(t, path, rules)
	// The switch happens in the background (opening and warming the new catalog), so allow
	// it time: a loaded machine can take longer than a burst of requests does.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if r := res(t, s, "/rules/elastic-1"); r.StatusCode == 200 {
			return
		}
	}
	t.Error("the server never switched to the rebuilt catalog")
}

func TestSwap(t *testing.T) {
	rules := fixtureRules()
	s, _ := newTestServer(t, rules[:1], Options{ReloadInterval: -1})
	path := filepath.Join(t.TempDir(), "other.db")
	writeCatalog(t, path, rules)
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old := s.Swap(st)
	defer old.Close()
	if _, body := get(t, s, "/healthz"); !strings.Contains(body, `"rules":4`) {
		t.Errorf("healthz after Swap: %s", body)
	}
}

func TestAttackMatrixOrder(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	_, body := get(t, s, "/attack")
	p, i := strings.Index(body, ">Persistence<"), strings.Index(body, ">Impact<")
	if p < 0 || i < 0 || p > i {
		t.Errorf("tactic columns out of matrix order: Persistence at %d, Impact at %d", p, i)
	}
	// T1136 has two rules (the seed and the Elastic rule), shaded; T1485 none.
	if !strings.Contains(body, `<span class="id">T1136.003</span>Cloud Account</a><span class="count">2</span>`) {
		t.Error("sub-technique cell missing or mislabelled")
	}
	if !strings.Contains(body, "2 of 3 techniques") {
		t.Errorf("coverage line wrong")
	}
}

func TestSafeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/a":   "https://example.com/a",
		"http://example.com":      "http://example.com",
		" https://example.com ":   "https://example.com",
		"javascript:alert(1)":     "",
		"JaVaScRiPt:alert(1)":     "",
		"data:text/html,x":        "",
		"//evil.example/x":        "",
		"/relative":               "",
		"ftp://example.com":       "",
		"https:///nohost":         "",
		"vbscript:msgbox":         "",
		"https://a.example/\"><x": "https://a.example/%22%3E%3Cx",
	} {
		if got := safeURL(in); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPathHelpers(t *testing.T) {
	if got := mitreTechniqueURL("T1136.003"); got != "https://attack.mitre.org/techniques/T1136/003/" {
		t.Errorf("mitreTechniqueURL = %s", got)
	}
	if got := mitreTechniqueURL("T1136"); got != "https://attack.mitre.org/techniques/T1136/" {
		t.Errorf("mitreTechniqueURL = %s", got)
	}
	if got := eventHref("Sysmon", "1"); got != "/events/Sysmon/1" {
		t.Errorf("eventHref = %s", got)
	}
	if got := eventHref("a b", "x/y?z"); got != "/events/a%20b/x/y%3Fz" {
		t.Errorf("eventHref = %s", got)
	}
	if got := logSource(rule.LogSource{Product: "windows", Category: "process_creation"}); got != "product windows, category process_creation" {
		t.Errorf("logSource = %s", got)
	}
	if got := paragraphs("one\ntwo\n\n\nthree  four\n"); !slices.Equal(got, []string{"one two", "three four"}) {
		t.Errorf("paragraphs = %q", got)
	}
}

func BenchmarkRulePage(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts Options
	}{{"cached", Options{}}, {"uncached", Options{PageCacheBytes: -1}}} {
		b.Run(tc.name, func(b *testing.B) {
			s, _ := newTestServer(b, fixtureRules(), tc.opts)
			req := httptest.NewRequest("GET", "/rules/"+userCreationID, nil)
			first := httptest.NewRecorder()
			s.ServeHTTP(first, req)
			b.SetBytes(int64(first.Body.Len())) // page bytes served
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					s.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatal(rec.Code)
					}
				}
			})
		})
	}
}

func TestPageCacheBudget(t *testing.T) {
	c := newPageCache(1000)
	page := &pageEntry{body: []byte(strings.Repeat("x", 60))}
	for i := range 100 {
		c.put(fmt.Sprint(i), page)
		if c.size > 1000 {
			t.Fatalf("cache holds %d bytes, budget 1000", c.size)
		}
	}
	if len(c.pages) < 10 {
		t.Errorf("cache kept %d pages: eviction dropped too much", len(c.pages))
	}
	if e, ok := c.get("99"); !ok || e != page {
		t.Error("the page just added is missing")
	}
	c.put("big", &pageEntry{body: make([]byte, 100)}) // more than max/16: not cached
	if _, ok := c.get("big"); ok {
		t.Error("a page over a sixteenth of the budget was cached")
	}
}

// Concurrent misses on one page render it once.
func TestPageCacheSingleRender(t *testing.T) {
	c := newPageCache(1 << 20)
	var renders atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.load("k", func() (*pageEntry, error) {
				renders.Add(1)
				<-release
				return &pageEntry{body: []byte("page")}, nil
			})
			if err != nil || string(e.body) != "page" {
				t.Errorf("load = %v, %v", e, err)
			}
		}()
	}
	for {
		c.mu.RLock()
		n := len(c.flights)
		c.mu.RUnlock()
		if n > 0 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Errorf("%d renders for one page", n)
	}
	// Errors are not cached.
	_, err := c.load("missing", func() (*pageEntry, error) { return nil, store.ErrNotFound })
	if _, ok := c.get("missing"); ok || err == nil {
		t.Error("a failed render was cached")
	}
}

func TestModifiers(t *testing.T) {
	for _, tt := range []struct {
		p    rule.Predicate
		want string
	}{
		{rule.Predicate{Kind: rule.KindContains, Modifiers: []string{"contains"}}, ""},
		{rule.Predicate{Kind: rule.KindContains, Modifiers: []string{"contains", "all", "windash"}, Flags: rule.Flags{All: true, Encodings: []string{"windash"}}}, "all, windash"},
		{rule.Predicate{Kind: rule.KindRe, Modifiers: []string{"re", "i"}, Flags: rule.Flags{ReFlags: "i"}}, "i"},
		{rule.Predicate{Kind: rule.KindRe, Flags: rule.Flags{ReFlags: "im"}}, "flags im"},
		{rule.Predicate{Kind: rule.KindEq, Flags: rule.Flags{Cased: true, Negated: true}}, "cased, not"},
	} {
		if got := modifiers(tt.p); got != tt.want {
			t.Errorf("modifiers(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestSameActionCapLinksEvents(t *testing.T) {
	// The catalog counts the same-action rules it leaves out; the page says how many and links
	// the event pages, which list them all. A list of any length with none left out is whole.
	rules := fixtureRules()
	for i := range 50 {
		rules[0].SameAction = append(rules[0].SameAction, rule.RuleRef{ID: fmt.Sprint("other-", i), Title: fmt.Sprint("Other ", i), Platform: rule.PlatformSigma})
	}
	rules[0].SameActionMore = 120
	rules[1].SameAction = rules[0].SameAction
	rules[1].SameActionMore = 0
	s, _ := newTestServer(t, rules, Options{})
	_, body := get(t, s, "/rules/"+rules[0].ID)
	if !strings.Contains(body, `The rules sharing the most indicators with this one, and 120 more: see the event pages <a href="/events/AWS-iam/CreateUser">AWS-iam / CreateUser</a>.`) {
		t.Error("a capped same-action list does not say how many it leaves out and link its event pages")
	}
	_, body = get(t, s, "/rules/"+rules[1].ID)
	if strings.Contains(body, "more: see the event pages") || !strings.Contains(body, `<a href="/rules/other-49">Other 49</a>`) {
		t.Error("a whole same-action list claims to be capped")
	}

	// Every rule left out, none kept: the page still says so rather than "None".
	rules = fixtureRules()
	rules[0].SameAction, rules[0].SameActionMore = nil, 7
	s, _ = newTestServer(t, rules, Options{})
	_, body = get(t, s, "/rules/"+rules[0].ID)
	if !strings.Contains(body, `7 rules: see the event pages <a href="/events/AWS-iam/CreateUser">`) {
		t.Error("same-action rules all left out are not counted")
	}
}

func TestPrerender(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	cache := s.cur.Load().cache
	deadline := time.Now().Add(10 * time.Second)
	for {
		cache.mu.RLock()
		n := len(cache.pages)
		cache.mu.RUnlock()
		if n == len(fixtureRules()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages rendered in the background", n, len(fixtureRules()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The cached page is the one a request renders.
	e, _ := cache.get(userCreationID)
	_, body := get(t, s, "/rules/"+userCreationID)
	if string(e.body) != body {
		t.Error("the prerendered page differs from the served one")
	}

	quiet, _ := newTestServer(t, fixtureRules(), Options{NoPrerender: true})
	time.Sleep(20 * time.Millisecond)
	if n := len(quiet.cur.Load().cache.pages); n != 0 {
		t.Errorf("NoPrerender: %d pages cached before any request", n)
	}
}

func TestLongQueryIsCutAtACharacter(t *testing.T) {
	for _, q := range []string{strings.Repeat("a", maxQuery-1) + "é", strings.Repeat("a", maxQuery-2) + "日本", strings.Repeat("é", maxQuery)} {
		got := parseListQuery(url.Values{"q": {q}}).Q
		if !utf8.ValidString(got) || len(got) > maxQuery || len(got) < maxQuery-3 || !strings.HasPrefix(q, got) {
			t.Errorf("query of %d bytes cut to %d bytes: valid UTF-8 %v", len(q), len(got), utf8.ValidString(got))
		}
	}
}

func TestAttackFiltersInLowerCase(t *testing.T) {
	q := parseListQuery(url.Values{"technique": {"t1136", "T1136"}, "tactic": {"ta0003"}})
	if !slices.Equal(q.Technique, []string{"T1136"}) || !slices.Equal(q.Tactic, []string{"TA0003"}) || q.values.Get("technique") != "T1136" {
		t.Errorf("technique %v, tactic %v, links %v", q.Technique, q.Tactic, q.values)
	}
	s, _ := newTestServer(t, fixtureRules(), Options{})
	_, body := get(t, s, "/rules?technique=t1136")
	if !strings.Contains(body, "/rules/"+userCreationID) || strings.Contains(body, "/rules/"+accessKeyID) {
		t.Error("technique=t1136 does not list the rules of T1136 alone")
	}
}

// A filter of every rule within its log source says so, rather than listing "any" as a rule
// missing from the catalog.
func TestFilterOfEveryRulePage(t *testing.T) {
	rules := fixtureRules()
	filter := &rule.Rule{ID: "f0f0f0f0-0000-4000-8000-000000000001", Platform: rule.PlatformSigma, Language: rule.LangSigma,
		Class: rule.ClassFilter, Title: "Admins", Links: []rule.Link{{Ref: "any"}},
		LogSource: rule.LogSource{Product: "aws", Service: "cloudtrail"}, Source: rule.Source{Corpus: "sigma", Path: "f.yml"}}
	named := &rule.Rule{ID: "f0f0f0f0-0000-4000-8000-000000000002", Platform: rule.PlatformSigma, Language: rule.LangSigma,
		Class: rule.ClassFilter, Title: "Named", Links: []rule.Link{{Ref: "nope"}},
		LogSource: rule.LogSource{Product: "aws", Service: "cloudtrail"}, Source: rule.Source{Corpus: "sigma", Path: "g.yml"}}
	s, _ := newTestServer(t, append(rules, filter, named), Options{})
	_, body := get(t, s, "/rules/"+filter.ID)
	if !strings.Contains(body, "Every rule within its log source") || strings.Contains(body, "(not in the catalog)") {
		t.Errorf("filter of every rule: page does not say so:\n%s", body)
	}
	_, body = get(t, s, "/rules/"+named.ID)
	if !strings.Contains(body, "nope <span class=\"muted\">(not in the catalog)</span>") {
		t.Errorf("filter naming a missing rule: page does not say so")
	}
}
