package sigma

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

func TestMetadata(t *testing.T) {
	src := `title: Whoami Execution
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
name: whoami_exec
related:
    - id: 08fbc97d-0a2f-491c-ae21-8ffcfd3174e9
      type: derived
    - id: 929a690e-bef0-4204-a928-ef5e620d6fcd
      type: obsolete
taxonomy: sigma
status: test
description: |
    Detects a whoami.exe execution
license: DRL-1.1
references:
    - https://example.com/a
author: Florian Roth
date: 2019/10/3
modified: 2023-06-29
logsource:
    category: process_creation
    product: windows
    service: sysmon
    definition: 'Requirements: process auditing'
    custom: extra
detection:
    selection:
        Image: 'C:\Windows\System32\whoami.exe'
    condition: selection
fields:
    - CommandLine
    - User
falsepositives: Admin activity
level: high
tags:
    - attack.discovery
    - attack.t1033
scope:
    - server
    - workstation
regression_tests_path: regression_data/rules/x/info.yml
simulation:
    - type: atomic-red-team
      name: whoami
generate: true
x_custom: kept
`
	r := parseOne(t, src)
	checks := []struct {
		name      string
		got, want any
	}{
		{"platform", r.Platform, rule.PlatformSigma},
		{"language", r.Language, rule.LangSigma},
		{"class", r.Class, rule.ClassDetection},
		{"title", r.Title, "Whoami Execution"},
		{"id", r.ID, "929a690e-bef0-4204-a928-ef5e620d6fcc"},
		{"name", r.Name, "whoami_exec"},
		{"status", r.Status, "test"},
		{"severity", r.Severity, "high"},
		{"description", r.Description, "Detects a whoami.exe execution"},
		{"license", r.License, "DRL-1.1"},
		{"author", r.Author, "Florian Roth"},
		{"date", r.Date, "2019-10-03"},
		{"modified", r.Modified, "2023-06-29"},
		{"references", r.References, []string{"https://example.com/a"}},
		{"tags", r.Tags, []string{"attack.discovery", "attack.t1033"}},
		{"falsepositives", r.FalsePositives, []string{"Admin activity"}},
		{"fields", r.OutputFields, []string{"CommandLine", "User"}},
		{"logsource", r.LogSource, rule.LogSource{Product: "windows", Category: "process_creation", Service: "sysmon", Definition: "Requirements: process auditing"}},
		{"related", r.Related, []rule.Related{{ID: "08fbc97d-0a2f-491c-ae21-8ffcfd3174e9", Type: "derived"}, {ID: "929a690e-bef0-4204-a928-ef5e620d6fcd", Type: "obsolete"}}},
		{"details", r.Details, []rule.Detail{
			{Label: "taxonomy", Value: "sigma"},
			{Label: "scope", Value: "server, workstation"},
			{Label: "generate", Value: "true"},
			{Label: "regression_tests_path", Value: "regression_data/rules/x/info.yml"},
			{Label: "simulation", Value: "type: atomic-red-team, name: whoami"},
			{Label: "logsource.custom", Value: "extra"},
			{Label: "x_custom", Value: "kept"},
		}},
		{"body", r.Body, src},
		{"line", r.Source.Line, 1},
		{"notes", r.Notes, []rule.Note{}},
		{"links", r.Links, []rule.Link{}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestDates(t *testing.T) {
	tests := []struct{ in, want, note string }{
		{"2020/05/03", "2020-05-03", ""},
		{"2020-05-03", "2020-05-03", ""},
		{"2020/5/3", "2020-05-03", ""},
		{"'2020-05-03'", "2020-05-03", ""},
		{"2020-05-03T10:00:00Z", "2020-05-03", ""},
		{"May 2020", "May 2020", `date "May 2020" is not a YYYY-MM-DD date`},
	}
	for _, tt := range tests {
		r := parseOne(t, "title: t\ndate: "+tt.in+"\ndetection:\n    s: {a: b}\n    condition: s\n")
		if r.Date != tt.want {
			t.Errorf("date %s = %q, want %q", tt.in, r.Date, tt.want)
		}
		var notes []string
		for _, n := range r.Notes {
			notes = append(notes, n.Message)
		}
		if strings.Join(notes, ";") != tt.note {
			t.Errorf("date %s: notes %q, want %q", tt.in, notes, tt.note)
		}
	}
}

func TestMultipleDocuments(t *testing.T) {
	doc := func(title string) string {
		return "title: " + title + "\ndetection:\n    sel:\n        a: b\n    condition: sel\n"
	}
	src := "%YAML 1.2\n# directives end here\n---\n" + doc("one") + "---\n# comment only\n---\n" + doc("two") + "--- # separator with a comment\n" +
		"title: broken\ndetection: [\n" + "---\n" + doc("three") + "...\n"
	rules, errs := Parse("m.yml", []byte(src))
	var titles []string
	for _, r := range rules {
		titles = append(titles, fmt.Sprintf("%s@%d", r.Title, r.Source.Line))
		if r.Body != doc(r.Title) {
			t.Errorf("%s body %q, want its own document", r.Title, r.Body)
		}
	}
	if got := strings.Join(titles, " "); got != "one@4 two@12 three@21" {
		t.Errorf("rules %s", got)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "m.yml:20:") {
		t.Errorf("errors %v, want one at m.yml:20, where the unclosed flow sequence starts", errs)
	}
	if stage(t, rules[1], "sel").Pos.Line != 14 {
		t.Errorf("positions of later documents are file lines: %v", stage(t, rules[1], "sel").Pos)
	}
}

func TestCollections(t *testing.T) {
	// Sigma v1 rule collections: global merges into each following document until a reset;
	// repeat repeats the previous document with changes.
	src := `action: global
title: Shared
id: 11111111-1111-1111-1111-111111111111
detection:
    condition: sel
level: high
---
logsource:
    product: windows
detection:
    sel:
        EventID: 1
---
action: repeat
detection:
    sel:
        EventID: 2
level: low
---
action: reset
---
title: Alone
detection:
    other: {a: b}
    condition: other
`
	rules, errs := Parse("c.yml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, r := range rules {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s/%d", r.Title, r.Severity, r.LogSource.Product, render(r.Stages[len(r.Stages)-1].Expr), r.Source.Line))
	}
	want := `Shared/high/windows/EventID eq ["1"] {numeric}/8 Shared/low/windows/EventID eq ["2"] {numeric}/14 Alone///a eq ["b"]/22`
	if strings.Join(got, " ") != want {
		t.Errorf("collection rules\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if !strings.HasPrefix(rules[0].Body, "action: global\n") || !strings.Contains(rules[0].Body, "---\nlogsource:") {
		t.Errorf("a merged rule's body shows the global document and its own: %q", rules[0].Body)
	}
	if rules[0].ID != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("global id not merged: %q", rules[0].ID)
	}
	if want := strings.Join(strings.Split(src, "---\n")[:3], "---\n"); rules[1].Body != want {
		t.Errorf("a repeated rule's body shows the global, the repeated document and its own:\n%s\nwant\n%s", rules[1].Body, want)
	}
	_, errs = Parse("r.yml", []byte("action: repeat\ntitle: x\n"))
	if len(errs) != 1 || errs[0].Error() != "r.yml:1:1: action: repeat without a previous document" {
		t.Errorf("repeat first: %v", errs)
	}
}

func TestCorrelation(t *testing.T) {
	src := `title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
correlation:
    type: value_count
    rules:
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
        - failed_login
    group-by:
        - ComputerName
    timespan: 1h
    condition:
        field: User
        gt: 100
        lte: 200
    aliases:
        ip:
            failed_login: source.ip
            other: destination.ip
level: high
`
	r := parseOne(t, src)
	if r.Class != rule.ClassCorrelation || len(r.Stages) != 1 {
		t.Fatalf("class %s, %d stages", r.Class, len(r.Stages))
	}
	s := r.Stages[0]
	if s.Index != 0 || s.Name != "correlation" || s.Kind != rule.StageAggregate || s.Pos != (rule.Pos{Line: 3, Col: 1}) || !strings.HasPrefix(s.Text, "correlation:\n    type: value_count\n") || !strings.HasSuffix(s.Text, "other: destination.ip") {
		t.Errorf("stage %+v", s)
	}
	want := &rule.Aggregate{
		Function: "value_count", Field: "User", GroupBy: []string{"ComputerName"}, Window: "1h", WindowSeconds: 3600,
		Conditions: []rule.Threshold{{Op: "gt", Value: 100}, {Op: "lte", Value: 200}},
		Rules:      []string{"5638f7c0-ac70-491d-8465-2a65075e0d86", "failed_login"},
		Aliases:    map[string]map[string]string{"ip": {"failed_login": "source.ip", "other": "destination.ip"}},
	}
	if !reflect.DeepEqual(s.Aggregate, want) {
		t.Errorf("aggregate %+v, want %+v", s.Aggregate, want)
	}
	if !reflect.DeepEqual(r.Links, []rule.Link{{Ref: "5638f7c0-ac70-491d-8465-2a65075e0d86"}, {Ref: "failed_login"}}) {
		t.Errorf("links %+v", r.Links)
	}
	if len(r.Notes) != 0 || r.HasOpaque() {
		t.Errorf("notes %v", r.Notes)
	}

	for typ, wantOK := range map[string]bool{"event_count": true, "value_count": true, "temporal": true, "temporal_ordered": true, "value_sum": true, "value_avg": true, "value_percentile": true, "event_sum": false} {
		r := parseOne(t, "title: t\ncorrelation:\n    type: "+typ+"\n    rules: r\n    group-by: g\n    timespan: 5m\n    condition: {field: f, gte: 1}\n")
		if r.HasOpaque() == wantOK || r.Stages[0].Aggregate.Function != typ {
			t.Errorf("type %s: opaque %v, function %q", typ, r.HasOpaque(), r.Stages[0].Aggregate.Function)
		}
		if !reflect.DeepEqual(r.Stages[0].Aggregate.Rules, []string{"r"}) || !reflect.DeepEqual(r.Stages[0].Aggregate.GroupBy, []string{"g"}) {
			t.Errorf("single-string rules and group-by: %+v", r.Stages[0].Aggregate)
		}
	}

	r = parseOne(t, "title: t\ncorrelation:\n    type: event_count\n    rules: [a]\n")
	var notes []string
	for _, n := range r.Notes {
		notes = append(notes, n.Message)
	}
	if got := strings.Join(notes, "; "); got != "correlation: no timespan; correlation: event_count without a condition" {
		t.Errorf("missing requirements noted: %q", got)
	}
}

func TestFilter(t *testing.T) {
	src := `title: Filter Administrator account
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
        - df0841c0-9846-4e9f-ad8a-7df91571771b
    selection:
        User|startswith: 'adm_'
    condition: selection
`
	r := parseOne(t, src)
	if r.Class != rule.ClassFilter {
		t.Errorf("class %s", r.Class)
	}
	if !reflect.DeepEqual(r.Links, []rule.Link{{Ref: "6f3e2987-db24-4c78-a860-b4f4095a7095"}, {Ref: "df0841c0-9846-4e9f-ad8a-7df91571771b"}}) {
		t.Errorf("links %+v", r.Links)
	}
	if len(r.Stages) != 2 || render(r.Stages[0].Expr) != "selection" || render(r.Stages[1].Expr) != `User startswith ["adm_"]` {
		t.Errorf("stages %+v", r.Stages)
	}
}

// The filters specification makes rules required; pySigma reads an empty list as "any".
func TestFilterRuleReferences(t *testing.T) {
	const head = "title: f\nlogsource: {product: windows}\nfilter:\n"
	const tail = "    selection: {User: adm}\n    condition: not selection\n"
	tests := []struct {
		name, rules string
		links       []rule.Link
		note        bool
	}{
		{"empty list", "    rules: []\n", []rule.Link{{Ref: "any"}}, false},
		{"any", "    rules: any\n", []rule.Link{{Ref: "any"}}, false},
		{"one id", "    rules: 6f3e2987-db24-4c78-a860-b4f4095a7095\n", []rule.Link{{Ref: "6f3e2987-db24-4c78-a860-b4f4095a7095"}}, false},
		{"null", "    rules:\n", nil, true},
		{"missing", "", nil, true},
		{"a mapping", "    rules: {a: b}\n", nil, true},
		{"empty names", "    rules: ['', ~]\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := parseOne(t, head+tc.rules+tail)
			if len(r.Links)+len(tc.links) > 0 && !reflect.DeepEqual(r.Links, tc.links) {
				t.Errorf("links %+v, want %+v", r.Links, tc.links)
			}
			noted := false
			for _, n := range r.Notes {
				noted = noted || n.Message == "filter has no rules to apply to"
			}
			if noted != tc.note {
				t.Errorf("noted %v, want %v (notes %+v)", noted, tc.note, r.Notes)
			}
		})
	}
}

