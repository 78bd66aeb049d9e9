package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// The scanner walks the raw bytes of one JSON document and records, for the dotted paths the
// loaded rules reference, where their values are. Everything else is skipped without decoding:
// that is where the speed of a hunt comes from.

// Value kinds, as the first byte of their JSON text says.
const (
	kString byte = 's'
	kNumber byte = 'n'
	kTrue   byte = 't'
	kFalse  byte = 'f'
	kNull   byte = 'z'
	kObject byte = 'o'
	kArray  byte = 'a'
)

// value is where one value of a field lies in the event's bytes. For strings the span excludes
// the quotes; esc says it holds backslash escapes to decode. lo/loEnd locate its lower-cased
// text in the event's arena once computed (lo is 1-based: 0 means not yet, -1 that the text
// is lower-case already).
type value struct {
	kind       byte
	esc        bool
	start, end int32
	lo, loEnd  int32
	dec, decE  int32 // decoded text in the arena (1-based start), for escaped strings
}

// pathNode is one level of the trie of referenced paths. A path through an array continues into
// every element, so a node applies to objects found directly or inside arrays.
type pathNode struct {
	kids map[string]*pathNode
	wild *pathNode // "*": any key
	// named holds the paths through byName: children by the Name attribute of the objects
	// found here.
	named *pathNode
	slot  int // field slot when a path ends here, else -1
	// table finds a key's child without hashing the whole key: buckets by length and first
	// and last bytes, each a short list to compare. Built by seal.
	table  *[256][]keyed
	list   []keyed // few children: compared in turn
	sealed bool
}

type keyed struct {
	key  string
	node *pathNode
}

func bucket(key []byte) byte {
	return byte(len(key)*7) ^ key[0] ^ key[len(key)-1]<<3
}

// seal builds the lookup tables of the trie; add must not be called after.
func (n *pathNode) seal() {
	n.table, n.list = nil, nil
	if len(n.kids) > 8 {
		n.table = new([256][]keyed)
	}
	for k, c := range n.kids {
		if n.table == nil {
			n.list = append(n.list, keyed{k, c})
		} else if k != "" {
			b := bucket([]byte(k))
			n.table[b] = append(n.table[b], keyed{k, c})
		}
		c.seal()
	}
	if n.wild != nil {
		n.wild.seal()
	}
	if n.named != nil {
		n.named.seal()
	}
	n.sealed = true
}

// child returns the child for a key, or nil.
func (n *pathNode) child(key []byte) *pathNode {
	if !n.sealed || (len(key) == 0 && n.table != nil) {
		return n.kids[string(key)]
	}
	if n.table == nil {
		for _, k := range n.list {
			if k.key == string(key) {
				return k.node
			}
		}
		return nil
	}
	for _, k := range n.table[bucket(key)] {
		if k.key == string(key) {
			return k.node
		}
	}
	return nil
}

func newPathNode() *pathNode { return &pathNode{slot: -1} }

// byName, as a path part, stands for objects holding a named value, the shape evtx_dump gives
// EventData elements when it keeps their XML attributes:
// "Data": [{"#attributes": {"Name": "Image"}, "#text": "C:\\x.exe"}, ...]. The part after it
// is the Name; the value is the "#text" (an empty string when there is none, as an empty XML
// element has no text).
const byName = "#byName"

// add inserts a dotted path and returns its node.
func (n *pathNode) add(parts []string) *pathNode {
	for _, p := range parts {
		if p == byName {
			if n.named == nil {
				n.named = newPathNode()
			}
			n = n.named
			continue
		}
		if p == "*" {
			if n.wild == nil {
				n.wild = newPathNode()
			}
			n = n.wild
			continue
		}
		if n.kids == nil {
			n.kids = map[string]*pathNode{}
		}
		k := n.kids[p]
		if k == nil {
			k = newPathNode()
			n.kids[p] = k
		}
		n = k
	}
	return n
}

// errIncomplete means the bytes ended inside the document.
var errIncomplete = errors.New("unexpected end of JSON input")

// syntaxError is malformed JSON at an offset of the document.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

func synErr(off int, format string, args ...any) error {
	return &syntaxError{off: off, msg: fmt.Sprintf(format, args...)}
}

// scanner extracts the values of referenced paths from one document.
type scanner struct {
	data []byte
	vals [][]value // by slot
	used []int     // slots holding values, to reset
	// strings, when set, receives every string value (for keyword search).
	strings func(v value)
}

