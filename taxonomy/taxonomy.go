// Package taxonomy is the reviewed data that gives rules from different platforms a common
// vocabulary: canonical field names per log source, and the (provider, event) pairs a rule
// watches, such as AWS-iam / CreateUser or Sysmon / 1 / Process creation.
//
// Providers, by log family:
//
//	AWS-<service>          CloudTrail, service from eventSource (iam.amazonaws.com → AWS-iam); event eventName
//	Azure-Activity         Azure activity log; event operationName, upper case as the log writes it
//	Azure-AuditLogs        Entra ID audit log; event operationName (activity display name)
//	Azure-SignInLogs       Entra ID sign-in log; sign-ins have no operation, so always _catch_all
//	Azure-RiskDetection    Entra ID Protection risk detections and PIM alerts; event riskEventType
//	GCP-<service>          Cloud Audit Logs, service from serviceName (compute.googleapis.com → GCP-compute); event methodName
//	GoogleWorkspace-<app>  Workspace admin and login audit; event eventName
//	M365                   Office 365 management activity; event Operation (the workload is not part of the
//	                       provider because most rules name the operation only)
//	Okta                   Okta system log; event eventType
//	GitHub                 GitHub audit log; event action
//	Sysmon, Security-Auditing, PowerShell, ...  Windows event logs; event the Event ID, with its title
//
// A rule that names a provider but no operation gets the provider's rule.CatchAll event. Where
// the service cannot be told (an eventName missing from the operations table, a CloudTrail rule
// on every service), the family's bare name is the provider: AWS, GCP, GoogleWorkspace.
package taxonomy

//go:generate go run ./internal/gen -o cloudtrail_operations.tsv

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Annotate sets the canonical field of every predicate of the rule, in expression trees and in
// the stages' predicate lists, child stages included, and derives the rule's events.
func Annotate(r *rule.Rule) {
	// The rule's own dataset predicates can name its log where the log source does not.
	f := familyOfRule(r)
	var visit func(stages []rule.Stage)
	visit = func(stages []rule.Stage) {
		for i := range stages {
			s := &stages[i]
			for j := range s.Predicates {
				p := &s.Predicates[j]
				p.Canonical = canonical(f, r.LogSource, p.Field)
			}
			s.Expr.Walk(func(e *rule.Expr) {
				if e.Predicate != nil {
					e.Predicate.Canonical = canonical(f, r.LogSource, e.Predicate.Field)
				}
			})
			visit(s.Stages)
		}
	}
	visit(r.Stages)
	r.Events = events(r, f)
}

// CanonicalField returns the name the catalog uses for a field of the given log source:
// CloudTrail's names for AWS, Sysmon's for Windows endpoints, the platform's audit log names
// for other clouds. Fields are matched case-insensitively; an unknown field is returned as
// written.
func CanonicalField(ls rule.LogSource, field string) string {
	return canonical(familyOf(ls), ls, field)
}

func canonical(f family, ls rule.LogSource, field string) string {
	key := strings.ToLower(field)
	if t := f.tableFields(ls); t != nil {
		if c, ok := t[key]; ok {
			return c
		}
	}
	if c, ok := f.fields()[key]; ok {
		return c
	}
	// Winlogbeat nests Windows event data; the name inside is the event's own.
	if rest, ok := strings.CutPrefix(key, "winlog.event_data."); ok && f == familyWindows {
		return field[len(field)-len(rest):]
	}
	return field
}
