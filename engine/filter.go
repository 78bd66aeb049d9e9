package engine

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Sigma filter rules (Sigma filters specification, "Global filter") tune other rules without
// editing them: a filter names rules by id or name (or "any"), has a log source and a
// condition, and a rule it applies to matches only where the filter's condition holds too. A
// filter is usually written "not selection": the rule stays silent on what the selection
// describes (an administration account, a known tool). As pySigma does, a filter applies to
// a rule it names only when the rule's log source is within the filter's (each of the
// filter's product, category and service is absent or the rule's own), and never to a
// correlation: to tune one, a filter names its base rules.
//
// A filter's condition is compiled into each rule it applies to, stream by stream, so that
// its fields are read as the rule's are (Image is NewProcessName in Security 4688 events);
// the filter's own log source only chooses the rules.

// applyFilters compiles the filter rules into the programs they apply to. It returns the
// programs, those with filters compiled anew, and the filters that apply to none, or to a
// program that could not be compiled with them, as skipped.
func applyFilters(progs []*Program, filters []*rule.Rule) ([]*Program, []Skipped) {
	if len(filters) == 0 {
		return progs, nil
	}
	used := make([]bool, len(filters))
	var skipped []Skipped
	out := make([]*Program, 0, len(progs))
	for _, p := range progs {
		var fs []*rule.Rule
		var fis []int
		for fi, f := range filters {
			if filterApplies(f, p) {
				fs, fis = append(fs, f), append(fis, fi)
			}
		}
		if len(fs) == 0 {
			out = append(out, p)
			continue
		}
		q, err := compile(p.Rule, fs)
		if err != nil {
			// The rule alone compiled: the filters did not. The rule is kept as it is.
			skipped = append(skipped, Skipped{Path: p.Rule.Source.Path, Title: p.Rule.Title, Reason: "filters not applied: " + err.Error()})
			out = append(out, p)
			continue
		}
		for _, fi := range fis {
			used[fi] = true
		}
		out = append(out, q)
	}
	for fi, f := range filters {
		if !used[fi] {
			skipped = append(skipped, Skipped{Path: f.Source.Path, Title: f.Title, Reason: "filter applies to no loaded rule: it names none, or none within its log source"})
		}
	}
	return out, skipped
}

// filterApplies reports whether filter f applies to program p: p is no correlation, f names
// p's rule (by id or name, or "any" or "all" alone for every rule), and p's log source is
// within f's.
func filterApplies(f *rule.Rule, p *Program) bool {
	if p.corr != nil || !logSourceWithin(p.Rule.LogSource, f.LogSource) {
		return false
	}
	if f.TunesEveryRule() {
		return true
	}
	for _, l := range f.Links {
		ref := strings.TrimSpace(l.Ref)
		// Ids are UUIDs, which compare without case.
		if ref != "" && (strings.EqualFold(ref, p.Rule.ID) || ref == p.Rule.Name) {
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

// Filters returns the Sigma filter rules compiled into the program.
func (p *Program) Filters() []*rule.Rule { return p.filterRules }
