package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ruleatlas/ruleatlas/rule"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Writer builds a new catalog in a temporary file beside its destination. Nothing is visible
// at the destination until Commit renames the finished file over it, so a failed or killed
// build leaves the previous catalog in place.
type Writer struct {
	path string // destination
	tmp  string // file being written
	db   *sql.DB
	conn *sql.Conn
	tx   *sql.Tx
	ids  map[string]bool
	n    int64

	insRule, insAttack, insEvent, insTag, insFTS, insMeta, insTactic, insTechnique *sql.Stmt
}

// Tactic is one column of the ATT&CK matrix.
type Tactic struct {
	ID    string `json:"id"`    // TA0003
	Name  string `json:"name"`  // Persistence
	Order int    `json:"order"` // position in the matrix, from 0
}

// Technique is an ATT&CK technique or sub-technique.
type Technique struct {
	ID      string   `json:"id"`     // T1136.003
	Name    string   `json:"name"`   // Create Account: Cloud Account
	Parent  string   `json:"parent"` // T1136 for a sub-technique, "" otherwise
	Tactics []string `json:"tactics"`
}

// SourceInfo describes one corpus of a build, as stored under MetaSources.
type SourceInfo struct {
	Name   string `json:"name"`
	Repo   string `json:"repo,omitempty"`
	URL    string `json:"url,omitempty"`
	Commit string `json:"commit,omitempty"`
	Rules  int    `json:"rules"`
}

