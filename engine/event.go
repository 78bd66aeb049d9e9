package engine

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Event is one log event being evaluated: its raw JSON bytes and the values of the fields the
// loaded rules reference. Text is decoded lazily and only for the fields a rule looks at.
type Event struct {
	File   string // file the event came from ("-" for stdin)
	Record int64  // 0-based index of the event within its file
	Raw    []byte // the event's JSON text

	buf   []byte // the document holding the event; value offsets are into it
	sc    scanner
	arena []byte // decoded and lower-cased texts
	all   []value
	allOK bool // all holds every string value of the event (for keyword search)
	full  bool // every referenced path was scanned, not only the first pass's

	// found marks the index's text patterns found in the event (see Set.candidates): pattern
	// i is found when found[i] == lookup, so that a new lookup needs no clearing.
	found  []uint32
	lookup uint32

	// known holds the results of the set's shared predicates for the event being matched
	// (see Set.Match): predicate i was found to hold (odd) or not (even) in this match when
	// known[i]>>1 == match.
	known []uint32
	match uint32
}

// newMatch starts matching the event against a set with n shared predicates.
func (e *Event) newMatch(n int) {
	if len(e.known) < n {
		e.known = make([]uint32, n)
	}
	e.match++
	if e.match == 1<<31 { // wrapped around (known keeps 31 bits of it)
		clear(e.known)
		e.match = 1
	}
}

// newLookup starts a lookup of the index's n text patterns.
func (e *Event) newLookup(n int) {
	if len(e.found) < n {
		e.found = make([]uint32, n)
	}
	e.lookup++
	if e.lookup == 0 { // wrapped around: marks of old lookups could pass for new ones
		clear(e.found)
		e.lookup = 1
	}
}

// firstFind marks pattern i found and reports whether it was not already.
func (e *Event) firstFind(i int) bool {
	if e.found[i] == e.lookup {
		return false
	}
	e.found[i] = e.lookup
	return true
}

// reset prepares the event for a document.
func (e *Event) reset(buf []byte, nslots int) {
	e.buf = buf
	e.Raw = buf
	e.sc.data = buf
	e.sc.reset(nslots)
	e.arena = e.arena[:0]
	e.all = e.all[:0]
	e.allOK = false
}

// values returns the values of a field slot.
func (e *Event) values(slot int) []value {
	if slot < 0 || slot >= len(e.sc.vals) {
		return nil
	}
	return e.sc.vals[slot]
}

// text returns the value's text: decoded content for strings, JSON text for anything else.
func (e *Event) text(v *value) []byte {
	if !v.esc {
		return e.buf[v.start:v.end]
	}
	if v.dec == 0 {
		start := len(e.arena)
		e.arena, _ = appendUnescaped(e.arena, e.buf[v.start:v.end])
		v.dec, v.decE = int32(start+1), int32(len(e.arena))
	}
	return e.arena[v.dec-1 : v.decE]
}

// lower returns the value's text lower-cased, computed once per value.
func (e *Event) lower(v *value) []byte {
	if v.lo == -1 {
		return e.text(v) // already lower-case
	}
	if v.lo == 0 {
		t := e.text(v)
		if !hasUpper(t) {
			v.lo = -1
			return t
		}
		start := len(e.arena)
		e.arena = appendLower(e.arena, t)
		v.lo, v.loEnd = int32(start+1), int32(len(e.arena))
	}
	return e.arena[v.lo-1 : v.loEnd]
}

// hasUpper reports whether b may change when lower-cased.
func hasUpper(b []byte) bool {
	for _, c := range b {
		if (c >= 'A' && c <= 'Z') || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// appendLower appends b lower-cased: ASCII by table, other runes by toLowerRune. Rule values
// are lower-cased the same way (foldString).
func appendLower(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, toLowerRune(r))
		i += n
	}
	return dst
}

// number returns the value as a number when it is a JSON number or a numeric string.
func (e *Event) number(v *value) (float64, bool) {
	switch v.kind {
	case kNumber, kString:
		t := e.text(v)
		if len(t) == 0 {
			return 0, false
		}
		f, err := strconv.ParseFloat(string(t), 64)
		return f, err == nil
	}
	return 0, false
}

// strings returns every string value of the event, at any depth, for keyword search.
func (e *Event) strings() []value {
	if !e.allOK {
		e.allOK = true
		base := int32(cap(e.buf) - cap(e.Raw))
		e.all = collectStrings(e.Raw, base, e.all[:0])
	}
	return e.all
}

// collectStrings appends every string value (not keys) of a JSON document.
func collectStrings(d []byte, base int32, out []value) []value {
	var stack []byte // 'o' object, 'a' array
	key := false     // the next string is an object key
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case '"':
			end, esc, err := skipString(d, i)
			if err != nil {
				return out
			}
			if !key {
				out = append(out, value{kind: kString, esc: esc, start: base + int32(i+1), end: base + int32(end-1)})
			}
			key = false
			i = end - 1
		case '{':
			stack = append(stack, 'o')
			key = true
		case '[':
			stack = append(stack, 'a')
			key = false
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			key = false
		case ':':
			key = false
		case ',':
			key = len(stack) > 0 && stack[len(stack)-1] == 'o'
		}
	}
	return out
}

// toLowerRune lower-cases one rune, the same for every rune case folding makes equal: ſ as s,
// the Kelvin sign as k, final sigma as σ, as strings.EqualFold and a regular expression's (?i)
// compare them.
func toLowerRune(r rune) rune {
	// The least lower case of the runes case folding makes equal to r (its orbit): an ASCII
	// letter where the orbit has one, so that the ASCII path of appendLower agrees.
	low := unicode.ToLower(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		low = min(low, unicode.ToLower(f))
	}
	return low
}

// foldString lower-cases a rule's text as appendLower does an event's.
func foldString(s string) string { return string(appendLower(nil, []byte(s))) }

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
