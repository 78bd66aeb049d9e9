package engine

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// winEvent builds a Windows event as evtx_dump exports it to JSON.
func winEvent(provider, channel string, id any, data map[string]any) string {
	sys := map[string]any{
		"Provider": map[string]any{"#attributes": map[string]any{"Name": provider}},
		"EventID":  id, "Channel": channel, "Computer": "ws1.example.org",
		"TimeCreated": map[string]any{"#attributes": map[string]any{"SystemTime": "2024-05-01T10:00:00.000000Z"}},
	}
	ev := map[string]any{"System": sys}
	if ud, ok := data["UserData"]; ok {
		ev["UserData"] = ud
	} else {
		ev["EventData"] = data
	}
	b, _ := json.Marshal(map[string]any{"Event": ev})
	return string(b)
}

func sysmonEvent(id int, data map[string]any) string {
	return winEvent("Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational", id, data)
}

func securityEvent(id any, data map[string]any) string {
	return winEvent("Microsoft-Windows-Security-Auditing", "Security", id, data)
}

func scriptBlock(id int, text string) string {
	return winEvent("Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational", id, map[string]any{"ScriptBlockText": text, "MessageNumber": 1})
}

// TestWindowsRules loads a dozen Sigma corpus rules on Windows logs together and checks each
// fires on a hand-written event of its kind and not on a near miss: the log source selects the
// events (process_creation: Sysmon 1 or Security 4688, with Image read as NewProcessName there),
// fields resolve in System, EventData and UserData.
func TestWindowsRules(t *testing.T) {
	dir := testcorpora.Path(t, "sigma", "rules", "windows")
	cases := []struct {
		rule       string
		title      string
		hits, miss []string
	}{
		{"process_creation/proc_creation_win_certutil_decode.yml", "File Decoded From Base64/Hex Via Certutil.EXE",
			[]string{
				sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "CommandLine": `certutil /decode a.b64 a.exe`}),
				securityEvent(4688, map[string]any{"NewProcessName": `C:\Windows\System32\certutil.exe`, "CommandLine": `certutil -decode a.b64 a.exe`}),
			},
			[]string{
				sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "CommandLine": `certutil -encode a.exe a.b64`}),
				securityEvent(4689, map[string]any{"NewProcessName": `C:\Windows\System32\certutil.exe`, "CommandLine": `certutil -decode a.b64 a.exe`}),
			}},
		{"process_creation/proc_creation_win_powershell_encode.yml", "Suspicious Execution of Powershell with Base64",
			[]string{sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "CommandLine": `powershell.exe -enc SQBFAFgA`, "ParentImage": `C:\Windows\explorer.exe`})},
			[]string{sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "CommandLine": `powershell.exe -Encoding UTF8 -enc SQBFAFgA`, "ParentImage": `C:\Windows\explorer.exe`})}},
		{"process_creation/proc_creation_win_whoami_all_execution.yml", "Enumerate All Information With Whoami.EXE",
			[]string{sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\whoami.exe`, "CommandLine": `whoami /all`})},
			[]string{sysmonEvent(1, map[string]any{"Image": `C:\Windows\System32\whoami.exe`, "CommandLine": `whoami /groups`})}},
		{"registry/registry_set/registry_set_disable_defender_firewall.yml", "Disable Microsoft Defender Firewall via Registry",
			[]string{sysmonEvent(13, map[string]any{"TargetObject": `HKLM\System\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\StandardProfile\EnableFirewall`, "Details": "DWORD (0x00000000)"})},
			[]string{sysmonEvent(13, map[string]any{"TargetObject": `HKLM\System\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\StandardProfile\EnableFirewall`, "Details": "DWORD (0x00000001)"})}},
		{"registry/registry_set/registry_set_bypass_uac_using_eventviewer.yml", "Bypass UAC Using Event Viewer",
			[]string{sysmonEvent(13, map[string]any{"TargetObject": `HKU\S-1-5-21-1-2-3-1001_Classes\mscfile\shell\open\command\(Default)`, "Details": `C:\Users\x\evil.exe`})},
			[]string{sysmonEvent(13, map[string]any{"TargetObject": `HKU\S-1-5-21-1-2-3-1001_Classes\mscfile\shell\open\command\(Default)`, "Details": `%SystemRoot%\system32\mmc.exe "%1" %*`})}},
		{"powershell/powershell_script/posh_ps_amsi_null_bits_bypass.yml", "Potential AMSI Bypass Script Using NULL Bits",
			[]string{scriptBlock(4104, "$a = 'x'; #<NULL> ; iex $a")},
			[]string{scriptBlock(4103, "$a = 'x'; #<NULL> ; iex $a")}},
		{"powershell/powershell_script/posh_ps_create_volume_shadow_copy.yml", "Create Volume Shadow Copy with Powershell",
			[]string{scriptBlock(4104, `(Get-WmiObject -list win32_shadowcopy).Create('C:\','ClientAccessible')`)},
			[]string{scriptBlock(4104, `(Get-WmiObject -list win32_shadowcopy).Create('C:\')`)}},
		{"builtin/security/win_security_audit_log_cleared.yml", "Security Eventlog Cleared",
			[]string{winEvent("Microsoft-Windows-Eventlog", "Security", 1102, map[string]any{"UserData": map[string]any{"LogFileCleared": map[string]any{"SubjectUserName": "admin"}}})},
			[]string{winEvent("Microsoft-Windows-Other", "Security", 1102, map[string]any{"UserData": map[string]any{"LogFileCleared": map[string]any{"SubjectUserName": "admin"}}})}},
		{"builtin/security/win_security_user_creation.yml", "Local User Creation",
			[]string{
				securityEvent(4720, map[string]any{"TargetUserName": "bob"}),
				securityEvent(map[string]any{"#attributes": map[string]any{"Qualifiers": ""}, "#text": 4720}, map[string]any{"TargetUserName": "bob"}),
			},
			[]string{securityEvent(4722, map[string]any{"TargetUserName": "bob"}), sysmonEvent(4720, map[string]any{"TargetUserName": "bob"})}},
		{"builtin/security/win_security_hidden_user_creation.yml", "Hidden Local User Creation",
			[]string{securityEvent(4720, map[string]any{"TargetUserName": "evil$"})},
			[]string{securityEvent(4720, map[string]any{"TargetUserName": "HomeGroupUser$"})}},
		{"process_access/proc_access_win_lsass_dump_comsvcs_dll.yml", "Lsass Memory Dump via Comsvcs DLL",
			[]string{sysmonEvent(10, map[string]any{"TargetImage": `C:\Windows\system32\lsass.exe`, "SourceImage": `C:\Windows\System32\rundll32.exe`, "CallTrace": `C:\Windows\SYSTEM32\ntdll.dll+9d234|C:\Windows\System32\comsvcs.dll+2b9a4`})},
			[]string{sysmonEvent(1, map[string]any{"TargetImage": `C:\Windows\system32\lsass.exe`, "SourceImage": `C:\Windows\System32\rundll32.exe`, "CallTrace": `C:\Windows\System32\comsvcs.dll+2b9a4`})}},
		{"network_connection/net_connection_win_certutil_initiated_connection.yml", "Uncommon Network Connection Initiated By Certutil.EXE",
			[]string{sysmonEvent(3, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "Initiated": "true", "DestinationPort": 443})},
			[]string{
				sysmonEvent(3, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "Initiated": "true", "DestinationPort": 8443}),
				sysmonEvent(3, map[string]any{"Image": `C:\Windows\System32\certutil.exe`, "Initiated": "false", "DestinationPort": 443}),
			}},
		{"builtin/system/service_control_manager/win_system_hack_smbexec.yml", "smbexec.py Service Installation",
			[]string{winEvent("Service Control Manager", "System", 7045, map[string]any{"ServiceName": "BTOBTO", "ImagePath": `%COMSPEC% /Q /c echo cd`})},
			[]string{
				winEvent("Service Control Manager", "System", 7036, map[string]any{"ServiceName": "BTOBTO", "ImagePath": `%COMSPEC% /Q /c echo cd`}),
				winEvent("Service Control Manager", "System", 7045, map[string]any{"ServiceName": "Updater", "ImagePath": `C:\Program Files\u.exe`}),
			}},
		{"file/file_event/file_event_win_anydesk_writing_susp_binaries.yml", "Suspicious Binary Writes Via AnyDesk",
			[]string{sysmonEvent(11, map[string]any{"Image": `C:\Program Files (x86)\AnyDesk\AnyDesk.exe`, "TargetFilename": `C:\Users\x\Downloads\payload.exe`})},
			[]string{sysmonEvent(11, map[string]any{"Image": `C:\Program Files (x86)\AnyDesk\AnyDesk.exe`, "TargetFilename": `C:\Program Files (x86)\AnyDesk\gcapi.dll`})}},
	}
	var paths []string
	for _, c := range cases {
		paths = append(paths, filepath.Join(dir, filepath.FromSlash(c.rule)))
	}
	progs, skipped, err := LoadRules(paths, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) > 0 || len(progs) != len(cases) {
		t.Fatalf("loaded %d of %d rules; skipped %v", len(progs), len(cases), skipped)
	}
	set := NewSet(progs)
	titles := func(ev string) []string {
		var e Event
		e.reset([]byte(ev), set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		var out []string
		for _, i := range set.Match(&e, nil) {
			out = append(out, set.Programs[i].Rule.Title)
		}
		return out
	}
	for _, c := range cases {
		for i, ev := range c.hits {
			if got := titles(ev); !slices.Contains(got, c.title) {
				t.Errorf("%s: hit %d did not fire (matched %v)\n%s", c.title, i, got, ev)
			}
		}
		for i, ev := range c.miss {
			if got := titles(ev); slices.Contains(got, c.title) {
				t.Errorf("%s: near miss %d fired\n%s", c.title, i, ev)
			}
		}
	}
}

