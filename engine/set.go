package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Set is the programs of a hunt with what they share: the trie of field paths they read (one
// slot per path) and an index over their discriminating equality predicates (eventName and
// eventSource for CloudTrail, EventID and Channel for Windows), so that an event is only
// tested against the programs that can match it.
type Set struct {
	Programs []*Program

	root    *pathNode
	nslots  int
	bySlot  map[string]int
	keyword bool // some program searches all string values

	// outSlots are the slots of the timeline columns (see outPaths), read for matches only.
	outSlots [][]int
	// records is the slot of a top-level Records field: an object holding an array there is
	// a CloudTrail envelope, whatever the position of the key.
	records int
	corr    *correlator

	// fast is the trie of the paths an event is scanned for first: top-level fields, what the
	// index and the always-tested programs read, the timeline and correlation fields. Only when
	// a candidate program reads deeper (full) is the event scanned again with root.
	fast  *pathNode
	paths [][]string // by slot

	levels []indexLevel
	always []int // programs no index level constrains and no required field filters
	// byRequired groups the other unconstrained programs by a field they cannot match without:
	// one presence test skips the group.
	byRequired []requiredGroup
}

type requiredGroup struct {
	slots []int
	progs []int
}

// indexLevel maps the lower-cased values of one field to the programs requiring one of them.
type indexLevel struct {
	name  string
	slots []int
	byVal map[string][]int
}

// NewSet builds a set from compiled programs. Correlation programs are kept (Run evaluates them
// over base rule matches) but never tested against events directly.
func NewSet(progs []*Program) *Set {
	s := &Set{Programs: progs, root: newPathNode(), bySlot: map[string]int{}}
	for _, p := range progs {
		p.slots = make([][]int, len(p.fields))
		for i, f := range p.fields {
			for _, path := range f.paths {
				p.slots[i] = append(p.slots[i], s.slot(path))
			}
		}
		if p.keyword {
			s.keyword = true
		}
	}
	for _, paths := range outPaths {
		var slots []int
		for _, path := range paths {
			slots = append(slots, s.slot(strings.Split(path, ".")))
		}
		s.outSlots = append(s.outSlots, slots)
	}
	s.records = s.slot([]string{"Records"})
	s.corr = newCorrelator(s)
	s.buildIndex()
	s.buildFast()
	s.root.seal()
	return s
}

// buildFast builds the first-pass trie and marks the programs that need the second.
func (s *Set) buildFast() {
	in := make([]bool, s.nslots)
	for slot, p := range s.paths {
		if len(p) == 1 {
			in[slot] = true
		}
	}
	mark := func(slots []int) {
		for _, sl := range slots {
			in[sl] = true
		}
	}
	for _, l := range s.levels {
		mark(l.slots)
	}
	for _, g := range s.byRequired {
		mark(g.slots)
	}
	for _, c := range s.outSlots {
		mark(c)
	}
	for _, refs := range s.corr.bases {
		for _, br := range refs {
			for _, g := range br.groupSlots {
				mark(g)
			}
			mark(br.valueSlots)
		}
	}
	for _, i := range s.always {
		for _, sl := range s.Programs[i].slots {
			mark(sl)
		}
	}
	// Paths most programs read (the log source guards) belong in the first pass too.
	users := make([]int, s.nslots)
	for _, p := range s.Programs {
		for _, sl := range p.slots {
			for _, x := range sl {
				users[x]++
			}
		}
	}
	for slot, n := range users {
		if 4*n > len(s.Programs) {
			in[slot] = true
		}
	}
	s.fast = newPathNode()
	for slot, p := range s.paths {
		if in[slot] {
			s.fast.add(p).slot = slot
		}
	}
	for _, p := range s.Programs {
		p.full = false
		for _, sl := range p.slots {
			for _, x := range sl {
				if !in[x] {
					p.full = true
				}
			}
		}
	}
	s.fast.seal()
}

// slot returns the slot of a path, adding it to the trie.
func (s *Set) slot(path []string) int {
	key := strings.Join(path, "\x00")
	slot, ok := s.bySlot[key]
	if !ok {
		slot = s.nslots
		s.nslots++
		s.bySlot[key] = slot
		s.root.add(path).slot = slot
		s.paths = append(s.paths, path)
	}
	return slot
}

// column returns the first scalar value of a timeline column in the event.
func (s *Set) column(e *Event, col int) []byte {
	for _, slot := range s.outSlots[col] {
		if vs := e.values(slot); len(vs) > 0 && vs[0].kind != kNull && vs[0].kind != kObject && vs[0].kind != kArray {
			return e.text(&vs[0])
		}
	}
	return nil
}

// buildIndex picks, greedily, the fields whose equality values constrain the most remaining
// programs, up to three levels.
func (s *Set) buildIndex() {
	type fieldKey struct {
		name  string
		slots string
	}
	cons := make([]map[fieldKey]map[string]bool, len(s.Programs))
	slotsOf := map[fieldKey][]int{}
	remaining := map[int]bool{}
	for i, p := range s.Programs {
		if p.root == nil {
			continue
		}
		remaining[i] = true
		c := p.constraints(p.root)
		if len(c) == 0 {
			continue
		}
		m := map[fieldKey]map[string]bool{}
		for f, vals := range c {
			k := fieldKey{p.fields[f].name, slotsKey(p.slots[f])}
			slotsOf[k] = p.slots[f]
			m[k] = vals
		}
		cons[i] = m
	}
	for level := 0; level < 3 && len(remaining) > 0; level++ {
		count := map[fieldKey]int{}
		for i := range remaining {
			for k := range cons[i] {
				count[k]++
			}
		}
		var best fieldKey
		bestN := 0
		for k, n := range count {
			if n > bestN || (n == bestN && k.name < best.name) {
				best, bestN = k, n
			}
		}
		if bestN < 2 {
			break
		}
		l := indexLevel{name: best.name, slots: slotsOf[best], byVal: map[string][]int{}}
		for i := range remaining {
			vals, ok := cons[i][best]
			if !ok {
				continue
			}
			for v := range vals {
				l.byVal[v] = append(l.byVal[v], i)
			}
			delete(remaining, i)
		}
		for v := range l.byVal {
			sort.Ints(l.byVal[v])
		}
		s.levels = append(s.levels, l)
	}
	groups := map[string]*requiredGroup{}
	for i := range remaining {
		p := s.Programs[i]
		f := -1
		for rf := range p.requires(p.root) {
			// Any required field will do; the first by name keeps the grouping deterministic.
			if f < 0 || p.fields[rf].name < p.fields[f].name {
				f = rf
			}
		}
		if f < 0 {
			s.always = append(s.always, i)
			continue
		}
		key := slotsKey(p.slots[f])
		g := groups[key]
		if g == nil {
			g = &requiredGroup{slots: p.slots[f]}
			groups[key] = g
		}
		g.progs = append(g.progs, i)
	}
	sort.Ints(s.always)
	for _, g := range groups {
		sort.Ints(g.progs)
		s.byRequired = append(s.byRequired, *g)
	}
	sort.Slice(s.byRequired, func(i, j int) bool { return s.byRequired[i].progs[0] < s.byRequired[j].progs[0] })
}

func slotsKey(slots []int) string { return fmt.Sprint(slots) }

// constraints returns, per local field, the lower-cased values one of which the field must
// equal for the node to hold; fields with no such requirement are absent.
func (p *Program) constraints(n *node) map[int]map[string]bool {
	switch n.op {
	case opPred:
		pr := n.pred
		if pr.kind != "eq" || pr.negated || pr.field < 0 || len(pr.groups) == 0 {
			return nil
		}
		vals := map[string]bool{}
		for _, g := range pr.groups {
			for _, m := range g {
				if m.op != mEq || m.isNum {
					return nil
				}
				vals[strings.ToLower(string(m.lit))] = true
			}
		}
		return map[int]map[string]bool{pr.field: vals}
	case opAnd:
		out := map[int]map[string]bool{}
		for _, k := range n.kids {
			for f, vals := range p.constraints(k) {
				if prev, ok := out[f]; ok {
					inter := map[string]bool{}
					for v := range vals {
						if prev[v] {
							inter[v] = true
						}
					}
					vals = inter
				}
				out[f] = vals
			}
		}
		return out
	case opOr, opAtLeast:
		var out map[int]map[string]bool
		for i, k := range n.kids {
			c := p.constraints(k)
			if i == 0 {
				out = c
				continue
			}
			merged := map[int]map[string]bool{}
			for f, vals := range out {
				if other, ok := c[f]; ok {
					u := map[string]bool{}
					for v := range vals {
						u[v] = true
					}
					for v := range other {
						u[v] = true
					}
					merged[f] = u
				}
			}
			out = merged
		}
		return out
	}
	return nil
}

// requires returns the local fields that must be present in an event for the node to hold.
// A missing field fails every predicate but null and exists: false, negated ones included.
func (p *Program) requires(n *node) map[int]bool {
	switch n.op {
	case opPred:
		pr := n.pred
		if pr.field < 0 || pr.kind == "null" || (pr.kind == "exists" && !pr.want) {
			return nil
		}
		return map[int]bool{pr.field: true}
	case opAnd:
		out := map[int]bool{}
		for _, k := range n.kids {
			for f := range p.requires(k) {
				out[f] = true
			}
		}
		return out
	case opOr, opAtLeast:
		var out map[int]bool
		for i, k := range n.kids {
			r := p.requires(k)
			if i == 0 {
				out = r
				continue
			}
			for f := range out {
				if !r[f] {
					delete(out, f)
				}
			}
		}
		return out
	}
	return nil
}

// candidates appends to dst the indexes of the programs the event may match, in load order.
func (s *Set) candidates(e *Event, dst []int) []int {
	start := len(dst)
	for li := range s.levels {
		l := &s.levels[li]
		for _, slot := range l.slots {
			vs := e.values(slot)
			for i := range vs {
				if vs[i].kind != kString && vs[i].kind != kNumber {
					continue
				}
				dst = append(dst, l.byVal[string(e.lower(&vs[i]))]...)
			}
		}
	}
	dst = append(dst, s.always...)
	for gi := range s.byRequired {
		g := &s.byRequired[gi]
		for _, slot := range g.slots {
			if len(e.values(slot)) > 0 {
				dst = append(dst, g.progs...)
				break
			}
		}
	}
	c := dst[start:]
	slices.Sort(c)
	c = slices.Compact(c)
	return dst[:start+len(c)]
}

// scan fills the event's field values from its bytes (a whole document).
func (s *Set) scan(e *Event) error {
	end, err := s.scanAt(e, 0)
	if err != nil {
		return err
	}
	if skipWS(e.buf, end) != len(e.buf) {
		return synErr(end, "unexpected data after the JSON value")
	}
	return nil
}

// scanAt scans the value at offset i of the event's document as the event, and returns the
// offset after it.
func (s *Set) scanAt(e *Event, i int) (int, error) {
	e.full = s.fast == nil
	root := s.fast
	if e.full {
		root = s.root
	}
	e.sc.reset(s.nslots)
	e.arena = e.arena[:0]
	e.all = e.all[:0]
	e.allOK = false
	i = skipWS(e.buf, i)
	end, err := e.sc.value(i, root)
	if err != nil {
		return end, err
	}
	e.Raw = e.buf[i:end]
	return end, nil
}

// lateRecords returns the offset of the '[' of the event's top-level Records array, or -1
// when it has none: the event, scanned, is then a CloudTrail envelope whose first key is not
// Records.
func (s *Set) lateRecords(e *Event) int {
	vs := e.values(s.records)
	if len(vs) == 0 || e.buf[skipWS(e.buf, 0)] != '{' {
		return -1
	}
	v := vs[0]
	if v.kind == kArray {
		return int(v.start) // an empty array
	}
	// The first element's value: step back over white space to the bracket.
	i := int(v.start)
	if v.kind == kString {
		i-- // the opening quote
	}
	for i > 0 && wsTable[e.buf[i-1]] {
		i--
	}
	if i == 0 || e.buf[i-1] != '[' {
		return -1 // Records is not an array
	}
	return i - 1
}

// Match appends to dst the indexes of the programs matching the event, in load order.
func (s *Set) Match(e *Event, dst []int) []int {
	start := len(dst)
	dst = s.candidates(e, dst)
	out := dst[:start]
	for _, i := range dst[start:] {
		p := s.Programs[i]
		if p.full && !e.full {
			s.scanFull(e)
		}
		if p.corr == nil && p.Match(e) {
			out = append(out, i)
		}
	}
	return out
}

// scanFull scans the event again for every referenced path (the first pass read only some).
func (s *Set) scanFull(e *Event) {
	off := cap(e.buf) - cap(e.Raw)
	e.sc.reset(s.nslots)
	e.arena = e.arena[:0]
	e.sc.value(off, s.root) //nolint:errcheck // the first pass read the same bytes without error
	e.full = true
}
