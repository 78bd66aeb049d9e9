package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// seedRule is the first seed page's rule, as the catalog would hand it over.
func seedRule() *rule.Rule {
	sel := rule.Stage{Index: 1, Name: "selection", Kind: rule.StageSelection,
		Text: "selection:\n    eventSource: iam.amazonaws.com\n    eventName: CreateUser\n    errorCode: AccessDenied",
		Pos:  rule.Pos{Line: 18, Col: 5}}
	for _, kv := range [][2]string{{"eventSource", "iam.amazonaws.com"}, {"eventName", "CreateUser"}, {"errorCode", "AccessDenied"}} {
		sel.Predicates = append(sel.Predicates, rule.Predicate{Field: kv[0], Canonical: kv[0], Kind: rule.KindEq, Values: []string{kv[1]}})
	}
	and := &rule.Expr{Op: rule.OpAnd}
	for i := range sel.Predicates {
		and.Args = append(and.Args, &rule.Expr{Op: rule.OpPredicate, Predicate: &sel.Predicates[i]})
	}
	sel.Expr = and
	return &rule.Rule{
		ID: "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d", Platform: rule.PlatformSigma, Language: rule.LangSigma,
		Class: rule.ClassDetection, Title: "IAM User Creation Attempt", Status: "test", Severity: "medium",
		Description: "Detects a failed attempt to create an IAM user (AccessDenied).",
		Author:      "nishikawaakira (@nishikawaakira)", Date: "2026-05-03", Modified: "2026-05-29",
		References: []string{"https://attack.mitre.org/techniques/T1136/003/"},
		Tags:       []string{"attack.persistence", "attack.t1136.003"},
		LogSource:  rule.LogSource{Product: "aws", Service: "cloudtrail"},
		Source: rule.Source{Corpus: "suzaku-rules", Repo: "github.com/Yamato-Security/suzaku-rules",
			Path: "suzaku/aws/cloudtrail/iam_user_creation_attempt.yml", URL: "https://github.com/Yamato-Security/suzaku-rules"},
		Body: "title: IAM User Creation Attempt\n",
		Stages: []rule.Stage{
			{Index: 0, Name: "condition", Kind: rule.StageCondition, Text: "selection", Expr: &rule.Expr{Op: rule.OpRef, Ref: "selection"}},
			sel,
		},
		Attack: []rule.Attack{{TacticID: "TA0003", Tactic: "Persistence", TechniqueID: "T1136.003", Technique: "Create Account: Cloud Account"}},
		Events: []rule.Event{{Provider: "AWS-iam", Event: "CreateUser"}},
		Indicators: []rule.Indicator{
			{Field: "errorCode", Canonical: "errorCode", Kind: rule.KindEq, Values: []rule.IndicatorValue{{Value: "AccessDenied", Corpus: 41}}},
		},
		SameAction: []rule.RuleRef{{ID: "x", Title: "IAM User Created", Platform: rule.PlatformSigma}},
	}
}

