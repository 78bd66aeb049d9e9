package engine

import "bytes"

// litSet answers a predicate holding many values of one kind with a look-up per event value
// instead of a comparison per rule value: lists of tool names (Image|endswith with a hundred
// `\name.exe`), of exact command lines, of ports. Sigma rules hold many such lists.
type litSet struct {
	suffix bool                 // the literals are path endings (see litSetOf)
	byKey  map[string][][]byte  // equality: the literal; path ending: its last path element
	nums   map[float64]struct{} // literals that are also numbers, for number values
}

// manyLiterals is how many literals make a look-up faster than comparing each.
const manyLiterals = 8

// litSetOf returns a litSet for a predicate whose every matcher is an equality, or every one a
// path ending (a literal holding a path separator), with its own case folding, when there are
// enough of them; nil otherwise.
func litSetOf(pr *pred) *litSet {
	if pr.all {
		return nil
	}
	var ms []*matcher
	for _, g := range pr.groups {
		for i := range g {
			ms = append(ms, &g[i])
		}
	}
	if len(ms) < manyLiterals {
		return nil
	}
	s := &litSet{suffix: ms[0].op == mSuffix, byKey: map[string][][]byte{}}
	for _, m := range ms {
		if m.fold != pr.fold || m.op != ms[0].op {
			return nil
		}
		switch m.op {
		case mEq:
			s.byKey[string(m.lit)] = append(s.byKey[string(m.lit)], m.lit)
			if m.isNum {
				if s.nums == nil {
					s.nums = map[float64]struct{}{}
				}
				s.nums[m.num] = struct{}{}
			}
		case mSuffix:
			// A text ending with a literal that holds a separator has the literal's last
			// path element as its own: the element finds the literals to try.
			if bytes.IndexAny(m.lit, `\/`) < 0 {
				return nil
			}
			k := string(lastElement(m.lit))
			s.byKey[k] = append(s.byKey[k], m.lit)
		default:
			return nil
		}
	}
	return s
}

// match reports whether the text t of value v matches one of the literals.
func (s *litSet) match(e *Event, t []byte, v *value) bool {
	if !s.suffix {
		if _, ok := s.byKey[string(t)]; ok {
			return true
		}
		if s.nums != nil && v.kind == kNumber {
			f, ok := e.number(v)
			if _, in := s.nums[f]; ok && in {
				return true
			}
		}
		return false
	}
	for _, lit := range s.byKey[string(lastElement(t))] {
		if bytes.HasSuffix(t, lit) {
			return true
		}
	}
	return false
}
