package catalog

import (
	"cmp"
	"slices"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// sameActionLimit bounds the same-action list of a rule whose events are shared by very many
// rules (Sysmon process creation has thousands): the page keeps those sharing the most
// indicators and links the event page for the rest.
const sameActionLimit = 50

// similarLimit is how many similar rules a rule lists.
const similarLimit = 10

// indicatorKey identifies an indicator value across the catalog: the canonical field, the kind
// and the value, folded to lower case unless the rule compares case-sensitively.
type indicatorKey struct {
	canonical string
	kind      rule.Kind
	value     string
	cased     bool
}

func keyOf(canonical string, kind rule.Kind, value string, cased bool) indicatorKey {
	if !cased {
		value = strings.ToLower(value)
	}
	return indicatorKey{canonical: strings.ToLower(canonical), kind: kind, value: value, cased: cased}
}

// indicators flattens a rule's positive predicates into rows of (field, kind, cased) with their
// values, sorted by field then kind. Predicates with no value to look for (exists, null) and
// placeholders are left out: they say nothing an analyst could search for.
func indicators(r *rule.Rule) []rule.Indicator {
	type rowKey struct {
		field string
		kind  rule.Kind
		cased bool
	}
	rows := map[rowKey]*rule.Indicator{}
	seen := map[rowKey]map[string]bool{}
	var order []rowKey
	for _, p := range r.PositivePredicates() {
		switch p.Kind {
		case rule.KindExists, rule.KindNull:
			continue
		}
		if p.Flags.Placeholder || len(p.Values) == 0 {
			continue
		}
		canonical := p.Canonical
		if canonical == "" {
			canonical = p.Field
		}
		k := rowKey{field: p.Field, kind: p.Kind, cased: p.Flags.Cased}
		row := rows[k]
		if row == nil {
			row = &rule.Indicator{Field: p.Field, Canonical: canonical, Kind: p.Kind, Cased: p.Flags.Cased}
			rows[k] = row
			seen[k] = map[string]bool{}
			order = append(order, k)
		}
		for _, v := range p.Values {
			if seen[k][v] {
				continue
			}
			seen[k][v] = true
			row.Values = append(row.Values, rule.IndicatorValue{Value: v})
		}
	}
	out := make([]rule.Indicator, 0, len(order))
	for _, k := range order {
		out = append(out, *rows[k])
	}
	slices.SortStableFunc(out, func(a, b rule.Indicator) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Field), strings.ToLower(b.Field)),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Kind, b.Kind),
		)
	})
	return out
}

// analysis holds what the catalog computes across rules.
type analysis struct {
	rules []*rule.Rule
	// keys[i] are rule i's distinct indicator keys, as interned ids in ascending order.
	keys [][]int32
}

// analyse fills Indicators (with corpus counts), SameAction and Similar on every rule. Rules
// must already be deduplicated (one per id) and annotated with events.
func analyse(rules []*rule.Rule) {
	a := &analysis{rules: rules, keys: make([][]int32, len(rules))}
	ids := map[indicatorKey]int32{}
	var counts []int
	for i, r := range rules {
		r.Indicators = indicators(r)
		set := map[int32]bool{}
		for _, ind := range r.Indicators {
			for _, v := range ind.Values {
				k := keyOf(ind.Canonical, ind.Kind, v.Value, ind.Cased)
				id, ok := ids[k]
				if !ok {
					id = int32(len(counts))
					ids[k] = id
					counts = append(counts, 0)
				}
				if !set[id] {
					set[id] = true
					counts[id]++
					a.keys[i] = append(a.keys[i], id)
				}
			}
		}
		slices.Sort(a.keys[i])
	}
	for _, r := range rules {
		for j := range r.Indicators {
			ind := &r.Indicators[j]
			for k := range ind.Values {
				ind.Values[k].Corpus = counts[ids[keyOf(ind.Canonical, ind.Kind, ind.Values[k].Value, ind.Cased)]]
			}
		}
	}
	a.sameAction()
	a.similar(counts)
}

type eventKey struct{ provider, event string }

