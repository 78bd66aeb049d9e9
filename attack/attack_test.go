package attack

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// tiny is a hand-written bundle with the shapes Load relies on: matrix order differing from
// object order, a sub-technique, a revoked and a deprecated technique.
const tiny = `{"type":"bundle","id":"bundle--1","spec_version":"2.0","objects":[
{"type":"x-mitre-tactic","id":"x-mitre-tactic--pe","name":"Privilege Escalation","x_mitre_shortname":"privilege-escalation","external_references":[{"source_name":"mitre-attack","external_id":"TA0004"}]},
{"type":"x-mitre-tactic","id":"x-mitre-tactic--p","name":"Persistence","x_mitre_shortname":"persistence","external_references":[{"source_name":"mitre-attack","external_id":"TA0003"}]},
{"type":"x-mitre-tactic","id":"x-mitre-tactic--de","name":"Defense Evasion","x_mitre_shortname":"defense-evasion","external_references":[{"source_name":"mitre-attack","external_id":"TA0005"}]},
{"type":"x-mitre-matrix","id":"x-mitre-matrix--1","name":"Enterprise ATT&CK","tactic_refs":["x-mitre-tactic--p","x-mitre-tactic--pe","x-mitre-tactic--de"]},
{"type":"attack-pattern","id":"attack-pattern--ca","name":"Create Account","description":"long text","external_references":[{"source_name":"mitre-attack","external_id":"T1136"},{"source_name":"x","description":"y"}],"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"persistence"}]},
{"type":"attack-pattern","id":"attack-pattern--cloud","name":"Cloud Account","x_mitre_is_subtechnique":true,"external_references":[{"source_name":"mitre-attack","external_id":"T1136.003"}],"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"persistence"}]},
{"type":"attack-pattern","id":"attack-pattern--am","name":"Account Manipulation","external_references":[{"source_name":"mitre-attack","external_id":"T1098"}],"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"privilege-escalation"},{"kill_chain_name":"mitre-attack","phase_name":"persistence"}]},
{"type":"attack-pattern","id":"attack-pattern--old","name":"Old Trick","revoked":true,"external_references":[{"source_name":"mitre-attack","external_id":"T1000"}]},
{"type":"attack-pattern","id":"attack-pattern--dep","name":"Scripting","x_mitre_deprecated":true,"external_references":[{"source_name":"mitre-attack","external_id":"T1064"}],"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"defense-evasion"}]},
{"type":"relationship","id":"relationship--1","relationship_type":"revoked-by","source_ref":"attack-pattern--old","target_ref":"attack-pattern--am"},
{"type":"relationship","id":"relationship--2","relationship_type":"uses","source_ref":"intrusion-set--x","target_ref":"attack-pattern--am"}
]}`

func loadTiny(t *testing.T) *Matrix {
	t.Helper()
	m, err := Load(strings.NewReader(tiny))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadTiny(t *testing.T) {
	m := loadTiny(t)
	var order []string
	for _, tac := range m.Tactics() {
		order = append(order, tac.ID)
	}
	if want := []string{"TA0003", "TA0004", "TA0005"}; !reflect.DeepEqual(order, want) {
		t.Errorf("tactic order %v, want %v (the matrix's tactic_refs)", order, want)
	}
	var persistence []string
	for _, tech := range m.Tactic("persistence").Techniques {
		persistence = append(persistence, tech.ID)
	}
	if want := []string{"T1098", "T1136", "T1136.003"}; !reflect.DeepEqual(persistence, want) {
		t.Errorf("persistence techniques %v, want %v", persistence, want)
	}
	if n := len(m.Tactic("TA0005").Techniques); n != 0 {
		t.Errorf("defense evasion lists %d techniques, want 0 (its only one is deprecated)", n)
	}
	sub := m.Technique("t1136.003")
	want := &Technique{ID: "T1136.003", Name: "Cloud Account", FullName: "Create Account: Cloud Account",
		ParentID: "T1136", Tactics: []string{"TA0003"}, URL: "https://attack.mitre.org/techniques/T1136/003/"}
	if !reflect.DeepEqual(sub, want) {
		t.Errorf("T1136.003 = %+v\nwant %+v", sub, want)
	}
	if am := m.Technique("T1098"); !reflect.DeepEqual(am.Tactics, []string{"TA0003", "TA0004"}) {
		t.Errorf("T1098 tactics %v, want matrix order [TA0003 TA0004]", am.Tactics)
	}
	if old := m.Technique("T1000"); !old.Revoked || old.ReplacedBy != "T1098" {
		t.Errorf("T1000 = %+v, want revoked and replaced by T1098", old)
	}
}

func TestTechniques(t *testing.T) {
	var ids []string
	for _, tech := range loadTiny(t).Techniques() {
		ids = append(ids, tech.ID)
	}
	if want := []string{"T1000", "T1064", "T1098", "T1136", "T1136.003"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Techniques %v, want %v", ids, want)
	}
}

// mitre/cti publishes the bundle pretty-printed; Load reads it the same.
func TestLoadIndented(t *testing.T) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(tiny), "", "    "); err != nil {
		t.Fatal(err)
	}
	m, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, loadTiny(t)) {
		t.Errorf("indented bundle loads differently")
	}
}