// genRule makes the i-th of a varied set of rules: platforms, severities, products, techniques
// and events cycle with different periods so that facets intersect unevenly.
func genRule(i int) *rule.Rule {
	platforms := []rule.Platform{rule.PlatformSigma, rule.PlatformElastic, rule.PlatformKusto, rule.PlatformSplunk}
	sev := []string{"low", "medium", "high", "critical", "informational"}
	products := []string{"windows", "aws", "azure", "linux", "gcp", "okta"}
	techs := []rule.Attack{
		{TacticID: "TA0002", Tactic: "Execution", TechniqueID: "T1059.001", Technique: "Command and Scripting Interpreter: PowerShell"},
		{TacticID: "TA0003", Tactic: "Persistence", TechniqueID: "T1136.003", Technique: "Create Account: Cloud Account"},
		{TacticID: "TA0005", Tactic: "Defense Evasion", TechniqueID: "T1562", Technique: "Impair Defenses"},
	}
	r := &rule.Rule{
		ID:          fmt.Sprintf("gen-%05d", i),
		Platform:    platforms[i%len(platforms)],
		Language:    rule.LangSigma,
		Class:       rule.ClassDetection,
		Title:       fmt.Sprintf("Generated rule %d watching process %d", i, i%97),
		Status:      []string{"stable", "test", "experimental"}[i%3],
		Severity:    sev[i%len(sev)],
		Description: strings.Repeat("A generated rule used to measure the catalog. ", 4),
		Author:      "ruleatlas tests",
		Tags:        []string{"attack.execution", fmt.Sprintf("tag%d", i%11)},
		LogSource:   rule.LogSource{Product: products[i%len(products)], Service: []string{"", "cloudtrail", "security"}[i%3]},
		Source:      rule.Source{Corpus: "gen", Path: fmt.Sprintf("gen/%05d.yml", i)},
		Body:        strings.Repeat("detection:\n  selection:\n    Image|endswith: '\\\\powershell.exe'\n", 8),
		Attack:      []rule.Attack{techs[i%len(techs)]},
		Events:      []rule.Event{{Provider: "Sysmon", Event: fmt.Sprint(1 + i%3), Title: "Process creation"}},
	}
	r.Stages = []rule.Stage{{Index: 1, Name: "selection", Kind: rule.StageSelection, Text: "Image|endswith: x",
		Predicates: []rule.Predicate{
			{Field: "Image", Canonical: "process.executable", Kind: rule.KindEndsWith, Values: []string{"\\powershell.exe", fmt.Sprintf("\\tool%d.exe", i)}},
			{Field: "CommandLine", Canonical: "process.command_line", Kind: rule.KindContains, Values: []string{"-enc", fmt.Sprintf("marker%d", i%13)}},
		}}}
	return r
}

