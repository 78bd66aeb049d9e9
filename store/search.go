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
	if p := q.filter(facet); p != nil {
		return *p
	}
	return nil
}

// SetFilter sets the values of a facet by name; unknown names are ignored.
func (q *Query) SetFilter(facet string, values []string) {
	if p := q.filter(facet); p != nil {
		*p = values
	}
}

// filter is where a facet's values live in q; nil for an unknown facet.
func (q *Query) filter(facet string) *[]string {
	switch facet {
	case FacetPlatform:
		return &q.Platform
	case FacetTactic:
		return &q.Tactic
	case FacetTechnique:
		return &q.Technique
	case FacetProduct:
		return &q.Product
	case FacetService:
		return &q.Service
	case FacetSeverity:
		return &q.Severity
	case FacetStatus:
		return &q.Status
	}
	return nil
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

// Search runs a query.
func (s *Store) Search(q Query) (*Results, error) {
	idx, err := s.index()
	if err != nil {
		return nil, err
	}
	page, per := paging(q.Page, q.PerPage)
	var scores map[int64]float64
	if match := ftsQuery(q.Q); match != "" {
		if scores, err = s.fullText(match); err != nil {
			return nil, err
		}
	} else if strings.TrimSpace(q.Q) != "" {
		// Text with no term to look for (q=- or q=*) matches no rule: listing every rule
		// would answer as if nothing had been asked.
		scores = map[int64]float64{}
	}
	// ATT&CK ids are upper case (T1136.003, TA0003); a filter written t1136 means the same.
	q.Tactic, q.Technique = upperIDs(q.Tactic), upperIDs(q.Technique)
	matched, facets := idx.search(&q, scores, !q.NoFacets)
	res := &Results{Total: len(matched), Page: page, PerPage: per, Facets: facets, Rules: []Summary{}}
	if from := (page - 1) * per; from < len(matched) {
		for _, i := range matched[from:min(from+per, len(matched))] {
			res.Rules = append(res.Rules, idx.rows[i].sum)
		}
	}
	return res, nil
}

// fullText returns the rules matching an FTS5 query with their bm25 scores.
func (s *Store) fullText(match string) (map[int64]float64, error) {
	rows, err := s.db.Query(`SELECT rowid, `+ftsRank+` FROM rules_fts WHERE rules_fts MATCH ?`, match)
	if err != nil {
		return nil, fmt.Errorf("store: search %s: %w", match, err)
	}
	defer rows.Close()
	scores := map[int64]float64{}
	for rows.Next() {
		var n int64
		var score float64
		if err := rows.Scan(&n, &score); err != nil {
			return nil, fmt.Errorf("store: search %s: %w", match, err)
		}
		scores[n] = score
	}
	return scores, rows.Err()
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

// upperIDs returns the ids trimmed and in upper case, in a new slice: the caller's is kept.
func upperIDs(ids []string) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.ToUpper(strings.TrimSpace(id))
	}
	return out
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
