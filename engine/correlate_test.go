package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
)

const baseRules = `title: Login Failed
name: login_failed
id: 00000000-0000-0000-0000-000000000001
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
id: 00000000-0000-0000-0000-000000000002
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Success
    condition: selection
level: low
`

func correlationRun(t *testing.T, corr string, events []string) []*Detection {
	t.Helper()
	ds, skipped := huntText(t, corr+"\n---\n"+baseRules, events)
	if len(skipped) > 0 {
		t.Fatal(skipped)
	}
	return ds
}

// huntText loads rules from the text of a rule file and runs them over events, one per line,
// on two workers.
func huntText(t *testing.T, rules string, events []string) ([]*Detection, []Skipped) {
	t.Helper()
	dir := t.TempDir()
	rf := filepath.Join(dir, "rules.yml")
	lf := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(rf, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lf, []byte(strings.Join(events, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	progs, skipped, err := LoadRules([]string{rf}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*Detection
	if _, err := Run(context.Background(), NewSet(progs), []string{lf}, Options{Threads: 2}, func(d *Detection) error {
		out = append(out, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out, skipped
}

func login(minute int, user, ip string, ok bool) string {
	el := `"errorMessage":"Failed authentication"`
	if ok {
		el = `"responseElements":{"ConsoleLogin":"Success"}`
	}
	return fmt.Sprintf(`{"eventTime":"2024-01-01T10:%02d:00Z","eventName":"ConsoleLogin","userIdentity":{"userName":%q},"sourceIPAddress":%q,%s}`, minute, user, ip, el)
}

func titles(ds []*Detection) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s@%d", d.Title, d.Record))
	}
	return out
}

// Correlation specification, "Event Count (event_count)": "Counts events occurring in the given
// time frame specified by the referred Sigma rule or rules", per group-by values.
func TestEventCount(t *testing.T) {
	corr := `title: Brute Force
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - login_failed
    group-by:
        - userIdentity.userName
    timespan: 5m
    condition:
        gte: 3
level: high`
	ds := correlationRun(t, corr, []string{
		login(0, "bob", "1.1.1.1", false),
		login(1, "alice", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", false),
		login(9, "bob", "1.1.1.1", false), // the first two are out of the window now
		login(10, "bob", "1.1.1.1", false),
		login(11, "bob", "1.1.1.1", false), // 9, 10, 11: fires
	})
	got := strings.Join(titles(ds), ",")
	// The base rule is referenced by a correlation without generate: only the correlation shows.
	if got != "Brute Force@5" {
		t.Errorf("got %s", got)
	}
	if ds[0].Value != 3 || strings.Join(ds[0].Group, ",") != "bob" {
		t.Errorf("count %v group %v", ds[0].Value, ds[0].Group)
	}
}

// "Value Count (value_count)": counts distinct values of a field within the timespan.
func TestValueCount(t *testing.T) {
	corr := `title: Password Spray
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: value_count
    rules:
        - login_failed
    group-by:
        - sourceIPAddress
    timespan: 10m
    condition:
        field: userIdentity.userName
        gt: 2
    generate: true
level: high`
	ds := correlationRun(t, corr, []string{
		login(0, "a", "6.6.6.6", false),
		login(1, "a", "6.6.6.6", false),
		login(2, "b", "6.6.6.6", false),
		login(3, "c", "7.7.7.7", false),
		login(4, "c", "6.6.6.6", false),
	})
	// generate: true keeps the base rule's own detections.
	want := "Login Failed@0,Login Failed@1,Login Failed@2,Login Failed@3,Login Failed@4,Password Spray@4"
	if got := strings.Join(titles(ds), ","); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// "Temporal Proximity (temporal)": "All events defined by the rules referred by the rule field
// must occur in the time frame defined by timespan", in any order.
func TestTemporal(t *testing.T) {
	corr := `title: Fail and Success
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
level: high`
	ds := correlationRun(t, corr, []string{
		login(0, "bob", "1.1.1.1", true),
		login(1, "alice", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", false),   // bob: success then failure, within 5m: fires
		login(20, "alice", "1.1.1.1", true), // alice: 19 minutes apart: no
	})
	if got := strings.Join(titles(ds), ","); got != "Fail and Success@2" {
		t.Errorf("got %s", got)
	}
}

// orderedLogins is a temporal_ordered correlation of a failed and then a successful login of
// one user, within timespan (none: over the whole stream).
func orderedLogins(title, timespan string) string {
	s := `title: ` + title + `
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: temporal_ordered
    rules:
        - login_failed
        - login_ok
    group-by:
        - userIdentity.userName
`
	if timespan != "" {
		s += "    timespan: " + timespan + "\n"
	}
	return s + "level: high"
}

// "Ordered Temporal Proximity (temporal_ordered)": like temporal, "and requires in addition that
// the events appear in the order provided in the rules attribute".
func TestTemporalOrdered(t *testing.T) {
	ds := correlationRun(t, orderedLogins("Success After Failure", "5m"), []string{
		login(0, "bob", "1.1.1.1", true),
		login(1, "bob", "1.1.1.1", false), // success before failure: not in order
		login(2, "alice", "1.1.1.1", false),
		login(3, "alice", "1.1.1.1", true), // failure then success: fires
	})
	if got := strings.Join(titles(ds), ","); got != "Success After Failure@3" {
		t.Errorf("got %s", got)
	}
}

// Correlations refer to rules by id, name or (as suzaku-rules does) title.
func TestCorrelationByTitle(t *testing.T) {
	rules, errs := sigma.Parse("x.yml", []byte(`title: C
logsource:
    product: aws
correlation:
    type: event_count
    rules:
        - Login Failed
    group-by:
        - sourceIPAddress
    timespan: 1m
    condition:
        gte: 1
---
`+baseRules))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var progs []*Program
	for _, r := range rules {
		p, err := Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	set := NewSet(progs)
	if len(set.corr.cs) != 1 || set.corr.cs[0].bases[0] != 1 {
		t.Fatalf("correlation not linked to its base rule by title: %+v", set.corr.cs)
	}
}

// download is an S3 GetObject at 10:00 plus sec seconds, from ip, with bytes (raw JSON) sent.
func download(sec int, ip, bytes string) string {
	t := time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second)
	return fmt.Sprintf(`{"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":%q,"additionalEventData":{"bytesTransferredOut":%s}}`,
		t.Format(time.RFC3339), ip, bytes)
}

const downloadRule = `
---
title: S3 Download
name: s3_download
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: GetObject
    condition: selection
level: low`

// metricCorrelation is a correlation of type typ over S3 downloads per source address.
func metricCorrelation(typ, timespan, condition string) string {
	return `title: Metric
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: ` + typ + `
    rules:
        - s3_download
    group-by:
        - sourceIPAddress
    timespan: ` + timespan + `
    condition:
        field: additionalEventData.bytesTransferredOut
` + condition + `
level: high` + downloadRule
}

// detected renders detections as title@record=count/group.
func detected(ds []*Detection) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s@%d=%v/%s", d.Title, d.Record, d.Value, strings.Join(d.Group, ",")))
	}
	return strings.Join(out, " ")
}

// Correlation specification v2.1, "Value Sum (value_sum)": "Check if the sum of a number field
// match a limit", per group-by values within the timespan. A value that is not a number is
// left out of the sum.
func TestValueSum(t *testing.T) {
	ds := correlationRun(t, metricCorrelation("value_sum", "10m", "        gt: 1000"), []string{
		download(0, "a", "600"),
		download(30, "b", "600"),    // another group: a and b together would pass
		download(60, "a", "400"),    // a: 1000, not above 1000
		download(90, "a", `"n/a"`),  // not a number: left out, completes nothing
		download(120, "a", `"1"`),   // a number as text counts: 1001
		download(200, "c", "900"),   //
		download(200, "d", "900"),   //
		download(800, "c", "101"),   // c: 900 at the window's start (600s before) still counts
		download(801, "d", "200"),   // d: 900 is 601s before, out of the window
		download(900, "e", "1e400"), // not a finite number
		download(901, "e", "1001"),
	})
	if got, want := detected(ds), "Metric@4=1001/a Metric@7=1001/c Metric@10=1001/e"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// "Value Average (value_avg)": "Check if the average of a number field match a limit".
func TestValueAvg(t *testing.T) {
	ds := correlationRun(t, metricCorrelation("value_avg", "10m", "        gt: 500"), []string{
		download(0, "a", "400"),
		download(10, "a", "700"), // a: 550, fires; the group starts over
		download(20, "a", "500"), // a: 500, not above 500
		download(30, "a", "true"),
		download(40, "b", "1000"), // b on its own: 1000
		download(90, "h", "0"),
		download(100, "h", "1000"), // h: 500
		download(695, "h", "400"),  // h: 0 is out of the window, 1000 in: 700
		download(90, "i", "0"),
		download(100, "i", "1000"),
		download(701, "i", "400"), // i: 1000 is out of the window too: 400
		download(800, "f", "100"),
		download(900, "f", "901"), // f: 500.5
	})
	if got, want := detected(ds), "Metric@1=550/a Metric@4=1000/b Metric@7=700/h Metric@12=500.5/f"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// "Value Percentile (value_percentile)": "Check when a certain percentage of observed values
// occur. Hint: median is a percentile 50". The rank is the condition's percentile (as pySigma
// reads it); the value is taken by the nearest-rank method.
func TestValuePercentile(t *testing.T) {
	ds := correlationRun(t, metricCorrelation("value_percentile", "1h", "        percentile: 50\n        gt: 100"), []string{
		download(0, "a", "10"),
		download(1, "a", "500"),  // median of 10, 500: 10
		download(2, "a", "20"),   // 10, 20, 500: 20
		download(3, "b", "600"),  // b on its own: 600
		download(4, "a", "600"),  // 10, 20, 500, 600: 20
		download(5, "a", `"x"`),  // not a number
		download(6, "a", "700"),  // 10, 20, 500, 600, 700: 500
		download(7, "c", "101"),  // c: 101
		download(8, "d", "100"),  // d: 100, not above 100
		download(9, "d", "3000"), // 100, 3000: 100
	})
	if got, want := detected(ds), "Metric@3=600/b Metric@6=500/a Metric@7=101/c"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestNearestRank(t *testing.T) {
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		values  []float64
		p, want float64
	}{
		{ten, 50, 5}, {ten, 90, 9}, {ten, 95, 10}, {ten, 100, 10}, {ten, 10, 1}, {ten, 0.1, 1},
		{[]float64{7}, 1, 7}, {[]float64{1, 2}, 50, 1}, {[]float64{1, 2}, 51, 2},
	} {
		if got := nearestRank(tt.values, tt.p); got != tt.want {
			t.Errorf("percentile %v of %v: %v, want %v", tt.p, tt.values, got, tt.want)
		}
	}
}

// loadSkipped loads rules from text and returns the reasons of the rules skipped, by title.
func loadSkipped(t *testing.T, rules string) (map[string]string, []*Program) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.yml")
	os.WriteFile(f, []byte(rules), 0o644)
	progs, skipped, err := LoadRules([]string{f}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range skipped {
		out[s.Title] = s.Reason
	}
	return out, progs
}

// Metric correlations that cannot be evaluated are skipped with the reason.
func TestMetricSkipped(t *testing.T) {
	tests := []struct{ typ, cond, reason string }{
		{"value_percentile", "        gt: 100", "value_percentile correlation without a percentile above 0 and at most 100 in its condition (e.g. percentile: 95)"},
		{"value_percentile", "        percentile: 150\n        gt: 100", "value_percentile correlation without a percentile above 0 and at most 100 in its condition (e.g. percentile: 95)"},
		{"value_sum", "        lt: 100", "value_sum correlation condition lt 100 bounds the value from above only: it could be decided only when the window closes, and correlations are evaluated on each match"},
	}
	for _, tt := range tests {
		skipped, _ := loadSkipped(t, metricCorrelation(tt.typ, "1h", tt.cond))
		if skipped["Metric"] != tt.reason {
			t.Errorf("%s %q: skipped %q\nwant %q", tt.typ, tt.cond, skipped["Metric"], tt.reason)
		}
	}
	// An average may well fall below a bound: that is evaluated.
	if skipped, _ := loadSkipped(t, metricCorrelation("value_avg", "1h", "        lt: 100")); len(skipped) != 0 {
		t.Errorf("value_avg lt: skipped %v", skipped)
	}
}

const manyFailed = `
---
title: Many Failed Logins
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
        gte: 3
level: medium`

// The correlation specification's example "Failed Logins Followed by Successful Login":
// "Correlations can be chained to express more complex use cases". The event_count
// correlation it refers to, and the base rules, report nothing on their own ("Generate": "only
// the correlation query should be generated (default)").
func TestChainedCorrelation(t *testing.T) {
	corr := `title: Brute Force Then Success
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
level: critical` + manyFailed
	ds := correlationRun(t, corr, []string{
		login(0, "bob", "1.1.1.1", false),
		login(1, "bob", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", false), // 2: bob's third failure: many_failed
		login(3, "alice", "1.1.1.1", false),
		login(4, "alice", "1.1.1.1", true), // alice: one failure only
		login(5, "bob", "1.1.1.1", true),   // 5: fires
		login(6, "carol", "1.1.1.1", false),
		login(7, "carol", "1.1.1.1", false),
		login(8, "carol", "1.1.1.1", false),
		login(19, "carol", "1.1.1.1", true), // 9: 11 minutes after many_failed: no
		login(20, "dave", "1.1.1.1", false),
		login(21, "dave", "1.1.1.1", false),
		login(22, "dave", "1.1.1.1", false),
		login(32, "dave", "1.1.1.1", true), // 13: 10 minutes after, the window's end: fires
		login(40, "erin", "1.1.1.1", false),
		login(41, "erin", "1.1.1.1", false),
		login(42, "erin", "1.1.1.1", false),
		login(43, "frank", "1.1.1.1", true), // another user: no
	})
	if got, want := detected(ds), "Brute Force Then Success@5=2/bob Brute Force Then Success@13=2/dave"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// generate: true on the outer correlation: the rules it refers to report as well, the
	// correlation below included, each before the detection it completes; the rules that
	// correlation refers to still do not.
	gen := strings.Replace(corr, "    timespan: 10m\nlevel: critical", "    timespan: 10m\n    generate: true\nlevel: critical", 1)
	ds = correlationRun(t, gen, []string{
		login(0, "bob", "1.1.1.1", false),
		login(1, "bob", "1.1.1.1", false),
		login(2, "bob", "1.1.1.1", false),
		login(5, "bob", "1.1.1.1", true),
	})
	if got, want := strings.Join(titles(ds), ","), "Many Failed Logins@2,Login Succeeded@3,Brute Force Then Success@3"; got != want {
		t.Errorf("generate: got %s\nwant %s", got, want)
	}
}

// A correlation over a correlation groups by its own fields: those the correlation below
// groups by take its values, the others are read from the event that completed it.
func TestChainedCorrelationGroups(t *testing.T) {
	// Two users brute-forced from one address: grouped by a field many_failed does not group by.
	corr := `title: Spray
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - many_failed
    group-by:
        - sourceIPAddress
    timespan: 30m
    condition:
        gte: 2
level: high` + manyFailed
	var events []string
	for _, who := range []struct{ user, ip string }{{"bob", "x"}, {"carol", "y"}, {"alice", "x"}, {"dave", "z"}} {
		for range 3 {
			events = append(events, login(len(events), who.user, who.ip, false))
		}
	}
	if got, want := detected(correlationRun(t, corr, events)), "Spray@8=2/x"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Grouped by an alias of the correlation below: the value is its group's, which no event
	// field named "who" holds.
	aliased := `title: Then Success
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: temporal_ordered
    rules:
        - failures
        - login_ok
    group-by:
        - who
    timespan: 10m
    aliases:
        who:
            failures: who
            login_ok: userIdentity.userName
level: high
---
title: Failures
name: failures
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - login_failed
    group-by:
        - who
    timespan: 10m
    aliases:
        who:
            login_failed: userIdentity.userName
    condition:
        gte: 2
level: medium`
	ds := correlationRun(t, aliased, []string{
		login(0, "bob", "1.1.1.1", false),
		login(1, "bob", "1.1.1.1", false),
		login(2, "alice", "1.1.1.1", true),
		login(3, "bob", "1.1.1.1", true),
	})
	if got, want := detected(ds), "Then Success@3=2/bob"; got != want {
		t.Errorf("aliases: got  %s\nwant %s", got, want)
	}
}

// A cycle of correlations is refused when the rules are loaded, naming the rules; so are the
// correlations above it and those referring to no loaded rule. A set built without LoadRules
// leaves them out and runs.
func TestCorrelationCycle(t *testing.T) {
	corr := func(title, name, typ string, rules ...string) string {
		return fmt.Sprintf("title: %s\nname: %s\nlogsource: {product: aws, service: cloudtrail}\ncorrelation:\n    type: %s\n    rules: [%s]\n    group-by: [sourceIPAddress]\n    timespan: 5m\n    condition: {gte: 1}\n---\n",
			title, name, typ, strings.Join(rules, ", "))
	}
	rules := corr("Loop A", "loop_a", "event_count", "loop_b") +
		corr("Loop B", "loop_b", "temporal", "loop_a", "login_failed") +
		corr("Above Loop", "above", "event_count", "loop_a") +
		corr("Self", "self", "event_count", "self") +
		corr("Dangling", "dangling", "event_count", "nobody") +
		baseRules
	skipped, progs := loadSkipped(t, rules)
	cycle := `correlation cycle: "Loop A" → "Loop B" → "Loop A"`
	want := map[string]string{
		"Loop A":     cycle,
		"Loop B":     cycle,
		"Above Loop": `correlation refers to "Loop A", which cannot be evaluated (` + cycle + `)`,
		"Self":       `correlation cycle: "Self" → "Self"`,
		"Dangling":   `correlation refers to "nobody", which is not among the loaded rules`,
	}
	if !reflect.DeepEqual(skipped, want) {
		t.Errorf("skipped %v\nwant %v", skipped, want)
	}
	if got := loadedTitles(progs); !slices.Equal(got, []string{"Login Failed", "Login Succeeded"}) {
		t.Errorf("loaded %v", got)
	}

	// Compiled one by one, with no LoadRules to refuse them.
	parsed, errs := sigma.Parse("r.yml", []byte(rules))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	progs = nil
	for _, r := range parsed {
		p, err := Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	set := NewSet(progs)
	if len(set.corr.cs) != 0 {
		t.Errorf("%d correlations linked, want none", len(set.corr.cs))
	}
	lf := filepath.Join(t.TempDir(), "events.jsonl")
	os.WriteFile(lf, []byte(login(0, "bob", "1.1.1.1", false)+"\n"+login(1, "bob", "1.1.1.1", false)+"\n"), 0o644)
	var got []*Detection
	if _, err := Run(context.Background(), set, []string{lf}, Options{Threads: 2}, func(d *Detection) error {
		got = append(got, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The base rule is referred to by no correlation that can be evaluated: it reports.
	if s := strings.Join(titles(got), ","); s != "Login Failed@0,Login Failed@1" {
		t.Errorf("run: %s", s)
	}
}

// legacyRule is a Sigma v1 rule on failed logins whose condition ends in aggregation.
func legacyRule(title, aggregation, timeframe string) string {
	s := `title: ` + title + `
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage: Failed authentication
    condition: selection | ` + aggregation + `
`
	if timeframe != "" {
		s += "    timeframe: " + timeframe + "\n"
	}
	return s + "level: medium"
}

// Sigma v1 specification, "Aggregation expression": `search | agg-function(agg-field) [ by
// group-field ] comparison-op value`; "The count aggregation counts all matching events if no
// field name is given. With field name it counts the distinct values in this field." It is
// evaluated as the event_count or value_count correlation over the rule's own matches, within
// the rule's timeframe; the rule reports the aggregate, not its single matches.
func TestLegacyAggregation(t *testing.T) {
	events := []string{
		login(0, "bob", "x", false),
		login(1, "alice", "y", false),
		login(2, "bob", "x", false),
		login(3, "bob", "y", false),
		login(4, "carol", "x", true), // a success: not a match of the search
		login(5, "bob", "x", false),  // 5: x has 3 failures within 5 minutes
		login(7, "bob", "y", false),  // y: 1, 3, 7: the first is out of 5 minutes
		login(59, "carol", "y", false),
	}
	tests := []struct {
		name, aggregation, timeframe, want string
	}{
		{"count by", "count() by sourceIPAddress > 2", "5m", "Legacy@5=3/x"},
		{"count", "count() > 7", "", ""},
		{"count whole stream", "count() > 6", "", "Legacy@7=7/"},
		// Distinct users per address: within 5 minutes y sees alice and bob; over the whole
		// stream (no timeframe), carol too.
		{"count field", "count(userIdentity.userName) by sourceIPAddress >= 3", "5m", ""},
		{"count field whole stream", "count(userIdentity.userName) by sourceIPAddress >= 3", "", "Legacy@7=3/y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := correlationRun(t, legacyRule("Legacy", tt.aggregation, tt.timeframe), events)
			var mine []*Detection
			for _, d := range ds {
				if d.Title == "Legacy" {
					mine = append(mine, d)
				}
			}
			if got := detected(mine); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Legacy sum, avg, min and max aggregate a number field like the metric correlations.
func TestLegacyMetricAggregation(t *testing.T) {
	rule := func(agg string) string {
		return `title: Legacy
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: GetObject
    condition: selection | ` + agg + `
    timeframe: 1h
level: medium`
	}
	events := []string{
		download(0, "a", "600"),
		download(1, "b", "50"),
		download(2, "a", "500"),
		download(3, "a", "10"),
	}
	for agg, want := range map[string]string{
		"sum(additionalEventData.bytesTransferredOut) by sourceIPAddress > 1000": "Legacy@2=1100/a",
		"avg(additionalEventData.bytesTransferredOut) by sourceIPAddress < 100":  "Legacy@1=50/b",
		"min(additionalEventData.bytesTransferredOut) by sourceIPAddress < 20":   "Legacy@3=10/a",
		"max(additionalEventData.bytesTransferredOut) > 550":                     "Legacy@0=600/",
	} {
		if got := detected(correlationRun(t, rule(agg), events)); got != want {
			t.Errorf("%s: got %q, want %q", agg, got, want)
		}
	}
}

// Legacy aggregations that cannot be evaluated are skipped with a precise reason.
func TestLegacyAggregationSkipped(t *testing.T) {
	near := `title: Near
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: ConsoleLogin
    other:
        eventName: CreateUser
    condition: selection | near other
    timeframe: 5m
`
	tests := []struct{ rule, reason string }{
		{near, `aggregation "near other": near looks for events on both sides of the primary event within the timeframe, which evaluating in input order cannot decide`},
		{legacyRule("Rare", "count() by sourceIPAddress < 5", ""), `aggregation "count() by sourceIPAddress < 5" condition lt 5 bounds the value from above only: it could be decided only when the window closes, and correlations are evaluated on each match`},
		{legacyRule("No Comparison", "count() by sourceIPAddress", "5m"), `aggregation "count() by sourceIPAddress" without a condition`},
		{legacyRule("Bad Timeframe", "count() > 3", "soon"), `aggregation "count() > 3": timespan "soon" gives no time window`},
	}
	for _, tt := range tests {
		skipped, progs := loadSkipped(t, tt.rule)
		if len(progs) != 0 || len(skipped) != 1 {
			t.Fatalf("loaded %d, skipped %v", len(progs), skipped)
		}
		for _, why := range skipped {
			if why != tt.reason {
				t.Errorf("skipped %q\nwant    %q", why, tt.reason)
			}
		}
	}
}

// The corpora's aggregations load: every legacy aggregation of Sigma's unsupported rules but
// near and upper bounds on a count, and every correlation of suzaku-rules.
func TestCorpusAggregationsLoad(t *testing.T) {
	unsupported := testcorpora.Path(t, "sigma", "unsupported")
	suzaku := testcorpora.Path(t, "suzaku-rules")
	progs, skipped, err := LoadRules([]string{unsupported, suzaku}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range skipped {
		if strings.Contains(s.Reason, "aggregation") || strings.Contains(s.Reason, "correlation") {
			if !strings.Contains(s.Reason, ": near looks for events") && !strings.Contains(s.Reason, "bounds the value from above only") {
				t.Errorf("%s: %s", s.Path, s.Reason)
			}
		}
	}
	functions := map[string]int{}
	for _, p := range progs {
		switch {
		case p.aggregate != nil:
			functions["legacy "+p.aggregate.Function]++
		case p.corr != nil:
			functions[p.corr.Function]++
		}
	}
	for _, fn := range []string{"legacy event_count", "legacy value_count", "legacy value_sum", "event_count", "value_count", "temporal_ordered"} {
		if functions[fn] == 0 {
			t.Errorf("no %s loaded: %v", fn, functions)
		}
	}
}

// A set keeps no correlation state between runs: the second run over the same events reports
// what the first did, not matches completed with the first run's leftovers.
func TestCorrelationStatePerRun(t *testing.T) {
	corr := `title: Two Failures
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - login_failed
    timespan: 5m
    condition:
        gte: 2
level: high`
	dir := t.TempDir()
	rf := filepath.Join(dir, "rules.yml")
	os.WriteFile(rf, []byte(corr+"\n---\n"+baseRules), 0o644)
	progs, _, err := LoadRules([]string{rf}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	lf := filepath.Join(dir, "events.jsonl")
	// Three failures: one detection at the second; the third starts a new window alone.
	os.WriteFile(lf, []byte(login(0, "bob", "1.1.1.1", false)+"\n"+login(1, "bob", "1.1.1.1", false)+"\n"+login(2, "bob", "1.1.1.1", false)+"\n"), 0o644)
	set := NewSet(progs)
	for run := range 3 {
		st, err := Run(context.Background(), set, []string{lf}, Options{Threads: 1}, func(*Detection) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if st.Detections != 1 {
			t.Errorf("run %d: %d detections, want 1", run+1, st.Detections)
		}
	}
}

// Over the whole stream (no timespan) a group keeps counters, not every match: memory stays
// flat however many matches a group gets before (or without ever) completing, and the values
// are those of keeping every match.
func TestWholeStreamStateStaysSmall(t *testing.T) {
	cases := []struct {
		agg  string
		want float64 // the value after the matches below
	}{
		{"count() > 1e9", 100000},
		{"sum(additionalEventData.bytesTransferredOut) > 1e18", 100000 * 5},
		{"avg(additionalEventData.bytesTransferredOut) > 1e18", 5},
		{"max(additionalEventData.bytesTransferredOut) > 1e18", 5},
	}
	for _, c := range cases {
		rs, errs := sigma.Parse("r.yml", []byte(legacyRule("L", c.agg, "")))
		if len(errs) > 0 || len(rs) != 1 {
			t.Fatal(errs)
		}
		p, err := Compile(rs[0])
		if err != nil {
			t.Fatalf("%s: %v", c.agg, err)
		}
		run := NewSet([]*Program{p}).corr.start()
		for i := range 100000 {
			d := Detection{at: time.Unix(int64(i), 0), atOK: true, corr: []corrKey{{num: 5, isNum: true}}}
			if out := run.feed(&d); len(out) > 0 {
				t.Fatalf("%s: fired", c.agg)
			}
		}
		st := run.groups[0][""]
		size := len(st.samples) + len(st.sorted) + len(st.counts)
		for _, ts := range st.times {
			size += len(ts)
		}
		if size > 4 {
			t.Errorf("%s: %d entries kept for one group", c.agg, size)
		}
		if v, ok := run.cs[0].reached(st); !ok || v != c.want {
			t.Errorf("%s: value %v (%v), want %v", c.agg, v, ok, c.want)
		}
	}
}

// temporal_ordered over the whole stream: each step extends the chain the steps before it
// completed earlier; a step matched out of order does not.
func TestTemporalOrderedWholeStream(t *testing.T) {
	ds := correlationRun(t, orderedLogins("Fail Then Success", ""), []string{
		login(0, "bob", "1.1.1.1", true),  // success first: no chain yet
		login(1, "bob", "1.1.1.1", false), // the chain starts
		login(50, "alice", "1.1.1.1", true),
		login(59, "bob", "1.1.1.1", true), // completes, 58 minutes later: no timespan
	})
	if got := strings.Join(titles(ds), ","); got != "Fail Then Success@3" {
		t.Errorf("got %s", got)
	}
}

// Group values hold any character: a NUL in one (JSON can escape it) neither merges two groups
// nor shifts the values of the group-by fields.
func TestGroupValuesWithNUL(t *testing.T) {
	for _, parts := range [][]string{{"a\x00b", "c"}, {"a", "b\x00c"}, {"", ""}, {"x"}, {"\x00"}, {strings.Repeat("z", 300), ""}} {
		if got := splitGroup(joinGroup(parts), len(parts)); !slices.Equal(got, parts) {
			t.Errorf("%q: split back as %q", parts, got)
		}
	}
	if joinGroup([]string{"a\x00b", "c"}) == joinGroup([]string{"a", "b\x00c"}) {
		t.Error("two groups share a key")
	}
	corr := `title: Pairs
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - login_failed
    group-by:
        - userIdentity.userName
        - sourceIPAddress
    timespan: 5m
    condition:
        gte: 2
level: high`
	failed := func(minute int, user, ip string) string {
		return fmt.Sprintf(`{"eventTime":"2024-01-01T10:%02d:00Z","eventName":"ConsoleLogin","userIdentity":{"userName":%s},"sourceIPAddress":%s,"errorMessage":"Failed authentication"}`,
			minute, appendJSONString(nil, user), appendJSONString(nil, ip))
	}
	ds := correlationRun(t, corr, []string{
		failed(0, "a\x00b", "c"),
		failed(1, "a", "b\x00c"), // another group, whatever the separator
		failed(2, "a\x00b", "c"), // the first group's second: fires
	})
	if len(ds) != 1 || !slices.Equal(ds[0].Group, []string{"a\x00b", "c"}) {
		for _, d := range ds {
			t.Logf("%s %q", d.Title, d.Group)
		}
		t.Errorf("%d detections", len(ds))
	}
}

// Groups whose matches left the window are dropped as the stream goes on: a correlation
// grouped by source address keeps the addresses of the last windows, not every one it saw,
// and still completes in a group that stays active.
func TestIdleGroupsDropped(t *testing.T) {
	rs, errs := sigma.Parse("r.yml", []byte(legacyRule("L", "count() by sourceIPAddress > 2", "5m")))
	if len(errs) > 0 || len(rs) != 1 {
		t.Fatal(errs)
	}
	p, err := Compile(rs[0])
	if err != nil {
		t.Fatal(err)
	}
	run := NewSet([]*Program{p}).corr.start()
	fired := 0
	for i := range 100000 {
		at := time.Unix(int64(i), 0) // a match a second, each from a new address...
		group := strconv.Itoa(i)
		if i%100 == 0 {
			group = "steady" // ...but one address every 100 seconds: 3 within 5 minutes
		}
		d := Detection{at: at, atOK: true, corr: []corrKey{{group: group}}}
		fired += len(run.feed(&d))
	}
	if n := len(run.groups[0]); n > sweepEvery+2*600 {
		t.Errorf("%d groups kept", n)
	}
	// "steady" completes every third match: at 200 s, 500 s, ...
	if fired != 100000/100/3 {
		t.Errorf("%d completions, want %d", fired, 100000/100/3)
	}
}

// A group that collects many matches without firing slides its window one match at a time:
// each match must cost about the same however many the window holds (dropping a time once
// moved every other time of the window).
func TestSlidingWindowIsLinear(t *testing.T) {
	const window = 50_000
	cr := &correlation{
		agg:    &rule.Aggregate{Function: "event_count", WindowSeconds: window, Conditions: []rule.Threshold{{Op: "gte", Value: 1e9}}},
		window: window * time.Second,
		bases:  []int{0},
	}
	groups := map[string]*corrState{}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	const n = 4 * window
	for i := range n {
		if _, fired := cr.add(&corrRun{}, groups, corrKey{}, base.Add(time.Duration(i)*time.Second)); fired {
			t.Fatal("fired")
		}
		// Linear work takes some tens of milliseconds; moving the window at every match
		// takes minutes.
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("%d matches of %d took %v (the window holds %d)", i, n, el, window)
		}
	}
	if got := len(groups[""].times[0]); got != window+1 {
		t.Errorf("window holds %d times, want %d", got, window+1)
	}
}

// A group's state used again, after its group completed or left, starts as a new one would,
// whatever correlation it served before.
func TestSpareStatesStartEmpty(t *testing.T) {
	run := &corrRun{}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	old := &corrState{
		times:   [][]time.Time{{now, now}, {now}, {now}},
		counts:  []int{4, 2, 1},
		values:  map[string]time.Time{"a": now},
		samples: []sample{{now, 3}},
		n:       7, sum: 21, sorted: []float64{3},
		last: now,
	}
	run.keep(old)
	for _, bases := range []int{2, 5} {
		st := run.state(&correlation{bases: make([]int, bases)})
		if len(st.times) != bases {
			t.Fatalf("%d bases: %d time lists", bases, len(st.times))
		}
		for i, ts := range st.times {
			if len(ts) != 0 {
				t.Errorf("%d bases: step %d holds %d times", bases, i, len(ts))
			}
		}
		if st.counts != nil || len(st.values) != 0 || len(st.samples) != 0 || st.n != 0 || st.sum != 0 || len(st.sorted) != 0 || !st.last.IsZero() {
			t.Errorf("%d bases: state not empty: %+v", bases, st)
		}
		st.times[0] = append(st.times[0], now)
		st.values = map[string]time.Time{"b": now}
		run.keep(st)
	}
	// A state that held a large window is not kept.
	big := &corrState{times: [][]time.Time{make([]time.Time, 0, maxSpareItems+1)}}
	n := len(run.spare)
	run.keep(big)
	if len(run.spare) != n {
		t.Errorf("a state holding %d times was kept", maxSpareItems+1)
	}
}

// An interner gives equal strings for equal bytes, the same string while it keeps it, and
// starts over once it holds maxInterned.
func TestInterner(t *testing.T) {
	var in interner
	a := in.str([]byte("10.0.0.1"))
	b := in.str([]byte("10.0.0.1"))
	if a != "10.0.0.1" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("%q and %q are not one string", a, b)
	}
	if allocs := testing.AllocsPerRun(100, func() { in.str([]byte("10.0.0.1")) }); allocs != 0 {
		t.Errorf("%v allocations for a string kept", allocs)
	}
	for i := range maxInterned {
		in.str([]byte(strconv.Itoa(i)))
	}
	if len(in.m) > maxInterned {
		t.Errorf("keeps %d strings, more than %d", len(in.m), maxInterned)
	}
	if s := (*interner)(nil).str([]byte("x")); s != "x" {
		t.Errorf("nil interner: %q", s)
	}
}