func TestTacticSpellings(t *testing.T) {
	m := loadTiny(t)
	for _, s := range []string{"TA0004", "ta0004", "privilege-escalation", "privilege_escalation", "PrivilegeEscalation", "Privilege Escalation"} {
		if tac := m.Tactic(s); tac == nil || tac.ID != "TA0004" {
			t.Errorf("Tactic(%q) = %v, want TA0004", s, tac)
		}
	}
	for _, s := range []string{"", "privilege", "TA9999"} {
		if tac := m.Tactic(s); tac != nil {
			t.Errorf("Tactic(%q) = %v, want nil", s, tac)
		}
	}
}

func TestResolveTiny(t *testing.T) {
	m := loadTiny(t)
	tests := []struct {
		name string
		tags []string
		want []Row
	}{
		{"named tactic narrows", []string{"attack.persistence", "attack.t1098"},
			[]Row{{"TA0003", "Persistence", "T1098", "Account Manipulation", ""}}},
		{"no tactic named: all of the technique's", []string{"attack.t1098"},
			[]Row{{"TA0003", "Persistence", "T1098", "Account Manipulation", ""},
				{"TA0004", "Privilege Escalation", "T1098", "Account Manipulation", ""}}},
		{"tactic without technique", []string{"attack.defense_evasion", "attack.t1136.003"},
			[]Row{{"TA0003", "Persistence", "T1136.003", "Create Account: Cloud Account", ""},
				{"TA0005", "Defense Evasion", "", "", ""}}},
		{"revoked follows revoked-by", []string{"attack.t1000"},
			[]Row{{"TA0003", "Persistence", "T1098", "Account Manipulation", "T1000 was revoked; replaced by T1098"},
				{"TA0004", "Privilege Escalation", "T1098", "Account Manipulation", "T1000 was revoked; replaced by T1098"}}},
		{"deprecated kept", []string{"attack.t1064"},
			[]Row{{"TA0005", "Defense Evasion", "T1064", "Scripting", "deprecated in ATT&CK"}}},
		{"groups, software, campaigns and others ignored", []string{"attack.g0016", "attack.s0002", "attack.c0001", "cve.2021-44228", "car.2016-04-005", "persistence"}, nil},
		{"duplicates and order", []string{"attack.t1136.003", "attack.t1136", "ATTACK.T1136.003", "attack.privilege-escalation", "attack.persistence", "attack.t1098"},
			[]Row{{"TA0003", "Persistence", "T1098", "Account Manipulation", ""},
				{"TA0003", "Persistence", "T1136", "Create Account", ""},
				{"TA0003", "Persistence", "T1136.003", "Create Account: Cloud Account", ""},
				{"TA0004", "Privilege Escalation", "T1098", "Account Manipulation", ""}}},
		{"bare IDs as Sentinel writes them", []string{"TA0004", "T1098"},
			[]Row{{"TA0004", "Privilege Escalation", "T1098", "Account Manipulation", ""}}},
		{"unknown technique kept with a note", []string{"attack.t9999"},
			[]Row{{"", "", "T9999", "", "T9999 is not in ATT&CK"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Resolve(tt.tags); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve(%q)\n got %+v\nwant %+v", tt.tags, got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, src := range []string{
		``,
		`[]`,
		`{"type":"bundle"}`,
		`{"objects":[{"type":"attack-pattern"}]}`, // no matrix
		`{"objects":[{"type":"x-mitre-matrix","tactic_refs":["x-mitre-tactic--missing"]}]}`,
		`{"objects":[{"type":"attack-pattern","name":1}]}`, // a kept object that does not decode
		`{"objects":[{"a":"b"]}`,
		`{"objects":[{"a":"b}]}`,
		`{"objects":[{"a":1} {"b":2}]}`,
		`{"objects":[]} trailing`,
		`{"objects":[{"a":1},]}`,
		`{"objects" [1]}`,
	} {
		if _, err := Load(strings.NewReader(src)); err == nil {
			t.Errorf("Load(%q): no error", src)
		}
	}
}

var (
	enterpriseOnce sync.Once
	enterprise     *Matrix
	enterpriseErr  error
)

func loadEnterprise(t testing.TB) *Matrix {
	path := testcorpora.Path(t, "attack", "enterprise-attack.json")
	enterpriseOnce.Do(func() { enterprise, enterpriseErr = LoadFile(path) })
	if enterpriseErr != nil {
		t.Fatal(enterpriseErr)
	}
	return enterprise
}

func TestEnterprise(t *testing.T) {
	m := loadEnterprise(t)
	var names []string
	for _, tac := range m.Tactics() {
		names = append(names, tac.ShortName)
	}
	want := []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
		"privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
		"collection", "command-and-control", "exfiltration", "impact"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("tactics %v\nwant %v", names, want)
	}
	for _, tac := range m.Tactics() {
		if len(tac.Techniques) == 0 {
			t.Errorf("%s has no techniques", tac.ID)
		}
		for _, tech := range tac.Techniques {
			if tech.Revoked || tech.Deprecated {
				t.Errorf("%s lists %s, which is revoked or deprecated", tac.ID, tech.ID)
			}
		}
	}
	if tech := m.Technique("T1086"); tech == nil || !tech.Revoked || tech.ReplacedBy != "T1059.001" {
		t.Errorf("T1086 = %+v, want revoked by T1059.001", tech)
	}
}

// The seed pages' ATT&CK tables.
func TestResolveSeeds(t *testing.T) {
	m := loadEnterprise(t)
	tests := []struct {
		tags []string
		want []Row
	}{
		{[]string{"attack.persistence", "attack.t1136.003"},
			[]Row{{"TA0003", "Persistence", "T1136.003", "Create Account: Cloud Account", ""}}},
		{[]string{"attack.persistence", "attack.t1098.001"},
			[]Row{{"TA0003", "Persistence", "T1098.001", "Account Manipulation: Additional Cloud Credentials", ""}}},
		{[]string{"attack.t1098.001"},
			[]Row{{"TA0003", "Persistence", "T1098.001", "Account Manipulation: Additional Cloud Credentials", ""},
				{"TA0004", "Privilege Escalation", "T1098.001", "Account Manipulation: Additional Cloud Credentials", ""}}},
		{[]string{"attack.execution", "attack.t1086"},
			[]Row{{"TA0002", "Execution", "T1059.001", "Command and Scripting Interpreter: PowerShell", "T1086 was revoked; replaced by T1059.001"}}},
		{[]string{"attack.defense-evasion", "attack.t1064"},
			[]Row{{"TA0005", "Defense Evasion", "T1064", "Scripting", "deprecated in ATT&CK"}}},
	}
	for _, tt := range tests {
		if got := m.Resolve(tt.tags); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Resolve(%q)\n got %+v\nwant %+v", tt.tags, got, tt.want)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile(testcorpora.Path(b, "attack", "enterprise-attack.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzLoad looks for inputs that make Load panic or accept a bundle without a matrix.
func FuzzLoad(f *testing.F) {
	f.Add(tiny)
	for _, s := range []string{``, `{}`, `{"objects":[]}`, `{"objects":[{"a":"b\"]}"}]}`, `{"x":[{"objects":1}],"objects":[1,"2",null]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		m, err := Load(strings.NewReader(src))
		if err == nil && len(m.Tactics()) == 0 {
			t.Errorf("Load(%q) accepted a bundle without tactics", src)
		}
		if err == nil {
			m.Resolve([]string{"attack.persistence", "attack.t1098", "T1000"})
		}
	})
}
