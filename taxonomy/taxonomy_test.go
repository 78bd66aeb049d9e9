package taxonomy

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
)

func TestCanonicalField(t *testing.T) {
	azureAudit := rule.LogSource{Product: "azure", Service: "auditlogs"}
	tests := []struct {
		ls    rule.LogSource
		field string
		want  string
	}{
		{cloudtrail, "eventSource", "eventSource"},
		{cloudtrail, "EVENTNAME", "eventName"},
		{cloudtrail, "userIdentity.arn", "userIdentity.arn"},
		{cloudtrail, "requestParameters.userName", "requestParameters.userName"}, // unknown: as written
		{rule.LogSource{Native: []string{"logs-aws.cloudtrail-*"}}, "event.provider", "eventSource"},
		{rule.LogSource{Native: []string{"logs-aws.cloudtrail-*"}}, "event.action", "eventName"},
		{rule.LogSource{Native: []string{"logs-aws.cloudtrail-*"}}, "aws.cloudtrail.error_code", "errorCode"},
		{rule.LogSource{Native: []string{"logs-aws.cloudtrail-*"}}, "source.ip", "sourceIPAddress"},
		{rule.LogSource{Native: []string{"AWSCloudTrail"}}, "EventSource", "eventSource"},
		{rule.LogSource{Native: []string{"AWSCloudTrail"}}, "SourceIpAddress", "sourceIPAddress"},
		{rule.LogSource{Native: []string{"AWSCloudTrail"}}, "UserIdentityArn", "userIdentity.arn"},
		{rule.LogSource{Native: []string{"AWSCloudTrail"}}, "ErrorCode", "errorCode"},
		{rule.LogSource{Native: []string{"sourcetype=aws:cloudtrail"}}, "eventName", "eventName"},
		{windows("process_creation", ""), "Image", "Image"},
		{windows("process_creation", ""), "image", "Image"},
		{windows("", "security"), "NewProcessName", "Image"},
		{rule.LogSource{Native: []string{"logs-endpoint.events.process-*"}}, "process.executable", "Image"},
		{rule.LogSource{Native: []string{"logs-endpoint.events.process-*"}}, "process.command_line", "CommandLine"},
		{rule.LogSource{Native: []string{"logs-endpoint.events.process-*"}}, "process.parent.executable", "ParentImage"},
		{rule.LogSource{Native: []string{"DeviceProcessEvents"}}, "FolderPath", "Image"},
		{rule.LogSource{Native: []string{"DeviceProcessEvents"}}, "ProcessCommandLine", "CommandLine"},
		{rule.LogSource{Native: []string{"DeviceProcessEvents"}}, "InitiatingProcessFolderPath", "ParentImage"},
		{rule.LogSource{Native: []string{"DeviceFileEvents"}}, "FolderPath", "TargetFilename"},
		{rule.LogSource{Native: []string{"DeviceFileEvents"}}, "InitiatingProcessFolderPath", "Image"},
		{rule.LogSource{Native: []string{"DeviceImageLoadEvents"}}, "FolderPath", "ImageLoaded"},
		{rule.LogSource{Native: []string{"winlogbeat-*"}}, "winlog.event_data.TargetUserName", "TargetUserName"},
		{rule.LogSource{Native: []string{"winlogbeat-*"}}, "event.code", "EventID"},
		{rule.LogSource{Native: []string{"datamodel=Endpoint.Processes"}}, "Processes.process", "CommandLine"},
		{rule.LogSource{Native: []string{"datamodel=Endpoint.Registry"}}, "Registry.registry_path", "TargetObject"},
		{azureAudit, "ActivityDisplayName", "operationName"},
		{azureAudit, "OperationName", "operationName"},
		{azureAudit, "properties.message", "operationName"},
		{rule.LogSource{Native: []string{"logs-azure.auditlogs-*"}}, "event.action", "operationName"},
		{rule.LogSource{Native: []string{"logs-azure.activitylogs-*"}}, "event.action", "operationName"},
		{rule.LogSource{Native: []string{"AzureActivity"}}, "OperationNameValue", "operationName"},
		{rule.LogSource{Product: "gcp", Service: "gcp.audit"}, "gcp.audit.method_name", "protoPayload.methodName"},
		{rule.LogSource{Product: "gcp", Service: "gcp.audit"}, "data.protoPayload.methodName", "protoPayload.methodName"},
		{rule.LogSource{Product: "m365", Service: "threat_management"}, "eventName", "Operation"},
		{rule.LogSource{Native: []string{"OfficeActivity"}}, "OfficeWorkload", "Workload"},
		{rule.LogSource{Product: "okta", Service: "okta"}, "okta.event_type", "eventType"},
		{rule.LogSource{Native: []string{"Okta_CL"}}, "eventType_s", "eventType"},
		{rule.LogSource{Product: "github", Service: "audit"}, "event.action", "action"},
		{rule.LogSource{Product: "zeek", Service: "http"}, "method", "method"},
	}
	for _, tt := range tests {
		if got := CanonicalField(tt.ls, tt.field); got != tt.want {
			t.Errorf("CanonicalField(%+v, %q) = %q, want %q", tt.ls, tt.field, got, tt.want)
		}
	}
}

