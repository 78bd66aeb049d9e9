package engine

import (
	"bytes"
	"slices"
)

// substrings finds which of a set of byte patterns occur in a text, in one pass over it: an
// Aho-Corasick automaton. Its trie is a tree of first children and next siblings; when the
// table of every transition on byte classes (bytes that occur in no pattern share one class)
// is small enough, the automaton is that table, one read per byte of text; otherwise (thousands
// of long patterns, such as the hashes of vulnerable drivers) it walks the tree and its
// failure links, in memory that grows with the patterns' length only.
type substrings struct {
	// few holds the patterns when there are so few that searching for each with bytes.Index,
	// which compares many bytes at a time, is faster than the automaton's byte by byte walk.
	few [][]byte
	n   int // patterns

	// The trie: per state, its first child, its next sibling and the byte leading to it;
	// children are in increasing byte order.
	child, sibling []int32
	label          []byte
	fail           []int32
	root           [256]int32 // the root's transitions, every byte

	// The table, when built: state*nclass+class → state, in two bytes (half the memory, and
	// more of the table in the caches, than four).
	nclass int
	class  [256]uint8
	delta  []uint16

	// Patterns ending at a state: ids[ends[s]:ends[s+1]]. report[s] is s when patterns end
	// there, else next[s], the nearest proper suffix state where some end, or -1.
	ends         []int32
	ids          []int32
	report, next []int32
}

// fewPatterns is how many patterns are searched for one by one rather than with an automaton.
const fewPatterns = 4

// maxTable bounds the transition table, in entries (4 MiB); past it, or past 65,536 states,
// the automaton walks the trie. The Windows rules' CommandLine pieces fit (1.5 million
// entries); the hashes of a driver block list do not.
const maxTable = 1 << 21

// newSubstrings builds the automaton of patterns (none of them empty).
func newSubstrings(patterns [][]byte) *substrings {
	a := &substrings{n: len(patterns)}
	if len(patterns) <= fewPatterns {
		a.few = patterns
		return a
	}
	// Inserted in sorted order, each pattern shares its prefix with the one before and adds
	// its new states as last children, so children stay in byte order.
	order := make([]int, len(patterns))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return bytes.Compare(patterns[x], patterns[y]) })
	a.child, a.sibling, a.label = []int32{-1}, []int32{-1}, []byte{0}
	endsAt := []int32{-1} // per state, a pattern ending there (more: see below)
	var more [][2]int32   // (state, pattern) for the patterns past the first ending at a state
	var path []int32      // states of the previous pattern, by depth
	var prev []byte
	for _, pi := range order {
		p := patterns[pi]
		shared := 0
		for shared < len(p) && shared < len(prev) && p[shared] == prev[shared] {
			shared++
		}
		path = path[:shared]
		s := int32(0)
		if shared > 0 {
			s = path[shared-1]
		}
		for _, c := range p[shared:] {
			t := int32(len(a.child))
			a.child, a.sibling, a.label = append(a.child, -1), append(a.sibling, -1), append(a.label, c)
			endsAt = append(endsAt, -1)
			if a.child[s] < 0 {
				a.child[s] = t
			} else {
				last := a.child[s]
				for a.sibling[last] >= 0 {
					last = a.sibling[last]
				}
				a.sibling[last] = t
			}
			s = t
			path = append(path, s)
		}
		if endsAt[s] < 0 {
			endsAt[s] = int32(pi)
		} else {
			more = append(more, [2]int32{s, int32(pi)})
		}
		prev = p
	}
	states := len(a.child)
	a.ends = make([]int32, states+1)
	for s, pi := range endsAt {
		if pi >= 0 {
			a.ends[s+1]++
		}
	}
	for _, m := range more {
		a.ends[m[0]+1]++
	}
	for s := range states {
		a.ends[s+1] += a.ends[s]
	}
	a.ids = make([]int32, a.ends[states])
	fill := slices.Clone(a.ends[:states])
	for s, pi := range endsAt {
		if pi >= 0 {
			a.ids[fill[s]] = pi
			fill[s]++
		}
	}
	for _, m := range more {
		a.ids[fill[m[0]]] = m[1]
		fill[m[0]]++
	}
	a.link()
	if nclass := a.classes(patterns); nclass <= 256 && states*nclass <= maxTable && states <= 1<<16 {
		a.table()
	}
	return a
}