// EventData as evtx_dump writes it when it keeps the XML's attributes: Data elements named by
// their Name attribute, in either key order, alone or in an array, with or without text.
func TestWindowsNamedData(t *testing.T) {
	r := parseSigma(t, `title: certutil
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\certutil.exe'
    filter:
        CommandLine|contains: '-encode'
    condition: selection and not filter
`)
	event := func(data string) string {
		return `{"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1},"EventData":{"Data":` + data + `}}}`
	}
	cases := []struct {
		data         string
		matched      bool
		image, cmdln []string
	}{
		{`[{"#attributes":{"Name":"Image"},"#text":"C:\\Windows\\certutil.exe"},{"#attributes":{"Name":"CommandLine"},"#text":"certutil /decode a b"}]`,
			true, []string{`C:\Windows\certutil.exe`}, []string{"certutil /decode a b"}},
		// Text before attributes, an escaped key and name, an element no rule reads.
		{`[{"#text":"x","#attributes":{"Name":"Other"}},{"#text":"C:\\certutil.exe","#attributes":{"Type":"s","Na\u006de":"Im\u0061ge"}},{"#attributes":{"Name":"CommandLine"},"#text":"certutil -encode a b"}]`,
			false, []string{`C:\certutil.exe`}, []string{"certutil -encode a b"}},
		// An element without text is an empty value, not an absent one.
		{`[{"#attributes":{"Name":"Image"},"#text":"C:\\certutil.exe"},{"#attributes":{"Name":"CommandLine"}}]`,
			true, []string{`C:\certutil.exe`}, []string{""}},
		// One Data element: an object rather than an array.
		{`{"#attributes":{"Name":"Image"},"#text":"C:\\certutil.exe"}`, true, []string{`C:\certutil.exe`}, []string{}},
		{`[{"#attributes":{"Name":"Image"},"#text":"C:\\other.exe"}]`, false, []string{`C:\other.exe`}, []string{}},
	}
	for i, c := range cases {
		traces, errs, err := Explain(r, []byte(event(c.data)), ExplainOptions{})
		if err != nil || len(errs) > 0 || len(traces) != 1 {
			t.Fatalf("case %d: %v %v %d traces", i, err, errs, len(traces))
		}
		tr := traces[0]
		image, cmdln := tr.Stages[0].Predicates[0].Found, tr.Stages[1].Predicates[0].Found
		if tr.Matched != c.matched || !slices.Equal(image, c.image) || !slices.Equal(cmdln, c.cmdln) {
			t.Errorf("case %d: matched %v, Image %q, CommandLine %q; want %v, %q, %q", i, tr.Matched, image, cmdln, c.matched, c.image, c.cmdln)
		}
	}
	// The same through a hunt's set, where both scanning passes apply.
	p, err := Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet([]*Program{p})
	var e Event
	e.reset([]byte(event(cases[0].data)), set.nslots)
	if err := set.scan(&e); err != nil {
		t.Fatal(err)
	}
	if got := set.Match(&e, nil); len(got) != 1 {
		t.Errorf("set: matched %v", got)
	}
}
