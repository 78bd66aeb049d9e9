package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// windowsEvents returns n Windows events as evtx_dump exports them, one per line: process
// creations (Sysmon 1 and Security 4688), network connections, file and registry events,
// logons and PowerShell script blocks, with varied images, command lines and paths. The corpora
// hold no Windows logs; the mix follows what a workstation's Sysmon and Security logs hold.
func windowsEvents(n int) []byte {
	images := []string{`C:\Windows\System32\svchost.exe`, `C:\Windows\explorer.exe`, `C:\Program Files\Google\Chrome\Application\chrome.exe`,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\rundll32.exe`,
		`C:\Windows\System32\certutil.exe`, `C:\Users\alice\AppData\Local\Temp\setup.exe`}
	cmds := []string{`svchost.exe -k netsvcs -p`, `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer`,
		`powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\scripts\inventory.ps1`, `cmd.exe /c dir C:\Users`,
		`rundll32.exe C:\Windows\System32\shell32.dll,Control_RunDLL`, `certutil -urlcache -f http://example.org/a.txt a.txt`,
		`setup.exe /S /quiet`}
	var b bytes.Buffer
	for i := range n {
		img, cmd := images[i%len(images)], cmds[i%len(cmds)]
		var ev string
		switch i % 8 {
		case 0, 1:
			ev = sysmonEvent(1, map[string]any{"Image": img, "CommandLine": cmd, "ParentImage": images[(i/8)%len(images)],
				"ParentCommandLine": cmds[(i/8)%len(cmds)], "User": `CORP\alice`, "IntegrityLevel": "Medium",
				"Hashes": fmt.Sprintf("SHA256=%064x", i), "CurrentDirectory": `C:\Users\alice\`, "OriginalFileName": filepath.Base(img)})
		case 2:
			ev = securityEvent(4688, map[string]any{"NewProcessName": img, "CommandLine": cmd, "ParentProcessName": images[(i/8)%len(images)],
				"SubjectUserName": "alice", "SubjectDomainName": "CORP", "TokenElevationType": "%%1936"})
		case 3:
			ev = sysmonEvent(3, map[string]any{"Image": img, "Initiated": "true", "DestinationIp": fmt.Sprintf("10.0.%d.%d", i%200, i%250),
				"DestinationPort": 443 + i%3, "SourceIp": "10.1.1.5", "Protocol": "tcp", "User": `CORP\alice`})
		case 4:
			ev = sysmonEvent(11, map[string]any{"Image": img, "TargetFilename": fmt.Sprintf(`C:\Users\alice\AppData\Local\Temp\f%d.tmp`, i)})
		case 5:
			ev = sysmonEvent(13, map[string]any{"Image": img, "EventType": "SetValue",
				"TargetObject": fmt.Sprintf(`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\item%d`, i%50), "Details": img})
		case 6:
			ev = securityEvent(4624, map[string]any{"TargetUserName": "alice", "TargetDomainName": "CORP", "LogonType": 2 + i%9,
				"IpAddress": "10.1.1.9", "WorkstationName": "WS1", "AuthenticationPackageName": "Negotiate"})
		case 7:
			ev = scriptBlock(4104, fmt.Sprintf("Get-ChildItem -Path C:\\Users\\alice -Recurse | Where-Object { $_.Length -gt %d } | Select-Object FullName", i))
		}
		b.WriteString(ev)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// BenchmarkHuntWindows runs every Windows rule of the sigma corpus (rules, threat hunting
// and emerging threats) over Windows events on one worker.
func BenchmarkHuntWindows(b *testing.B) {
	dir := testcorpora.Dir(b)
	var roots []string
	for _, sub := range []string{"rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"} {
		if p := filepath.Join(dir, "sigma", filepath.FromSlash(sub)); dirExists(p) {
			roots = append(roots, p)
		}
	}
	progs, _, err := LoadRules(roots, Filter{Platform: []string{"windows"}})
	if err != nil {
		b.Fatal(err)
	}
	if len(progs) < 1000 {
		b.Skipf("only %d Windows rules loaded", len(progs))
	}
	benchWorker(b, NewSet(progs), windowsEvents(5000))
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
