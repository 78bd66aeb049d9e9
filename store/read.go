package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Store reads a committed catalog. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	info os.FileInfo // the file as opened, to tell when a build replaced it

	ruleDoc, ruleByPath *sql.Stmt

	statsOnce  sync.Once
	stats      *Stats
	statsErr   error
	indexOnce  sync.Once
	idx        *facetIndex
	idxErr     error
	matrixOnce sync.Once
	matrix     []MatrixTactic
	matrixErr  error
}

// Summary is a rule as result lists show it.
type Summary struct {
	ID       string        `json:"id"`
	Platform rule.Platform `json:"platform"`
	Language rule.Language `json:"language"`
	Class    rule.Class    `json:"class"`
	Title    string        `json:"title"`
	Status   string        `json:"status"`
	Severity string        `json:"severity"`
	Product  string        `json:"product,omitempty"`
	Service  string        `json:"service,omitempty"`
	Category string        `json:"category,omitempty"`
	Corpus   string        `json:"corpus"`
	Path     string        `json:"path"`
	Excerpt  string        `json:"excerpt"`
}

// Open opens the catalog at path read-only.
func Open(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Stat the open file, not the name: a rename racing with Open must not make a later
	// freshness check believe this is the newer file.
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// A catalog is never modified in place (a build renames a new file over it and open
	// descriptors keep the old inode), so immutable=1 is true and lets SQLite skip locking.
	dsn := fileURI(abs) + "?mode=ro&immutable=1&_pragma=query_only(1)" +
		"&_pragma=mmap_size(268435456)&_pragma=cache_size(-16384)"
	registered, err := sql.Open("sqlite", dsn) // only to reach the driver: it connects nothing
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := sql.OpenDB(&fileConnector{drv: registered.Driver(), dsn: dsn, path: path, info: info})
	registered.Close()
	// Queries are CPU-bound (the file is mapped), so a few connections per core keep every core
	// busy while one waits on a page fault; more only multiply per-connection caches.
	n := 2 * runtime.GOMAXPROCS(0)
	if n < 4 {
		n = 4
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &Store{db: db, path: path, info: info}
	if err := s.prepare(n); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// prepare checks the schema, opens every connection of the pool while the file at the path is
// still the one opened (the pool keeps them: see fileConnector) and prepares the hot queries.
func (s *Store) prepare(conns int) error {
	var version string
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key=?`, MetaSchema).Scan(&version); err != nil {
		return fmt.Errorf("not a ruleatlas catalog: %w", err)
	}
	if version != schemaVersion {
		return fmt.Errorf("catalog schema %s, this program reads %s: rebuild it", version, schemaVersion)
	}
	ctx := context.Background()
	held := make([]*sql.Conn, 0, conns)
	var err error
	for range conns {
		var c *sql.Conn
		if c, err = s.db.Conn(ctx); err != nil {
			break
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Close() // back to the pool, which keeps them
	}
	if err != nil {
		return err
	}
	if s.ruleDoc, err = s.db.Prepare(`SELECT doc FROM rules WHERE id=?`); err != nil {
		return err
	}
	s.ruleByPath, err = s.db.Prepare(`SELECT doc FROM rules WHERE path=? ORDER BY n LIMIT 1`)
	return err
}

// errReplaced refuses a connection to a path that no longer holds the opened catalog.
var errReplaced = errors.New("store: the catalog file was replaced since it was opened; open it again")

// fileConnector opens connections only while the path still names the file the store opened:
// a connection opened after a build renamed a new catalog into place would read another
// catalog than the rest of the store (its in-memory index, its other connections).
type fileConnector struct {
	drv  driver.Driver
	dsn  string
	path string
	info os.FileInfo
}

func (c *fileConnector) Connect(context.Context) (driver.Conn, error) {
	now, err := os.Stat(c.path)
	if err != nil || !os.SameFile(now, c.info) {
		return nil, errReplaced
	}
	return c.drv.Open(c.dsn)
}

func (c *fileConnector) Driver() driver.Driver { return c.drv }

// fileURI makes a SQLite URI of an absolute path, escaping what URIs reserve.
func fileURI(abs string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(filepath.ToSlash(abs))
}

// Close releases the connections.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Replaced reports whether the file at Path is no longer the one this store reads: a build has
// renamed a new catalog over it. It costs one stat.
func (s *Store) Replaced() bool {
	info, err := os.Stat(s.path)
	if err != nil {
		return false // nothing there to switch to
	}
	return !os.SameFile(info, s.info) || !info.ModTime().Equal(s.info.ModTime())
}

// RuleJSON returns the stored JSON document of a rule, the /api/rules/{id} body.
func (s *Store) RuleJSON(id string) ([]byte, error) {
	var doc []byte
	if err := s.ruleDoc.QueryRow(id).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("store: rule %s: %w", id, err)
	}
	return doc, nil
}

// Rule returns a rule by id.
func (s *Store) Rule(id string) (*rule.Rule, error) {
	doc, err := s.RuleJSON(id)
	if err != nil {
		return nil, err
	}
	return decodeRule(id, doc)
}

// RuleByPath returns the first rule read from a source path (as stored in Source.Path).
func (s *Store) RuleByPath(path string) (*rule.Rule, error) {
	var doc []byte
	if err := s.ruleByPath.QueryRow(path).Scan(&doc); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("store: rule at %s: %w", path, err)
	}
	return decodeRule(path, doc)
}

func decodeRule(key string, doc []byte) (*rule.Rule, error) {
	r := new(rule.Rule)
	if err := json.Unmarshal(doc, r); err != nil {
		return nil, fmt.Errorf("store: rule %s: %w", key, err)
	}
	return r, nil
}

// Meta returns a build fact, or ErrNotFound.
func (s *Store) Meta(key string) (string, error) {
	var v string
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key=?`, key).Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNotFound
		}
		return "", fmt.Errorf("store: meta %s: %w", key, err)
	}
	return v, nil
}