var errorTests = []struct{ name, src, want string }{
	{"yaml syntax", "title: t\ndetection:\n  sel: [a\n", "x.yml:3: yaml: did not find expected ',' or ']'"},
	{"yaml in second document", "title: a\ndetection: {s: {a: b}, condition: s}\n---\ntitle: b\n  bad: indent\n", "x.yml:5: yaml: mapping values are not allowed in this context"},
	{"not a mapping", "- a\n- b\n", "x.yml:1:1: a Sigma document is a mapping, found a list"},
	{"missing detection", "title: t\nlogsource: {product: x}\n", "x.yml:1:1: missing detection: a Sigma rule needs a detection (or correlation, or filter) section"},
	{"detection not a mapping", "title: t\ndetection: sel\n", `x.yml:2:12: detection must be a mapping, found "sel"`},
	{"missing condition", "title: t\ndetection:\n    sel: {a: b}\n", "x.yml:2:1: detection: missing condition"},
	{"empty condition", "title: t\ndetection:\n    sel: {a: b}\n    condition:\n", "x.yml:4:5: detection: empty condition"},
	{"condition map", "title: t\ndetection:\n    sel: {a: b}\n    condition: {a: b}\n", "x.yml:4:16: condition must be text or a list, found a mapping"},
	{"duplicate block", "title: t\ndetection:\n    sel: {a: b}\n    sel: {c: d}\n    condition: sel\n", `x.yml:4:5: detection: duplicate key "sel" (first at line 3)`},
	{"complex block key", "title: t\ndetection:\n    ? [a]\n    : b\n    condition: x\n", "x.yml:3:7: detection: a search identifier is a name, found a list"},
	{"correlation without type", "title: t\ncorrelation:\n    rules: [a]\n", "x.yml:2:1: correlation: missing type"},
	{"correlation bad threshold", "title: t\ncorrelation:\n    type: event_count\n    condition: {gte: many}\n", `x.yml:4:22: correlation condition gte: expected a number, found "many"`},
	{"correlation bad key", "title: t\ncorrelation:\n    type: event_count\n    condition: {above: 1}\n", `x.yml:4:17: correlation condition: unknown key "above" (expected gt, gte, lt, lte, eq, neq, field or percentile)`},
	{"invalid utf-8", "title: t\ndescription: caf\xe9\n", "x.yml:2:17: invalid UTF-8"},
	{"unknown action", "action: merge\ntitle: t\n", `x.yml:1:1: unknown action "merge"`},
}