func TestAnnotate(t *testing.T) {
	r := sigma(cloudtrail, nil,
		sel("selection", eq("EventSource", "iam.amazonaws.com"), eq("eventname", "CreateUser")))
	// A child stage (a join's subquery) is annotated too.
	r.Stages[1].Stages = []rule.Stage{sel("child", eq("event.provider", "sts.amazonaws.com"))}
	r.LogSource.Native = []string{"logs-aws.cloudtrail-*"}
	Annotate(r)
	for _, s := range []*rule.Stage{&r.Stages[1], &r.Stages[1].Stages[0]} {
		for _, p := range s.Predicates {
			if p.Canonical == "" {
				t.Errorf("stage %s: predicate list copy of %s not annotated", s.Name, p.Field)
			}
		}
		s.Expr.Walk(func(e *rule.Expr) {
			if e.Predicate != nil && e.Predicate.Canonical == "" {
				t.Errorf("stage %s: expression predicate %s not annotated", s.Name, e.Predicate.Field)
			}
		})
	}
	got := []string{r.Stages[1].Predicates[0].Canonical, r.Stages[1].Expr.Args[1].Predicate.Canonical, r.Stages[1].Stages[0].Predicates[0].Canonical}
	if want := []string{"eventSource", "eventName", "eventSource"}; !reflect.DeepEqual(got, want) {
		t.Errorf("canonical fields %v, want %v", got, want)
	}
	if want := []rule.Event{ev("AWS-iam", "CreateUser")}; !reflect.DeepEqual(r.Events, want) {
		t.Errorf("Events %v, want %v", r.Events, want)
	}
}

// Annotate uses the rule's dataset predicates when the log source does not name the log.
func TestAnnotateByDataset(t *testing.T) {
	r := pipeline(rule.LogSource{Native: []string{"filebeat-*"}},
		sel("query", eq("event.dataset", "aws.cloudtrail"), eq("event.action", "StopLogging")))
	Annotate(r)
	if c := r.Stages[0].Predicates[1].Canonical; c != "eventName" {
		t.Errorf("event.action canonical %q, want eventName", c)
	}
}