// Stats summarises the catalog for the home page.
type Stats struct {
	Rules      int          `json:"rules"`
	Platforms  []FacetCount `json:"platforms"`
	Languages  []FacetCount `json:"languages"`
	Severities []FacetCount `json:"severities"`
	Statuses   []FacetCount `json:"statuses"`
	Products   []FacetCount `json:"products"`   // the most covered, at most 20
	Tactics    int          `json:"tactics"`    // tactics with at least one rule
	Techniques int          `json:"techniques"` // techniques and sub-techniques with at least one rule
	Events     int          `json:"events"`     // distinct (provider, event) pairs
	Built      time.Time    `json:"built"`
	Sources    []SourceInfo `json:"sources"`
}

// Stats returns the catalog's statistics, computed once: a store never changes.
func (s *Store) Stats() (*Stats, error) {
	s.statsOnce.Do(func() { s.stats, s.statsErr = s.computeStats() })
	return s.stats, s.statsErr
}

func (s *Store) computeStats() (*Stats, error) {
	st := &Stats{}
	err := s.db.QueryRow(`SELECT count(*) FROM rules`).Scan(&st.Rules)
	group := func(col string, limit int) []FacetCount {
		if err != nil {
			return nil
		}
		var out []FacetCount
		out, err = s.counts(`SELECT `+col+`, '', count(*) FROM rules WHERE `+col+`<>'' GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT ?`, limit)
		return out
	}
	st.Platforms = group("platform", 100)
	st.Languages = group("language", 100)
	st.Severities = group("severity", 100)
	st.Statuses = group("status", 100)
	st.Products = group("product", 20)
	if err == nil {
		err = s.db.QueryRow(`SELECT (SELECT count(DISTINCT tactic_id) FROM rule_attack WHERE tactic_id<>''),
			(SELECT count(DISTINCT technique_id) FROM rule_attack WHERE technique_id<>''),
			(SELECT count(*) FROM (SELECT DISTINCT provider, event FROM rule_events))`).Scan(&st.Tactics, &st.Techniques, &st.Events)
	}
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	if v, err := s.Meta(MetaBuilt); err == nil {
		st.Built, _ = time.Parse(time.RFC3339, v) // a malformed time shows as unknown
	}
	if v, err := s.Meta(MetaSources); err == nil {
		json.Unmarshal([]byte(v), &st.Sources) // likewise: missing sources, not a broken page
	}
	return st, nil
}

