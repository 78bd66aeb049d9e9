package store

import (
	"fmt"
	"slices"
	"sort"
)

// facetIndex holds every rule's summary and facet values in memory, in list order (by title).
// A catalog never changes once open, and even a large one is a few megabytes here, so facet
// counts over all rules take a pass over a slice instead of one SQL aggregate per facet.
type facetIndex struct {
	rows   []indexRow
	pos    map[int64]int                // rules.n → index in rows
	labels map[string]map[string]string // facet → value → readable label
}

type indexRow struct {
	n          int64
	sum        Summary
	tactics    []string // distinct tactic ids
	techniques []string // distinct technique ids as cited
	techFilter []string // the same plus their parents: a filter on T1136 matches T1136.003

	counted, matched [][]string // per facet, by index in Facets: see values
}

func (s *Store) index() (*facetIndex, error) {
	s.indexOnce.Do(func() { s.idx, s.idxErr = s.loadIndex() })
	return s.idx, s.idxErr
}

func (s *Store) loadIndex() (*facetIndex, error) {
	rows, err := s.db.Query(`SELECT r.n, ` + summaryCols + ` FROM rules r ORDER BY r.title COLLATE NOCASE, r.n`)
	if err != nil {
		return nil, fmt.Errorf("store: index: %w", err)
	}
	idx := &facetIndex{pos: map[int64]int{}, labels: map[string]map[string]string{FacetTactic: {}, FacetTechnique: {}}}
	for rows.Next() {
		var row indexRow
		r := &row.sum
		if err := rows.Scan(&row.n, &r.ID, &r.Platform, &r.Language, &r.Class, &r.Title, &r.Status, &r.Severity,
			&r.Product, &r.Service, &r.Category, &r.Corpus, &r.Path, &r.Excerpt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: index: %w", err)
		}
		idx.pos[row.n] = len(idx.rows)
		idx.rows = append(idx.rows, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: index: %w", err)
	}
	rows, err = s.db.Query(`SELECT rule, tactic_id, tactic, technique_id, technique, parent FROM rule_attack`)
	if err != nil {
		return nil, fmt.Errorf("store: index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var tacID, tac, techID, tech, parent string
		if err := rows.Scan(&n, &tacID, &tac, &techID, &tech, &parent); err != nil {
			return nil, fmt.Errorf("store: index: %w", err)
		}
		i, ok := idx.pos[n]
		if !ok {
			continue
		}
		row := &idx.rows[i]
		if tacID != "" {
			row.tactics = addUnique(row.tactics, tacID)
			if idx.labels[FacetTactic][tacID] == "" {
				idx.labels[FacetTactic][tacID] = tac
			}
		}
		if techID != "" {
			row.techniques = addUnique(row.techniques, techID)
			row.techFilter = addUnique(row.techFilter, techID)
			if idx.labels[FacetTechnique][techID] == "" {
				idx.labels[FacetTechnique][techID] = tech
			}
		}
		if parent != "" {
			row.techFilter = addUnique(row.techFilter, parent)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: index: %w", err)
	}
	for i := range idx.rows {
		idx.rows[i].fill()
	}
	return idx, nil
}

func addUnique(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// values returns a row's values for a facet: the values it is counted under, and the values a
// filter on the facet matches.
func (r *indexRow) values(facet int) (counted, matched []string) {
	return r.counted[facet], r.matched[facet]
}

// fill precomputes the per-facet value lists once, so that a search allocates nothing per row.
func (r *indexRow) fill() {
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	r.counted = make([][]string, len(Facets))
	r.matched = make([][]string, len(Facets))
	for i, f := range Facets {
		switch f {
		case FacetPlatform:
			r.counted[i] = one(string(r.sum.Platform))
		case FacetProduct:
			r.counted[i] = one(r.sum.Product)
		case FacetService:
			r.counted[i] = one(r.sum.Service)
		case FacetSeverity:
			r.counted[i] = one(r.sum.Severity)
		case FacetStatus:
			r.counted[i] = one(r.sum.Status)
		case FacetTactic:
			r.counted[i] = r.tactics
		case FacetTechnique:
			r.counted[i] = r.techniques
		}
		r.matched[i] = r.counted[i]
		if f == FacetTechnique {
			r.matched[i] = r.techFilter
		}
	}
}

// search filters, counts facets and orders. scores, when not nil, holds the full-text matches
// (rules.n → bm25, lower is better) and restricts the rows to them.
func (idx *facetIndex) search(q *Query, scores map[int64]float64, withFacets bool) (matched []int, facets map[string][]FacetCount) {
	type filter struct {
		bit  uint
		vals []string
	}
	var filters []filter
	for i, f := range Facets {
		if vals := nonEmpty(q.Filter(f)); len(vals) > 0 {
			filters = append(filters, filter{uint(i), vals})
		}
	}
	all := uint(1)<<len(Facets) - 1
	var counts []map[string]int
	if withFacets {
		counts = make([]map[string]int, len(Facets))
		for i := range counts {
			counts[i] = map[string]int{}
		}
	}
	for i := range idx.rows {
		row := &idx.rows[i]
		if scores != nil {
			if _, ok := scores[row.n]; !ok {
				continue
			}
		}
		// pass has a bit set for every facet whose filter the row satisfies (or that has none).
		pass := all
		for _, f := range filters {
			_, vals := row.values(int(f.bit))
			if !intersects(vals, f.vals) {
				pass &^= 1 << f.bit
			}
		}
		if pass == all {
			matched = append(matched, i)
		}
		if !withFacets {
			continue
		}
		for b := range Facets {
			// A facet counts the rows that pass every other facet's filter.
			if pass|1<<b != all {
				continue
			}
			counted, _ := row.values(b)
			for _, v := range counted {
				counts[b][v]++
			}
		}
	}
	if scores != nil {
		// Rows are in title order already; a stable sort keeps it among equal scores.
		sort.SliceStable(matched, func(a, b int) bool {
			return scores[idx.rows[matched[a]].n] < scores[idx.rows[matched[b]].n]
		})
	}
	if !withFacets {
		return matched, nil
	}
	facets = make(map[string][]FacetCount, len(Facets))
	for b, f := range Facets {
		list := make([]FacetCount, 0, len(counts[b]))
		for v, c := range counts[b] {
			list = append(list, FacetCount{Value: v, Label: idx.labels[f][v], Count: c})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			return list[i].Value < list[j].Value
		})
		if len(list) > maxFacetValues {
			list = list[:maxFacetValues]
		}
		facets[f] = list
	}
	return matched, facets
}

func intersects(have, want []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}
