package engine

import (
	"slices"
	"strings"
	"testing"
)

// filterRun loads the rule documents, hunts over the events and returns the detections as
// title@record. Filters applying to no rule are the only rules it lets be skipped.
func filterRun(t *testing.T, rules string, events []string) []string {
	got, _ := filterRunIdle(t, rules, events)
	return got
}

// filterRunIdle is filterRun, and tells how many filters applied to no rule.
func filterRunIdle(t *testing.T, rules string, events []string) ([]string, int) {
	t.Helper()
	ds, skipped := huntText(t, rules, events)
	for _, s := range skipped {
		if !strings.HasPrefix(s.Reason, "filter applies to no loaded rule") {
			t.Fatalf("skipped: %v", skipped)
		}
	}
	return titles(ds), len(skipped)
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
		idle          int // filters applying to no rule
	}{
		{"none", "", all, 0},
		{"by id", adminFilter(awsLogSource, "        - 00000000-0000-0000-0000-000000000001"),
			[]string{"Login Failed@1", "Login Succeeded@2", "Login Succeeded@3"}, 0},
		{"by name", adminFilter(awsLogSource, "        - login_ok"),
			[]string{"Login Failed@0", "Login Failed@1", "Login Succeeded@3"}, 0},
		{"any rule of the log source", adminFilter(awsLogSource, "        - any"),
			[]string{"Login Failed@1", "Login Succeeded@3"}, 0},
		{"an empty list, read as any", strings.Replace(adminFilter(awsLogSource, ""), "    rules:\n\n", "    rules: []\n", 1),
			[]string{"Login Failed@1", "Login Succeeded@3"}, 0},
		{"another log source", adminFilter("    product: windows", "        - any"), all, 1},
		{"a wider log source", adminFilter("    product: aws", "        - login_failed"),
			[]string{"Login Failed@1", "Login Succeeded@2", "Login Succeeded@3"}, 0},
		{"a rule not loaded", adminFilter(awsLogSource, "        - no_such_rule"), all, 1},
		{"two filters", adminFilter(awsLogSource, "        - login_failed") + "---\n" + strings.Replace(
			adminFilter(awsLogSource, "        - login_failed"), "adm_", "ali", 1),
			[]string{"Login Succeeded@2", "Login Succeeded@3"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := baseRules
			if tc.filters != "" {
				rules += "---\n" + tc.filters
			}
			if got, idle := filterRunIdle(t, rules, events); !slices.Equal(got, tc.want) || idle != tc.idle {
				t.Errorf("got %v, want %v; %d filters applying to no rule, want %d", got, tc.want, idle, tc.idle)
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

// On Windows, a filter is compiled into the rule for each of the rule's streams, so that its
// fields are read as the rule's are (ParentImage is ParentProcessName in Security 4688),
// whatever the filter's own log source: the rule's, a wider one, or one with no product.
func TestFilterWindows(t *testing.T) {
	rule := `title: Certutil
id: 00000000-0000-0000-0000-0000000000c1
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\certutil.exe'
    condition: selection
level: high
`
	filter := func(logsource string) string {
		return `title: Software deployment
logsource:
` + logsource + `
filter:
    rules:
        - 00000000-0000-0000-0000-0000000000C1
    selection:
        ParentImage|endswith: '\ccmexec.exe'
    condition: not selection
`
	}
	events := []string{
		sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "ParentImage": `C:\Windows\CCM\CcmExec.exe`}),
		sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "ParentImage": `C:\Windows\explorer.exe`}),
		securityEvent(4688, map[string]any{"NewProcessName": `C:\Windows\System32\certutil.exe`, "ParentProcessName": `C:\Windows\CCM\CcmExec.exe`}),
		securityEvent(4688, map[string]any{"NewProcessName": `C:\Windows\System32\certutil.exe`, "ParentProcessName": `C:\Windows\explorer.exe`}),
	}
	for _, ls := range []string{
		"    product: windows\n    category: process_creation",
		"    product: windows",
		"    category: process_creation",
	} {
		if got, want := filterRun(t, rule+"---\n"+filter(ls), events), []string{"Certutil@1", "Certutil@3"}; !slices.Equal(got, want) {
			t.Errorf("filter log source %q: got %v, want %v", ls, got, want)
		}
	}
}
