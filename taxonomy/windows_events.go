package taxonomy

import "strings"

type eventKey struct {
	channel string // lower case
	id      int
}

type eventInfo struct{ provider, title string }

// windowsEventTitles are the titles of the Windows events rules commonly name, as the event
// documentation gives them (Microsoft Learn for Security auditing, the Sysmon documentation for
// Sysmon), keyed by channel and Event ID. The provider is the one writing the event.
var windowsEventTitles = buildEventTitles([]struct {
	channel, provider string
	events            map[int]string
}{
	{chanSysmon, provSysmon, map[int]string{
		1: "Process creation", 2: "A process changed a file creation time", 3: "Network connection",
		4: "Sysmon service state changed", 5: "Process terminated", 6: "Driver loaded", 7: "Image loaded",
		8: "CreateRemoteThread", 9: "RawAccessRead", 10: "ProcessAccess", 11: "FileCreate",
		12: "RegistryEvent (Object create and delete)", 13: "RegistryEvent (Value Set)",
		14: "RegistryEvent (Key and Value Rename)", 15: "FileCreateStreamHash", 16: "ServiceConfigurationChange",
		17: "PipeEvent (Pipe Created)", 18: "PipeEvent (Pipe Connected)",
		19: "WmiEvent (WmiEventFilter activity detected)", 20: "WmiEvent (WmiEventConsumer activity detected)",
		21: "WmiEvent (WmiEventConsumerToFilter activity detected)", 22: "DNSEvent (DNS query)",
		23: "FileDelete (File Delete archived)", 24: "ClipboardChange (New content in the clipboard)",
		25: "ProcessTampering (Process image change)", 26: "FileDeleteDetected (File Delete logged)",
		27: "FileBlockExecutable", 28: "FileBlockShredding", 29: "FileExecutableDetected", 255: "Error",
	}},
	{chanSecurity, provSecurity, map[int]string{
		4624: "An account was successfully logged on.",
		4625: "An account failed to log on.",
		4634: "An account was logged off.",
		4647: "User initiated logoff.",
		4648: "A logon was attempted using explicit credentials.",
		4656: "A handle to an object was requested.",
		4657: "A registry value was modified.",
		4658: "The handle to an object was closed.",
		4660: "An object was deleted.",
		4661: "A handle to an object was requested.",
		4662: "An operation was performed on an object.",
		4663: "An attempt was made to access an object.",
		4670: "Permissions on an object were changed.",
		4672: "Special privileges assigned to new logon.",
		4673: "A privileged service was called.",
		4674: "An operation was attempted on a privileged object.",
		4616: "The system time was changed.",
		4688: "A new process has been created.",
		4689: "A process has exited.",
		4692: "Backup of data protection master key was attempted.",
		4697: "A service was installed in the system.",
		4698: "A scheduled task was created.",
		4699: "A scheduled task was deleted.",
		4700: "A scheduled task was enabled.",
		4701: "A scheduled task was disabled.",
		4702: "A scheduled task was updated.",
		4703: "A token right was adjusted.",
		4704: "A user right was assigned.",
		4706: "A new trust was created to a domain.",
		4713: "Kerberos policy was changed.",
		4719: "System audit policy was changed.",
		4720: "A user account was created.",
		4722: "A user account was enabled.",
		4723: "An attempt was made to change an account's password.",
		4724: "An attempt was made to reset an account's password.",
		4725: "A user account was disabled.",
		4726: "A user account was deleted.",
		4730: "A security-enabled global group was deleted.",
		4728: "A member was added to a security-enabled global group.",
		4729: "A member was removed from a security-enabled global group.",
		4732: "A member was added to a security-enabled local group.",
		4733: "A member was removed from a security-enabled local group.",
		4738: "A user account was changed.",
		4740: "A user account was locked out.",
		4741: "A computer account was created.",
		4742: "A computer account was changed.",
		4743: "A computer account was deleted.",
		4756: "A member was added to a security-enabled universal group.",
		4757: "A member was removed from a security-enabled universal group.",
		4765: "SID History was added to an account.",
		4766: "An attempt to add SID History to an account failed.",
		4768: "A Kerberos authentication ticket (TGT) was requested.",
		4769: "A Kerberos service ticket was requested.",
		4770: "A Kerberos service ticket was renewed.",
		4771: "Kerberos pre-authentication failed.",
		4776: "The computer attempted to validate the credentials for an account.",
		4778: "A session was reconnected to a Window Station.",
		4779: "A session was disconnected from a Window Station.",
		4781: "The name of an account was changed.",
		4794: "An attempt was made to set the Directory Services Restore Mode administrator password.",
		4798: "A user's local group membership was enumerated.",
		4799: "A security-enabled local group membership was enumerated.",
		4825: "A user was denied the access to Remote Desktop.",
		4886: "Certificate Services received a certificate request.",
		4887: "Certificate Services approved a certificate request and issued a certificate.",
		4899: "A Certificate Services template was updated.",
		4900: "Certificate Services template security was updated.",
		4904: "An attempt was made to register a security event source.",
		4905: "An attempt was made to unregister a security event source.",
		4907: "Auditing settings on object were changed.",
		4946: "A change has been made to Windows Firewall exception list. A rule was added.",
		4947: "A change has been made to Windows Firewall exception list. A rule was modified.",
		4948: "A change has been made to Windows Firewall exception list. A rule was deleted.",
		5379: "Credential Manager credentials were read.",
		5038: "Code integrity determined that the image hash of a file is not valid.",
		5136: "A directory service object was modified.",
		5137: "A directory service object was created.",
		5140: "A network share object was accessed.",
		5142: "A network share object was added.",
		5145: "A network share object was checked to see whether client can be granted desired access.",
		5156: "The Windows Filtering Platform has permitted a connection.",
		5157: "The Windows Filtering Platform has blocked a connection.",
		6416: "A new external device was recognized by the system.",
	}},
	{chanSecurity, "Microsoft-Windows-Eventlog", map[int]string{
		1100: "The event logging service has shut down.",
		1102: "The audit log was cleared.",
	}},
	{"System", "Service Control Manager", map[int]string{
		7023: "A service terminated with an error.",
		7034: "A service terminated unexpectedly.",
		7036: "A service entered the running or stopped state.",
		7040: "The start type of a service was changed.",
		7045: "A service was installed in the system.",
	}},
	{"System", "Microsoft-Windows-Kernel-Power", map[int]string{
		41: "The system has rebooted without cleanly shutting down first.",
	}},
	{"Application", "Application Error", map[int]string{
		1000: "Faulting application.",
	}},
	{"Application", "MsiInstaller", map[int]string{
		1033: "Windows Installer installed the product.",
		1034: "Windows Installer removed the product.",
		1040: "Beginning a Windows Installer transaction.",
		1042: "Ending a Windows Installer transaction.",
	}},
	{"Application", "MSSQLSERVER", map[int]string{
		18456: "Login failed for user.",
		33205: "SQL Server audit event.",
	}},
	{"Microsoft-Windows-DNS Client Events/Operational", "Microsoft-Windows-DNS-Client", map[int]string{
		3008: "DNS query is completed.",
	}},
	{"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "Microsoft-Windows-Windows Firewall With Advanced Security", map[int]string{
		2004: "A rule has been added to the Windows Firewall exception list.",
		2005: "A rule has been modified in the Windows Firewall exception list.",
		2006: "A rule has been deleted in the Windows Firewall exception list.",
		2033: "All rules have been deleted from the Windows Firewall configuration on this computer.",
	}},
	{"System", "Microsoft-Windows-Eventlog", map[int]string{
		104: "The log file was cleared.",
	}},
	{"System", "Microsoft-Windows-Kernel-General", map[int]string{
		12: "The operating system started.",
		13: "The operating system is shutting down.",
	}},
	{"System", "Microsoft-Windows-TerminalServices-RemoteConnectionManager", map[int]string{
		1149: "User authentication succeeded.",
	}},
	{"System", "Microsoft-Windows-DistributedCOM", map[int]string{
		10016: "DCOM permission error.",
	}},
	{chanPSOperation, provPowerShell, map[int]string{
		4100: "Error Message",
		4103: "Executing Pipeline",
		4104: "Execute a Remote Command",
		4105: "Starting Command",
		4106: "Completing Command",
	}},
	{chanPSCore, provPSCore, map[int]string{
		4103: "Executing Pipeline",
		4104: "Execute a Remote Command",
	}},
	{chanPSClassic, provPSClassic, map[int]string{
		400: "Engine state is changed from None to Available.",
		403: "Engine state is changed from Available to Stopped.",
		600: "Provider started.",
		800: "Pipeline execution details.",
	}},
	{"Microsoft-Windows-TaskScheduler/Operational", "Microsoft-Windows-TaskScheduler", map[int]string{
		106: "Task registered", 140: "Task registration updated", 141: "Task registration deleted", 142: "Task disabled",
		129: "Created task process", 200: "Action started", 201: "Action completed",
	}},
	{"Microsoft-Windows-Windows Defender/Operational", "Microsoft-Windows-Windows Defender", map[int]string{
		1006: "The antimalware engine found malware or other potentially unwanted software.",
		1116: "The antimalware platform detected malware or other potentially unwanted software.",
		1117: "The antimalware platform performed an action to protect your system from malware.",
		1121: "An attack surface reduction rule fired in block mode.",
		1122: "An attack surface reduction rule fired in audit mode.",
		5001: "Real-time protection is disabled.",
		5007: "The antimalware platform configuration changed.",
		5010: "Scanning for malware and other potentially unwanted software is disabled.",
		5012: "Scanning for viruses is disabled.",
		5013: "Tamper protection blocked a change to Microsoft Defender Antivirus.",
	}},
	{"Microsoft-Windows-Bits-Client/Operational", "Microsoft-Windows-Bits-Client", map[int]string{
		3: "The BITS service created a new job.", 16403: "A BITS job added a file.",
		59: "BITS started a transfer job.", 60: "BITS stopped transferring a job.",
	}},
	{"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", "Microsoft-Windows-TerminalServices-LocalSessionManager", map[int]string{
		21: "Remote Desktop Services: Session logon succeeded.",
		22: "Remote Desktop Services: Shell start notification received.",
		24: "Remote Desktop Services: Session has been disconnected.",
		25: "Remote Desktop Services: Session reconnection succeeded.",
	}},
	{"Microsoft-Windows-CodeIntegrity/Operational", "Microsoft-Windows-CodeIntegrity", map[int]string{
		3033: "Code Integrity determined that a process attempted to load an image that did not meet the signing level requirements.",
		3077: "Code Integrity determined that a process attempted to load an image that did not meet the enterprise signing level requirements.",
	}},
	{"Microsoft-Windows-WMI-Activity/Operational", "Microsoft-Windows-WMI-Activity", map[int]string{
		5857: "WMI provider started.", 5858: "WMI operation error.", 5861: "WMI permanent event consumer registered.",
	}},
	{"Microsoft-Windows-NTLM/Operational", "Microsoft-Windows-NTLM", map[int]string{
		8001: "Outgoing NTLM authentication traffic.", 8002: "Incoming NTLM traffic.", 8004: "NTLM authentication to a domain controller.",
	}},
})

func buildEventTitles(groups []struct {
	channel, provider string
	events            map[int]string
}) map[eventKey]eventInfo {
	out := map[eventKey]eventInfo{}
	for _, g := range groups {
		for id, title := range g.events {
			k := eventKey{strings.ToLower(g.channel), id}
			if _, dup := out[k]; dup {
				panic("taxonomy: event " + g.channel + " " + title + " listed twice")
			}
			out[k] = eventInfo{g.provider, title}
		}
	}
	return out
}
