package taxonomy

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Field tables: canonical name → the names other platforms give the same data (Elastic ECS and
// integration fields, Sentinel table columns, Splunk where it differs). The canonical name is
// the log's own: CloudTrail's for AWS, Sysmon's for Windows, the audit log's JSON for other
// clouds. Matching is case-insensitive, so columns that differ only in case (Sentinel
// EventName) need no entry.

var awsFields = invert(map[string][]string{
	"eventSource":              {"event.provider", "aws.cloudtrail.event_source"},
	"eventName":                {"event.action", "aws.cloudtrail.event_name"},
	"errorCode":                {"aws.cloudtrail.error_code"},
	"errorMessage":             {"aws.cloudtrail.error_message"},
	"sourceIPAddress":          {"source.ip", "source.address"},
	"userAgent":                {"user_agent.original"},
	"userIdentity.arn":         {"aws.cloudtrail.user_identity.arn", "UserIdentityArn"},
	"userIdentity.type":        {"aws.cloudtrail.user_identity.type", "UserIdentityType"},
	"userIdentity.accessKeyId": {"aws.cloudtrail.user_identity.access_key_id", "UserIdentityAccessKeyId"},
	"userIdentity.accountId":   {"UserIdentityAccountId"},
	"userIdentity.principalId": {"UserIdentityPrincipalid"},
	"userIdentity.userName":    {"UserIdentityUserName"},
	"userIdentity.invokedBy":   {"aws.cloudtrail.user_identity.invoked_by", "UserIdentityInvokedBy"},
	"userIdentity.sessionContext.sessionIssuer.userName": {"SessionIssuerUserName"},
	"userIdentity.sessionContext.sessionIssuer.arn":      {"aws.cloudtrail.user_identity.session_context.session_issuer.arn", "SessionIssuerArn"},
	"awsRegion":           {"cloud.region", "AWSRegion"},
	"recipientAccountId":  {"cloud.account.id"},
	"requestParameters":   {"aws.cloudtrail.request_parameters"},
	"responseElements":    {"aws.cloudtrail.response_elements"},
	"additionalEventData": {"aws.cloudtrail.additional_eventdata"},
	"eventType":           {"aws.cloudtrail.event_type", "EventTypeName"},
	"eventCategory":       {"aws.cloudtrail.event_category"},
	"requestID":           {"aws.cloudtrail.request_id"},
})

// windowsFields use Sysmon's names, which Sigma's Windows taxonomy adopts; ECS, Security 4688,
// Defender (Device*Events) columns and Splunk's CIM Endpoint data model map to them. The Defender columns here are those of
// DeviceProcessEvents; other Device tables override them in deviceTableFields.
var windowsFields = invert(map[string][]string{
	"Image":               {"process.executable", "NewProcessName", "FolderPath", "Processes.process_path"},
	"CommandLine":         {"process.command_line", "ProcessCommandLine", "Processes.process"},
	"ParentImage":         {"process.parent.executable", "ParentProcessName", "InitiatingProcessFolderPath", "Processes.parent_process_path"},
	"ParentCommandLine":   {"process.parent.command_line", "InitiatingProcessCommandLine", "Processes.parent_process"},
	"OriginalFileName":    {"process.pe.original_file_name", "ProcessVersionInfoOriginalFileName", "Processes.original_file_name"},
	"CurrentDirectory":    {"process.working_directory", "Processes.process_current_directory"},
	"IntegrityLevel":      {"process.token.integrity_level_name", "ProcessIntegrityLevel"},
	"ProcessId":           {"process.pid"},
	"ParentProcessId":     {"process.parent.pid", "InitiatingProcessId"},
	"Company":             {"process.pe.company", "ProcessVersionInfoCompanyName"},
	"Description":         {"process.pe.description", "ProcessVersionInfoFileDescription"},
	"Product":             {"process.pe.product", "ProcessVersionInfoProductName"},
	"FileVersion":         {"process.pe.file_version"},
	"TargetFilename":      {"file.path", "Filesystem.file_path"},
	"TargetObject":        {"registry.path", "Registry.registry_path"},
	"Details":             {"registry.data.strings", "Registry.registry_value_data"},
	"ImageLoaded":         {"dll.path"},
	"TargetImage":         {"target.process.executable", "Target.process.executable"},
	"DestinationIp":       {"destination.ip", "RemoteIP"},
	"DestinationPort":     {"destination.port", "RemotePort"},
	"DestinationHostname": {"destination.domain", "RemoteUrl"},
	"SourceIp":            {"source.ip", "LocalIP"},
	"SourcePort":          {"source.port", "LocalPort"},
	"QueryName":           {"dns.question.name"},
	"EventID":             {"event.code", "winlog.event_id", "EventCode"},
	"Channel":             {"winlog.channel"},
	"Provider_Name":       {"winlog.provider_name"},
	"ScriptBlockText":     {"powershell.file.script_block_text"},
	"ServiceName":         {"service.name"},
})

// deviceTableFields override windowsFields for Defender tables where the acting process is
// the initiating one and FolderPath names the file, image or not a process at all.
var deviceTableFields = map[string]map[string]string{
	"devicefileevents": invert(map[string][]string{
		"TargetFilename": {"FolderPath"},
		"Image":          {"InitiatingProcessFolderPath"},
		"CommandLine":    {"InitiatingProcessCommandLine"},
	}),
	"deviceimageloadevents": invert(map[string][]string{
		"ImageLoaded": {"FolderPath"},
		"Image":       {"InitiatingProcessFolderPath"},
		"CommandLine": {"InitiatingProcessCommandLine"},
	}),
	"deviceregistryevents": invert(map[string][]string{
		"TargetObject": {"RegistryKey"},
		"Details":      {"RegistryValueData"},
		"Image":        {"InitiatingProcessFolderPath"},
		"CommandLine":  {"InitiatingProcessCommandLine"},
	}),
	"devicenetworkevents": invert(map[string][]string{
		"Image":       {"InitiatingProcessFolderPath"},
		"CommandLine": {"InitiatingProcessCommandLine"},
	}),
	"deviceevents": invert(map[string][]string{
		"Image":       {"InitiatingProcessFolderPath"},
		"CommandLine": {"InitiatingProcessCommandLine"},
	}),
}

var azureActivityFields = invert(map[string][]string{
	// Sentinel's OperationNameValue is the ARM operation; its OperationName is a display name,
	// which case-folds onto this key too: Events only takes ARM-shaped values (with a '/').
	"operationName":         {"azure.activitylogs.operation_name", "event.action", "OperationNameValue", "properties.operationName"},
	"resourceProviderName":  {"ResourceProviderValue", "azure.resource.provider"},
	"category":              {"CategoryValue", "azure.activitylogs.category"},
	"resultType":            {"ActivityStatusValue", "azure.activitylogs.result_type"},
	"resourceId":            {"ResourceId", "_ResourceId", "azure.resource.id"},
	"caller":                {"Caller"},
	"properties.statusCode": {"azure.activitylogs.properties.status_code"},
})

var azureAuditFields = invert(map[string][]string{
	// Sigma's Entra ID rules write the activity as properties.message.
	"operationName":   {"ActivityDisplayName", "azure.auditlogs.operation_name", "event.action", "properties.activityDisplayName", "properties.message"},
	"category":        {"azure.auditlogs.category", "properties.category"},
	"result":          {"properties.result", "azure.auditlogs.properties.result"},
	"resultReason":    {"properties.resultReason", "azure.auditlogs.properties.result_reason"},
	"loggedByService": {"properties.loggedByService", "azure.auditlogs.properties.logged_by_service"},
	"targetResources": {"properties.targetResources", "azure.auditlogs.properties.target_resources"},
	"initiatedBy":     {"properties.initiatedBy", "azure.auditlogs.properties.initiated_by"},
})

var azureSignInFields = invert(map[string][]string{
	"resultType":                {"properties.status.errorCode", "azure.signinlogs.properties.status.error_code"},
	"resultDescription":         {"properties.status.failureReason", "azure.signinlogs.result_description"},
	"authenticationRequirement": {"properties.authenticationRequirement", "azure.signinlogs.properties.authentication_requirement"},
	"appDisplayName":            {"properties.appDisplayName", "azure.signinlogs.properties.app_display_name"},
	"userPrincipalName":         {"properties.userPrincipalName", "azure.signinlogs.properties.user_principal_name"},
	"ipAddress":                 {"IPAddress", "properties.ipAddress", "source.ip"},
	"userAgent":                 {"properties.userAgent", "user_agent.original"},
	"deviceDetail.deviceId":     {"properties.deviceDetail.deviceId", "azure.signinlogs.properties.device_detail.device_id"},
	"deviceDetail.trustType":    {"properties.deviceDetail.trustType", "azure.signinlogs.properties.device_detail.trust_type"},
})

var azureRiskFields = invert(map[string][]string{
	"riskEventType": {"properties.riskEventType", "azure.identity_protection.properties.risk_event_type"},
})

// gcpFields use the Cloud Audit Logs LogEntry names.
var gcpFields = invert(map[string][]string{
	"protoPayload.methodName":   {"data.protoPayload.methodName", "gcp.audit.method_name", "event.action", "MethodName"},
	"protoPayload.serviceName":  {"data.protoPayload.serviceName", "gcp.audit.service_name", "event.provider", "ServiceName"},
	"protoPayload.resourceName": {"data.protoPayload.resourceName", "gcp.audit.resource_name", "ResourceName"},
	"protoPayload.authenticationInfo.principalEmail": {"data.protoPayload.authenticationInfo.principalEmail",
		"gcp.audit.authentication_info.principal_email", "PrincipalEmail"},
	"protoPayload.authorizationInfo.permission": {"data.protoPayload.authorizationInfo.permission"},
	"protoPayload.authorizationInfo.granted":    {"data.protoPayload.authorizationInfo.granted"},
	"resource.type":                             {"data.protoPayload.resource.type", "data.resource.type"},
	"logName":                                   {"data.protoPayload.logName", "data.logName"},
})

// workspaceFields use the Admin SDK Reports names Sigma's Workspace rules use.
var workspaceFields = invert(map[string][]string{
	"eventName":    {"event.action", "protoPayload.metadata.event.eventName", "google_workspace.event.name"},
	"eventService": {"protoPayload.serviceName", "event.provider"},
})

// m365Fields use the Office 365 Management Activity API names. Sigma's threat_management
// rules write the workload as eventSource and the operation as eventName.
var m365Fields = invert(map[string][]string{
	"Operation":     {"event.action", "o365.audit.Operation", "eventName"},
	"Workload":      {"event.provider", "o365.audit.Workload", "OfficeWorkload", "eventSource"},
	"UserId":        {"o365.audit.UserId", "user.id"},
	"ClientIP":      {"o365.audit.ClientIP", "source.ip", "Client_IPAddress"},
	"Parameters":    {"o365.audit.Parameters"},
	"ObjectId":      {"o365.audit.ObjectId"},
	"ResultStatus":  {"o365.audit.ResultStatus"},
	"ApplicationId": {"o365.audit.ApplicationId"},
})

// oktaFields use the Okta System Log API names; Sentinel's Okta_CL suffixes them with _s.
var oktaFields = invert(map[string][]string{
	"eventType":          {"okta.event_type", "event.action", "eventType_s"},
	"actor.alternateId":  {"okta.actor.alternate_id", "actor_alternateId_s"},
	"outcome.result":     {"okta.outcome.result", "outcome_result_s"},
	"outcome.reason":     {"okta.outcome.reason", "outcome_reason_s"},
	"displayMessage":     {"okta.display_message", "displayMessage_s"},
	"target.displayName": {"okta.target.display_name"},
	"client.ipAddress":   {"okta.client.ip", "source.ip", "client_ipAddress_s"},
})

// githubFields use the audit log API names.
var githubFields = invert(map[string][]string{
	"action": {"event.action", "github.action", "action_s"},
	"actor":  {"github.actor", "user.name", "actor_s"},
	"repo":   {"github.repo", "repo_s"},
	"org":    {"github.org", "organization.name", "org_s"},
})

func (f family) fields() map[string]string {
	switch f {
	case familyAWS:
		return awsFields
	case familyAzureActivity:
		return azureActivityFields
	case familyAzureAudit:
		return azureAuditFields
	case familyAzureSignIn:
		return azureSignInFields
	case familyAzureRisk:
		return azureRiskFields
	case familyGCP:
		return gcpFields
	case familyWorkspace:
		return workspaceFields
	case familyM365:
		return m365Fields
	case familyOkta:
		return oktaFields
	case familyGitHub:
		return githubFields
	case familyWindows, familyHost:
		return windowsFields
	}
	return nil
}

// tableFields returns the overrides for a Defender table the log source names, if any.
func (f family) tableFields(ls rule.LogSource) map[string]string {
	if f != familyWindows {
		return nil
	}
	for _, n := range ls.Native {
		if t := deviceTableFields[strings.ToLower(n)]; t != nil {
			return t
		}
	}
	return nil
}

// invert builds a lookup from lower-case alias (and canonical) name to canonical name. A name
// listed under two canonical names is a mistake in the tables above: it panics, at package
// initialisation, so every test catches it.
func invert(m map[string][]string) map[string]string {
	out := make(map[string]string, len(m)*3)
	set := func(name, canon string) {
		k := strings.ToLower(name)
		if old, ok := out[k]; ok && old != canon {
			panic("taxonomy: field " + name + " maps to both " + old + " and " + canon)
		}
		out[k] = canon
	}
	for canon := range m {
		set(canon, canon)
	}
	for canon, aliases := range m {
		for _, a := range aliases {
			set(a, canon)
		}
	}
	return out
}
