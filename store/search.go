package store

import (
	"fmt"
	"strings"
	"unicode"
)

// Facet names, as the /rules query parameters spell them.
const (
	FacetPlatform  = "platform"
	FacetTactic    = "tactic"
	FacetTechnique = "technique"
	FacetProduct   = "product"
	FacetService   = "service"
	FacetSeverity  = "severity"
	FacetStatus    = "status"
)

// Facets lists the facet names in the order pages show them.
var Facets = []string{FacetPlatform, FacetTactic, FacetTechnique, FacetProduct, FacetService, FacetSeverity, FacetStatus}

// Query is a search: free text plus facet filters. Values of one facet are alternatives;
// different facets must all hold. A technique filter matches its sub-techniques too.
type Query struct {
	Q         string
	Platform  []string
	Tactic    []string
	Technique []string
	Product   []string
	Service   []string
	Severity  []string
	Status    []string
	Page      int // from 1
	PerPage   int // DefaultPerPage when 0, at most MaxPerPage
	// NoFacets skips the facet counts, for callers that only list.
	NoFacets bool
}

// Paging bounds.
const (
	DefaultPerPage = 50
	MaxPerPage     = 500
)

// Filter returns the values of a facet by name.
func (q *Query) Filter(facet string) []string {
	switch facet {
	case FacetPlatform:
		return q.Platform
	case FacetTactic:
		return q.Tactic
	case FacetTechnique:
		return q.Technique
	case FacetProduct:
		return q.Product
	case FacetService:
		return q.Service
	case FacetSeverity:
		return q.Severity
	case FacetStatus:
		return q.Status
	}
	return nil
}

// SetFilter sets the values of a facet by name; unknown names are ignored.
func (q *Query) SetFilter(facet string, values []string) {
	switch facet {
	case FacetPlatform:
		q.Platform = values
	case FacetTactic:
		q.Tactic = values
	case FacetTechnique:
		q.Technique = values
	case FacetProduct:
		q.Product = values
	case FacetService:
		q.Service = values
	case FacetSeverity:
		q.Severity = values
	case FacetStatus:
		q.Status = values
	}
}

// FacetCount is one value of a facet with the number of matching rules. Label is a readable
// name where the value is an id (tactics, techniques).
type FacetCount struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
	Count int    `json:"count"`
}

// Results is a page of search results.
type Results struct {
	Total   int       `json:"total"`
	Page    int       `json:"page"`
	PerPage int       `json:"per_page"`
	Rules   []Summary `json:"rules"`
	// Facets holds, per facet, the counts each value would have with the other facets' filters
	// applied, so choosing a value never leads to an empty page.
	Facets map[string][]FacetCount `json:"facets,omitempty"`
}

// maxFacetValues bounds a facet's list: techniques alone number in the hundreds.
const maxFacetValues = 40

const summaryCols = `r.id, r.platform, r.language, r.class, r.title, r.status, r.severity, r.product, r.service, r.category, r.corpus, r.path, r.excerpt`

type cond struct {
	facet string
	sql   string
	args  []any
}

// Search runs a query.
func (s *Store) Search(q Query) (*Results, error) {
	page, per := paging(q.Page, q.PerPage)
	match := ftsQuery(q.Q)
	var conds []cond
	if match != "" {
		conds = append(conds, cond{"q", `r.n IN (SELECT rowid FROM rules_fts WHERE rules_fts MATCH ?)`, []any{match}})
	}
	for _, f := range Facets {
		vals := nonEmpty(q.Filter(f))
		if len(vals) == 0 {
			continue
		}
		in, args := placeholders(vals)
		var c cond
		switch f {
		case FacetTactic:
			c = cond{f, `r.n IN (SELECT rule FROM rule_attack WHERE tactic_id IN ` + in + `)`, args}
		case FacetTechnique:
			c = cond{f, `r.n IN (SELECT rule FROM rule_attack WHERE technique_id IN ` + in + ` UNION SELECT rule FROM rule_attack WHERE parent IN ` + in + `)`, append(args, args...)}
		default:
			c = cond{f, `r.` + f + ` IN ` + in, args}
		}
		conds = append(conds, c)
	}
	where, args := whereExcept(conds, "")

	res := &Results{Page: page, PerPage: per}
	if err := s.db.QueryRow(`SELECT count(*) FROM rules r`+where, args...).Scan(&res.Total); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	var list string
	if match != "" {
		// Rank by relevance: the FTS subquery carries bm25 per row.
		list = `SELECT ` + summaryCols + ` FROM rules r JOIN (SELECT rowid AS n, ` + ftsRank + ` AS score
			FROM rules_fts WHERE rules_fts MATCH ?) f ON f.n = r.n` + where + ` ORDER BY f.score, r.title COLLATE NOCASE LIMIT ? OFFSET ?`
		args = append([]any{match}, args...)
	} else {
		list = `SELECT ` + summaryCols + ` FROM rules r` + where + ` ORDER BY r.title COLLATE NOCASE, r.n LIMIT ? OFFSET ?`
	}
	var err error
	if res.Rules, err = s.summaries(list, append(args, per, (page-1)*per)...); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	if q.NoFacets {
		return res, nil
	}
	res.Facets = make(map[string][]FacetCount, len(Facets))
	for _, f := range Facets {
		where, args := whereExcept(conds, f)
		var sql string
		switch f {
		case FacetTactic:
			sql = `SELECT a.tactic_id, max(a.tactic), count(DISTINCT a.rule) FROM rule_attack a JOIN rules r ON r.n = a.rule` +
				and(where, `a.tactic_id <> ''`) + ` GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT ?`
		case FacetTechnique:
			sql = `SELECT a.technique_id, max(a.technique), count(DISTINCT a.rule) FROM rule_attack a JOIN rules r ON r.n = a.rule` +
				and(where, `a.technique_id <> ''`) + ` GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT ?`
		default:
			sql = `SELECT r.` + f + `, '', count(*) FROM rules r` + and(where, `r.`+f+` <> ''`) + ` GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT ?`
		}
		counts, err := s.counts(sql, append(args, maxFacetValues)...)
		if err != nil {
			return nil, fmt.Errorf("store: search facet %s: %w", f, err)
		}
		res.Facets[f] = counts
	}
	return res, nil
}

