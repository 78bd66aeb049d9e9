package catalog

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// parsed is a rule as read from one source, before deduplication.
type parsed struct {
	rule   *rule.Rule
	source int // index of the source in build order
}

// assignID gives a rule without an id a stable one derived from where it was read, so its
// page keeps its address across builds.
func assignID(r *rule.Rule) {
	if r.ID != "" {
		return
	}
	sum := sha1.Sum([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%s", r.Source.Corpus, r.Source.Path, r.Source.Line, r.Title)))
	r.ID = "ra-" + hex.EncodeToString(sum[:8])
}

// dedupe keeps one rule per id: the first source wins and later sources holding the same id
// are listed on it as mirrors. The same id twice within one source is a mistake in that
// corpus: the second is reported, not silently merged.
func dedupe(all []parsed) (rules []*rule.Rule, failures []Failure) {
	// Documents of one Sigma v1 collection inherit the id of its global document: they are
	// parts of one rule, each listed under the id and its position in the file. Renaming them
	// before comparing sources pairs the same file in two sources document by document.
	type fileKey struct {
		source int
		path   string
	}
	inFile := map[fileKey]map[string]int{}
	for _, p := range all {
		k := fileKey{p.source, p.rule.Source.Path}
		seen := inFile[k]
		if seen == nil {
			seen = map[string]int{}
			inFile[k] = seen
		}
		id := p.rule.ID
		seen[id]++
		if n := seen[id]; n > 1 {
			p.rule.ID = fmt.Sprintf("%s-%d", id, n)
			p.rule.Notes = append(p.rule.Notes, rule.Note{Stage: -1, Message: fmt.Sprintf("a document of a collection sharing id %s, listed as %s", id, p.rule.ID)})
		}
	}
	type first struct {
		r      *rule.Rule
		source int
	}
	byID := map[string]first{}
	for _, p := range all {
		f, ok := byID[p.rule.ID]
		switch {
		case !ok:
			byID[p.rule.ID] = first{p.rule, p.source}
			rules = append(rules, p.rule)
		case f.source == p.source:
			failures = append(failures, Failure{
				File:     p.rule.Source.Corpus + "/" + p.rule.Source.Path,
				Line:     max(p.rule.Source.Line, 1),
				Reason:   fmt.Sprintf("duplicate rule id %s (first in %s/%s)", p.rule.ID, f.r.Source.Corpus, f.r.Source.Path),
				Platform: p.rule.Platform,
			})
		default:
			f.r.Mirrors = append(f.r.Mirrors, p.rule.Source)
		}
	}
	return rules, failures
}

// resolveLinks fills the id and title of every link (correlation base rules, filter targets),
// looking the reference up by id, then by name, then by title; a rule in the same file is
// preferred, then one of the same corpus. A correlation rule watches the events of the rules
// it correlates, so it takes their events too.
func resolveLinks(rules []*rule.Rule) {
	type index map[string][]*rule.Rule
	byID, byName, byTitle := index{}, index{}, index{}
	for _, r := range rules {
		byID[strings.ToLower(r.ID)] = append(byID[strings.ToLower(r.ID)], r)
		if r.Name != "" {
			byName[strings.ToLower(r.Name)] = append(byName[strings.ToLower(r.Name)], r)
		}
		byTitle[strings.ToLower(r.Title)] = append(byTitle[strings.ToLower(r.Title)], r)
	}
	pick := func(from *rule.Rule, cands []*rule.Rule) *rule.Rule {
		var sameCorpus *rule.Rule
		for _, c := range cands {
			if c == from {
				continue
			}
			if c.Source.Corpus == from.Source.Corpus && c.Source.Path == from.Source.Path {
				return c
			}
			if sameCorpus == nil && c.Source.Corpus == from.Source.Corpus {
				sameCorpus = c
			}
		}
		if sameCorpus != nil {
			return sameCorpus
		}
		for _, c := range cands {
			if c != from {
				return c
			}
		}
		return nil
	}
	targets := map[*rule.Rule][]*rule.Rule{}
	for _, r := range rules {
		if r.TunesEveryRule() {
			continue // "any" names no rule
		}
		for i := range r.Links {
			l := &r.Links[i]
			ref := strings.ToLower(strings.TrimSpace(l.Ref))
			target := pick(r, byID[ref])
			if target == nil {
				target = pick(r, byName[ref])
			}
			if target == nil {
				target = pick(r, byTitle[ref])
			}
			if target == nil {
				r.Notes = append(r.Notes, rule.Note{Stage: -1, Message: fmt.Sprintf("referenced rule %q is not in the catalog", l.Ref)})
				continue
			}
			l.ID, l.Title = target.ID, target.Title
			targets[r] = append(targets[r], target)
		}
	}
	// Correlations may correlate correlations (correlation specification v2.1, "Related
	// rules"), so events flow down the whole chain, whatever order the files came in.
	done := map[*rule.Rule]bool{}
	var collect func(r *rule.Rule, path map[*rule.Rule]bool)
	collect = func(r *rule.Rule, path map[*rule.Rule]bool) {
		if done[r] || path[r] || r.Class != rule.ClassCorrelation {
			return
		}
		path[r] = true
		for _, t := range targets[r] {
			collect(t, path)
			for _, e := range t.Events {
				if !hasEvent(r.Events, e) {
					r.Events = append(r.Events, e)
				}
			}
		}
		delete(path, r)
		done[r] = true
	}
	for _, r := range rules {
		collect(r, map[*rule.Rule]bool{})
	}
}

func hasEvent(events []rule.Event, e rule.Event) bool {
	for _, x := range events {
		if x.Provider == e.Provider && x.Event == e.Event {
			return true
		}
	}
	return false
}