func writeStore(t testing.TB, path string, rules []*rule.Rule, attack bool) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if err := w.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	if attack {
		for _, tac := range []Tactic{{"TA0002", "Execution", 3}, {"TA0003", "Persistence", 4}, {"TA0005", "Defense Evasion", 6}, {"TA0040", "Impact", 13}} {
			if err := w.AddTactic(tac); err != nil {
				t.Fatal(err)
			}
		}
		for _, tech := range []Technique{
			{ID: "T1059", Name: "Command and Scripting Interpreter", Tactics: []string{"TA0002"}},
			{ID: "T1059.001", Name: "PowerShell", Parent: "T1059", Tactics: []string{"TA0002"}},
			{ID: "T1136", Name: "Create Account", Tactics: []string{"TA0003"}},
			{ID: "T1136.003", Name: "Cloud Account", Tactics: []string{"TA0003"}},
			{ID: "T1562", Name: "Impair Defenses", Tactics: []string{"TA0005"}},
			{ID: "T1485", Name: "Data Destruction", Tactics: []string{"TA0040"}},
		} {
			if err := w.AddTechnique(tech); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.SetMeta(MetaBuilt, "2026-11-23T05:00:00Z"); err != nil {
		t.Fatal(err)
	}
	if err := w.SetMeta(MetaSources, `[{"name":"suzaku-rules","repo":"github.com/Yamato-Security/suzaku-rules","rules":1}]`); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func fixture(t testing.TB, n int, attack bool) *Store {
	t.Helper()
	rules := []*rule.Rule{seedRule()}
	for i := range n {
		rules = append(rules, genRule(i))
	}
	path := filepath.Join(t.TempDir(), "catalog.db")
	writeStore(t, path, rules, attack)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTrip(t *testing.T) {
	s := fixture(t, 10, true)
	want := seedRule()
	got, err := s.Rule(want.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The stored document is the model's JSON: compare through it, since pointers in the
	// expression tree are not shared after decoding.
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("round trip differs:\n got %s\nwant %s", gj, wj)
	}
	raw, err := s.RuleJSON(want.ID)
	if err != nil || string(raw) != string(wj) {
		t.Errorf("RuleJSON = %s, %v", raw, err)
	}
	if _, err := s.Rule("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
	ids, err := s.IDs()
	if err != nil || len(ids) != 11 || !slices.Contains(ids, want.ID) {
		t.Errorf("IDs = %v, %v", ids, err)
	}
	byPath, err := s.RuleByPath(want.Source.Path)
	if err != nil || byPath.ID != want.ID {
		t.Errorf("RuleByPath = %v, %v", byPath, err)
	}
	if v, err := s.Meta(MetaBuilt); err != nil || v != "2026-11-23T05:00:00Z" {
		t.Errorf("Meta(built) = %q, %v", v, err)
	}
	if _, err := s.Meta("absent"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Meta(absent) err = %v", err)
	}
}

func TestDuplicateID(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.AddRule(seedRule()); err != nil {
		t.Fatal(err)
	}
	if err := w.AddRule(seedRule()); !errors.Is(err, ErrDuplicate) {
		t.Errorf("second AddRule err = %v, want ErrDuplicate", err)
	}
}

// A build that fails or is abandoned must leave the previous catalog readable and unchanged.
func TestFailedBuildKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.db")
	writeStore(t, path, []*rule.Rule{seedRule()}, false)

	// Aborted.
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := w.AddRule(genRule(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	// Abandoned mid-way, as a killed process leaves it.
	w2, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.AddRule(genRule(1)); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Search(Query{NoFacets: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Rules[0].ID != seedRule().ID {
		t.Errorf("after failed builds: %d rules %+v, want only the seed rule", res.Total, res.Rules)
	}
	w2.Abort()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left beside the catalog: %v", names)
	}
}

func TestReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	writeStore(t, path, []*rule.Rule{seedRule()}, false)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Replaced() {
		t.Fatal("Replaced before any new build")
	}
	writeStore(t, path, []*rule.Rule{seedRule(), genRule(1)}, false)
	if !s.Replaced() {
		t.Fatal("Replaced = false after a new build was renamed into place")
	}
	// The old store still reads its own file.
	res, err := s.Search(Query{NoFacets: true})
	if err != nil || res.Total != 1 {
		t.Errorf("old store after replace: %v, %v", res, err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if res, err := s2.Search(Query{NoFacets: true}); err != nil || res.Total != 2 {
		t.Errorf("new store: %+v, %v", res, err)
	}
}

func TestOpenRejectsOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(path, []byte("not a database at all, just text that is long enough"), 0o644)
	if _, err := Open(path); err == nil {
		t.Error("Open of a text file succeeded")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}

func ids(rs []Summary) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func count(fc []FacetCount, value string) int {
	for _, c := range fc {
		if c.Value == value {
			return c.Count
		}
	}
	return 0
}

func TestSearch(t *testing.T) {
	s := fixture(t, 120, false)
	tests := []struct {
		name  string
		q     Query
		total int
		first string
	}{
		{"all", Query{}, 121, ""},
		{"api call", Query{Q: "CreateUser"}, 1, "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d"},
		{"value with dots", Query{Q: "iam.amazonaws.com"}, 1, "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d"},
		{"prefix", Query{Q: "createu*"}, 1, "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d"},
		{"no prefix without star", Query{Q: "createu"}, 0, ""},
		{"two terms must both match", Query{Q: "IAM powershell"}, 0, ""},
		{"phrase", Query{Q: `"user creation attempt"`}, 1, "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d"},
		{"id", Query{Q: "gen-00007"}, 1, "gen-00007"},
		{"technique id", Query{Q: "T1136.003"}, 41, ""},
		{"field", Query{Q: "CommandLine"}, 120, ""},
		{"platform", Query{Platform: []string{"kusto"}}, 30, ""},
		{"two platforms", Query{Platform: []string{"kusto", "splunk"}}, 60, ""},
		{"platform and severity", Query{Platform: []string{"sigma"}, Severity: []string{"medium"}}, 7, ""},
		{"technique parent matches sub", Query{Technique: []string{"T1136"}}, 41, ""},
		{"tactic", Query{Tactic: []string{"TA0002"}}, 40, ""},
		{"ids in lower case", Query{Technique: []string{"t1136"}, Tactic: []string{" ta0003"}}, 41, ""},
		{"text of punctuation only matches nothing", Query{Q: "-"}, 0, ""},
		{"a lone star matches nothing", Query{Q: "*"}, 0, ""},
		{"punctuation and a facet", Query{Q: `* - ( )`, Platform: []string{"kusto"}}, 0, ""},
		{"blank text is no text", Query{Q: " \t"}, 121, ""},
		{"text and facet", Query{Q: "marker3", Product: []string{"windows"}}, 1, "gen-00042"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Search(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != tt.total {
				t.Errorf("Total = %d, want %d (first ids %v)", res.Total, tt.total, ids(res.Rules[:min(3, len(res.Rules))]))
			}
			if tt.first != "" && (len(res.Rules) == 0 || res.Rules[0].ID != tt.first) {
				t.Errorf("first = %v, want %s", ids(res.Rules), tt.first)
			}
			if len(res.Rules) > DefaultPerPage {
				t.Errorf("%d rules on a page", len(res.Rules))
			}
		})
	}
}

func TestSearchFacetsUnderOtherFilters(t *testing.T) {
	s := fixture(t, 120, false)
	res, err := s.Search(Query{Platform: []string{"sigma"}, Severity: []string{"medium"}})
	if err != nil {
		t.Fatal(err)
	}
	// The platform facet ignores the platform filter but keeps severity: 24 medium rules,
	// 6 per platform, plus the seed (sigma, medium).
	if got := count(res.Facets[FacetPlatform], "elastic"); got != 6 {
		t.Errorf("platform elastic count = %d, want 6", got)
	}
	if got := count(res.Facets[FacetPlatform], "sigma"); got != 7 {
		t.Errorf("platform sigma count = %d, want 7", got)
	}
	// The severity facet keeps the platform filter: 31 sigma rules (30 + seed), of which 7 medium.
	if got := count(res.Facets[FacetSeverity], "medium"); got != 7 {
		t.Errorf("severity medium count = %d, want 7", got)
	}
	if got := count(res.Facets[FacetSeverity], "low"); got != 6 {
		t.Errorf("severity low count = %d, want 6", got)
	}
	var tech FacetCount
	for _, c := range res.Facets[FacetTechnique] {
		if c.Value == "T1136.003" {
			tech = c
		}
	}
	if tech.Label != "Create Account: Cloud Account" || tech.Count == 0 {
		t.Errorf("technique facet = %+v", tech)
	}
	for _, c := range res.Facets[FacetService] {
		if c.Value == "" {
			t.Error("empty service listed as a facet value")
		}
	}
}

func TestSearchPaging(t *testing.T) {
	s := fixture(t, 120, false)
	var all []string
	for page := 1; page <= 3; page++ {
		res, err := s.Search(Query{Page: page, PerPage: 50, NoFacets: true})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(res.Rules)...)
	}
	if len(all) != 121 {
		t.Fatalf("paged through %d rules, want 121", len(all))
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("%s on two pages", id)
		}
		seen[id] = true
	}
	if res, err := s.Search(Query{Page: 1 << 40, PerPage: 1 << 30}); err != nil || len(res.Rules) != 0 {
		t.Errorf("huge page: %v, %v", res, err)
	}
}

// Whatever a user types, search answers without an error.
func TestSearchHostileInput(t *testing.T) {
	s := fixture(t, 5, false)
	for _, q := range []string{`"`, `""`, `*`, `"*`, `AND`, `OR NOT`, `NEAR(a b)`, `title:IAM`, `{title}: x`, `-x`, `^IAM`,
		`a"b`, `'; DROP TABLE rules; --`, `\`, `(`, `)`, `+`, "\x00", "é*", `"unclosed phrase`, strings.Repeat("a ", 500), `日本語`} {
		if _, err := s.Search(Query{Q: q}); err != nil {
			t.Errorf("Search(%q): %v", q, err)
		}
	}
	res, err := s.Search(Query{Q: `title:IAM`})
	if err != nil || res.Total != 0 {
		// "title:IAM" is one term: the column syntax must not be interpreted.
		t.Errorf("column filter syntax was interpreted: %+v %v", res, err)
	}
}

func TestFTSQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"CreateUser":         `"CreateUser"`,
		"iam creat*":         `"iam" AND "creat"*`,
		`"user creation" x`:  `"user creation" AND "x"`,
		`"user creat"*`:      `"user creat"*`,
		`a"b`:                `"a""b"`,
		`* - ( )`:            "",
		`NEAR(a`:             `"NEAR(a"`,
		`"unclosed phrase`:   `"unclosed phrase"`,
		"title:IAM":          `"title:IAM"`,
		"  spaced \t out  ":  `"spaced" AND "out"`,
		"T1136.003 TA0003**": `"T1136.003" AND "TA0003"*`,
	} {
		if got := ftsQuery(in); got != want {
			t.Errorf("ftsQuery(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestStats(t *testing.T) {
	s := fixture(t, 120, false)
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Rules != 121 {
		t.Errorf("Rules = %d", st.Rules)
	}
	if count(st.Platforms, "sigma") != 31 || count(st.Platforms, "elastic") != 30 {
		t.Errorf("Platforms = %+v", st.Platforms)
	}
	if st.Techniques != 3 || st.Tactics != 3 {
		t.Errorf("Techniques = %d, Tactics = %d, want 3, 3", st.Techniques, st.Tactics)
	}
	if st.Events != 4 { // Sysmon 1..3 and AWS-iam CreateUser
		t.Errorf("Events = %d, want 4", st.Events)
	}
	if !st.Built.Equal(time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("Built = %v", st.Built)
	}
	if len(st.Sources) != 1 || st.Sources[0].Repo != "github.com/Yamato-Security/suzaku-rules" {
		t.Errorf("Sources = %+v", st.Sources)
	}
}

func TestCoverageAndMatrix(t *testing.T) {
	for _, attack := range []bool{true, false} {
		t.Run(fmt.Sprint("attack data ", attack), func(t *testing.T) {
			s := fixture(t, 120, attack)
			cov, err := s.Coverage()
			if err != nil {
				t.Fatal(err)
			}
			// 40 generated rules per technique; the seed adds one to T1136.003 and its parent.
			want := map[string]int{"T1059": 40, "T1059.001": 40, "T1136": 41, "T1136.003": 41, "T1562": 40}
			if !reflect.DeepEqual(cov, want) {
				t.Errorf("Coverage = %v, want %v", cov, want)
			}
			m, err := s.Matrix()
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, tac := range m {
				order = append(order, tac.ID)
			}
			wantOrder := []string{"TA0002", "TA0003", "TA0005"}
			if attack {
				wantOrder = append(wantOrder, "TA0040") // an uncovered tactic still has its column
			}
			if !slices.Equal(order, wantOrder) {
				t.Errorf("tactic order = %v, want %v", order, wantOrder)
			}
			exec := m[0]
			if len(exec.Techniques) != 1 || exec.Techniques[0].ID != "T1059" || exec.Techniques[0].Rules != 40 ||
				len(exec.Techniques[0].Subs) != 1 || exec.Techniques[0].Subs[0].ID != "T1059.001" {
				t.Errorf("Execution column = %+v", exec)
			}
			if exec.Techniques[0].Name != "Command and Scripting Interpreter" {
				t.Errorf("parent name = %q", exec.Techniques[0].Name)
			}
			if attack && (len(m[3].Techniques) != 1 || m[3].Techniques[0].Rules != 0) {
				t.Errorf("Impact column = %+v, want one uncovered technique", m[3])
			}
			info, err := s.TechniqueInfo("T1136")
			if err != nil || info.Name != "Create Account" {
				t.Errorf("TechniqueInfo(T1136) = %+v, %v", info, err)
			}
			if _, err := s.TechniqueInfo("T9999"); !errors.Is(err, ErrNotFound) {
				t.Errorf("TechniqueInfo(T9999) err = %v", err)
			}
		})
	}
}

func TestRulesForTechniqueAndEvent(t *testing.T) {
	s := fixture(t, 120, false)
	res, err := s.RulesForTechnique("T1136", 1, 500)
	if err != nil || res.Total != 41 || len(res.Rules) != 41 {
		t.Fatalf("RulesForTechnique = %d rules, %v", len(res.Rules), err)
	}
	res, err = s.RulesForEvent("AWS-iam", "CreateUser", 1, 0)
	if err != nil || res.Total != 1 || res.Rules[0].ID != seedRule().ID {
		t.Errorf("RulesForEvent(AWS-iam, CreateUser) = %+v, %v", res, err)
	}
	res, err = s.RulesForEvent("Sysmon", "1", 2, 10)
	if err != nil || res.Total != 40 || len(res.Rules) != 10 {
		t.Errorf("RulesForEvent(Sysmon, 1) page 2 = %d of %d, %v", len(res.Rules), res.Total, err)
	}
	if title, err := s.EventTitle("Sysmon", "1"); err != nil || title != "Process creation" {
		t.Errorf("EventTitle = %q, %v", title, err)
	}
	if _, err := s.EventTitle("Sysmon", "999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("EventTitle(unknown) err = %v", err)
	}
}

func BenchmarkWrite(b *testing.B) {
	rules := make([]*rule.Rule, 5000)
	for i := range rules {
		rules[i] = genRule(i)
	}
	var size int64
	for _, r := range rules {
		js, _ := json.Marshal(r)
		size += int64(len(js))
	}
	b.SetBytes(size) // rule documents stored
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		writeStore(b, filepath.Join(dir, "catalog.db"), rules, true)
	}
	b.ReportMetric(float64(len(rules)*b.N)/b.Elapsed().Seconds(), "rules/s")
}

func BenchmarkRule(b *testing.B) {
	s := fixture(b, 5000, true)
	doc, err := s.RuleJSON("gen-00000")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc))) // one rule document read and decoded
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Rule(fmt.Sprintf("gen-%05d", i%5000)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkSearch(b *testing.B) {
	s := fixture(b, 5000, true)
	queries := []Query{{}, {Q: "powershell"}, {Q: "marker7", Platform: []string{"sigma"}}, {Technique: []string{"T1136"}, Severity: []string{"high"}}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Search(queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
	}
}

// Connections opened after a build replaced the file never read the new catalog: the pool
// was filled at Open, and a connection asked for later is refused.
func TestLateConnectionsReadOpenedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	writeStore(t, path, []*rule.Rule{seedRule()}, false)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writeStore(t, path, []*rule.Rule{genRule(1), genRule(2)}, false)
	// Every connection of the pool in use at once: all were opened on the first catalog.
	max := s.db.Stats().MaxOpenConnections
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []*sql.Conn
	for range max {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.db.Conn(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			var id string
			if err := c.QueryRowContext(context.Background(), `SELECT id FROM rules`).Scan(&id); err != nil || id != seedRule().ID {
				t.Errorf("a pooled connection reads %q, %v", id, err)
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	if got := s.db.Stats().OpenConnections; got != max {
		t.Errorf("%d connections open, want the pool's %d", got, max)
	}
	c := &fileConnector{path: path, info: s.info}
	if _, err := c.Connect(context.Background()); !errors.Is(err, errReplaced) {
		t.Errorf("connecting after the replacement: err = %v, want errReplaced", err)
	}
}
