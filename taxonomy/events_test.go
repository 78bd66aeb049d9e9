package taxonomy

import (
	"reflect"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

func ev(provider, event string) rule.Event { return rule.Event{Provider: provider, Event: event} }

func checkEvents(t *testing.T, tests []eventsTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Events(tt.rule)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Events\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

type eventsTest struct {
	name string
	rule *rule.Rule
	want []rule.Event
}

func TestEventsAWS(t *testing.T) {
	checkEvents(t, []eventsTest{
		{"seed: IAM user creation attempt", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateUser"), eq("errorCode", "AccessDenied"))),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
		{"seed: IAM access key creation attempt", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateAccessKey"), eq("errorCode", "AccessDenied"))),
			[]rule.Event{ev("AWS-iam", "CreateAccessKey")}},
		{"several names", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateUser", "DeleteUser"))),
			[]rule.Event{ev("AWS-iam", "CreateUser"), ev("AWS-iam", "DeleteUser")}},
		{"source without name is the service's catch-all", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "guardduty.amazonaws.com"), wild("eventName", "Delete*"))),
			[]rule.Event{ev("AWS-guardduty", rule.CatchAll)}},
		{"name without source through the operations table", sigma(cloudtrail, nil,
			sel("selection", eq("eventName", "CreateUser", "StopLogging"))),
			[]rule.Event{ev("AWS-cloudtrail", "StopLogging"), ev("AWS-iam", "CreateUser")}},
		{"unknown name without source", sigma(cloudtrail, nil,
			sel("selection", eq("eventName", "NoSuchOperationAnywhere"))),
			[]rule.Event{ev("AWS", "NoSuchOperationAnywhere")}},
		{"ambiguous name without source is not guessed", sigma(cloudtrail, nil,
			sel("selection", eq("eventName", "CreateCluster"))),
			[]rule.Event{ev("AWS", "CreateCluster")}},
		{"OR of selections pairs within each", sigma(cloudtrail, or(ref("sel_iam"), ref("sel_s3")),
			sel("sel_iam", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateUser")),
			sel("sel_s3", eq("eventSource", "s3.amazonaws.com"), eq("eventName", "PutBucketPolicy"))),
			[]rule.Event{ev("AWS-iam", "CreateUser"), ev("AWS-s3", "PutBucketPolicy")}},
		{"source AND (name OR name) across selections", sigma(cloudtrail,
			and(ref("source"), or(ref("a"), ref("b"))),
			sel("source", eq("eventSource", "iam.amazonaws.com")),
			sel("a", eq("eventName", "CreateUser")),
			sel("b", eq("eventName", "AttachUserPolicy"))),
			[]rule.Event{ev("AWS-iam", "AttachUserPolicy"), ev("AWS-iam", "CreateUser")}},
		{"listed sources and names pair through the table", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com", "sts.amazonaws.com"), eq("eventName", "CreateUser", "AssumeRole"))),
			[]rule.Event{ev("AWS-iam", "CreateUser"), ev("AWS-sts", "AssumeRole")}},
		{"negated selection names nothing", sigma(cloudtrail, and(ref("selection"), not(ref("filter"))),
			sel("selection", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateUser")),
			sel("filter", eq("eventName", "DeleteUser"))),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
		{"negated predicate names nothing", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com"),
				rule.Predicate{Field: "eventName", Kind: rule.KindEq, Values: []string{"CreateUser"}, Flags: rule.Flags{Negated: true}})),
			[]rule.Event{ev("AWS-iam", rule.CatchAll)}},
		{"contains names nothing", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com"),
				rule.Predicate{Field: "eventName", Kind: rule.KindContains, Values: []string{"User"}})),
			[]rule.Event{ev("AWS-iam", rule.CatchAll)}},
		{"no service or operation: all of CloudTrail", sigma(cloudtrail, nil,
			sel("selection", eq("userIdentity.type", "Root"))),
			[]rule.Event{ev("AWS", rule.CatchAll)}},
		{"correlation rules have no events of their own", func() *rule.Rule {
			r := sigma(cloudtrail, nil, sel("selection", eq("eventName", "CreateUser")))
			r.Class = rule.ClassCorrelation
			return r
		}(), nil},
		{"Elastic ECS fields on the CloudTrail index", pipeline(rule.LogSource{Native: []string{"filebeat-*", "logs-aws.cloudtrail-*"}},
			sel("query", eq("event.dataset", "aws.cloudtrail"), eq("event.provider", "iam.amazonaws.com"), eq("event.action", "CreateUser"))),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
		{"Elastic rule known by its event.dataset only", pipeline(rule.LogSource{Native: []string{"filebeat-*"}},
			sel("query", eq("event.dataset", "aws.cloudtrail"), eq("event.provider", "iam.amazonaws.com"), eq("event.action", "CreateAccessKey"))),
			[]rule.Event{ev("AWS-iam", "CreateAccessKey")}},
		{"Sentinel AWSCloudTrail", pipeline(rule.LogSource{Native: []string{"AWSCloudTrail"}},
			sel("where", eq("EventName", "CreateUser")), sel("where2", eq("EventSource", "iam.amazonaws.com"))),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
		{"Splunk aws:cloudtrail", pipeline(rule.LogSource{Native: []string{"sourcetype=aws:cloudtrail"}},
			sel("search", eq("eventName", "CreateAccessKey"))),
			[]rule.Event{ev("AWS-iam", "CreateAccessKey")}},
	})
}

func TestEventsWindows(t *testing.T) {
	sysmon1 := rule.Event{Provider: "Sysmon", Event: "1", Title: "Process creation"}
	sec4688 := rule.Event{Provider: "Security-Auditing", Event: "4688", Title: "A new process has been created."}
	checkEvents(t, []eventsTest{
		{"process_creation: Sysmon 1 and Security 4688", sigma(windows("process_creation", ""), nil,
			sel("selection", wild("Image", `*\whoami.exe`))),
			[]rule.Event{sec4688, sysmon1}},
		{"process_creation narrowed by EventID", sigma(windows("process_creation", ""), nil,
			sel("selection", eq("EventID", "4688"), wild("NewProcessName", `*\whoami.exe`))),
			[]rule.Event{sec4688}},
		{"service security with EventID", sigma(windows("", "security"), nil,
			sel("selection", eq("EventID", "4624"), eq("LogonType", "10"))),
			[]rule.Event{{Provider: "Security-Auditing", Event: "4624", Title: "An account was successfully logged on."}}},
		{"security: audit log cleared is Eventlog's", sigma(windows("", "security"), nil,
			sel("selection", eq("EventID", "1102"))),
			[]rule.Event{{Provider: "Eventlog", Event: "1102", Title: "The audit log was cleared."}}},
		{"system 7045 and 104", sigma(windows("", "system"), nil,
			sel("selection", eq("EventID", "7045", "104"))),
			[]rule.Event{{Provider: "Eventlog", Event: "104", Title: "The log file was cleared."},
				{Provider: "Service Control Manager", Event: "7045", Title: "A service was installed in the system."}}},
		{"Application channel events name their own provider", sigma(windows("", "application"), nil,
			sel("selection", eq("EventID", "1000"))),
			[]rule.Event{{Provider: "Application Error", Event: "1000", Title: "Faulting application."}}},
		{"an event ID without a known title keeps the channel", sigma(windows("", "application"), nil,
			sel("selection", eq("EventID", "4242"))),
			[]rule.Event{{Provider: "Application", Event: "4242"}}},
		{"service without EventID is the catch-all", sigma(windows("", "security"), nil,
			sel("selection", eq("TargetUserName", "admin"))),
			[]rule.Event{ev("Security-Auditing", rule.CatchAll)}},
		{"system without EventID", sigma(windows("", "system"), nil, sel("selection", eq("Provider_Name", "x"))),
			[]rule.Event{ev("System", rule.CatchAll)}},
		{"registry_event", sigma(windows("registry_event", ""), nil, sel("selection", wild("TargetObject", `*\Run\*`))),
			[]rule.Event{{Provider: "Sysmon", Event: "12", Title: "RegistryEvent (Object create and delete)"},
				{Provider: "Sysmon", Event: "13", Title: "RegistryEvent (Value Set)"},
				{Provider: "Sysmon", Event: "14", Title: "RegistryEvent (Key and Value Rename)"}}},
		{"ps_script", sigma(windows("ps_script", ""), nil, sel("selection", wild("ScriptBlockText", "*Invoke-Mimikatz*"))),
			[]rule.Event{{Provider: "PowerShell", Event: "4104", Title: "Execute a Remote Command"},
				{Provider: "PowerShellCore", Event: "4104", Title: "Execute a Remote Command"}}},
		{"ps_classic_start", sigma(windows("ps_classic_start", ""), nil, sel("selection", wild("Data", "*HostName=ConsoleHost*"))),
			[]rule.Event{{Provider: "PowerShell", Event: "400", Title: "Engine state is changed from None to Available."}}},
		{"file_delete is 23 and 26", sigma(windows("file_delete", ""), nil, sel("selection", wild("TargetFilename", "*.evtx"))),
			[]rule.Event{{Provider: "Sysmon", Event: "23", Title: "FileDelete (File Delete archived)"},
				{Provider: "Sysmon", Event: "26", Title: "FileDeleteDetected (File Delete logged)"}}},
		{"negated EventID does not narrow", sigma(windows("", "security"), and(ref("selection"), not(ref("filter"))),
			sel("selection", eq("EventID", "4625")), sel("filter", eq("EventID", "4624"))),
			[]rule.Event{{Provider: "Security-Auditing", Event: "4625", Title: "An account failed to log on."}}},
		{"Kusto DeviceProcessEvents", pipeline(rule.LogSource{Native: []string{"DeviceProcessEvents"}},
			sel("where", eq("FileName", "whoami.exe"))),
			[]rule.Event{sec4688, sysmon1}},
		{"Kusto SecurityEvent with EventID", pipeline(rule.LogSource{Native: []string{"SecurityEvent"}},
			sel("where", eq("EventID", "4720"))),
			[]rule.Event{{Provider: "Security-Auditing", Event: "4720", Title: "A user account was created."}}},
		{"Elastic winlogbeat with event.code and channel", pipeline(rule.LogSource{Native: []string{"winlogbeat-*"}},
			sel("query", eq("winlog.channel", "Security"), eq("event.code", "4698"))),
			[]rule.Event{{Provider: "Security-Auditing", Event: "4698", Title: "A scheduled task was created."}}},
		{"Elastic EQL process rule on Windows hosts", pipeline(rule.LogSource{Native: []string{"logs-endpoint.events.process-*", "logs-windows.sysmon_operational-*", "winlogbeat-*"}},
			sel("query", eq("event.category", "process"), eq("host.os.type", "windows"), eq("event.type", "start"), eq("process.name", "whoami.exe"))),
			[]rule.Event{sec4688, sysmon1}},
		{"Elastic endpoint index for one log", pipeline(rule.LogSource{Native: []string{"logs-endpoint.events.registry-*"}},
			sel("query", eq("host.os.type", "windows"), wild("registry.path", `*\Run\*`))),
			[]rule.Event{{Provider: "Sysmon", Event: "12", Title: "RegistryEvent (Object create and delete)"},
				{Provider: "Sysmon", Event: "13", Title: "RegistryEvent (Value Set)"},
				{Provider: "Sysmon", Event: "14", Title: "RegistryEvent (Key and Value Rename)"}}},
		{"Elastic endpoint rule on Linux hosts", pipeline(rule.LogSource{Native: []string{"logs-endpoint.events.process-*"}},
			sel("query", eq("event.category", "process"), eq("host.os.type", "linux"))), nil},
		{"Elastic system.security index with event.code", pipeline(rule.LogSource{Native: []string{"logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*"}},
			sel("query", eq("event.code", "4624"), eq("winlog.logon.type", "RemoteInteractive"))),
			[]rule.Event{{Provider: "Security-Auditing", Event: "4624", Title: "An account was successfully logged on."}}},
		{"linux rules have no Windows events", sigma(rule.LogSource{Product: "linux", Category: "process_creation"}, nil,
			sel("selection", wild("Image", "*/curl"))), nil},
	})
}

func TestEventsOtherClouds(t *testing.T) {
	checkEvents(t, []eventsTest{
		{"Azure activity ARM operation", sigma(rule.LogSource{Product: "azure", Service: "activitylogs"}, nil,
			sel("selection", eq("operationName", "Microsoft.Network/networkSecurityGroups/write"))),
			[]rule.Event{ev("Azure-Activity", "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE")}},
		{"Azure activity from Elastic", pipeline(rule.LogSource{Native: []string{"logs-azure*"}},
			sel("q", eq("event.dataset", "azure.activitylogs"), eq("azure.activitylogs.operation_name", "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE"))),
			[]rule.Event{ev("Azure-Activity", "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE")}},
		{"Azure activity keywords naming ARM operations", sigma(rule.LogSource{Product: "azure", Service: "activitylogs"}, nil,
			sel("keywords", rule.Predicate{Kind: rule.KindKeyword, Values: []string{"Microsoft.Authorization/roleAssignments/write", "some text"}})),
			[]rule.Event{ev("Azure-Activity", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE")}},
		{"Splunk azure:monitor:aad", pipeline(rule.LogSource{Native: []string{"sourcetype=azure:monitor:aad"}},
			sel("search", eq("operationName", "Invite external user"))),
			[]rule.Event{ev("Azure-AuditLogs", "Invite external user")}},
		{"Azure activity display names are not operations", pipeline(rule.LogSource{Native: []string{"AzureActivity"}},
			sel("q", eq("OperationName", "Create or Update Virtual Machine"))),
			[]rule.Event{ev("Azure-Activity", rule.CatchAll)}},
		{"Azure audit", sigma(rule.LogSource{Product: "azure", Service: "auditlogs"}, nil,
			sel("selection", eq("operationName", "Add member to role"))),
			[]rule.Event{ev("Azure-AuditLogs", "Add member to role")}},
		{"Azure audit as Sigma writes it", sigma(rule.LogSource{Product: "azure", Service: "auditlogs"}, nil,
			sel("selection", eq("properties.message", "Add owner to application"))),
			[]rule.Event{ev("Azure-AuditLogs", "Add owner to application")}},
		{"Sentinel AuditLogs", pipeline(rule.LogSource{Native: []string{"AuditLogs"}},
			sel("q", eq("OperationName", "Add member to role"))),
			[]rule.Event{ev("Azure-AuditLogs", "Add member to role")}},
		{"Azure sign-ins have no operation", sigma(rule.LogSource{Product: "azure", Service: "signinlogs"}, nil,
			sel("selection", eq("ResultType", "50126"))),
			[]rule.Event{ev("Azure-SignInLogs", rule.CatchAll)}},
		{"Azure risk detection", sigma(rule.LogSource{Product: "azure", Service: "riskdetection"}, nil,
			sel("selection", eq("riskEventType", "unfamiliarFeatures"))),
			[]rule.Event{ev("Azure-RiskDetection", "unfamiliarFeatures")}},
		{"GCP method with service from its name", sigma(rule.LogSource{Product: "gcp", Service: "gcp.audit"}, nil,
			sel("selection", eq("gcp.audit.method_name", "v1.compute.instances.insert", "google.iam.admin.v1.CreateServiceAccountKey", "io.k8s.core.v1.pods.create"))),
			[]rule.Event{ev("GCP-compute", "v1.compute.instances.insert"), ev("GCP-container", "io.k8s.core.v1.pods.create"),
				ev("GCP-iam", "google.iam.admin.v1.CreateServiceAccountKey")}},
		{"GCP methods under google.cloud", sigma(rule.LogSource{Product: "gcp", Service: "gcp.audit"}, nil,
			sel("selection", eq("gcp.audit.method_name", "google.cloud.bigquery.v2.JobService.InsertJob", "SetIamPolicy"))),
			[]rule.Event{ev("GCP", "SetIamPolicy"), ev("GCP-bigquery", "google.cloud.bigquery.v2.JobService.InsertJob")}},
		{"GCP service without method", sigma(rule.LogSource{Product: "gcp", Service: "gcp.audit"}, nil,
			sel("selection", eq("data.protoPayload.serviceName", "storage.googleapis.com"))),
			[]rule.Event{ev("GCP-storage", rule.CatchAll)}},
		{"Google Workspace admin", sigma(rule.LogSource{Product: "gcp", Service: "google_workspace.admin"}, nil,
			sel("selection", eq("eventService", "admin.googleapis.com"), eq("eventName", "DELETE_ROLE"))),
			[]rule.Event{ev("GoogleWorkspace-admin", "DELETE_ROLE")}},
		{"M365 operation", sigma(rule.LogSource{Product: "m365", Service: "audit"}, nil,
			sel("selection", eq("Operation", "New-InboxRule"))),
			[]rule.Event{ev("M365", "New-InboxRule")}},
		{"M365 from Elastic", pipeline(rule.LogSource{Native: []string{"logs-o365*"}},
			sel("q", eq("event.provider", "Exchange"), eq("event.action", "New-InboxRule"))),
			[]rule.Event{ev("M365", "New-InboxRule")}},
		{"Okta", sigma(rule.LogSource{Product: "okta", Service: "okta"}, nil,
			sel("selection", eq("eventType", "user.mfa.factor.reset_all"))),
			[]rule.Event{ev("Okta", "user.mfa.factor.reset_all")}},
		{"GitHub", sigma(rule.LogSource{Product: "github", Service: "audit"}, nil,
			sel("selection", eq("action", "repo.destroy", "org.remove_member"))),
			[]rule.Event{ev("GitHub", "org.remove_member"), ev("GitHub", "repo.destroy")}},
		{"GitHub without action", sigma(rule.LogSource{Product: "github", Service: "audit"}, nil,
			sel("selection", wild("action", "repo.*"))),
			[]rule.Event{ev("GitHub", rule.CatchAll)}},
		{"unknown log source has no events", sigma(rule.LogSource{Product: "zeek", Service: "http"}, nil,
			sel("selection", eq("method", "POST"))), nil},
	})
}

func TestEventsFollowKnownSpelling(t *testing.T) {
	// Sigma compares values case-insensitively: a rule's spelling of an operation must not
	// make another event of the same one. Names no table knows are kept as written.
	okta := rule.LogSource{Product: "okta", Service: "okta"}
	github := rule.LogSource{Product: "github", Service: "audit"}
	checkEvents(t, []eventsTest{
		{"CloudTrail name through the operations table", sigma(cloudtrail, nil,
			sel("selection", eq("eventName", "createuser"))),
			[]rule.Event{ev("AWS-iam", "CreateUser")}},
		{"CloudTrail name with its source", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "IAM.amazonaws.com"), eq("eventName", "CREATEUSER", "CreateUser", "deleteUser"))),
			[]rule.Event{ev("AWS-iam", "CreateUser"), ev("AWS-iam", "DeleteUser")}},
		{"CloudTrail name the table leaves out as ambiguous", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "eks.amazonaws.com"), eq("eventName", "createcluster"))),
			[]rule.Event{ev("AWS-eks", "CreateCluster")}},
		{"CloudTrail name the table does not know", sigma(cloudtrail, nil,
			sel("selection", eq("eventSource", "iam.amazonaws.com"), eq("eventName", "someFutureOperation"))),
			[]rule.Event{ev("AWS-iam", "someFutureOperation")}},
		{"Okta event types are lower case", sigma(okta, nil,
			sel("selection", eq("eventType", "User.Session.Start", "user.session.start"))),
			[]rule.Event{ev("Okta", "user.session.start")}},
		{"GitHub actions are lower case", sigma(github, nil,
			sel("selection", eq("action", "Repo.Destroy"))),
			[]rule.Event{ev("GitHub", "repo.destroy")}},
		{"Windows channel as the event log writes it", sigma(rule.LogSource{Product: "windows"}, nil,
			sel("selection", eq("Channel", "security"), eq("EventID", "4720", "5999"))),
			[]rule.Event{{Provider: "Security-Auditing", Event: "4720", Title: "A user account was created."}, ev("Security-Auditing", "5999")}},
		{"Windows channel the log sources do not know", sigma(rule.LogSource{Product: "windows"}, nil,
			sel("selection", eq("Channel", "Some-Vendor/operational"), eq("EventID", "7"))),
			[]rule.Event{{Provider: "Some-Vendor/operational", Event: "7"}}},
	})
}
