package engine

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Sigma filter rules (Sigma filters specification, "Global filter") tune other rules without
// editing them: a filter names rules by id or name (or "any"), has a log source and a
// condition, and a rule it applies to matches only when the filter's condition holds too. A
// filter is usually written "not selection": the rule stays silent on what the selection
// describes (an administration account, a known tool). As pySigma does, a filter applies to
// a named rule only when the rule's log source is within the filter's (each of the filter's
// product, category and service is absent or the rule's own), and never to a correlation
// (its base rules are filtered instead, so the correlation counts only what they let through).

// linkFilters lists, for each program, the filter programs of the set that apply to it.
func (s *Set) linkFilters() {
	for _, p := range s.Programs {
		p.filters = p.filters[:0]
	}
	for fi, f := range s.Programs {
		if !f.filter || f.root == nil {
			continue
		}
		for _, p := range s.Programs {
			if p.filter || p.corr != nil || p.root == nil || !logSourceWithin(p.Rule.LogSource, f.Rule.LogSource) {
				continue
			}
			if filterNames(f, p) {
				p.filters = append(p.filters, fi)
			}
		}
	}
}

// filterNames reports whether filter f refers to program p's rule: by id or name, or with
// "any" (or "all") to every rule of its log source.
func filterNames(f, p *Program) bool {
	for _, l := range f.Rule.Links {
		ref := strings.TrimSpace(l.Ref)
		switch {
		case strings.EqualFold(ref, "any"), strings.EqualFold(ref, "all"):
			return true
		case ref != "" && (ref == p.Rule.ID || ref == p.Rule.Name):
			return true
		}
	}
	return false
}

// logSourceWithin reports whether log source r is within f: every part f names, r has alike.
func logSourceWithin(r, f rule.LogSource) bool {
	within := func(rv, fv string) bool { return fv == "" || strings.EqualFold(rv, fv) }
	return within(r.Product, f.Product) && within(r.Category, f.Category) && within(r.Service, f.Service)
}

// passes reports whether the event passes every filter that applies to p.
func (s *Set) passes(p *Program, e *Event) bool {
	for _, fi := range p.filters {
		f := s.Programs[fi]
		if f.full && !e.full {
			s.scanFull(e)
		}
		if !f.Match(e) {
			return false
		}
	}
	return true
}

// IdleFilters returns the filter programs of the set that apply to none of its programs: they
// name no loaded rule, or none within their log source.
func (s *Set) IdleFilters() []*Program {
	used := make([]bool, len(s.Programs))
	for _, p := range s.Programs {
		for _, fi := range p.filters {
			used[fi] = true
		}
	}
	var idle []*Program
	for i, p := range s.Programs {
		if p.filter && !used[i] {
			idle = append(idle, p)
		}
	}
	return idle
}
