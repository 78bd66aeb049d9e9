package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
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
	dir := t.TempDir()
	rf := filepath.Join(dir, "rules.yml")
	os.WriteFile(rf, []byte(corr+"\n---\n"+baseRules), 0o644)
	progs, skipped, err := LoadRules([]string{rf}, Filter{})
	if err != nil || len(skipped) > 0 {
		t.Fatalf("%v %v", err, skipped)
	}
	lf := filepath.Join(dir, "events.jsonl")
	os.WriteFile(lf, []byte(strings.Join(events, "\n")+"\n"), 0o644)
	var out []*Detection
	if _, err := Run(context.Background(), NewSet(progs), []string{lf}, Options{Threads: 2}, func(d *Detection) error {
		out = append(out, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
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
	if ds[0].Count != 3 || strings.Join(ds[0].Group, ",") != "bob" {
		t.Errorf("count %d group %v", ds[0].Count, ds[0].Group)
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

// "Ordered Temporal Proximity (temporal_ordered)": like temporal, "and requires in addition that
// the events appear in the order provided in the rules attribute".
func TestTemporalOrdered(t *testing.T) {
	corr := `title: Success After Failure
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
    timespan: 5m
level: high`
	ds := correlationRun(t, corr, []string{
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