// RulesForTechnique lists the rules covering a technique or one of its sub-techniques, by title.
func (s *Store) RulesForTechnique(id string, page, perPage int) (*Results, error) {
	return s.Search(Query{Technique: []string{id}, Page: page, PerPage: perPage, NoFacets: true})
}

// RulesForEvent lists the rules watching a (provider, event), by title.
func (s *Store) RulesForEvent(provider, event string, page, perPage int) (*Results, error) {
	page, per := paging(page, perPage)
	res := &Results{Page: page, PerPage: per}
	const from = ` FROM rules r WHERE r.n IN (SELECT rule FROM rule_events WHERE provider = ? AND event = ?)`
	if err := s.db.QueryRow(`SELECT count(*)`+from, provider, event).Scan(&res.Total); err != nil {
		return nil, fmt.Errorf("store: event %s/%s: %w", provider, event, err)
	}
	var err error
	res.Rules, err = s.summaries(`SELECT `+summaryCols+from+` ORDER BY r.title COLLATE NOCASE, r.n LIMIT ? OFFSET ?`,
		provider, event, per, (page-1)*per)
	if err != nil {
		return nil, fmt.Errorf("store: event %s/%s: %w", provider, event, err)
	}
	return res, nil
}

func (s *Store) summaries(q string, args ...any) ([]Summary, error) {
	rows, err := s.db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Summary{}
	for rows.Next() {
		var r Summary
		if err := rows.Scan(&r.ID, &r.Platform, &r.Language, &r.Class, &r.Title, &r.Status, &r.Severity,
			&r.Product, &r.Service, &r.Category, &r.Corpus, &r.Path, &r.Excerpt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func paging(page, per int) (int, int) {
	if per <= 0 {
		per = DefaultPerPage
	}
	if per > MaxPerPage {
		per = MaxPerPage
	}
	if page < 1 {
		page = 1
	}
	// Bound the offset so a hostile page number cannot overflow it.
	if page > 1_000_000 {
		page = 1_000_000
	}
	return page, per
}

func whereExcept(conds []cond, facet string) (string, []any) {
	var parts []string
	var args []any
	for _, c := range conds {
		if c.facet == facet {
			continue
		}
		parts = append(parts, c.sql)
		args = append(args, c.args...)
	}
	if len(parts) == 0 {
		return "", nil
	}
	return ` WHERE ` + strings.Join(parts, ` AND `), args
}

func and(where, extra string) string {
	if where == "" {
		return ` WHERE ` + extra
	}
	return where + ` AND ` + extra
}

func placeholders(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return `(` + strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",") + `)`, args
}

func nonEmpty(vals []string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// ftsQuery turns user input into an FTS5 query that cannot be a syntax error: every term and
// "quoted phrase" becomes an FTS5 string (so operators and column filters in the input are
// plain text), terms ending in * stay prefix queries, and all of them must match.
// Terms without a letter or digit are dropped: the tokenizer would make them empty phrases.
// See https://www.sqlite.org/fts5.html#full_text_query_syntax.
func ftsQuery(input string) string {
	var parts []string
	add := func(term string, prefix bool) {
		if !strings.ContainsFunc(term, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			return
		}
		p := `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
		if prefix {
			p += "*"
		}
		parts = append(parts, p)
	}
	rest := input
	for {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		if rest[0] == '"' {
			phrase, after, closed := strings.Cut(rest[1:], `"`)
			prefix := closed && strings.HasPrefix(after, "*")
			if prefix {
				after = after[1:]
			}
			add(phrase, prefix)
			rest = after
			continue
		}
		end := strings.IndexFunc(rest, unicode.IsSpace)
		if end < 0 {
			end = len(rest)
		}
		term := rest[:end]
		rest = rest[end:]
		prefix := strings.HasSuffix(term, "*")
		add(strings.Trim(term, `*"`), prefix)
	}
	if len(parts) > 32 { // bound the work one request can ask for
		parts = parts[:32]
	}
	return strings.Join(parts, " AND ")
}