// link computes the failure links and the report chains, breadth first.
func (a *substrings) link() {
	states := len(a.child)
	a.fail = make([]int32, states)
	a.next = make([]int32, states)
	a.report = make([]int32, states)
	a.next[0], a.report[0] = -1, -1
	for c := range a.root {
		a.root[c] = 0
	}
	queue := []int32{}
	for t := a.child[0]; t >= 0; t = a.sibling[t] {
		a.root[a.label[t]] = t
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := a.fail[s]
		if a.ends[f+1] > a.ends[f] {
			a.next[s] = f
		} else {
			a.next[s] = a.next[f]
		}
		if a.ends[s+1] > a.ends[s] {
			a.report[s] = s
		} else {
			a.report[s] = a.next[s]
		}
		for t := a.child[s]; t >= 0; t = a.sibling[t] {
			a.fail[t] = a.walk(f, a.label[t])
			queue = append(queue, t)
		}
	}
}

// classes numbers the bytes the patterns use and returns how many classes there are, 257 when
// the patterns use every byte (then there is no table: a class is a byte).
func (a *substrings) classes(patterns [][]byte) int {
	used := [256]bool{}
	n := 0
	for _, p := range patterns {
		for _, c := range p {
			if !used[c] {
				used[c] = true
				n++
			}
		}
	}
	if n == 256 {
		return 257
	}
	a.nclass = 1 // class 0: bytes in no pattern
	for c := range 256 {
		if used[c] {
			a.class[c] = uint8(a.nclass)
			a.nclass++
		}
	}
	return a.nclass
}

// table fills the transition table: a trie child where there is one, else the failure
// state's transition, which breadth-first order has already filled.
func (a *substrings) table() {
	a.delta = make([]uint16, len(a.child)*a.nclass)
	var byClass [256]byte // a byte of each class
	for c := 255; c >= 0; c-- {
		byClass[a.class[c]] = byte(c)
	}
	for c := range a.nclass {
		a.delta[c] = uint16(a.root[byClass[c]])
	}
	queue := []int32{}
	for t := a.child[0]; t >= 0; t = a.sibling[t] {
		queue = append(queue, t)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		row, frow := a.delta[int(s)*a.nclass:], a.delta[int(a.fail[s])*a.nclass:]
		copy(row[:a.nclass], frow[:a.nclass])
		for t := a.child[s]; t >= 0; t = a.sibling[t] {
			row[a.class[a.label[t]]] = uint16(t)
			queue = append(queue, t)
		}
	}
}

// walk is the transition from s on c through the trie and the failure links.
func (a *substrings) walk(s int32, c byte) int32 {
	for s != 0 {
		for t := a.child[s]; t >= 0 && a.label[t] <= c; t = a.sibling[t] {
			if a.label[t] == c {
				return t
			}
		}
		s = a.fail[s]
	}
	return a.root[c]
}

// step is the transition from s on c.
func (a *substrings) step(s int32, c byte) int32 {
	if a.delta != nil {
		return int32(a.delta[int(s)*a.nclass+int(a.class[c])])
	}
	return a.walk(s, c)
}

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
		s = a.step(s, c)
		for t := a.report[s]; t >= 0; t = a.next[t] {
			for _, p := range a.ids[a.ends[t]:a.ends[t+1]] {
				found(p)
			}
		}
	}
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
		if s = a.step(s, c); a.report[s] >= 0 {
			return true
		}
	}
	return false
}
