package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

func TestCatalogIsReadableByOthersAndKeepsItsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	writeStore(t, path, []*rule.Rule{seedRule()}, false)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("new catalog mode %v, want 0644 (a temporary file's 0600 must not stay)", st.Mode().Perm())
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	writeStore(t, path, []*rule.Rule{seedRule()}, false)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("rebuilt catalog mode %v, want the replaced file's 0640", st.Mode().Perm())
	}
}

func TestCreateRemovesStaleTemporaryCatalogs(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".c.db.build-111")
	fresh := filepath.Join(dir, ".c.db.build-222")
	other := filepath.Join(dir, ".other.db.build-333")
	for _, p := range []string{stale, fresh, other} {
		if err := os.WriteFile(p, []byte("left by a killed build"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleAfter)
	for _, p := range []string{stale, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	w, err := Create(filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary catalog kept: %v", err)
	}
	for _, p := range []string{fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: a running build's file, or another catalog's, must stay", filepath.Base(p))
		}
	}
}

func TestQueryFiltersByName(t *testing.T) {
	var q Query
	for i, f := range Facets {
		q.SetFilter(f, []string{f, string(rune('a' + i))})
	}
	q.SetFilter("nonsense", []string{"x"})
	for i, f := range Facets {
		if got := q.Filter(f); len(got) != 2 || got[0] != f || got[1] != string(rune('a'+i)) {
			t.Errorf("Filter(%s) = %v", f, got)
		}
	}
	if q.Platform[0] != FacetPlatform || q.Status[0] != FacetStatus || q.Technique[0] != FacetTechnique {
		t.Errorf("filters landed in the wrong fields: %+v", q)
	}
	if q.Filter("nonsense") != nil {
		t.Error("an unknown facet has values")
	}
}