func TestWindowsSources(t *testing.T) {
	got := WindowsSources(windows("process_creation", ""))
	want := []WindowsSource{
		{Provider: "Microsoft-Windows-Sysmon", Channel: "Microsoft-Windows-Sysmon/Operational", EventIDs: []int{1}},
		{Provider: "Microsoft-Windows-Security-Auditing", Channel: "Security", EventIDs: []int{4688}, Fields: map[string]string{
			"Image": "NewProcessName", "ParentImage": "ParentProcessName", "ProcessId": "NewProcessId",
			"ParentProcessId": "ProcessId"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("process_creation\n got %+v\nwant %+v", got, want)
	}
	// The result is the caller's: changing it must not change the table.
	got[0].EventIDs[0] = 99
	got[1].Fields["Image"] = "x"
	if again := WindowsSources(windows("process_creation", "")); !reflect.DeepEqual(again, want) {
		t.Errorf("WindowsSources returned shared table memory")
	}
	if got := WindowsSources(windows("", "security")); !reflect.DeepEqual(got, []WindowsSource{{Channel: "Security"}}) {
		t.Errorf("security = %+v", got)
	}
	if got := WindowsSources(windows("", "powershell-classic")); len(got) != 1 || got[0].Channel != "Windows PowerShell" {
		t.Errorf("powershell-classic = %+v", got)
	}
	if got := WindowsSources(rule.LogSource{Product: "linux", Category: "process_creation"}); got != nil {
		t.Errorf("linux process_creation = %+v, want none", got)
	}
}

// Every Windows log source of the Sigma taxonomy appendix is in the tables, with the event IDs
// and channels the appendix gives.
func TestSigmaTaxonomyWindows(t *testing.T) {
	path := testcorpora.Path(t, "sigma-spec", "specification", "sigma-appendix-taxonomy.md")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^\|\s*windows\s*\|\s*product: windows<br>(category|service): ([a-z0-9_-]+)\s*\|(.*)\|\s*$`)
	idRe := regexp.MustCompile(`\b\d+\b`)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n++
		kind, name, desc := m[1], m[2], m[3]
		var ls rule.LogSource
		if kind == "category" {
			ls = windows(name, "")
		} else {
			ls = windows("", name)
		}
		src := WindowsSources(ls)
		if len(src) == 0 {
			t.Errorf("%s %s: no Windows sources", kind, name)
			continue
		}
		var ids []int
		var channels []string
		for _, s := range src {
			ids = append(ids, s.EventIDs...)
			channels = append(channels, s.Channel)
		}
		if i := strings.Index(desc, "EventID"); i >= 0 {
			for _, id := range idRe.FindAllString(desc[i:strings.Index(desc, "Channel")], -1) {
				if !slices.Contains(ids, atoi(id)) {
					t.Errorf("%s %s: event ID %s of the appendix missing from %v", kind, name, id, ids)
				}
			}
		}
		if i := strings.Index(desc, "Channel:"); i >= 0 {
			for _, ch := range strings.Split(desc[i+len("Channel:"):], "<br>") {
				ch = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(ch), "- "))
				ch = strings.TrimPrefix(ch, "WinEventLog:")
				if ch != "" && !slices.Contains(channels, ch) {
					t.Errorf("%s %s: channel %q of the appendix missing from %q", kind, name, ch, channels)
				}
			}
		}
	}
	if n < 80 {
		t.Errorf("read %d Windows rows from the appendix; the table format changed?", n)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestCloudTrailService(t *testing.T) {
	for name, want := range map[string]string{
		"CreateUser":      "iam.amazonaws.com",
		"CreateAccessKey": "iam.amazonaws.com",
		"createuser":      "iam.amazonaws.com",
		"StopLogging":     "cloudtrail.amazonaws.com",
		"PutBucketPolicy": "s3.amazonaws.com",
		"AssumeRole":      "sts.amazonaws.com",
		"ConsoleLogin":    "signin.amazonaws.com",
		// Resolved explicitly in the generator.
		"GetBucketReplication": "s3.amazonaws.com",
	} {
		if got, ok := CloudTrailService(name); !ok || got != want {
			t.Errorf("CloudTrailService(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	// Names two services emit are left out rather than guessed.
	for _, name := range []string{"CreateCluster", "ListTagsForResource", "NoSuchOperation", ""} {
		if got, ok := CloudTrailService(name); ok {
			t.Errorf("CloudTrailService(%q) = %q, want not found", name, got)
		}
	}
}

// The generated table is sorted, well formed, has one row per name, and none of the names its
// comments call ambiguous.
func TestOperationsTable(t *testing.T) {
	var names []string
	ambiguous := map[string]bool{}
	for i, line := range strings.Split(strings.TrimRight(cloudtrailOperations, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# ambiguous, left out: "); ok {
			ambiguous[rest[:strings.IndexByte(rest, ':')]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || !strings.HasSuffix(f[1], ".amazonaws.com") {
			t.Errorf("line %d: %q: want eventName, eventSource, rules, logs", i+1, line)
			continue
		}
		names = append(names, f[0])
	}
	if !sort.StringsAreSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("operations are not sorted and unique")
	}
	if len(names) < 500 {
		t.Errorf("%d operations; the corpora give over 600", len(names))
	}
	for _, n := range names {
		if ambiguous[n] {
			t.Errorf("%s is both listed and called ambiguous", n)
		}
	}
	if len(ambiguous) == 0 {
		t.Errorf("no ambiguous names recorded; the corpora have some (CreateCluster)")
	}
}
