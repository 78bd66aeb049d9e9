package engine

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/store"
)

const loadRules = `title: Stable Persistence
id: 10000000-0000-0000-0000-000000000001
status: stable
tags: [attack.persistence]
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: CreateUser
    condition: sel
level: high
---
title: Test Discovery
id: 10000000-0000-0000-0000-000000000002
status: test
tags: [attack.discovery]
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: ListUsers
    condition: sel
level: low
---
title: Windows One
id: 10000000-0000-0000-0000-000000000003
status: stable
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\evil.exe'
    condition: sel
---
title: Needs Expansion
id: 10000000-0000-0000-0000-000000000004
status: test
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|expand: '%Admins%'
    condition: sel
`

func loadedTitles(progs []*Program) []string {
	var out []string
	for _, p := range progs {
		out = append(out, p.Rule.Title)
	}
	slices.Sort(out)
	return out
}

// TestLoadRules: files, directories and catalog databases, filtered by platform (or product),
// tag and status; rules that cannot be evaluated are skipped with the reason.
func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	rf := filepath.Join(dir, "rules", "r.yml")
	os.MkdirAll(filepath.Dir(rf), 0o755)
	if err := os.WriteFile(rf, []byte(loadRules), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "rules", "README.md"), []byte("# rules"), 0o644)

	// A catalog database holding the same rules.
	db := filepath.Join(dir, "catalog.db")
	w, err := store.Create(db)
	if err != nil {
		t.Fatal(err)
	}
	rules, errs := sigma.Parse("r.yml", []byte(loadRules))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, r := range rules {
		if err := w.AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		paths []string
		f     Filter
		want  []string
		skip  int
	}{
		{"dir", []string{filepath.Join(dir, "rules")}, Filter{}, []string{"Stable Persistence", "Test Discovery", "Windows One"}, 1},
		{"file by product", []string{rf}, Filter{Platform: []string{"aws"}}, []string{"Stable Persistence", "Test Discovery"}, 0},
		{"by tag", []string{rf}, Filter{Tag: []string{"attack.persistence"}}, []string{"Stable Persistence"}, 0},
		{"by status", []string{rf}, Filter{Status: []string{"stable"}}, []string{"Stable Persistence", "Windows One"}, 0},
		{"catalog", []string{db}, Filter{Platform: []string{"sigma"}}, []string{"Stable Persistence", "Test Discovery", "Windows One"}, 1},
		{"catalog by status", []string{db}, Filter{Status: []string{"test"}}, []string{"Test Discovery"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			progs, skipped, err := LoadRules(tt.paths, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := loadedTitles(progs); !slices.Equal(got, tt.want) {
				t.Errorf("loaded %v, want %v", got, tt.want)
			}
			if len(skipped) != tt.skip {
				t.Errorf("skipped %v, want %d", skipped, tt.skip)
			}
			for _, s := range skipped {
				if s.Title != "Needs Expansion" || s.Reason == "" {
					t.Errorf("skipped %+v", s)
				}
			}
		})
	}
}
