package engine

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// The index tells, for an event, which programs can match it, so that the others are not
// evaluated. Each program is filed under a set of atoms at least one of which every event it
// matches has: a field equal to a value (eventName: CreateUser), a path ending in a file name
// (Image|endswith '\certutil.exe': the name after the last separator is certutil.exe), a
// number (EventID 4688), a field holding a piece of text (CommandLine|contains '-urlcache',
// and the literal parts of wildcards and regular expressions). An event looks up its own atoms
// (the pieces of text all at once, with one automaton per field) and gets the programs filed
// under them. The index only narrows: the programs it returns are evaluated in full.
//
// A program's atoms come from its condition: a predicate gives its values; AND takes one of its
// operands' atoms; OR (and "N of") the union of every operand's. Among the operands of an AND,
// the index takes the atoms fewest programs share: a rule's own image name rather than the
// log source guard that a thousand rules have in common (Sysmon's channel, say).

// keyKind is how an event's value is turned into the text looked up.
type keyKind uint8

const (
	keyEq   keyKind = iota // the value, lower-cased
	keyBase                // the value's last path element (after the last \ or /), lower-cased
	keyNum                 // the value as a number, in canonical form
	keyText                // a piece of the value, lower-cased
)

// indexKey is one way of reading a field for the index: its slots and the key kind.
type indexKey struct {
	kind  keyKind
	slots string
}

// atom is one value of an index key.
type atom struct {
	key indexKey
	val string
}

// fieldIndex maps the values of one index key to the programs filed under them. For pieces of
// text, the values are the patterns of an automaton: pattern i is pieces[i], its programs
// byPiece[i], and seen[first+i] marks it found for the event being looked up.
type fieldIndex struct {
	kind  keyKind
	slots []int
	byVal map[string][]int

	pieces  *substrings
	byPiece [][]int
	first   int
}

// predAtoms returns the atom sets a predicate's holding implies, at least one atom of each set
// holding, or nil when it implies none the index knows (a negation, a number comparison).
// There is one set, or, when every value must match (|all), one per value.
func (p *Program) predAtoms(pr *pred) [][]atom {
	switch {
	case pr.negated || pr.field < 0 || len(pr.groups) == 0:
		return nil
	case pr.kind == rule.KindExists || pr.kind == rule.KindNull || pr.kind == rule.KindFieldRef:
		return nil // decided by presence or by another field, not by the values
	}
	slots := slotsKey(p.slots[pr.field])
	var sets [][]atom
	var union []atom
	for _, g := range pr.groups {
		if len(g) == 0 {
			return nil
		}
		var group []atom
		for i := range g {
			a, ok := matcherAtom(&g[i], slots)
			if !ok {
				return nil
			}
			group = append(group, a)
		}
		if pr.all {
			sets = append(sets, group)
		} else {
			union = append(union, group...)
		}
	}
	if !pr.all {
		sets = [][]atom{union}
	}
	return sets
}

// matcherAtom returns the atom a matcher's matching implies.
func matcherAtom(m *matcher, slots string) (atom, bool) {
	switch m.op {
	case mEq:
		if m.isNum {
			return atom{indexKey{keyNum, slots}, canonicalNumber(m.num)}, true
		}
		return atom{indexKey{keyEq, slots}, foldKey(m.lit)}, true
	case mSuffix:
		if bytes.ContainsAny(m.lit, `\/`) {
			// A value ending with the literal has the literal's last path element as its own.
			return atom{indexKey{keyBase, slots}, string(lastElement(appendLower(nil, m.lit)))}, true
		}
		return textAtom(m.lit, slots)
	case mContains, mPrefix:
		return textAtom(m.lit, slots)
	case mGlob:
		// A match holds every literal part of the glob: the longest is the rarest, likely.
		var longest []byte
		for _, t := range m.glob {
			if t.kind == 'l' && len(t.lit) > len(longest) {
				longest = t.lit
			}
		}
		return textAtom(longest, slots)
	case mRe:
		return textAtom(m.lit, slots) // the literal every match contains, when there is one
	}
	return atom{}, false
}

func textAtom(lit []byte, slots string) (atom, bool) {
	if len(lit) == 0 {
		return atom{}, false
	}
	return atom{indexKey{keyText, slots}, foldKey(lit)}, true
}

// foldKey lower-cases as Event.lower does, so that an atom and an event's key compare.
func foldKey(b []byte) string { return string(appendLower(nil, b)) }

