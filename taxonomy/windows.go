package taxonomy

import (
	"slices"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// WindowsSource is one Windows event stream a log source selects: events of Provider in
// Channel with one of EventIDs (any when empty). Fields maps a Sigma field name to the name
// events of this source carry, where they differ.
type WindowsSource struct {
	Provider string
	Channel  string
	EventIDs []int
	Fields   map[string]string
}

const (
	chanSysmon      = "Microsoft-Windows-Sysmon/Operational"
	provSysmon      = "Microsoft-Windows-Sysmon"
	provSecurity    = "Microsoft-Windows-Security-Auditing"
	provPowerShell  = "Microsoft-Windows-PowerShell"
	chanPSClassic   = "Windows PowerShell"
	provPSClassic   = "PowerShell"
	chanPSOperation = "Microsoft-Windows-PowerShell/Operational"
	chanPSCore      = "PowerShellCore/Operational"
	provPSCore      = "PowerShellCore"
	provKernelFile  = "Microsoft-Windows-Kernel-File"
	chanSecurity    = "Security"
)

// security4688Fields: Security 4688 carries the new process as NewProcessName and its parent
// as ParentProcessName; the creator's ProcessId is the parent's. Fields whose values differ in
// form (User, IntegrityLevel as a SID label) are not mapped: renaming them would not match.
var security4688Fields = map[string]string{
	"Image":           "NewProcessName",
	"ParentImage":     "ParentProcessName",
	"ProcessId":       "NewProcessId",
	"ParentProcessId": "ProcessId",
}

func sysmon(ids ...int) WindowsSource {
	return WindowsSource{Provider: provSysmon, Channel: chanSysmon, EventIDs: ids}
}

// windowsCategories are the Sigma taxonomy appendix's Windows categories (Windows folder).
var windowsCategories = map[string][]WindowsSource{
	"process_creation": {sysmon(1),
		{Provider: provSecurity, Channel: chanSecurity, EventIDs: []int{4688}, Fields: security4688Fields}},
	"file_change":          {sysmon(2)},
	"network_connection":   {sysmon(3)},
	"sysmon_status":        {sysmon(4, 16)},
	"process_termination":  {sysmon(5)},
	"driver_load":          {sysmon(6)},
	"image_load":           {sysmon(7)},
	"create_remote_thread": {sysmon(8)},
	"raw_access_thread":    {sysmon(9)},
	"process_access":       {sysmon(10)},
	"file_event":           {sysmon(11)},
	"registry_event":       {sysmon(12, 13, 14)},
	"registry_add":         {sysmon(12)},
	"registry_delete":      {sysmon(12)},
	"registry_set":         {sysmon(13)},
	"registry_rename":      {sysmon(14)},
	"create_stream_hash":   {sysmon(15)},
	"pipe_created":         {sysmon(17, 18)},
	"wmi_event":            {sysmon(19, 20, 21)},
	"dns_query":            {sysmon(22)},
	// Sysmon logs a deletion as 23 when it archives the file and 26 when it only records it;
	// which one depends on the configuration, and file_delete rules mean both.
	"file_delete":              {sysmon(23, 26)},
	"clipboard_capture":        {sysmon(24)},
	"process_tampering":        {sysmon(25)},
	"file_delete_detected":     {sysmon(26)},
	"file_block_executable":    {sysmon(27)},
	"file_block_shredding":     {sysmon(28)},
	"file_executable_detected": {sysmon(29)},
	"sysmon_error":             {sysmon(255)},
	// ETW only: no channel and no event ID the taxonomy fixes.
	"file_access":               {{Provider: provKernelFile}},
	"file_rename":               {{Provider: provKernelFile}},
	"ps_classic_start":          {{Provider: provPSClassic, Channel: chanPSClassic, EventIDs: []int{400}}},
	"ps_classic_provider_start": {{Provider: provPSClassic, Channel: chanPSClassic, EventIDs: []int{600}}},
	"ps_classic_script":         {{Provider: provPSClassic, Channel: chanPSClassic, EventIDs: []int{800}}},
	"ps_module": {{Provider: provPowerShell, Channel: chanPSOperation, EventIDs: []int{4103}},
		{Provider: provPSCore, Channel: chanPSCore, EventIDs: []int{4103}}},
	"ps_script": {{Provider: provPowerShell, Channel: chanPSOperation, EventIDs: []int{4104}},
		{Provider: provPSCore, Channel: chanPSCore, EventIDs: []int{4104}}},
}

// windowsServices are the Sigma taxonomy appendix's Windows services, each the channels it
// reads. Provider is set where one provider writes the channel; System, Application and
// similar shared channels leave it empty.
var windowsServices = map[string][]WindowsSource{
	"application": {{Channel: "Application"}},
	"application-experience": {{Channel: "Microsoft-Windows-Application-Experience/Program-Telemetry"},
		{Channel: "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant"}},
	"applocker": {{Provider: "Microsoft-Windows-AppLocker", Channel: "Microsoft-Windows-AppLocker/MSI and Script"},
		{Provider: "Microsoft-Windows-AppLocker", Channel: "Microsoft-Windows-AppLocker/EXE and DLL"},
		{Provider: "Microsoft-Windows-AppLocker", Channel: "Microsoft-Windows-AppLocker/Packaged app-Deployment"},
		{Provider: "Microsoft-Windows-AppLocker", Channel: "Microsoft-Windows-AppLocker/Packaged app-Execution"}},
	"appmodel-runtime":      {{Provider: "Microsoft-Windows-AppModel-Runtime", Channel: "Microsoft-Windows-AppModel-Runtime/Admin"}},
	"appxdeployment-server": {{Provider: "Microsoft-Windows-AppXDeploymentServer", Channel: "Microsoft-Windows-AppXDeploymentServer/Operational"}},
	"appxpackaging-om":      {{Provider: "Microsoft-Windows-AppxPackagingOM", Channel: "Microsoft-Windows-AppxPackaging/Operational"}},
	"bitlocker":             {{Provider: "Microsoft-Windows-BitLocker-API", Channel: "Microsoft-Windows-BitLocker/BitLocker Management"}},
	"bits-client":           {{Provider: "Microsoft-Windows-Bits-Client", Channel: "Microsoft-Windows-Bits-Client/Operational"}},
	"capi2":                 {{Provider: "Microsoft-Windows-CAPI2", Channel: "Microsoft-Windows-CAPI2/Operational"}},
	"certificateservicesclient-lifecycle-system": {{Provider: "Microsoft-Windows-CertificateServicesClient-Lifecycle-System",
		Channel: "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"}},
	"codeintegrity-operational": {{Provider: "Microsoft-Windows-CodeIntegrity", Channel: "Microsoft-Windows-CodeIntegrity/Operational"}},
	"dhcp":                      {{Provider: "Microsoft-Windows-DHCP-Server", Channel: "Microsoft-Windows-DHCP-Server/Operational"}},
	"diagnosis-scripted":        {{Provider: "Microsoft-Windows-Diagnosis-Scripted", Channel: "Microsoft-Windows-Diagnosis-Scripted/Operational"}},
	"dns-client":                {{Provider: "Microsoft-Windows-DNS-Client", Channel: "Microsoft-Windows-DNS Client Events/Operational"}},
	"dns-server":                {{Provider: "Microsoft-Windows-DNS-Server-Service", Channel: "DNS Server"}},
	"dns-server-analytic":       {{Provider: "Microsoft-Windows-DNS-Server", Channel: "Microsoft-Windows-DNS-Server/Analytical"}},
	"dns-server-audit":          {{Provider: "Microsoft-Windows-DNS-Server", Channel: "Microsoft-Windows-DNS-Server/Audit"}},
	"driver-framework":          {{Provider: "Microsoft-Windows-DriverFrameworks-UserMode", Channel: "Microsoft-Windows-DriverFrameworks-UserMode/Operational"}},
	"firewall-as":               {{Provider: "Microsoft-Windows-Windows Firewall With Advanced Security", Channel: "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"}},
	"hyper-v-worker":            {{Provider: "Microsoft-Windows-Hyper-V-Worker", Channel: "Microsoft-Windows-Hyper-V-Worker"}},
	"iis-configuration":         {{Provider: "Microsoft-IIS-Configuration", Channel: "Microsoft-IIS-Configuration/Operational"}},
	"kernel-event-tracing":      {{Provider: "Microsoft-Windows-Kernel-EventTracing", Channel: "Microsoft-Windows-Kernel-EventTracing"}},
	"kernel-shimengine": {{Provider: "Microsoft-Windows-Kernel-ShimEngine", Channel: "Microsoft-Windows-Kernel-ShimEngine/Operational"},
		{Provider: "Microsoft-Windows-Kernel-ShimEngine", Channel: "Microsoft-Windows-Kernel-ShimEngine/Diagnostic"}},
	"ldap":                     {{Provider: "Microsoft-Windows-LDAP-Client", Channel: "Microsoft-Windows-LDAP-Client/Debug"}},
	"lsa-server":               {{Provider: "LsaSrv", Channel: "Microsoft-Windows-LSA/Operational"}},
	"msexchange-management":    {{Provider: "MSExchange CmdletLogs", Channel: "MSExchange Management"}},
	"ntfs":                     {{Provider: "Microsoft-Windows-Ntfs", Channel: "Microsoft-Windows-Ntfs/Operational"}},
	"ntlm":                     {{Provider: "Microsoft-Windows-NTLM", Channel: "Microsoft-Windows-NTLM/Operational"}},
	"openssh":                  {{Provider: "OpenSSH", Channel: "OpenSSH/Operational"}},
	"powershell":               {{Provider: provPowerShell, Channel: chanPSOperation}},
	"powershell-classic":       {{Provider: provPSClassic, Channel: chanPSClassic}},
	"printservice-admin":       {{Provider: "Microsoft-Windows-PrintService", Channel: "Microsoft-Windows-PrintService/Admin"}},
	"printservice-operational": {{Provider: "Microsoft-Windows-PrintService", Channel: "Microsoft-Windows-PrintService/Operational"}},
	// The Security channel is also written by Eventlog (1102) and others; Security-Auditing
	// writes nearly all of it and is the provider the catch-all event names.
	"security": {{Channel: chanSecurity}},
	"security-mitigations": {{Provider: "Microsoft-Windows-Security-Mitigations", Channel: "Microsoft-Windows-Security-Mitigations/Kernel Mode"},
		{Provider: "Microsoft-Windows-Security-Mitigations", Channel: "Microsoft-Windows-Security-Mitigations/User Mode"}},
	"sense": {{Provider: "Microsoft-Windows-SENSE", Channel: "Microsoft-Windows-SENSE/Operational"}},
	"servicebus-client": {{Provider: "Microsoft-ServiceBus-Client", Channel: "Microsoft-ServiceBus-Client/Operational"},
		{Provider: "Microsoft-ServiceBus-Client", Channel: "Microsoft-ServiceBus-Client/Admin"}},
	"shell-core":         {{Provider: "Microsoft-Windows-Shell-Core", Channel: "Microsoft-Windows-Shell-Core/Operational"}},
	"smbclient-security": {{Provider: "Microsoft-Windows-SMBClient", Channel: "Microsoft-Windows-SmbClient/Security"}},
	"sysmon":             {{Provider: provSysmon, Channel: chanSysmon}},
	"system":             {{Channel: "System"}},
	"taskscheduler":      {{Provider: "Microsoft-Windows-TaskScheduler", Channel: "Microsoft-Windows-TaskScheduler/Operational"}},
	"terminalservices-localsessionmanager": {{Provider: "Microsoft-Windows-TerminalServices-LocalSessionManager",
		Channel: "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"}},
	"vhdmp":     {{Provider: "Microsoft-Windows-VHDMP", Channel: "Microsoft-Windows-VHDMP/Operational"}},
	"windefend": {{Provider: "Microsoft-Windows-Windows Defender", Channel: "Microsoft-Windows-Windows Defender/Operational"}},
	"wmi":       {{Provider: "Microsoft-Windows-WMI-Activity", Channel: "Microsoft-Windows-WMI-Activity/Operational"}},
}

// WindowsSources returns the Windows event streams a Sigma log source selects: a category's
// Sysmon (and Security) events, or a service's channels. The result is a fresh copy the caller
// may keep.
func WindowsSources(ls rule.LogSource) []WindowsSource {
	if p := strings.ToLower(ls.Product); p != "windows" && p != "" {
		return nil
	}
	if c := windowsCategories[strings.ToLower(ls.Category)]; c != nil {
		return cloneSources(c)
	}
	return cloneSources(windowsServices[strings.ToLower(ls.Service)])
}

func cloneSources(src []WindowsSource) []WindowsSource {
	if src == nil {
		return nil
	}
	out := make([]WindowsSource, len(src))
	for i, s := range src {
		out[i] = WindowsSource{Provider: s.Provider, Channel: s.Channel, EventIDs: slices.Clone(s.EventIDs)}
		if s.Fields != nil {
			out[i].Fields = make(map[string]string, len(s.Fields))
			for k, v := range s.Fields {
				out[i].Fields[k] = v
			}
		}
	}
	return out
}

// windowsEvents derives a Windows rule's events: the streams of its log source, narrowed by
// its positive EventID predicates.
func windowsEvents(r *rule.Rule, f family) []rule.Event {
	ids := positiveInts(r, f, "EventID")
	sources := WindowsSources(r.LogSource)
	if len(sources) == 0 {
		sources = nativeWindowsSources(r, f)
	}
	if len(sources) == 0 {
		// No category or service: a rule on Channel and EventID (Sigma rpc_firewall, Kusto
		// WindowsEvent) still names events when the channel is known.
		for _, ch := range positiveValues(r, f, "Channel") {
			sources = append(sources, WindowsSource{Channel: windowsChannel(ch)})
		}
	}
	if len(sources) == 0 {
		return nil
	}
	// Narrow each stream to the rule's event IDs; if none of them belongs to any stream (an
	// EventID the category does not list), keep the streams whole rather than lose them.
	if len(ids) > 0 {
		var narrowed []WindowsSource
		for _, s := range sources {
			switch {
			case len(s.EventIDs) == 0:
				s.EventIDs = ids
				narrowed = append(narrowed, s)
			default:
				var keep []int
				for _, id := range s.EventIDs {
					if slices.Contains(ids, id) {
						keep = append(keep, id)
					}
				}
				if len(keep) > 0 {
					s.EventIDs = keep
					narrowed = append(narrowed, s)
				}
			}
		}
		if len(narrowed) > 0 {
			sources = narrowed
		}
	}
	var out []rule.Event
	for _, s := range sources {
		if len(s.EventIDs) == 0 {
			out = append(out, rule.Event{Provider: shortProvider(s.Provider, s.Channel), Event: rule.CatchAll})
			continue
		}
		for _, id := range s.EventIDs {
			prov, title := s.Provider, ""
			if e, ok := windowsEventTitles[eventKey{strings.ToLower(s.Channel), id}]; ok {
				title = e.title
				if prov == "" {
					prov = e.provider
				}
			}
			out = append(out, rule.Event{Provider: shortProvider(prov, s.Channel), Event: strconv.Itoa(id), Title: title})
		}
	}
	return out
}

// channelSpellings maps the lower-case names of the channels the log sources know to their
// spelling in the event log.
var channelSpellings = func() map[string]string {
	m := map[string]string{}
	for _, table := range []map[string][]WindowsSource{windowsCategories, windowsServices} {
		for _, sources := range table {
			for _, s := range sources {
				m[strings.ToLower(s.Channel)] = s.Channel
			}
		}
	}
	return m
}()

// windowsChannel writes a channel as the event log does when it is known: Sigma compares
// values case-insensitively (rules specification v2.1, "Detection", "General"), so Channel:
// security is the Security channel and must give its events, not events of a channel
// "security". An unknown channel is kept as written.
func windowsChannel(ch string) string {
	if s, ok := channelSpellings[strings.ToLower(ch)]; ok {
		return s
	}
	return ch
}

// shortProvider is the provider as pages show it: without the Microsoft-Windows- prefix, or
// the channel where a shared channel has no single provider.
func shortProvider(provider, channel string) string {
	if provider == "" {
		if channel == chanSecurity {
			return "Security-Auditing"
		}
		return channel
	}
	return strings.TrimPrefix(provider, "Microsoft-Windows-")
}

// positiveValues returns the exact values of the rule's positive eq predicates on a canonical field.
func positiveValues(r *rule.Rule, f family, field string) []string {
	var out []string
	for _, p := range r.PositivePredicates() {
		if p.Kind == rule.KindEq && strings.EqualFold(canonical(f, r.LogSource, p.Field), field) {
			out = append(out, exactValues(p)...)
		}
	}
	return out
}

func positiveInts(r *rule.Rule, f family, field string) []int {
	var out []int
	for _, v := range positiveValues(r, f, field) {
		if n, err := strconv.Atoi(v); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