func (s *scanner) reset(nslots int) {
	if cap(s.vals) < nslots {
		s.vals = make([][]value, nslots)
	}
	s.vals = s.vals[:nslots]
	for _, i := range s.used {
		s.vals[i] = s.vals[i][:0]
	}
	s.used = s.used[:0]
}

func (s *scanner) record(slot int, v value) {
	if len(s.vals[slot]) == 0 {
		s.used = append(s.used, slot)
	}
	s.vals[slot] = append(s.vals[slot], v)
}

var wsTable = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func skipWS(d []byte, i int) int {
	for i < len(d) && wsTable[d[i]] {
		i++
	}
	return i
}

// value scans the value at d[i] for node n (nil: skip it) and returns the offset after it.
func (s *scanner) value(i int, n *pathNode) (int, error) {
	d := s.data
	i = skipWS(d, i)
	if i >= len(d) {
		return i, errIncomplete
	}
	switch c := d[i]; c {
	case '{':
		if n == nil || (n.kids == nil && n.wild == nil) {
			end, err := skipContainer(d, i)
			if err == nil && n != nil {
				if n.slot >= 0 {
					s.record(n.slot, value{kind: kObject, start: int32(i), end: int32(end)})
				}
				if n.named != nil {
					s.namedValue(i, end, n.named)
				}
			}
			return end, err
		}
		end, err := s.object(i, n)
		if err == nil && n.slot >= 0 {
			s.record(n.slot, value{kind: kObject, start: int32(i), end: int32(end)})
		}
		if err == nil && n.named != nil {
			s.namedValue(i, end, n.named)
		}
		return end, err
	case '[':
		if n == nil {
			return skipContainer(d, i)
		}
		return s.array(i, n)
	case '"':
		if n == nil || n.slot < 0 {
			return stringEnd(d, i)
		}
		end, esc, err := skipString(d, i)
		if err != nil {
			return end, err
		}
		s.record(n.slot, value{kind: kString, esc: esc, start: int32(i + 1), end: int32(end - 1)})
		return end, nil
	default:
		end, kind, err := scalar(d, i)
		if err != nil {
			return end, err
		}
		if n != nil && n.slot >= 0 {
			s.record(n.slot, value{kind: kind, start: int32(i), end: int32(end)})
		}
		return end, nil
	}
}

// object scans an object whose keys lead deeper into the trie.
func (s *scanner) object(i int, n *pathNode) (int, error) {
	d := s.data
	i++ // '{'
	i = skipWS(d, i)
	if i < len(d) && d[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipWS(d, i)
		if i >= len(d) {
			return i, errIncomplete
		}
		if d[i] != '"' {
			return i, synErr(i, "expected object key, found %q", d[i])
		}
		kend, esc, err := skipString(d, i)
		if err != nil {
			return kend, err
		}
		key := d[i+1 : kend-1]
		var child *pathNode
		if esc {
			key = unescapeKey(key)
		}
		child = n.child(key)
		i = skipWS(d, kend)
		if i >= len(d) {
			return i, errIncomplete
		}
		if d[i] != ':' {
			return i, synErr(i, "expected ':' after object key, found %q", d[i])
		}
		if child != nil && n.wild != nil {
			// Both a named and a "*" path apply: scan the value for each.
			if _, err := s.value(i+1, n.wild); err != nil {
				return i, err
			}
		} else if child == nil {
			child = n.wild
		}
		i, err = s.value(i+1, child)
		if err != nil {
			return i, err
		}
		i = skipWS(d, i)
		if i >= len(d) {
			return i, errIncomplete
		}
		switch d[i] {
		case ',':
			i++
		case '}':
			return i + 1, nil
		default:
			return i, synErr(i, "expected ',' or '}' in object, found %q", d[i])
		}
	}
}

// namedValue records the value of the object d[i:end] as its Name attribute's child of n (see
// byName). The object's brackets are known to match, not its content: malformed content
// records nothing and is no error here, so that this shape changes no event's fate.
func (s *scanner) namedValue(i, end int, n *pathNode) {
	d := s.data[:end]
	var name []byte
	text := -1
	i = skipWS(d, i+1)
	for i < len(d) && d[i] == '"' {
		kend, esc, err := skipString(d, i)
		if err != nil {
			return
		}
		key := d[i+1 : kend-1]
		if esc {
			key = unescapeKey(key)
		}
		v := skipWS(d, kend)
		if v >= len(d) || d[v] != ':' {
			return
		}
		v = skipWS(d, v+1)
		if v >= len(d) {
			return
		}
		switch string(key) {
		case "#attributes":
			name = s.attrName(d, v)
		case "#text":
			text = v
		}
		vend, err := s.skip(d, v)
		if err != nil {
			return
		}
		i = skipWS(d, vend)
		if i < len(d) && d[i] == ',' {
			i = skipWS(d, i+1)
		}
	}
	if name == nil {
		return
	}
	c := n.child(name)
	if c == nil {
		return
	}
	if text < 0 {
		if c.slot >= 0 {
			s.record(c.slot, value{kind: kString, start: int32(end), end: int32(end)})
		}
		return
	}
	saved := s.data
	s.data = d // the value cannot run past the object
	_, _ = s.value(text, c)
	s.data = saved
}