// Conditions outside the grammar leave the rule built, with an opaque condition (or
// aggregation) saying where and why.
var opaqueConditionTests = []struct{ name, src, want string }{
	{"condition column", "title: t\ndetection:\n    sel: {a: b}\n    condition: 1 of )\n", `x.yml:4:21: condition: expected identifier after "1 of", found ")"`},
	{"quoted condition column", "title: t\ndetection:\n    sel: {a: b}\n    condition: 'sel and nope'\n", `x.yml:4:25: condition: unknown search identifier "nope"`},
	{"condition list column", "title: t\ndetection:\n    sel: {a: b}\n    condition:\n        - sel\n        - sel or\n", `x.yml:6:17: condition: expected identifier, "not", "1 of", "all of" or "(", found end of condition`},
	{"block condition column", "title: t\ndetection:\n    sel: {a: b}\n    condition: |\n        sel and\n        1 of x*\n", `x.yml:6:9: condition: "x*" matches no search identifier`},
	{"aggregation column", "title: t\ndetection:\n    sel: {a: b}\n    condition: sel | count() > x\n", `x.yml:4:32: condition: expected a number after ">", found "x"`},
	{"near unknown", "title: t\ndetection:\n    sel: {a: b}\n    condition: sel | near other\n", `x.yml:4:27: condition: unknown search identifier "other"`},
}

