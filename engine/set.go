package engine

import (
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
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

	nshared int // predicates several programs hold alike (see sharePredicates)

	index []fieldIndex
	// keysOf lists, per slot, the index keys reading it; indexSlots counts those pairs. An
	// event with fewer fields than that is looked up field by field (see candidates).
	keysOf     [][]int32
	indexSlots int
	npieces    int   // the patterns of the index's automata, all keys together
	always     []int // programs the index does not hold and no required field filters
	// byRequired groups the other unconstrained programs by a field they cannot match without
	// and by the shapes of event they cannot match (their log source guards): one presence test
	// skips the group. shapeSlots are the slots that tell an event's shape: eventSource and
	// awsRegion, Event.System.
	byRequired []requiredGroup
	shapeSlots [3]int
}

// requiredGroup is programs the index does not hold that need a field (slots; nil: none) and
// can never match events of the shapes notOn.
type requiredGroup struct {
	slots []int
	progs []int
	notOn eventShape
}

// NewSet builds a set from compiled programs. Correlation programs are kept (Run evaluates them
// over base rule matches) but never tested against events directly. A program belongs to one
// set at a time: NewSet gives it the set's field slots and shared predicate numbers.
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
	s.shapeSlots = [3]int{s.slot([]string{"eventSource"}), s.slot([]string{"awsRegion"}), s.slot([]string{"Event", "System"})}
	s.sharePredicates()
	s.compactTrees()
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
	for _, fi := range s.index {
		mark(fi.slots)
	}
	for _, g := range s.byRequired {
		mark(g.slots)
		if g.slots == nil {
			// Tested on every event of the other shapes, as the always-tested programs are.
			for _, i := range g.progs {
				for _, sl := range s.Programs[i].slots {
					mark(sl)
				}
			}
		}
	}
	mark(s.shapeSlots[:])
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
	e.newMatch(s.nshared)
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
	// CloudTrail records are objects: an event that has a Records field of another kind (an
	// empty list, strings) is an event.
	v := vs[0]
	if v.kind != kObject {
		return -1
	}
	// Step back over white space from the first element to the bracket, and from the bracket
	// to the colon: the array is the key's value, not an array nested in it.
	before := func(i int) int {
		for i > 0 && wsTable[e.buf[i-1]] {
			i--
		}
		return i - 1
	}
	i := before(int(v.start))
	if i < 0 || e.buf[i] != '[' {
		return -1
	}
	if j := before(i); j < 0 || e.buf[j] != ':' {
		return -1
	}
	return i
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
	// The arena starts over, and with it the string values a keyword search collected: their
	// decoded and lower-cased texts pointed into it.
	e.arena = e.arena[:0]
	e.all, e.allOK = e.all[:0], false
	e.sc.value(off, s.root) //nolint:errcheck // the first pass read the same bytes without error
	e.full = true
}

// sharePredicates numbers the predicates that several programs hold alike: the same test of the
// same field paths. An event then answers each once however many programs ask it: the 2,856
// Windows rules of the Sigma corpus hold 24,380 predicates, 8,575 of them distinct (log source
// guards, common image names), and on BenchmarkHuntWindows's events the candidate programs ask
// 106 predicates per event, 42 of them distinct (28% more events per second so, median of 11).
func (s *Set) sharePredicates() {
	ids := map[string]int32{}
	var preds []*pred
	var first []*pred // by id, the first predicate with it
	var key []byte
	for _, p := range s.Programs {
		everyPred(p.root, func(pr *pred) {
			pr.shared = -1
			// Keyword searches read every string of the event and field references compare
			// two fields: both are rare and left out.
			if pr.kind == rule.KindKeyword || pr.kind == rule.KindFieldRef || pr.field < 0 {
				return
			}
			key = predKey(key[:0], p, pr)
			id, ok := ids[string(key)]
			if !ok {
				id = int32(len(ids))
				ids[string(key)] = id
				first = append(first, pr)
			} else if f := first[id]; f != pr {
				// Alike, it compiled alike: one copy of the matchers, automata and look-up
				// sets will do (91 of the 231 automata of the Sigma corpus's rules, 8 MB).
				pr.groups, pr.pieces, pr.lits = f.groups, f.pieces, f.lits
			}
			pr.shared = id
			preds = append(preds, pr)
		})
	}
	// Only predicates asked by more than one program need a place.
	users := make([]int, len(ids))
	for _, pr := range preds {
		users[pr.shared]++
	}
	renum := make([]int32, len(ids))
	n := int32(0)
	for id, u := range users {
		renum[id] = -1
		if u > 1 {
			renum[id] = n
			n++
		}
	}
	for _, pr := range preds {
		pr.shared = renum[pr.shared]
	}
	s.nshared = int(n)
}

// predKey appends what decides a predicate's result on an event: the field's paths (as
// slots), the kind and flags, the values, and the rule's platform and language, whose value
// syntax compiles them (Sigma's wildcards and escapes).
func predKey(dst []byte, p *Program, pr *pred) []byte {
	for _, sl := range p.slots[pr.field] {
		dst = strconv.AppendInt(dst, int64(sl), 10)
		dst = append(dst, ',')
	}
	src := pr.src
	dst = append(dst, 0)
	dst = append(dst, p.Rule.Platform...)
	dst = append(dst, 0)
	dst = append(dst, p.Rule.Language...)
	dst = append(dst, 0)
	dst = append(dst, src.Kind...)
	f := src.Flags
	for _, b := range []bool{f.All, f.Cased, f.Negated, f.Wildcard, f.Placeholder, f.Numeric} {
		dst = append(dst, '0'+byte(b2u(b)))
	}
	dst = append(dst, 0)
	dst = append(dst, f.ReFlags...)
	dst = append(dst, 0)
	dst = append(dst, f.TimePart...)
	for _, enc := range f.Encodings {
		dst = append(dst, 0)
		dst = append(dst, enc...)
	}
	dst = append(dst, 0)
	for _, v := range src.Values {
		dst = append(dst, 0)
		dst = strconv.AppendInt(dst, int64(len(v)), 10)
		dst = append(dst, ':')
		dst = append(dst, v...)
	}
	return dst
}

// everyPred calls f for each predicate of a condition, those under a negation too (eachPred,
// for the index, leaves them out).
func everyPred(n *node, f func(*pred)) {
	if n == nil {
		return
	}
	if n.op == opPred {
		f(n.pred)
	}
	for _, k := range n.kids {
		everyPred(k, f)
	}
}