// skip returns the offset after the value at d[i], within d.
func (s *scanner) skip(d []byte, i int) (int, error) {
	switch d[i] {
	case '{', '[':
		return skipContainer(d, i)
	case '"':
		return stringEnd(d, i)
	}
	end, _, err := scalar(d, i)
	return end, err
}

// attrName returns the string value of the "Name" key of the object at d[i], or nil.
func (s *scanner) attrName(d []byte, i int) []byte {
	if d[i] != '{' {
		return nil
	}
	i = skipWS(d, i+1)
	for i < len(d) && d[i] == '"' {
		kend, esc, err := skipString(d, i)
		if err != nil {
			return nil
		}
		key := d[i+1 : kend-1]
		if esc {
			key = unescapeKey(key)
		}
		v := skipWS(d, kend)
		if v >= len(d) || d[v] != ':' {
			return nil
		}
		v = skipWS(d, v+1)
		if v >= len(d) {
			return nil
		}
		if string(key) == "Name" && d[v] == '"' {
			vend, esc, err := skipString(d, v)
			if err != nil {
				return nil
			}
			if esc {
				return unescapeKey(d[v+1 : vend-1])
			}
			return d[v+1 : vend-1]
		}
		end, err := s.skip(d, v)
		if err != nil {
			return nil
		}
		i = skipWS(d, end)
		if i < len(d) && d[i] == ',' {
			i = skipWS(d, i+1)
		}
	}
	return nil
}

// array scans an array at a referenced path: where the path ends here each element is a value
// of the field (a list matches if any element matches); where it continues, it continues into
// every element.
func (s *scanner) array(i int, n *pathNode) (int, error) {
	d := s.data
	start := i
	i++ // '['
	i = skipWS(d, i)
	if i < len(d) && d[i] == ']' {
		if n.slot >= 0 {
			s.record(n.slot, value{kind: kArray, start: int32(start), end: int32(i + 1)})
		}
		return i + 1, nil
	}
	for {
		var err error
		i, err = s.value(i, n)
		if err != nil {
			return i, err
		}
		i = skipWS(d, i)
		if i >= len(d) {
			return i, errIncomplete
		}
		switch d[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return i, synErr(i, "expected ',' or ']' in array, found %q", d[i])
		}
	}
}

// skipString returns the offset after the string starting at d[i] (a quote) and whether it
// holds escapes.
func skipString(d []byte, i int) (int, bool, error) {
	j := i + 1
	esc := false
	// Eight bytes at a time: find the first quote or backslash in a word (SWAR: a byte equal to
	// c becomes zero after XOR, and the lowest zero byte of a word is flagged exactly). Most
	// strings end within two words; past them, a long string is searched with IndexByte, which
	// takes 32 bytes at a time.
	for words := 0; j+8 <= len(d); {
		if words == 2 {
			q := bytes.IndexByte(d[j:], '"')
			if q < 0 {
				break
			}
			if bytes.IndexByte(d[j:j+q], '\\') < 0 {
				return j + q + 1, esc, nil
			}
			// An escape: the string ends at the first quote from here that no odd run of
			// backslashes precedes (searching on from each escape would go over the rest of
			// a long string once per escape).
			end, err := endFrom(d, i, j+q)
			return end, true, err
		}
		w := binary.LittleEndian.Uint64(d[j:])
		q, b := w^(lsb*'"'), w^(lsb*'\\')
		m := ((q - lsb) &^ q & msb) | ((b - lsb) &^ b & msb)
		if m == 0 {
			j += 8
			words++
			continue
		}
		p := j + bits.TrailingZeros64(m)/8
		if d[p] == '"' {
			return p + 1, esc, nil
		}
		esc = true
		j = p + 2
	}
	for ; j < len(d); j++ {
		switch d[j] {
		case '"':
			return j + 1, esc, nil
		case '\\':
			esc = true
			j++
		}
	}
	return len(d), esc, errIncomplete
}