func TestOpaqueConditions(t *testing.T) {
	for _, tt := range opaqueConditionTests {
		rules, errs := Parse("x.yml", []byte(tt.src))
		if len(errs) != 0 || len(rules) != 1 {
			t.Errorf("%s: %d rules, errors %v; want the rule and no error", tt.name, len(rules), errs)
			continue
		}
		reasons := rules[0].OpaqueReasons()
		if len(reasons) != 1 {
			t.Errorf("%s: opaque reasons %+v, want one", tt.name, reasons)
			continue
		}
		o := reasons[0]
		if got := fmt.Sprintf("x.yml:%d:%d: %s", o.Pos.Line, o.Pos.Col, o.Reason); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		if rules[0].Stages[0].Expr.Op == rule.OpOpaque && len(rules[0].PositivePredicates()) != 0 {
			t.Errorf("%s: a condition not understood must not make predicates positive", tt.name)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range errorTests {
		rules, errs := Parse("x.yml", []byte(tt.src))
		if len(errs) != 1 {
			t.Errorf("%s: %d rules, errors %v; want one error", tt.name, len(rules), errs)
			continue
		}
		var re *rule.Error
		if !errors.As(errs[0], &re) {
			t.Errorf("%s: %T is not a *rule.Error", tt.name, errs[0])
		}
		if errs[0].Error() != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, errs[0], tt.want)
		}
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, src := range []string{"", "\n", "# only a comment\n", "---\n", "---\n...\n", "null\n", "%YAML 1.2\n---\n"} {
		rules, errs := Parse("e.yml", []byte(src))
		if len(rules) != 0 || len(errs) != 0 {
			t.Errorf("%q: %d rules, errors %v", src, len(rules), errs)
		}
	}
}

func TestAliasBomb(t *testing.T) {
	// The "billion laughs": nine levels of nine aliases stand for 9^9 nodes.
	var b strings.Builder
	b.WriteString("title: t\na0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("detection:\n    sel:\n        a: *a9\n    condition: sel\n")
	start := time.Now()
	rules, errs := Parse("bomb.yml", []byte(b.String()))
	if took := time.Since(start); took > time.Second {
		t.Errorf("alias bomb took %v", took)
	}
	if len(rules) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "excessive aliasing") {
		t.Errorf("alias bomb: %d rules, errors %v", len(rules), errs)
	}

	// Ordinary aliases are read.
	r := parseOne(t, "title: t\ndetection:\n    sel:\n        a: &v [x, y]\n        b: *v\n    condition: sel\n")
	if got := render(r.Stages[1].Expr); got != `and(a eq ["x" "y"], b eq ["x" "y"])` {
		t.Errorf("aliases: %s", got)
	}
	// A self-referencing alias cannot be written in YAML (an anchor is defined after its
	// node), but a merge through aliases of a mapping must not loop either.
	r = parseOne(t, "title: t\nbase: &b {x: 1}\ndetection:\n    sel: *b\n    condition: sel\n")
	if got := render(r.Stages[1].Expr); got != `x eq ["1"] {numeric}` {
		t.Errorf("aliased search identifier: %s", got)
	}
}

func TestLegacyAggregationStage(t *testing.T) {
	src := `title: t
detection:
    selection: {EventID: 4625}
    filter: {User: admin}
    timeframe: 10m
    condition: selection and not filter | count(TargetUserName) by IpAddress > 10
`
	r := parseOne(t, src)
	if len(r.Stages) != 4 {
		t.Fatalf("%d stages", len(r.Stages))
	}
	if r.Stages[0].Text != "selection and not filter" || render(r.Stages[0].Expr) != "and(selection, not(filter))" {
		t.Errorf("condition %q %s", r.Stages[0].Text, render(r.Stages[0].Expr))
	}
	a := r.Stages[3]
	want := &rule.Aggregate{Function: "count", Field: "TargetUserName", GroupBy: []string{"IpAddress"}, Window: "10m", WindowSeconds: 600, Conditions: []rule.Threshold{{Op: "gt", Value: 10}}}
	if a.Index != 3 || a.Name != "aggregation" || a.Kind != rule.StageAggregate || a.Text != "count(TargetUserName) by IpAddress > 10" || !reflect.DeepEqual(a.Aggregate, want) || a.Pos != (rule.Pos{Line: 6, Col: 43}) {
		t.Errorf("aggregation stage %+v %+v", a, a.Aggregate)
	}
	for _, s := range r.Stages {
		if s.Name == "timeframe" {
			t.Error("timeframe is not a search identifier")
		}
	}
}

func TestLongConditionIsLinear(t *testing.T) {
	// Positions and identifiers are looked up per node: a long condition over many search
	// identifiers must not cost the product of the two. The test compares the time for n
	// identifiers with the time for 16n, not with a fixed bound, so a slow or loaded machine
	// (or -race) does not fail it: linear work takes 16 to 28 times as long (the most with
	// -race on two busy cores), quadratic work up to 256 times, and a quadratic part that is
	// only a fraction of the work (identifiers found by a search of the list) 44 to 84 times.
	src := func(n int) []byte {
		var b strings.Builder
		b.WriteString("title: t\ndetection:\n")
		for i := range n {
			fmt.Fprintf(&b, "    s%d: {a: b}\n", i)
		}
		b.WriteString("    condition: s0")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, " or s%d", i)
		}
		b.WriteString("\n")
		return []byte(b.String())
	}
	// Runs alternate between the two sizes and each keeps its shortest: noise only ever adds
	// time, and a change of load during the test weighs on both alike.
	times := func(small, large []byte) (ts, tl time.Duration) {
		ts, tl = time.Duration(1<<63-1), time.Duration(1<<63-1)
		for range 5 {
			for _, c := range []struct {
				data []byte
				d    *time.Duration
			}{{small, &ts}, {large, &tl}} {
				runtime.GC()
				start := time.Now()
				Parse("long.yml", c.data)
				*c.d = min(*c.d, time.Since(start))
			}
		}
		return ts, tl
	}
	const n, k = 1250, 16
	small, large := src(n), src(k*n)
	rules, errs := Parse("long.yml", large)
	if len(errs) > 0 || len(rules) != 1 || len(rules[0].Stages[0].Expr.Args) != k*n {
		t.Fatalf("errors %v", errs)
	}
	text := string(large)
	if last := rules[0].Stages[0].Expr.Args[k*n-1].Pos; last.Line != k*n+3 || last.Col != 16+len(text[strings.LastIndex(text, "condition: ")+11:strings.LastIndex(text, " s")+1]) {
		t.Errorf("last identifier at %v", last)
	}
	ts, tl := times(small, large)
	if ratio := float64(tl) / float64(ts); ratio > 2.5*k {
		t.Errorf("%d identifiers took %v, %d took %v: %.1f times as long, want about %d", n, ts, k*n, tl, ratio, k)
	}
}

