package engine

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// A regular expression's prefilter is what every text it matches holds: pieces of literal
// text, some of which must be found before the expression is worth running. It is a list of
// alternatives lists: the text holds one literal of each list. (?i)(Get-Item|gci).{1,64}-Path
// gives [[get-item gci] [-path]]. The literals are lower-cased and looked for in the
// lower-cased text: a text the expression matches, case-sensitively or not, holds them so.

const (
	maxPrefilterAlts  = 16 // literals in one alternatives list
	maxPrefilterLists = 3  // lists tested, the most telling first
)

// reInfo is what the analysis knows of a node: every text it can match, when they are few
// (exact, nil when unknown), and lists of which every match holds one literal each (req).
type reInfo struct {
	exact []string
	req   [][]string
}

// regexPrefilter returns the prefilter of a regular expression, nil when it has none.
func regexPrefilter(expr string) [][]byte {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	info := analyseRegexp(re.Simplify())
	lists := info.req
	if info.exact != nil {
		lists = append(lists, info.exact)
	}
	var useful [][]string
	for _, l := range lists {
		if len(l) > 0 && len(l) <= maxPrefilterAlts && !slices.Contains(l, "") {
			useful = append(useful, l)
		}
	}
	// The list whose shortest literal is longest tells most.
	slices.SortStableFunc(useful, func(a, b []string) int { return shortestLen(b) - shortestLen(a) })
	if len(useful) > maxPrefilterLists {
		useful = useful[:maxPrefilterLists]
	}
	var out [][]byte
	for _, l := range useful {
		for _, s := range l {
			out = append(out, []byte(s))
		}
		out = append(out, nil) // ends a list
	}
	return out
}

// prefilterHolds reports whether the lower-cased text holds a literal of each list of the
// prefilter (lists end with nil).
func prefilterHolds(pf [][]byte, lower []byte) bool {
	found := false
	for _, lit := range pf {
		switch {
		case lit == nil:
			if !found {
				return false
			}
			found = false
		case !found:
			found = bytes.Contains(lower, lit)
		}
	}
	return true
}

func analyseRegexp(re *syntax.Regexp) reInfo {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return reInfo{exact: []string{""}}
	case syntax.OpLiteral:
		s := string(re.Rune)
		if !isASCII(s) {
			// Folding outside ASCII differs between the regexp package and Event.lower:
			// only the longest ASCII run is sure to be found lower-cased.
			var run string
			for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) {
				if len(part) > len(run) {
					run = part
				}
			}
			if run == "" {
				return reInfo{}
			}
			return reInfo{req: [][]string{{strings.ToLower(run)}}}
		}
		return reInfo{exact: []string{strings.ToLower(s)}}
	case syntax.OpCharClass:
		var alts []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if r >= utf8.RuneSelf || len(alts) > maxPrefilterAlts {
					return reInfo{}
				}
				if s := strings.ToLower(string(r)); !slices.Contains(alts, s) {
					alts = append(alts, s)
				}
			}
		}
		if len(alts) == 0 || len(alts) > 4 {
			return reInfo{} // a wide class tells little
		}
		return reInfo{exact: alts}
	case syntax.OpCapture:
		return analyseRegexp(re.Sub[0])
	case syntax.OpQuest:
		sub := analyseRegexp(re.Sub[0])
		if sub.exact != nil && len(sub.exact) < maxPrefilterAlts {
			return reInfo{exact: union([]string{""}, sub.exact)}
		}
		return reInfo{}
	case syntax.OpPlus:
		sub := analyseRegexp(re.Sub[0])
		return reInfo{req: sub.lists()}
	case syntax.OpConcat:
		return analyseConcat(re.Sub)
	case syntax.OpAlternate:
		return analyseAlternate(re.Sub)
	}
	// Any character, x*, and repeats that Simplify left: nothing known.
	return reInfo{}
}

// lists returns every list the node's matches hold a literal of, its exact texts among them.
func (i reInfo) lists() [][]string {
	if i.exact == nil {
		return i.req
	}
	return append(slices.Clip(i.req), i.exact)
}

// analyseConcat joins the exact texts of consecutive pieces (cross products, while small) into
// longer literals, and gathers every piece's lists.
func analyseConcat(subs []*syntax.Regexp) reInfo {
	var out reInfo
	run := []string{""} // the exact texts of the pieces since the last unknown one
	allExact := true
	flush := func() {
		if !(len(run) == 1 && run[0] == "") {
			out.req = append(out.req, run)
		}
		run = []string{""}
	}
	for _, sub := range subs {
		info := analyseRegexp(sub)
		out.req = append(out.req, info.req...)
		if info.exact == nil {
			allExact = false
			flush()
			continue
		}
		if len(run)*len(info.exact) > maxPrefilterAlts {
			allExact = false
			flush()
			run = info.exact
			continue
		}
		var next []string
		for _, a := range run {
			for _, b := range info.exact {
				next = union(next, []string{a + b})
			}
		}
		run = next
	}
	if allExact {
		return reInfo{exact: run, req: out.req}
	}
	flush()
	return out
}

// analyseAlternate: a match is a match of one branch, so it holds a literal of the union of one
// list per branch (each branch's most telling one); a branch with no list leaves none.
func analyseAlternate(subs []*syntax.Regexp) reInfo {
	var exact, anyOf []string
	allExact, allLists := true, true
	for _, sub := range subs {
		info := analyseRegexp(sub)
		if info.exact == nil {
			allExact = false
		}
		exact = union(exact, info.exact)
		if best := bestList(info.lists()); best != nil {
			anyOf = union(anyOf, best)
		} else {
			allLists = false
		}
	}
	switch {
	case allExact && len(exact) <= maxPrefilterAlts:
		return reInfo{exact: exact}
	case allLists && len(anyOf) <= maxPrefilterAlts:
		return reInfo{req: [][]string{anyOf}}
	}
	return reInfo{}
}

// bestList returns the list whose shortest literal is longest, nil when every list holds the
// empty text (which tells nothing).
func bestList(lists [][]string) []string {
	var best []string
	bestLen := 0
	for _, l := range lists {
		if len(l) == 0 || len(l) > maxPrefilterAlts {
			continue
		}
		if n := shortestLen(l); n > bestLen {
			best, bestLen = l, n
		}
	}
	return best
}

// shortestLen returns the length of a list's shortest literal (the list is not empty).
func shortestLen(l []string) int {
	n := len(l[0])
	for _, s := range l[1:] {
		n = min(n, len(s))
	}
	return n
}

func union(a, b []string) []string {
	out := slices.Clip(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