// stringEnd is skipString for a string whose escapes do not matter (a value no rule reads, a
// string inside a skipped container): it looks for quotes alone, and a quote after an odd run
// of backslashes is escaped.
func stringEnd(d []byte, i int) (int, error) {
	j := i + 1
	// Two words by SWAR, as in skipString; longer strings by IndexByte.
	for words := 0; words < 2 && j+8 <= len(d); {
		w := binary.LittleEndian.Uint64(d[j:])
		q := w ^ (lsb * '"')
		m := (q - lsb) &^ q & msb
		if m == 0 {
			j += 8
			words++
			continue
		}
		p := j + bits.TrailingZeros64(m)/8
		if !escapedQuote(d, i, p) {
			return p + 1, nil
		}
		j = p + 1
	}
	return endFrom(d, i, j)
}

// endFrom returns the offset after the string opened at d[open], whose closing quote is at
// d[j] or later: the first quote there that is not escaped.
func endFrom(d []byte, open, j int) (int, error) {
	for j < len(d) {
		k := bytes.IndexByte(d[j:], '"')
		if k < 0 {
			break
		}
		p := j + k
		if !escapedQuote(d, open, p) {
			return p + 1, nil
		}
		j = p + 1
	}
	return len(d), errIncomplete
}

// escapedQuote tells whether the quote at d[p], in the string opened at d[open], is escaped:
// backslashes pair up from the left within a run, so an odd run escapes what follows it.
func escapedQuote(d []byte, open, p int) bool {
	k := p - 1
	for k > open && d[k] == '\\' {
		k--
	}
	return (p-1-k)&1 == 1
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// structural marks the bytes skipContainer must look at.
var structural = [256]byte{'"': 1, '{': 2, '[': 2, '}': 3, ']': 3}

// skipContainer returns the offset after the object or array starting at d[i].
func skipContainer(d []byte, i int) (int, error) {
	depth := 0
	for i < len(d) {
		switch structural[d[i]] {
		case 0:
			i++
		case 1:
			end, err := stringEnd(d, i)
			if err != nil {
				return end, err
			}
			i = end
		case 2:
			depth++
			i++
		case 3:
			depth--
			i++
			if depth == 0 {
				return i, nil
			}
		}
	}
	return i, errIncomplete
}

// scalar returns the end and kind of the number or literal at d[i].
func scalar(d []byte, i int) (int, byte, error) {
	lit := func(word string, kind byte) (int, byte, error) {
		if len(d)-i < len(word) {
			if string(d[i:]) == word[:len(d)-i] {
				return len(d), kind, errIncomplete
			}
		} else if string(d[i:i+len(word)]) == word {
			return i + len(word), kind, nil
		}
		return i, 0, synErr(i, "invalid literal")
	}
	switch c := d[i]; {
	case c == 't':
		return lit("true", kTrue)
	case c == 'f':
		return lit("false", kFalse)
	case c == 'n':
		return lit("null", kNull)
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(d) {
			c := d[j]
			if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
				j++
				continue
			}
			break
		}
		return j, kNumber, nil
	default:
		return i, 0, synErr(i, "unexpected character %q", c)
	}
}

// unescapeKey decodes an escaped object key; keys with escapes are rare.
func unescapeKey(b []byte) []byte {
	out, _ := appendUnescaped(nil, b)
	return out
}

// appendUnescaped appends the decoded text of JSON string content b (without quotes).
func appendUnescaped(dst, b []byte) ([]byte, bool) {
	ok := true
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			dst = append(dst, c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			dst = append(dst, b[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(b[i+1:])
			if n == 0 {
				ok = false
				dst = append(dst, '\\', 'u')
				continue
			}
			i += n
			dst = appendRune(dst, r)
		default:
			ok = false
			dst = append(dst, '\\', b[i])
		}
	}
	return dst, ok
}

// decodeU decodes the hex digits after `\u`, joining a surrogate pair written as two escapes.
// It returns the rune and how many bytes it used, 0 when the escape is malformed.
func decodeU(b []byte) (rune, int) {
	r, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	if utf16.IsSurrogate(r) {
		if len(b) >= 10 && b[4] == '\\' && b[5] == 'u' {
			if r2, ok := hex4(b[6:]); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 10
				}
			}
		}
		return utf8.RuneError, 4
	}
	return r, 4
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func appendRune(dst []byte, r rune) []byte { return utf8.AppendRune(dst, r) }
