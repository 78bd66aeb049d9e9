package taxonomy

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// nativeWindowsLogs give the tables and indexes of other platforms the Sigma log source whose
// events they carry, by lower-case substring: Defender's Device* tables, Sentinel's
// SecurityEvent, Elastic's endpoint and Windows integration indexes.
var nativeWindowsLogs = []struct {
	sub               string
	category, service string
}{
	{"deviceprocessevents", "process_creation", ""},
	{"devicefileevents", "file_event", ""},
	{"deviceregistryevents", "registry_event", ""},
	{"devicenetworkevents", "network_connection", ""},
	{"deviceimageloadevents", "image_load", ""},
	{"securityevent", "", "security"},
	{"logs-endpoint.events.process", "process_creation", ""},
	{"logs-endpoint.events.file", "file_event", ""},
	{"logs-endpoint.events.registry", "registry_event", ""},
	{"logs-endpoint.events.network", "network_connection", ""},
	{"logs-endpoint.events.library", "image_load", ""},
	{"logs-system.security", "", "security"},
	{"logs-system.system", "", "system"},
	{"logs-windows.sysmon_operational", "", "sysmon"},
	{"logs-windows.powershell_operational", "", "powershell"},
}

// ecsCategories map ECS event.category values (EQL's "process where" is event.category ==
// "process") to the Sigma category of the same events.
var ecsCategories = map[string]string{
	"process":  "process_creation",
	"file":     "file_event",
	"registry": "registry_event",
	"network":  "network_connection",
	"library":  "image_load",
	"driver":   "driver_load",
}

// nativeWindowsSources finds the Windows streams of a rule whose log source is not Sigma's: from
// its tables or indexes when exactly one log matches, else from its ECS event.category.
func nativeWindowsSources(r *rule.Rule, f family) []WindowsSource {
	var logs []rule.LogSource
	for _, n := range r.LogSource.Native {
		l := strings.ToLower(n)
		for _, nw := range nativeWindowsLogs {
			if strings.Contains(l, nw.sub) {
				logs = append(logs, rule.LogSource{Product: "windows", Category: nw.category, Service: nw.service})
			}
		}
	}
	// An index list naming several logs (process and file) says nothing about which one a
	// rule means; the query's event.category does.
	if len(logs) != 1 {
		logs = nil
		for _, c := range positiveValues(r, f, "event.category") {
			if cat := ecsCategories[strings.ToLower(c)]; cat != "" {
				logs = append(logs, rule.LogSource{Product: "windows", Category: cat})
			}
		}
	}
	var out []WindowsSource
	for _, ls := range logs {
		out = append(out, WindowsSources(ls)...)
	}
	return out
}

// isWindowsHost reports whether a rule on an endpoint log says it is about Windows hosts.
func isWindowsHost(r *rule.Rule) bool {
	for _, p := range r.PositivePredicates() {
		switch strings.ToLower(p.Field) {
		case "host.os.type", "host.os.family", "host.os.platform", "os.type":
		default:
			continue
		}
		if p.Kind == rule.KindEq && containsFold(p.Values, "windows") {
			return true
		}
	}
	return false
}
