package taxonomy

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Events returns the (provider, event) pairs the rule watches, derived from its log source and
// its positive exact predicates, deduplicated and sorted. Correlation rules watch what the rules
// they correlate watch, and Sigma filters only exclude events, so neither has events of its own.
func Events(r *rule.Rule) []rule.Event {
	return events(r, familyOfRule(r))
}

func events(r *rule.Rule, f family) []rule.Event {
	if r.Class == rule.ClassCorrelation || r.Class == rule.ClassFilter {
		return nil
	}
	var out []rule.Event
	switch f {
	case familyWindows:
		out = windowsEvents(r, f)
	case familyHost, familyNone:
		return nil
	default:
		out = cloudEvents(r, f, cloudSpecs[f])
	}
	return tidy(out)
}

// cloudSpec says how a cloud audit log names its services and operations.
type cloudSpec struct {
	// provider is the provider of every event, or the fallback when the service is unknown.
	provider string
	// sourceField names the service (canonical name); "" when the log has one provider.
	sourceField string
	// nameField names the operation (canonical name); "" when the log has no operations.
	nameField string
	// service maps a source value to its provider; lookup finds the source of an operation.
	service func(source string) string
	lookup  func(name string) (source string, ok bool)
	// event normalises an operation name, rejecting values that are not operations.
	event func(name string) (string, bool)
	// keywords: field-less values (Sigma keywords) may name operations; event must then
	// recognise them.
	keywords bool
}

var cloudSpecs = map[family]cloudSpec{
	familyAWS: {provider: "AWS", sourceField: "eventSource", nameField: "eventName",
		service: awsProvider, lookup: CloudTrailService, event: cloudTrailName},
	familyAzureActivity: {provider: "Azure-Activity", nameField: "operationName", event: armOperation, keywords: true},
	familyAzureAudit:    {provider: "Azure-AuditLogs", nameField: "operationName"},
	familyAzureSignIn:   {provider: "Azure-SignInLogs"},
	familyAzureRisk:     {provider: "Azure-RiskDetection", nameField: "riskEventType"},
	familyGCP: {provider: "GCP", sourceField: "protoPayload.serviceName", nameField: "protoPayload.methodName",
		service: gcpProvider, lookup: gcpServiceOfMethod},
	familyWorkspace: {provider: "GoogleWorkspace", sourceField: "eventService", nameField: "eventName",
		service: workspaceProvider},
	familyM365:   {provider: "M365", nameField: "Operation"},
	familyOkta:   {provider: "Okta", nameField: "eventType", event: lowerName},
	familyGitHub: {provider: "GitHub", nameField: "action", event: lowerName},
}

func cloudEvents(r *rule.Rule, f family, spec cloudSpec) []rule.Event {
	provider := spec.provider
	if f == familyWorkspace {
		provider = workspaceProviderOf(r.LogSource, provider)
	}
	keep := func(p *rule.Predicate) bool {
		if p.Kind == rule.KindKeyword {
			return spec.keywords
		}
		if p.Kind != rule.KindEq {
			return false
		}
		c := canonical(f, r.LogSource, p.Field)
		return c != "" && (strings.EqualFold(c, spec.sourceField) || strings.EqualFold(c, spec.nameField))
	}
	var out []rule.Event
	for _, group := range andGroups(r, keep) {
		var sources, names []string
		for _, p := range group {
			vals := exactValues(p)
			if p.Kind != rule.KindKeyword && strings.EqualFold(canonical(f, r.LogSource, p.Field), spec.sourceField) {
				sources = append(sources, vals...)
			} else {
				names = append(names, vals...)
			}
		}
		out = append(out, spec.pair(provider, sources, names)...)
	}
	if len(out) == 0 {
		out = append(out, rule.Event{Provider: provider, Event: rule.CatchAll})
	}
	return out
}

