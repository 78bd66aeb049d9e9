package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// filterRun loads the rule documents, hunts over the events and returns the detections as
// title@record.
func filterRun(t *testing.T, rules string, events []string) []string {
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
	if err != nil || len(skipped) > 0 {
		t.Fatalf("%v %v", err, skipped)
	}
	var out []*Detection
	if _, err := Run(context.Background(), NewSet(progs), []string{lf}, Options{Threads: 2}, func(d *Detection) error {
		out = append(out, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return titles(out)
}

// adminFilter is a filter in the shape of the Sigma filters specification's example: the
// rules it names stay silent for accounts whose name starts with adm_.
func adminFilter(logsource, rules string) string {
	return `title: Administrators
logsource:
` + logsource + `
filter:
    rules:
` + rules + `
    selection:
        userIdentity.userName|startswith: adm_
    condition: not selection
`
}

const awsLogSource = "    product: aws\n    service: cloudtrail"

// Sigma filters specification, "Global filter": a filter names the rules "where to add the
// filter"; pySigma adds its condition to theirs with "and". A filter never reports anything
// itself.
func TestFilterRules(t *testing.T) {
	events := []string{
		login(0, "adm_bob", "10.0.0.1", false), login(1, "alice", "10.0.0.2", false),
		login(2, "adm_bob", "10.0.0.1", true), login(3, "alice", "10.0.0.2", true),
	}
	all := []string{"Login Failed@0", "Login Failed@1", "Login Succeeded@2", "Login Succeeded@3"}
	for _, tc := range []struct {
		name, filters string
		want          []string
	}{
		{"none", "", all},
		{"by id", adminFilter(awsLogSource, "        - 00000000-0000-0000-0000-000000000001"),
			[]string{"Login Failed@1", "Login Succeeded@2", "Login Succeeded@3"}},
		{"by name", adminFilter(awsLogSource, "        - login_ok"),
			[]string{"Login Failed@0", "Login Failed@1", "Login Succeeded@3"}},
		{"any rule of the log source", adminFilter(awsLogSource, "        - any"),
			[]string{"Login Failed@1", "Login Succeeded@3"}},
		{"another log source", adminFilter("    product: windows", "        - any"), all},
		{"a wider log source", adminFilter("    product: aws", "        - login_failed"),
			[]string{"Login Failed@1", "Login Succeeded@2", "Login Succeeded@3"}},
		{"a rule not loaded", adminFilter(awsLogSource, "        - no_such_rule"), all},
		{"two filters", adminFilter(awsLogSource, "        - login_failed") + "---\n" + strings.Replace(
			adminFilter(awsLogSource, "        - login_failed"), "adm_", "ali", 1),
			[]string{"Login Succeeded@2", "Login Succeeded@3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := baseRules
			if tc.filters != "" {
				rules += "---\n" + tc.filters
			}
			if got := filterRun(t, rules, events); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A filter applies to a correlation's base rule, so the correlation counts what the filter
// lets through; naming the correlation itself does nothing (as in pySigma).
func TestFilterUnderCorrelation(t *testing.T) {
	corr := `title: Failed logins
name: failed_logins
correlation:
    type: event_count
    rules: [login_failed]
    group-by: [sourceIPAddress]
    timespan: 10m
    condition: {gte: 2}
level: high
`
	var events []string
	for i := range 3 {
		events = append(events, login(i, "adm_bob", "10.0.0.1", false), login(i, "alice", "10.0.0.2", false))
	}
	count := func(ds []string, title string) int {
		n := 0
		for _, d := range ds {
			if strings.HasPrefix(d, title+"@") {
				n++
			}
		}
		return n
	}
	plain := filterRun(t, baseRules+"---\n"+corr, events)
	base := filterRun(t, baseRules+"---\n"+corr+"---\n"+adminFilter(awsLogSource, "        - login_failed"), events)
	named := filterRun(t, baseRules+"---\n"+corr+"---\n"+adminFilter(awsLogSource, "        - failed_logins"), events)
	if count(plain, "Failed logins") != 2 || count(base, "Failed logins") != 1 || !slices.Equal(named, plain) {
		t.Fatalf("correlation detections: %d unfiltered (want 2: one per address), %d with its base rule filtered (want 1: alice's), named itself %v (want %v)",
			count(plain, "Failed logins"), count(base, "Failed logins"), named, plain)
	}
}

// On Windows, a filter is compiled for its own log source, so its fields resolve as the
// rule's do.
func TestFilterWindows(t *testing.T) {
	rules := `title: Certutil
id: 00000000-0000-0000-0000-0000000000c1
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\certutil.exe'
    condition: selection
level: high
---
title: Software deployment
logsource:
    product: windows
    category: process_creation
filter:
    rules:
        - 00000000-0000-0000-0000-0000000000c1
    selection:
        ParentImage|endswith: '\ccmexec.exe'
    condition: not selection
`
	events := []string{
		sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "ParentImage": `C:\Windows\CCM\CcmExec.exe`}),
		sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "ParentImage": `C:\Windows\explorer.exe`}),
		securityEvent(4688, map[string]any{"NewProcessName": `C:\Windows\System32\certutil.exe`, "ParentProcessName": `C:\Windows\CCM\CcmExec.exe`}),
		securityEvent(4688, map[string]any{"NewProcessName": `C:\Windows\System32\certutil.exe`, "ParentProcessName": `C:\Windows\explorer.exe`}),
	}
	if got, want := filterRun(t, rules, events), []string{"Certutil@1", "Certutil@3"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