func TestAggregationStageNamesAreUnique(t *testing.T) {
	r := parseOne(t, "title: t\ndetection:\n    aggregation: {a: b}\n    condition:\n        - aggregation | count() > 1\n        - aggregation | count() > 2\n")
	var names []string
	for _, s := range r.Stages {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "condition aggregation aggregation2 aggregation3" {
		t.Errorf("stages %s", got)
	}
}

func TestMissingTitleIsNoted(t *testing.T) {
	r := parseOne(t, "detection:\n    s: {a: b}\n    condition: s\n")
	if len(r.Notes) != 1 || r.Notes[0].Message != "missing title" || r.Notes[0].Stage != -1 || r.Notes[0].Pos != (rule.Pos{Line: 1, Col: 1}) {
		t.Errorf("notes %+v", r.Notes)
	}
}

func TestNonFiniteNumbers(t *testing.T) {
	// A threshold or window that is not a finite number would reach the catalog as a rule JSON
	// cannot encode; thresholds are errors like other bad numbers, windows are noted.
	for _, v := range []string{"inf", "-Infinity", "NaN", ".inf", "1e309"} {
		src := "title: t\ncorrelation:\n    type: event_count\n    rules: [a]\n    group-by: [g]\n    timespan: 1h\n    condition: {gt: " + v + "}\n"
		rules, errs := Parse("c.yml", []byte(src))
		want := fmt.Sprintf("c.yml:7:21: correlation condition gt: expected a number, found %q", v)
		if len(rules) != 0 || len(errs) != 1 || errs[0].Error() != want {
			t.Errorf("threshold %s: %d rules, errors %v; want %s", v, len(rules), errs, want)
		}
	}
	for _, src := range []string{
		"title: t\ncorrelation:\n    type: event_count\n    rules: [a]\n    group-by: [g]\n    timespan: 1e308d\n    condition: {gt: 1}\n",
		"title: t\ncorrelation:\n    type: event_count\n    rules: [a]\n    group-by: [g]\n    timeframe: infh\n    condition: {gt: 1}\n",
		"title: t\ndetection:\n    s: {a: b}\n    timeframe: 1e308d\n    condition: s | count() > 1\n",
	} {
		r := parseOne(t, src)
		var agg *rule.Aggregate
		for _, s := range r.Stages {
			if s.Aggregate != nil {
				agg = s.Aggregate
			}
		}
		if agg == nil || agg.WindowSeconds != 0 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0].Message, "is not a number and a unit") {
			t.Errorf("%q: aggregate %+v, notes %+v", src, agg, r.Notes)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	// A legacy aggregation outside the grammar leaves an opaque stage with the positioned reason.
	r := parseOne(t, "title: t\ndetection:\n    s: {a: b}\n    condition: s | count() > NaN\n")
	if a := r.Stages[len(r.Stages)-1]; a.Kind != rule.StageOpaque || a.Pos != (rule.Pos{Line: 4, Col: 30}) || a.Reason != `condition: expected a number after ">", found "NaN"` {
		t.Errorf("legacy threshold NaN: %+v", a)
	}
}

func TestRepeatChainIsBounded(t *testing.T) {
	// Each repeated rule's body holds the global document, the document it repeats and its
	// own, not the whole chain before it, whose bodies would grow with the square of its length.
	src := "action: global\nlevel: high\n---\ntitle: t\ndetection:\n    s: {a: b}\n    condition: s\n"
	for i := range maxDocuments - 2 {
		src += fmt.Sprintf("---\naction: repeat\ndetection:\n    s: {a: b%d}\n", i)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rules, errs := Parse("chain.yml", []byte(src))
	runtime.ReadMemStats(&after)
	if len(errs) > 0 || len(rules) != maxDocuments-1 {
		t.Fatalf("%d rules, errors %v", len(rules), errs)
	}
	last := rules[len(rules)-1]
	want := fmt.Sprintf("action: global\nlevel: high\n---\naction: repeat\ndetection:\n    s: {a: b%d}\n---\naction: repeat\ndetection:\n    s: {a: b%d}\n", maxDocuments-4, maxDocuments-3)
	if last.Body != want || last.Severity != "high" || last.Stages[1].Predicates[0].Values[0] != fmt.Sprint("b", maxDocuments-3) {
		t.Errorf("last rule: body %q, level %q, stage %+v", last.Body, last.Severity, last.Stages[1])
	}
	bodies := 0
	for _, r := range rules {
		bodies += len(r.Body)
	}
	if bodies > 3*len(src) {
		t.Errorf("bodies take %d bytes for a file of %d", bodies, len(src))
	}
	// A bound on what the parse allocates, far above what it needs (about 11 MB) and far
	// below what a quadratic chain costs.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("parsing a chain of %d documents (%d bytes) allocated %d MB", maxDocuments, len(src), alloc>>20)
	}

	// Beyond maxDocuments, one positioned error and the rest of the file is not read.
	lines := strings.Count(src, "\n")
	src += strings.Repeat("---\naction: repeat\n", 4000)
	rules, errs = Parse("chain.yml", []byte(src))
	want = fmt.Sprintf("chain.yml:%d:1: more than %d documents in one file: the rest are not read", lines+2, maxDocuments)
	if len(rules) != maxDocuments-1 || len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("%d rules, errors %v; want %d rules and %s", len(rules), errs, maxDocuments-1, want)
	}
}