// sameAction links every rule to the other rules, of any platform, sharing at least one
// (provider, event); a rule covering a whole provider (_catch_all) only matches others that
// do too, so that "any IAM call" does not claim to be the same action as CreateUser.
func (a *analysis) sameAction() {
	rank := a.titleRanks()
	byEvent := map[eventKey][]int{}
	for i, r := range a.rules {
		for _, e := range r.Events {
			k := eventKey{e.Provider, e.Event}
			if l := byEvent[k]; len(l) == 0 || l[len(l)-1] != i {
				byEvent[k] = append(byEvent[k], i)
			}
		}
	}
	// Rules watching the same events share one candidate list, ordered by title once.
	bySignature := map[string][]int{}
	shared := make([]int, len(a.rules))
	for i, r := range a.rules {
		r.SameActionMore = 0
		sig := eventSignature(r.Events)
		cand, ok := bySignature[sig]
		if !ok {
			for _, e := range r.Events {
				cand = append(cand, byEvent[eventKey{e.Provider, e.Event}]...)
			}
			slices.Sort(cand)
			cand = slices.Compact(cand)
			slices.SortFunc(cand, func(x, y int) int { return cmp.Compare(rank[x], rank[y]) })
			bySignature[sig] = cand
		}
		others := len(cand)
		if slices.Contains(cand, i) {
			others--
		}
		var picked []int
		if others <= sameActionLimit {
			picked = make([]int, 0, others)
			for _, j := range cand {
				if j != i {
					picked = append(picked, j)
				}
			}
		} else {
			// Keep the rules sharing the most indicators; ties, and rules sharing none, in
			// title order, which cand already has.
			var close, rest []int
			for _, j := range cand {
				if j == i {
					continue
				}
				if shared[j] = intersectCount(a.keys[i], a.keys[j]); shared[j] > 0 {
					close = append(close, j)
				} else if len(rest) < sameActionLimit {
					rest = append(rest, j)
				}
			}
			slices.SortStableFunc(close, func(x, y int) int { return cmp.Compare(shared[y], shared[x]) })
			picked = append(close, rest...)[:sameActionLimit]
			r.SameActionMore = others - sameActionLimit
			slices.SortFunc(picked, func(x, y int) int { return cmp.Compare(rank[x], rank[y]) })
		}
		refs := make([]rule.RuleRef, 0, len(picked))
		for _, j := range picked {
			refs = append(refs, refOf(a.rules[j]))
		}
		r.SameAction = refs
	}
}

func eventSignature(events []rule.Event) string {
	keys := make([]string, len(events))
	for i, e := range events {
		keys[i] = e.Provider + "\x00" + e.Event
	}
	slices.Sort(keys)
	return strings.Join(keys, "\x01")
}

// titleRanks orders the rules by title, case-insensitively, then id: lists of rules are
// shown in that order, and comparing ranks is far cheaper than folding titles in every sort.
func (a *analysis) titleRanks() []int {
	type entry struct {
		title, id string
		i         int
	}
	entries := make([]entry, len(a.rules))
	for i, r := range a.rules {
		entries[i] = entry{strings.ToLower(r.Title), r.ID, i}
	}
	slices.SortFunc(entries, func(x, y entry) int { return cmp.Or(cmp.Compare(x.title, y.title), cmp.Compare(x.id, y.id)) })
	rank := make([]int, len(a.rules))
	for n, e := range entries {
		rank[e.i] = n
	}
	return rank
}

// similar scores rule pairs by the Jaccard index of their indicator sets. Keys shared by more
// than commonKey rules are skipped when finding candidates: they are everywhere (an event
// source, cmd.exe) and would make the search quadratic without telling rules apart.
func (a *analysis) similar(counts []int) {
	const commonKey = 300
	const minScore = 0.3
	posting := make([][]int32, len(counts))
	for i, keys := range a.keys {
		for _, k := range keys {
			if counts[k] <= commonKey {
				posting[k] = append(posting[k], int32(i))
			}
		}
	}
	shared := make([]int32, len(a.rules))
	var touched []int32
	for i, r := range a.rules {
		touched = touched[:0]
		for _, k := range a.keys[i] {
			for _, j := range posting[k] {
				if int(j) == i {
					continue
				}
				if shared[j] == 0 {
					touched = append(touched, j)
				}
				shared[j]++
			}
		}
		var out []rule.Similar
		for _, j := range touched {
			inter := intersectCount(a.keys[i], a.keys[j]) // exact, including common keys
			union := len(a.keys[i]) + len(a.keys[j]) - inter
			shared[j] = 0
			if union == 0 {
				continue
			}
			score := float64(inter) / float64(union)
			if score >= minScore {
				out = append(out, rule.Similar{RuleRef: refOf(a.rules[j]), Score: float64(int(score*1000+0.5)) / 1000})
			}
		}
		slices.SortFunc(out, func(x, y rule.Similar) int {
			return cmp.Or(cmp.Compare(y.Score, x.Score), cmp.Compare(strings.ToLower(x.Title), strings.ToLower(y.Title)), cmp.Compare(x.ID, y.ID))
		})
		if len(out) > similarLimit {
			out = out[:similarLimit]
		}
		r.Similar = out
	}
}

func intersectCount(a, b []int32) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			n++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

func refOf(r *rule.Rule) rule.RuleRef {
	return rule.RuleRef{ID: r.ID, Title: r.Title, Platform: r.Platform}
}