func (s *Store) counts(q string, args ...any) ([]FacetCount, error) {
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FacetCount
	for rows.Next() {
		var c FacetCount
		if err := rows.Scan(&c.Value, &c.Label, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Coverage maps each technique id to the number of rules covering it; a technique counts the
// rules of its sub-techniques too.
func (s *Store) Coverage() (map[string]int, error) {
	rows, err := s.db.Query(`SELECT id, count(DISTINCT rule) FROM (
		SELECT technique_id AS id, rule FROM rule_attack WHERE technique_id<>''
		UNION ALL SELECT parent, rule FROM rule_attack WHERE parent<>'') GROUP BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: coverage: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: coverage: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// MatrixTactic is a column of the ATT&CK coverage matrix.
type MatrixTactic struct {
	Tactic
	Rules      int               `json:"rules"`
	Techniques []MatrixTechnique `json:"techniques"`
}

// MatrixTechnique is a cell of the matrix: a technique, its rule count (sub-techniques
// included) and its sub-techniques.
type MatrixTechnique struct {
	ID    string            `json:"id"`
	Name  string            `json:"name"`
	Rules int               `json:"rules"`
	Subs  []MatrixTechnique `json:"subs,omitempty"`
}

// Matrix returns the ATT&CK matrix with rule counts: tactics in matrix order, each with its
// techniques by name. Without ATT&CK data in the catalog it is built from the rules' own
// ATT&CK rows, so it lists only covered techniques.
func (s *Store) Matrix() ([]MatrixTactic, error) {
	s.matrixOnce.Do(func() { s.matrix, s.matrixErr = s.computeMatrix() })
	return s.matrix, s.matrixErr
}

type techRow struct {
	id, name, parent string
	tactics          []string
}

func (s *Store) computeMatrix() ([]MatrixTactic, error) {
	cov, err := s.Coverage()
	if err != nil {
		return nil, err
	}
	tactics, techs, err := s.attackTables()
	if err != nil {
		return nil, fmt.Errorf("store: matrix: %w", err)
	}
	if len(tactics) == 0 {
		if tactics, techs, err = s.attackFromRules(); err != nil {
			return nil, fmt.Errorf("store: matrix: %w", err)
		}
	}
	tacticRules := map[string]int{}
	rows, err := s.db.Query(`SELECT tactic_id, count(DISTINCT rule) FROM rule_attack GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("store: matrix: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: matrix: %w", err)
		}
		tacticRules[id] = n
	}
	rows.Close()

	subs := map[string][]MatrixTechnique{}
	for _, t := range techs {
		if t.parent != "" {
			subs[t.parent] = append(subs[t.parent], MatrixTechnique{ID: t.id, Name: t.name, Rules: cov[t.id]})
		}
	}
	index := map[string]int{}
	out := make([]MatrixTactic, len(tactics))
	for i, t := range tactics {
		out[i] = MatrixTactic{Tactic: t, Rules: tacticRules[t.ID]}
		index[t.ID] = i
	}
	for _, t := range techs {
		if t.parent != "" {
			continue
		}
		cell := MatrixTechnique{ID: t.id, Name: t.name, Rules: cov[t.id], Subs: subs[t.id]}
		sort.Slice(cell.Subs, func(a, b int) bool { return cell.Subs[a].ID < cell.Subs[b].ID })
		for _, tac := range t.tactics {
			if i, ok := index[tac]; ok {
				out[i].Techniques = append(out[i].Techniques, cell)
			}
		}
	}
	for i := range out {
		ts := out[i].Techniques
		sort.Slice(ts, func(a, b int) bool { return ts[a].Name < ts[b].Name })
	}
	return out, nil
}

func (s *Store) attackTables() ([]Tactic, []techRow, error) {
	var tactics []Tactic
	rows, err := s.db.Query(`SELECT id, name, ord FROM tactics ORDER BY ord, id`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var t Tactic
		if err := rows.Scan(&t.ID, &t.Name, &t.Order); err != nil {
			rows.Close()
			return nil, nil, err
		}
		tactics = append(tactics, t)
	}
	rows.Close()
	rows, err = s.db.Query(`SELECT id, name, parent, tactics FROM techniques ORDER BY id`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var techs []techRow
	for rows.Next() {
		var t techRow
		var tac string
		if err := rows.Scan(&t.id, &t.name, &t.parent, &tac); err != nil {
			return nil, nil, err
		}
		if tac != "" {
			t.tactics = strings.Split(tac, ",")
		}
		techs = append(techs, t)
	}
	return tactics, techs, rows.Err()
}

// enterpriseOrder is the column order of the ATT&CK Enterprise matrix, used when the catalog
// was built without the ATT&CK bundle.
var enterpriseOrder = []string{"TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004",
	"TA0005", "TA0006", "TA0007", "TA0008", "TA0009", "TA0011", "TA0010", "TA0040"}

func (s *Store) attackFromRules() ([]Tactic, []techRow, error) {
	rows, err := s.db.Query(`SELECT DISTINCT tactic_id, tactic, technique_id, technique FROM rule_attack
		WHERE tactic_id<>'' ORDER BY technique_id`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	tactics := map[string]string{}
	techs := map[string]*techRow{}
	add := func(id, name, tactic string) {
		t := techs[id]
		if t == nil {
			t = &techRow{id: id, name: name, parent: parentTechnique(id)}
			techs[id] = t
		}
		if t.name == "" {
			t.name = name
		}
		for _, x := range t.tactics {
			if x == tactic {
				return
			}
		}
		t.tactics = append(t.tactics, tactic)
	}
	for rows.Next() {
		var tacID, tac, techID, tech string
		if err := rows.Scan(&tacID, &tac, &techID, &tech); err != nil {
			return nil, nil, err
		}
		if tactics[tacID] == "" {
			tactics[tacID] = tac
		}
		if techID == "" {
			continue
		}
		add(techID, tech, tacID)
		if p := parentTechnique(techID); p != "" {
			// Sub-technique names read "Parent: Sub"; the prefix names a parent that no rule cites.
			name, _, _ := strings.Cut(tech, ": ")
			add(p, name, tacID)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	order := map[string]int{}
	for i, id := range enterpriseOrder {
		order[id] = i
	}
	var out []Tactic
	for id, name := range tactics {
		o, ok := order[id]
		if !ok {
			o = len(enterpriseOrder)
		}
		out = append(out, Tactic{ID: id, Name: name, Order: o})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].ID < out[j].ID
	})
	list := make([]techRow, 0, len(techs))
	for _, t := range techs {
		list = append(list, *t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	return out, list, nil
}

// TechniqueInfo returns a technique's name and parent, from the ATT&CK data or, without it,
// from the rules citing it; ErrNotFound when neither knows it.
func (s *Store) TechniqueInfo(id string) (Technique, error) {
	t := Technique{ID: id}
	var tac string
	err := s.db.QueryRow(`SELECT name, parent, tactics FROM techniques WHERE id=?`, id).Scan(&t.Name, &t.Parent, &tac)
	if err == nil {
		if tac != "" {
			t.Tactics = strings.Split(tac, ",")
		}
		return t, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("store: technique %s: %w", id, err)
	}
	rows, err := s.db.Query(`SELECT DISTINCT technique, tactic_id FROM rule_attack WHERE technique_id=? ORDER BY tactic_id`, id)
	if err != nil {
		return t, fmt.Errorf("store: technique %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, tactic string
		if err := rows.Scan(&name, &tactic); err != nil {
			return t, fmt.Errorf("store: technique %s: %w", id, err)
		}
		if t.Name == "" {
			t.Name = name
		}
		t.Tactics = append(t.Tactics, tactic)
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("store: technique %s: %w", id, err)
	}
	if t.Name == "" && len(t.Tactics) == 0 {
		// A parent technique only cited through its sub-techniques.
		var sub string
		err := s.db.QueryRow(`SELECT technique FROM rule_attack WHERE parent=? LIMIT 1`, id).Scan(&sub)
		if errors.Is(err, sql.ErrNoRows) {
			return t, ErrNotFound
		}
		if err != nil {
			return t, fmt.Errorf("store: technique %s: %w", id, err)
		}
		t.Name, _, _ = strings.Cut(sub, ": ") // "Parent: Sub", as in the matrix
	}
	t.Parent = parentTechnique(id)
	return t, nil
}

// EventTitle returns the title of an event (a Windows event's name), "" when it has none, or
// ErrNotFound when no rule watches it.
func (s *Store) EventTitle(provider, event string) (string, error) {
	var title string
	err := s.db.QueryRow(`SELECT max(title) FROM rule_events WHERE provider=? AND event=? HAVING count(*)>0`, provider, event).Scan(&title)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: event %s/%s: %w", provider, event, err)
	}
	return title, nil
}

// Warm loads what the first requests would otherwise wait for: the search index, the
// statistics and the matrix. A server calls it before switching to a new catalog.
func (s *Store) Warm() error {
	if _, err := s.index(); err != nil {
		return err
	}
	if _, err := s.Stats(); err != nil {
		return err
	}
	_, err := s.Matrix()
	return err
}

// IDs lists every rule id, in title order.
func (s *Store) IDs() ([]string, error) {
	idx, err := s.index()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(idx.rows))
	for i := range idx.rows {
		ids[i] = idx.rows[i].sum.ID
	}
	return ids, nil
}