// lastElement returns what follows the last \ or / of a path (all of it without one).
func lastElement(b []byte) []byte {
	if i := bytes.LastIndexAny(b, `\/`); i >= 0 {
		return b[i+1:]
	}
	return b
}

// canonicalNumber is how the index writes a number: one text per value, -0 as 0 (the matcher
// compares numbers, and -0 == 0).
func canonicalNumber(f float64) string { return string(appendCanonicalNumber(nil, f)) }

func appendCanonicalNumber(b []byte, f float64) []byte {
	if f == 0 {
		f = 0 // drops the sign of -0
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// eachPred calls f for every predicate under n but those under a negation, which no atom can
// come from.
func eachPred(n *node, f func(*pred)) {
	if n.op == opPred {
		f(n.pred)
	}
	if n.op == opNot {
		return
	}
	for _, k := range n.kids {
		eachPred(k, f)
	}
}

// chooseAtoms returns the atoms under which to file n: nil, false when it has none. freq counts
// the programs having each atom, atoms holds each predicate's atom sets; an atom set's cost is
// the sum of its atoms' counts.
func (p *Program) chooseAtoms(n *node, freq map[atom]int, atoms map[*pred][][]atom) ([]atom, int, bool) {
	switch n.op {
	case opPred:
		var best []atom
		bestCost := 0
		for _, as := range atoms[n.pred] {
			if c := atomsCost(as, freq); best == nil || c < bestCost {
				best, bestCost = as, c
			}
		}
		return best, bestCost, best != nil
	case opAnd:
		var best []atom
		bestCost, found := 0, false
		for _, k := range n.kids {
			if as, c, ok := p.chooseAtoms(k, freq, atoms); ok && (!found || c < bestCost) {
				best, bestCost, found = as, c, true
			}
		}
		return best, bestCost, found
	case opOr, opAtLeast:
		if len(n.kids) == 0 {
			return nil, 0, false
		}
		var all []atom
		cost := 0
		for _, k := range n.kids {
			as, c, ok := p.chooseAtoms(k, freq, atoms)
			if !ok {
				return nil, 0, false
			}
			all, cost = append(all, as...), cost+c
		}
		return all, cost, true
	}
	return nil, 0, false
}

// atomsCost estimates how many programs an atom set offers: the programs sharing each atom,
// and for a piece of text a penalty the shorter it is, as short pieces are found in most text.
func atomsCost(as []atom, freq map[atom]int) int {
	c := 0
	for _, a := range as {
		c += freq[a]
		if a.key.kind == keyText {
			c += 256 / len(a.val)
		}
	}
	return c
}

// buildIndex files every program it can under its atoms; the others are tested on every event
// that has a field they require (byRequired), or on every event (always).
func (s *Set) buildIndex() {
	freq := map[atom]int{}
	atoms := map[*pred][][]atom{} // each predicate's, worked out once
	for _, p := range s.Programs {
		if p.root == nil {
			continue
		}
		seen := map[atom]bool{}
		eachPred(p.root, func(pr *pred) {
			as, ok := atoms[pr]
			if !ok {
				as = p.predAtoms(pr)
				atoms[pr] = as
			}
			for _, as := range as {
				for _, a := range as {
					if !seen[a] {
						seen[a] = true
						freq[a]++
					}
				}
			}
		})
	}
	keys := map[indexKey]int{} // index into s.index
	var unfiled []int
	for i, p := range s.Programs {
		if p.root == nil {
			continue
		}
		as, _, ok := p.chooseAtoms(p.root, freq, atoms)
		if !ok {
			unfiled = append(unfiled, i)
			continue
		}
		for _, a := range as {
			ki, ok := keys[a.key]
			if !ok {
				ki = len(s.index)
				keys[a.key] = ki
				s.index = append(s.index, fieldIndex{kind: a.key.kind, slots: s.slotsOf(a.key.slots), byVal: map[string][]int{}})
			}
			progs := s.index[ki].byVal[a.val]
			if len(progs) == 0 || progs[len(progs)-1] != i {
				s.index[ki].byVal[a.val] = append(progs, i)
			}
		}
	}
	s.buildPieces()
	s.keysOf = make([][]int32, s.nslots) // every slot is made by now
	for ki, fi := range s.index {
		for _, slot := range fi.slots {
			s.keysOf[slot] = append(s.keysOf[slot], int32(ki))
			s.indexSlots++
		}
	}
	groups := map[string]*requiredGroup{}
	for _, i := range unfiled {
		p := s.Programs[i]
		f := -1
		for rf := range p.requires(p.root) {
			// Any required field will do; the first by name keeps the grouping deterministic.
			if f < 0 || p.fields[rf].name < p.fields[f].name {
				f = rf
			}
		}
		if f < 0 && p.notOn == 0 {
			s.always = append(s.always, i)
			continue
		}
		var slots []int
		if f >= 0 {
			slots = p.slots[f]
		}
		key := slotsKey(slots) + "/" + strconv.Itoa(int(p.notOn))
		g := groups[key]
		if g == nil {
			g = &requiredGroup{slots: slots, notOn: p.notOn}
			groups[key] = g
		}
		g.progs = append(g.progs, i)
	}
	for _, g := range groups {
		s.byRequired = append(s.byRequired, *g)
	}
	sort.Slice(s.byRequired, func(i, j int) bool { return s.byRequired[i].progs[0] < s.byRequired[j].progs[0] })
}

// lookup appends to dst the programs that index key fi holds for the values of slot.
func (s *Set) lookup(e *Event, fi *fieldIndex, slot int, dst []int) []int {
	vs := e.values(slot)
	for i := range vs {
		// Every kind of value: a matcher compares the text of booleans and nulls too.
		v := &vs[i]
		var key []byte
		var num [32]byte
		switch fi.kind {
		case keyEq:
			key = e.lower(v)
		case keyBase:
			key = lastElement(e.lower(v))
		case keyNum:
			f, ok := e.number(v)
			if !ok {
				continue
			}
			key = appendCanonicalNumber(num[:0], f)
		case keyText:
			fi.pieces.find(e.lower(v), func(p int32) {
				if e.firstFind(fi.first + int(p)) {
					dst = append(dst, fi.byPiece[p]...)
				}
			})
			continue
		}
		dst = append(dst, fi.byVal[string(key)]...)
	}
	return dst
}

// shape returns the shapes of the event, as the log source guards tell them (see
// productGuard): a CloudTrail record has eventSource and awsRegion, a Windows event log record
// Event.System.
func (s *Set) shape(e *Event) eventShape {
	var sh eventShape
	if len(e.values(s.shapeSlots[0])) > 0 && len(e.values(s.shapeSlots[1])) > 0 {
		sh |= shapeCloudTrail
	}
	if len(e.values(s.shapeSlots[2])) > 0 {
		sh |= shapeWindows
	}
	return sh
}

// buildPieces compiles the automaton of each text key.
func (s *Set) buildPieces() {
	for ki := range s.index {
		fi := &s.index[ki]
		if fi.kind != keyText {
			continue
		}
		pieces := slices.Sorted(maps.Keys(fi.byVal))
		pats := make([][]byte, len(pieces))
		for i, p := range pieces {
			pats[i] = []byte(p)
			fi.byPiece = append(fi.byPiece, fi.byVal[p])
		}
		fi.pieces, fi.byVal = newSubstrings(pats), nil
		fi.first = s.npieces
		s.npieces += len(pieces)
	}
}

func slotsKey(slots []int) string { return fmt.Sprint(slots) }

// slotsOf is the inverse of slotsKey.
func (s *Set) slotsOf(key string) []int {
	var out []int
	for _, f := range strings.Fields(strings.Trim(key, "[]")) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
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
	e.newLookup(s.npieces)
	if used := e.sc.used; len(used) < s.indexSlots {
		// The Windows rules' index reads 739 slots (a field's several paths), of which an
		// event holds a few dozen: look up the fields the event has.
		for _, slot := range used {
			for _, ki := range s.keysOf[slot] {
				dst = s.lookup(e, &s.index[ki], slot, dst)
			}
		}
	} else {
		for ki := range s.index {
			fi := &s.index[ki]
			for _, slot := range fi.slots {
				dst = s.lookup(e, fi, slot, dst)
			}
		}
	}
	dst = append(dst, s.always...)
	shape := s.shape(e)
	for gi := range s.byRequired {
		g := &s.byRequired[gi]
		if g.notOn&shape != 0 {
			continue
		}
		if g.slots == nil {
			dst = append(dst, g.progs...)
			continue
		}
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