// Create starts a catalog that Commit will rename to path.
func Create(path string) (*Writer, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStale(dir, base)
	f, err := os.CreateTemp(dir, "."+base+".build-*")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	f.Close()
	w := &Writer{path: path, tmp: tmp, ids: map[string]bool{}}
	if err := w.begin(); err != nil {
		w.Abort()
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	return w, nil
}

// staleAfter is how old a temporary catalog must be before a new build removes it: a build
// that was killed cannot clean up after itself, and one still running writes to its file.
const staleAfter = time.Hour

// removeStale deletes temporary catalogs left by killed builds of the same catalog.
func removeStale(dir, base string) {
	old, _ := filepath.Glob(filepath.Join(dir, "."+base+".build-*"))
	for _, p := range old {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > staleAfter {
			os.Remove(p)
		}
	}
}

func (w *Writer) begin() error {
	// The temporary file is discarded on any failure, so durability during the build buys
	// nothing: no journal, no syncs until the single fsync in Commit.
	dsn := "file:" + w.tmp + "?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)" +
		"&_pragma=locking_mode(EXCLUSIVE)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-65536)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	w.db = db
	ctx := context.Background()
	if w.conn, err = db.Conn(ctx); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, "PRAGMA page_size=8192"); err != nil {
		return err
	}
	if w.tx, err = w.conn.BeginTx(ctx, nil); err != nil {
		return err
	}
	if _, err := w.tx.Exec(createTables); err != nil {
		return err
	}
	prep := func(dst **sql.Stmt, q string) {
		if err == nil {
			*dst, err = w.tx.Prepare(q)
		}
	}
	prep(&w.insRule, `INSERT INTO rules(n,id,platform,language,class,title,status,severity,product,service,category,corpus,path,excerpt,doc) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	prep(&w.insAttack, `INSERT INTO rule_attack VALUES(?,?,?,?,?,?)`)
	prep(&w.insEvent, `INSERT INTO rule_events VALUES(?,?,?,?)`)
	prep(&w.insTag, `INSERT INTO rule_tags VALUES(?,?)`)
	prep(&w.insFTS, `INSERT INTO rules_fts(rowid,title,description,tags,fields,vals,other) VALUES(?,?,?,?,?,?,?)`)
	prep(&w.insMeta, `INSERT OR REPLACE INTO meta VALUES(?,?)`)
	prep(&w.insTactic, `INSERT OR REPLACE INTO tactics VALUES(?,?,?)`)
	prep(&w.insTechnique, `INSERT OR REPLACE INTO techniques VALUES(?,?,?,?)`)
	return err
}

// AddRule writes one rule: its JSON document, listing columns, side tables and search text.
func (w *Writer) AddRule(r *rule.Rule) error {
	if w.tx == nil {
		return errors.New("store: writer closed")
	}
	if r.ID == "" {
		return fmt.Errorf("store: rule %s has no id", r.Source.Path)
	}
	if w.ids[r.ID] {
		return fmt.Errorf("store: %s: %w", r.ID, ErrDuplicate)
	}
	doc, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: rule %s: %w", r.ID, err)
	}
	w.n++
	n := w.n
	ls := r.LogSource
	if _, err := w.insRule.Exec(n, r.ID, string(r.Platform), string(r.Language), string(r.Class),
		r.Title, r.Status, r.Severity, ls.Product, ls.Service, ls.Category,
		r.Source.Corpus, r.Source.Path, excerpt(r.Description), doc); err != nil {
		return fmt.Errorf("store: rule %s: %w", r.ID, err)
	}
	for _, a := range r.Attack {
		if _, err := w.insAttack.Exec(n, a.TacticID, a.Tactic, a.TechniqueID, a.Technique, parentTechnique(a.TechniqueID)); err != nil {
			return fmt.Errorf("store: rule %s attack: %w", r.ID, err)
		}
	}
	for _, e := range r.Events {
		if _, err := w.insEvent.Exec(n, e.Provider, e.Event, e.Title); err != nil {
			return fmt.Errorf("store: rule %s event: %w", r.ID, err)
		}
	}
	for _, t := range r.Tags {
		if _, err := w.insTag.Exec(n, t); err != nil {
			return fmt.Errorf("store: rule %s tag: %w", r.ID, err)
		}
	}
	fields, vals := searchPredicates(r)
	if _, err := w.insFTS.Exec(n, r.Title, r.Description, strings.Join(r.Tags, " "), fields, vals, otherText(r)); err != nil {
		return fmt.Errorf("store: rule %s search text: %w", r.ID, err)
	}
	w.ids[r.ID] = true
	return nil
}

// SetMeta records a build fact (MetaBuilt, MetaSources, MetaReport, or any other key).
func (w *Writer) SetMeta(key, value string) error {
	if w.tx == nil {
		return errors.New("store: writer closed")
	}
	if _, err := w.insMeta.Exec(key, value); err != nil {
		return fmt.Errorf("store: meta %s: %w", key, err)
	}
	return nil
}

// AddTactic records a column of the ATT&CK matrix.
func (w *Writer) AddTactic(t Tactic) error {
	if w.tx == nil {
		return errors.New("store: writer closed")
	}
	if _, err := w.insTactic.Exec(t.ID, t.Name, t.Order); err != nil {
		return fmt.Errorf("store: tactic %s: %w", t.ID, err)
	}
	return nil
}

// AddTechnique records an ATT&CK technique or sub-technique and the tactics it belongs to.
func (w *Writer) AddTechnique(t Technique) error {
	if w.tx == nil {
		return errors.New("store: writer closed")
	}
	if t.Parent == "" {
		t.Parent = parentTechnique(t.ID)
	}
	if _, err := w.insTechnique.Exec(t.ID, t.Name, t.Parent, strings.Join(t.Tactics, ",")); err != nil {
		return fmt.Errorf("store: technique %s: %w", t.ID, err)
	}
	return nil
}

// Commit indexes and commits the catalog, syncs it to disk and renames it over the destination.
func (w *Writer) Commit() error {
	if w.tx == nil {
		return errors.New("store: writer closed")
	}
	err := w.finish()
	w.tx = nil
	if err == nil {
		err = w.close()
	} else {
		w.close()
	}
	if err == nil {
		// A temporary file is private (0600); the catalog keeps the mode of the one it
		// replaces, else is readable by all, so a server run as another user can read it.
		mode := os.FileMode(0o644)
		if st, statErr := os.Stat(w.path); statErr == nil {
			mode = st.Mode().Perm()
		}
		err = os.Chmod(w.tmp, mode)
	}
	if err == nil {
		err = syncFile(w.tmp)
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		w.tmp = ""
		return fmt.Errorf("store: commit %s: %w", w.path, err)
	}
	w.tmp = ""
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (w *Writer) finish() error {
	if _, err := w.insMeta.Exec(MetaSchema, schemaVersion); err != nil {
		return err
	}
	if _, err := w.tx.Exec(createIndexes); err != nil {
		return err
	}
	return w.tx.Commit()
}

func (w *Writer) close() error {
	var errs []error
	if w.conn != nil {
		errs = append(errs, w.conn.Close())
		w.conn = nil
	}
	if w.db != nil {
		errs = append(errs, w.db.Close())
		w.db = nil
	}
	return errors.Join(errs...)
}

// Abort discards the build; the destination is untouched. It is safe after Commit.
func (w *Writer) Abort() {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
	w.close()
	if w.tmp != "" {
		os.Remove(w.tmp)
		w.tmp = ""
	}
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parentTechnique is T1136 for T1136.003 and "" for a technique without a parent.
func parentTechnique(id string) string {
	if i := strings.IndexByte(id, '.'); i > 0 {
		return id[:i]
	}
	return ""
}

// excerpt is the start of a description for result lists, cut at a word boundary.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 240
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(s[:cut], ' '); i > max/2 {
		cut = i
	}
	return s[:cut] + "…"
}

// searchPredicates collects the distinct fields and values of every predicate of every stage,
// so a search for a field name or an indicator finds the rules that test it.
func searchPredicates(r *rule.Rule) (fields, vals string) {
	fs := map[string]bool{}
	vs := map[string]bool{}
	var visit func([]rule.Stage)
	visit = func(stages []rule.Stage) {
		for i := range stages {
			for _, p := range stages[i].Predicates {
				fs[p.Field] = true
				fs[p.Canonical] = true
				for _, v := range p.Values {
					vs[v] = true
				}
			}
			visit(stages[i].Stages)
		}
	}
	visit(r.Stages)
	return joinSet(fs), joinSet(vs)
}

func joinSet(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// otherText makes ids, authors, log sources and ATT&CK names searchable.
func otherText(r *rule.Rule) string {
	parts := []string{r.ID, r.Name, r.Author, string(r.Platform), string(r.Language),
		r.LogSource.Product, r.LogSource.Service, r.LogSource.Category, r.Source.Corpus}
	parts = append(parts, r.LogSource.Native...)
	for _, a := range r.Attack {
		parts = append(parts, a.TechniqueID, a.Technique, a.Tactic)
	}
	for _, e := range r.Events {
		parts = append(parts, e.Provider, e.Event, e.Title)
	}
	return strings.Join(parts, "\n")
}
