package taxonomy

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// family is a kind of log that shares field names and event derivation across platforms.
type family string

const (
	familyNone          family = ""
	familyAWS           family = "aws"
	familyAzureActivity family = "azure-activity"
	familyAzureAudit    family = "azure-audit"
	familyAzureSignIn   family = "azure-signin"
	familyAzureRisk     family = "azure-risk"
	familyGCP           family = "gcp"
	familyWorkspace     family = "google-workspace"
	familyM365          family = "m365"
	familyOkta          family = "okta"
	familyGitHub        family = "github"
	familyWindows       family = "windows"
	// familyHost is any other endpoint log (Linux, macOS, or unknown): Sysmon names still
	// apply to its process, file and network fields.
	familyHost family = "host"
)

// sigmaFamilies maps Sigma product/service (and product alone, with service "") to families,
// from the Sigma taxonomy appendix, cloud folder, and the services Suzaku uses.
var sigmaFamilies = map[[2]string]family{
	{"aws", "cloudtrail"}:             familyAWS,
	{"azure", "activitylogs"}:         familyAzureActivity,
	{"azure", "auditlogs"}:            familyAzureAudit,
	{"azure", "signinlogs"}:           familyAzureSignIn,
	{"azure", "riskdetection"}:        familyAzureRisk,
	{"azure", "pim"}:                  familyAzureRisk,
	{"azure", "m365"}:                 familyM365,
	{"gcp", "gcp.audit"}:              familyGCP,
	{"gcp", "google_workspace.admin"}: familyWorkspace,
	{"gcp", "google_workspace.login"}: familyWorkspace,
	{"m365", ""}:                      familyM365,
	{"okta", ""}:                      familyOkta,
	{"github", ""}:                    familyGitHub,
	{"windows", ""}:                   familyWindows,
	{"google_workspace", ""}:          familyWorkspace,
}

// nativeFamilies recognises the index patterns, datasets, tables and sourcetypes of other
// platforms, by lower-case substring, tried in order (more specific first).
var nativeFamilies = []struct {
	sub string
	fam family
}{
	{"aws.cloudtrail", familyAWS}, // Elastic dataset and index logs-aws.cloudtrail-*
	{"awscloudtrail", familyAWS},  // Sentinel table
	{"aws:cloudtrail", familyAWS}, // Splunk sourcetype
	{"azure.activitylogs", familyAzureActivity},
	{"azureactivity", familyAzureActivity},
	{"azure:monitor:activity", familyAzureActivity},
	{"azure.auditlogs", familyAzureAudit},
	// Splunk's Entra ID sourcetype carries audit, sign-in and risk events; its rules mostly
	// filter the audit operationName.
	{"azure:monitor:aad", familyAzureAudit},
	{"azure.signinlogs", familyAzureSignIn},
	{"signinlogs", familyAzureSignIn}, // SigninLogs, AADNonInteractiveUserSignInLogs
	{"auditlogs", familyAzureAudit},   // Sentinel AuditLogs
	{"azure.identity_protection", familyAzureRisk},
	{"aadriskyusers", familyAzureRisk},
	{"aaduserriskevents", familyAzureRisk},
	{"gcp.audit", familyGCP},
	{"gcpauditlogs", familyGCP},
	{"google:gcp", familyGCP},
	{"google_workspace", familyWorkspace},
	{"o365", familyM365},
	{"officeactivity", familyM365},
	{"okta", familyOkta},
	{"github", familyGitHub},
	{"securityevent", familyWindows},
	{"windowsevent", familyWindows},
	{"winlogbeat", familyWindows},
	{"logs-windows", familyWindows},
	{"wineventlog", familyWindows},
	{"xmlwineventlog", familyWindows},
	{"sysmon", familyWindows},
	{"deviceprocessevents", familyWindows},
	{"devicefileevents", familyWindows},
	{"deviceregistryevents", familyWindows},
	{"devicenetworkevents", familyWindows},
	{"deviceimageloadevents", familyWindows},
	{"deviceevents", familyWindows},
	{"logs-endpoint.events", familyHost}, // every OS: host.os.type says which
}

// familyOf classifies a log source.
func familyOf(ls rule.LogSource) family {
	p, s := strings.ToLower(ls.Product), strings.ToLower(ls.Service)
	if f, ok := sigmaFamilies[[2]string{p, s}]; ok {
		return f
	}
	if f, ok := sigmaFamilies[[2]string{p, ""}]; ok {
		return f
	}
	// An index list can name a cross-OS log beside a specific one (logs-endpoint.events.* and
	// winlogbeat-*): the specific one decides.
	for _, n := range ls.Native {
		if f, ok := nativeFamily(n); ok && f != familyHost {
			return f
		}
	}
	return familyHost
}

func nativeFamily(s string) (family, bool) {
	l := strings.ToLower(s)
	for _, nf := range nativeFamilies {
		if strings.Contains(l, nf.sub) {
			return nf.fam, nf.fam != familyNone
		}
	}
	return familyNone, false
}

// datasetFields name the fields whose values say which log a rule reads, when its log source
// does not (an Elastic rule on filebeat-* with event.dataset:aws.cloudtrail).
var datasetFields = map[string]bool{"event.dataset": true, "sourcetype": true, "source": true, "index": true}

// familyOfRule refines familyOf with the rule's positive dataset predicates.
func familyOfRule(r *rule.Rule) family {
	f := familyOf(r.LogSource)
	if f != familyHost {
		return f
	}
	if isWindowsHost(r) {
		return familyWindows
	}
	for _, p := range r.PositivePredicates() {
		if !datasetFields[strings.ToLower(p.Field)] || p.Kind != rule.KindEq {
			continue
		}
		for _, v := range p.Values {
			if nf, ok := nativeFamily(v); ok {
				return nf
			}
		}
	}
	return f
}