// pair turns one AND-group's service and operation values into events.
func (spec cloudSpec) pair(provider string, sources, names []string) []rule.Event {
	var out []rule.Event
	providerOf := func(src string) string {
		if spec.service != nil {
			return spec.service(src)
		}
		return provider
	}
	named := false
	for _, n := range names {
		ev := n
		if spec.event != nil {
			var ok bool
			if ev, ok = spec.event(n); !ok {
				continue
			}
		}
		named = true
		known, hasKnown := "", false
		if spec.lookup != nil {
			known, hasKnown = spec.lookup(n)
		}
		switch {
		case len(sources) == 0 && hasKnown:
			out = append(out, rule.Event{Provider: providerOf(known), Event: ev})
		case len(sources) == 0:
			out = append(out, rule.Event{Provider: provider, Event: ev})
		case len(sources) > 1 && hasKnown && containsFold(sources, known):
			// eventSource: [iam, sts] with eventName: [CreateUser, AssumeRole]: each name
			// goes with the service that emits it, not with every listed service.
			out = append(out, rule.Event{Provider: providerOf(known), Event: ev})
		default:
			for _, s := range sources {
				out = append(out, rule.Event{Provider: providerOf(s), Event: ev})
			}
		}
	}
	if !named {
		for _, s := range sources {
			out = append(out, rule.Event{Provider: providerOf(s), Event: rule.CatchAll})
		}
	}
	return out
}

// exactValues returns a predicate's values that name one thing: no wildcards.
func exactValues(p *rule.Predicate) []string {
	var out []string
	for _, v := range p.Values {
		v = strings.TrimSpace(v)
		if v == "" || p.Flags.Wildcard && strings.ContainsAny(v, "*?") {
			continue
		}
		out = append(out, v)
	}
	return out
}

// armOperation accepts Azure Resource Manager operation names (Microsoft.Network/.../write),
// upper-cased as the activity log and most rules write them; display names are rejected.
func armOperation(s string) (string, bool) {
	if !strings.Contains(s, "/") {
		return "", false
	}
	return strings.ToUpper(s), true
}

// lowerName writes an Okta event type (user.session.start) or a GitHub audit log action
// (repo.destroy) as both services do, in lower case, so that a rule's spelling, which Sigma
// compares case-insensitively, does not make another event of the same one.
func lowerName(s string) (string, bool) { return strings.ToLower(s), true }

// gcpProvider names the provider of a GCP serviceName: compute.googleapis.com → GCP-compute.
func gcpProvider(serviceName string) string {
	s := strings.ToLower(serviceName)
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return "GCP-" + s
}

// gcpServiceOfMethod reads the service from a method name, which names it after an optional
// API version or "google." prefix: v1.compute.instances.insert, beta.compute...,
// google.iam.admin.v1.CreateServiceAccountKey, storage.buckets.delete. Kubernetes methods
// (io.k8s.core.v1.pods.create) belong to GKE, container.googleapis.com.
func gcpServiceOfMethod(method string) (string, bool) {
	parts := strings.Split(method, ".")
	if len(parts) < 2 {
		return "", false
	}
	if parts[0] == "io" && parts[1] == "k8s" {
		return "container.googleapis.com", true
	}
	i := 0
	for i < len(parts)-1 && (parts[i] == "google" || parts[i] == "beta" || parts[i] == "alpha" || isAPIVersion(parts[i]) ||
		parts[i] == "cloud" && i > 0 && parts[i-1] == "google") { // google.cloud.bigquery.v2...
		i++
	}
	if i == len(parts)-1 {
		return "", false
	}
	return strings.ToLower(parts[i]) + ".googleapis.com", true
}

func isAPIVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	_, err := strconv.Atoi(strings.TrimRightFunc(s[1:], func(r rune) bool { return r < '0' || r > '9' }))
	return err == nil
}

// workspaceProvider names a Workspace application from eventService (admin.googleapis.com).
func workspaceProvider(service string) string {
	s := strings.ToLower(service)
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return "GoogleWorkspace-" + s
}

// workspaceProviderOf reads the application from the log source: google_workspace.admin → admin.
func workspaceProviderOf(ls rule.LogSource, fallback string) string {
	for _, s := range append([]string{ls.Service}, ls.Native...) {
		l := strings.ToLower(s)
		if i := strings.Index(l, "google_workspace."); i >= 0 {
			app := l[i+len("google_workspace."):]
			if j := strings.IndexAny(app, "-*. "); j >= 0 {
				app = app[:j]
			}
			if app != "" {
				return "GoogleWorkspace-" + app
			}
		}
	}
	return fallback
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// tidy deduplicates events and sorts them by provider, then event (numerically for event IDs).
func tidy(evs []rule.Event) []rule.Event {
	seen := map[rule.Event]bool{}
	out := evs[:0]
	for _, e := range evs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		na, ea := strconv.Atoi(a.Event)
		nb, eb := strconv.Atoi(b.Event)
		if ea == nil && eb == nil {
			return na < nb
		}
		return a.Event < b.Event
	})
	if len(out) == 0 {
		return nil
	}
	return out
}
