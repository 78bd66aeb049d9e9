package engine

import "bytes"

// substrings finds which of a set of byte patterns occur in a text, in one pass over it: an
// Aho-Corasick automaton compiled to a table of transitions on byte classes (bytes that occur in
// no pattern share one class), so that each byte of the text costs one table read.
type substrings struct {
	// few holds the patterns when there are so few that searching for each with bytes.Index,
	// which compares many bytes at a time, is faster than the automaton's byte by byte walk.
	few    [][]byte
	nclass int
	class  [256]uint8
	delta  []int32   // state*nclass+class → state
	own    [][]int32 // per state: the patterns ending exactly there
	report []int32   // per state: itself when it ends patterns, else next[state]
	next   []int32   // per state: the nearest proper suffix state ending patterns, or -1
	n      int       // patterns
}

// newSubstrings builds the automaton of patterns (none of them empty).
func newSubstrings(patterns [][]byte) *substrings {
	a := &substrings{n: len(patterns)}
	if len(patterns) <= fewPatterns {
		a.few = patterns
		return a
	}
	used := [256]bool{}
	for _, p := range patterns {
		for _, c := range p {
			used[c] = true
		}
	}
	a.nclass = 1 // class 0: bytes in no pattern
	for c := range 256 {
		if used[c] {
			a.class[c] = uint8(a.nclass)
			a.nclass++
		}
	}
	// The trie, with transitions filled in as it grows.
	a.delta = make([]int32, a.nclass)
	a.own = [][]int32{nil}
	for i, p := range patterns {
		s := int32(0)
		for _, c := range p {
			k := int(s)*a.nclass + int(a.class[c])
			if a.delta[k] == 0 {
				a.delta[k] = int32(len(a.own))
				a.own = append(a.own, nil)
				a.delta = append(a.delta, make([]int32, a.nclass)...)
			}
			s = a.delta[k]
		}
		a.own[s] = append(a.own[s], int32(i))
	}
	// Breadth first: each state's failure is known before its children's, and missing
	// transitions are copied from the failure state, which makes the table a DFA.
	states := len(a.own)
	fail := make([]int32, states)
	a.next = make([]int32, states)
	a.report = make([]int32, states)
	a.next[0], a.report[0] = -1, -1
	queue := []int32{}
	for c := range a.nclass {
		if t := a.delta[c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		if len(a.own[f]) > 0 {
			a.next[s] = f
		} else {
			a.next[s] = a.next[f]
		}
		if len(a.own[s]) > 0 {
			a.report[s] = s
		} else {
			a.report[s] = a.next[s]
		}
		for c := range a.nclass {
			k := int(s)*a.nclass + c
			if t := a.delta[k]; t != 0 {
				fail[t] = a.delta[int(f)*a.nclass+c]
				queue = append(queue, t)
			} else {
				a.delta[k] = a.delta[int(f)*a.nclass+c]
			}
		}
	}
	return a
}

// any reports whether some pattern occurs in text.
func (a *substrings) any(text []byte) bool {
	if a.few != nil {
		for _, p := range a.few {
			if bytes.Contains(text, p) {
				return true
			}
		}
		return false
	}
	s := int32(0)
	for _, c := range text {
		s = a.delta[int(s)*a.nclass+int(a.class[c])]
		if a.report[s] >= 0 {
			return true
		}
	}
	return false
}

// fewPatterns is how many patterns are searched for one by one rather than with an automaton.
const fewPatterns = 4

// find calls found for each pattern occurring in text, at least once for each.
func (a *substrings) find(text []byte, found func(pattern int32)) {
	if a.few != nil {
		for i, p := range a.few {
			if bytes.Contains(text, p) {
				found(int32(i))
			}
		}
		return
	}
	s := int32(0)
	for _, c := range text {
		s = a.delta[int(s)*a.nclass+int(a.class[c])]
		for t := a.report[s]; t >= 0; t = a.next[t] {
			for _, p := range a.own[t] {
				found(p)
			}
		}
	}
}
