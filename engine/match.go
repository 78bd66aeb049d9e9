package engine

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// mop is what a matcher does with a value's text.
type mop uint8

const (
	mEq mop = iota
	mContains
	mPrefix
	mSuffix
	mGlob
	mRe
	mCIDR
	mLt
	mLte
	mGt
	mGte
	mNumEq
)

// matcher tests one value's text against one rule value, built once at compile time.
type matcher struct {
	op    mop
	fold  bool   // compare lower-cased text (Sigma's default)
	lit   []byte // literal, lower-cased when fold
	num   float64
	isNum bool // lit is also a number: numbers in rules match numbers or numeric strings
	glob  []globTok
	re    *regexp.Regexp
	pre   [][]byte // the regex's prefilter (see regexPrefilter)
	cidr  netip.Prefix
	// timePart: the value is a timestamp and this part of it is compared (Sigma time modifiers).
	timePart string
}

// globTok is a piece of a glob: a literal, `*` (any run) or `?` (one character).
type globTok struct {
	kind byte // 'l', '*', '?'
	lit  []byte
}

// match reports whether the value matches.
func (m *matcher) match(e *Event, v *value) bool {
	switch m.op {
	case mRe:
		// Literals every match holds: most values fail here, before the expression runs.
		if m.pre != nil && !prefilterHolds(m.pre, e.lower(v)) {
			return false
		}
		return m.re.Match(e.text(v))
	case mCIDR:
		if v.kind != kString {
			return false
		}
		a, err := netip.ParseAddr(string(e.text(v)))
		return err == nil && m.cidr.Contains(a.Unmap())
	case mLt, mLte, mGt, mGte, mNumEq:
		var f float64
		var ok bool
		if m.timePart != "" {
			f, ok = timePart(string(e.text(v)), m.timePart)
		} else {
			f, ok = e.number(v)
		}
		if !ok {
			return false
		}
		switch m.op {
		case mLt:
			return f < m.num
		case mLte:
			return f <= m.num
		case mGt:
			return f > m.num
		case mNumEq:
			return f == m.num
		}
		return f >= m.num
	}
	var t []byte
	if m.fold {
		t = e.lower(v)
	} else {
		t = e.text(v)
	}
	return m.matchText(t, e, v)
}

func (m *matcher) matchText(t []byte, e *Event, v *value) bool {
	switch m.op {
	case mEq:
		if bytes.Equal(t, m.lit) {
			return true
		}
		if m.isNum && e != nil && v.kind == kNumber {
			f, ok := e.number(v)
			return ok && f == m.num
		}
		return false
	case mContains:
		return bytes.Contains(t, m.lit)
	case mPrefix:
		return bytes.HasPrefix(t, m.lit)
	case mSuffix:
		return bytes.HasSuffix(t, m.lit)
	case mGlob:
		return globMatch(m.glob, t)
	}
	return false
}

// globMatch matches text against glob tokens; `*` backtracks to its last position only, which
// is enough for globs (a later `*` subsumes earlier choices).
func globMatch(toks []globTok, t []byte) bool {
	ti, gi := 0, 0
	starG, starT := -1, 0
	for {
		if gi < len(toks) {
			tok := &toks[gi]
			switch tok.kind {
			case '*':
				starG, starT = gi, ti
				gi++
				if gi == len(toks) {
					return true
				}
				var ok bool
				if ti, ok = seekLiteral(toks, gi, t, ti); !ok {
					return false
				}
				starT = ti
				continue
			case '?':
				if ti < len(t) {
					_, n := utf8.DecodeRune(t[ti:])
					ti += n
					gi++
					continue
				}
			case 'l':
				if bytes.HasPrefix(t[ti:], tok.lit) {
					ti += len(tok.lit)
					gi++
					continue
				}
			}
		} else if ti == len(t) {
			return true
		}
		if starG < 0 || starT >= len(t) {
			return false
		}
		// Let the last `*` swallow one more character and retry.
		_, n := utf8.DecodeRune(t[starT:])
		starT += n
		ti = starT
		gi = starG + 1
		var ok bool
		if ti, ok = seekLiteral(toks, gi, t, ti); !ok {
			return false
		}
		starT = ti
	}
}

// seekLiteral moves ti, after a `*`, to where the literal token at gi next occurs in t: a
// literal is searched for rather than tried at each offset. A token that is not a literal
// leaves ti where it is; ok is false when the literal does not occur.
func seekLiteral(toks []globTok, gi int, t []byte, ti int) (int, bool) {
	if gi < len(toks) && toks[gi].kind == 'l' {
		k := bytes.Index(t[ti:], toks[gi].lit)
		if k < 0 {
			return ti, false
		}
		ti += k
	}
	return ti, true
}

// parseGlob splits a Sigma value into glob tokens. Sigma spec, "Escape Character": the
// backslash escapes `*`, `?` and itself; "a plain backslash not followed by a wildcard can be
// expressed as single `\` or double `\\`", so a backslash before any other character is literal.
func parseGlob(s string) []globTok {
	var toks []globTok
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			toks = append(toks, globTok{kind: 'l', lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit = append(lit, s[i+1])
				i++
				continue
			}
			lit = append(lit, c)
		case '*':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != '*' {
				toks = append(toks, globTok{kind: '*'})
			}
		case '?':
			flush()
			toks = append(toks, globTok{kind: '?'})
		default:
			lit = append(lit, c)
		}
	}
	flush()
	return toks
}

// literalToks is a glob of one literal.
func literalToks(b []byte) []globTok {
	if len(b) == 0 {
		return nil
	}
	return []globTok{{kind: 'l', lit: b}}
}

// globMatcher builds the cheapest matcher for glob tokens: equality, substring, prefix or
// suffix where the glob has that shape, else the general glob.
func globMatcher(toks []globTok, fold bool) matcher {
	if fold {
		for i := range toks {
			if toks[i].kind == 'l' {
				toks[i].lit = []byte(foldString(string(toks[i].lit)))
			}
		}
	}
	m := matcher{fold: fold}
	star := func(i int) bool { return i >= 0 && i < len(toks) && toks[i].kind == '*' }
	n := len(toks)
	switch {
	case n == 0:
		m.op, m.lit = mEq, []byte{}
	case n == 1 && toks[0].kind == 'l':
		m.op, m.lit = mEq, toks[0].lit
		if f, err := strconv.ParseFloat(string(m.lit), 64); err == nil {
			m.isNum, m.num = true, f
		}
	case n == 1 && star(0):
		m.op, m.lit = mPrefix, []byte{}
	case n == 2 && star(0) && toks[1].kind == 'l':
		m.op, m.lit = mSuffix, toks[1].lit
	case n == 2 && toks[0].kind == 'l' && star(1):
		m.op, m.lit = mPrefix, toks[0].lit
	case n == 3 && star(0) && toks[1].kind == 'l' && star(2):
		m.op, m.lit = mContains, toks[1].lit
	default:
		m.op, m.glob = mGlob, toks
	}
	return m
}

// variant is one form of a rule value after its encodings: a glob pattern or a literal.
type variant struct {
	s    string
	glob bool
}

// encode applies a predicate's value encodings in order. Sigma spec, appendix "Modifiers":
// base64offset yields the three encodings of the value at each offset of a 3-byte group,
// utf16le/wide, utf16be and utf16 (with byte order mark) transform before base64, and windash
// yields every combination of `-`, `/`, en dash, em dash and horizontal bar for each dash.
func encode(v variant, encodings []string) ([]variant, error) {
	vs := []variant{v}
	for _, enc := range encodings {
		var next []variant
		for _, v := range vs {
			switch enc {
			case "windash":
				for _, s := range windash(v.s) {
					next = append(next, variant{s, v.glob})
				}
			case "utf16le", "wide", "utf16be", "utf16":
				next = append(next, variant{s: string(toUTF16(literal(v), enc))})
			case "base64":
				next = append(next, variant{s: base64.StdEncoding.EncodeToString([]byte(literal(v)))})
			case "base64offset":
				for _, s := range base64Offsets([]byte(literal(v))) {
					next = append(next, variant{s: s})
				}
			default:
				return nil, fmt.Errorf("unsupported value modifier %q", enc)
			}
		}
		vs = next
	}
	return vs, nil
}

// literal is the plain text of a variant: a glob's escapes removed (wildcards kept as text).
func literal(v variant) string {
	if !v.glob {
		return v.s
	}
	var b []byte
	for _, t := range parseGlob(v.s) {
		switch t.kind {
		case 'l':
			b = append(b, t.lit...)
		default:
			b = append(b, t.kind)
		}
	}
	return string(b)
}

func toUTF16(s, enc string) []byte {
	u := utf16.Encode([]rune(s))
	var b []byte
	switch enc {
	case "utf16":
		b = append(b, 0xff, 0xfe) // byte order mark, then little endian
		fallthrough
	case "utf16le", "wide":
		for _, c := range u {
			b = append(b, byte(c), byte(c>>8))
		}
	case "utf16be":
		for _, c := range u {
			b = append(b, byte(c>>8), byte(c))
		}
	}
	return b
}

// base64Offsets encodes b as it appears at each of the three alignments inside a longer
// base64 text: the leading characters that depend on preceding bytes and the trailing ones that
// depend on following bytes are cut.
func base64Offsets(b []byte) []string {
	var out []string
	for off := 0; off < 3; off++ {
		padded := append(make([]byte, off), b...)
		s := base64.StdEncoding.EncodeToString(padded)
		start := [3]int{0, 2, 3}[off]
		end := len(s)
		switch len(padded) % 3 {
		case 1:
			end -= 3
		case 2:
			end -= 2
		}
		if start > end {
			start = end
		}
		out = append(out, s[start:end])
	}
	return out
}

// dashes are the characters windash substitutes for one another.
var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windash expands each command-line flag dash (a `-` or `/` at the start of a word, as in
// ` -enc` or ` /c`) into every dash character, all combinations.
func windash(s string) []string {
	var pos []int
	for i := 0; i < len(s); i++ {
		if (s[i] == '-' || s[i] == '/') && (i == 0 || !isWordByte(s[i-1])) && i+1 < len(s) && isWordByte(s[i+1]) {
			pos = append(pos, i)
		}
	}
	if len(pos) == 0 {
		return []string{s}
	}
	out := []string{""}
	prev := 0
	for _, p := range pos {
		var next []string
		for _, o := range out {
			for _, d := range dashes {
				next = append(next, o+s[prev:p]+d)
			}
		}
		out = next
		prev = p + 1
	}
	for i := range out {
		out[i] += s[prev:]
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= utf8.RuneSelf
}

// timePart extracts a part of a timestamp: Sigma appendix "Modifiers", "Time Modifiers": minute
// (0-59), hour (0-23), day (1-31), week (1-52), month (1-12), year; "not designed to handle
// timezone or format conversions", so the time is read as written.
func timePart(s, part string) (float64, bool) {
	t, ok := parseTime(s)
	if !ok {
		return 0, false
	}
	switch part {
	case "minute":
		return float64(t.Minute()), true
	case "hour":
		return float64(t.Hour()), true
	case "day":
		return float64(t.Day()), true
	case "week":
		_, w := t.ISOWeek()
		return float64(w), true
	case "month":
		return float64(t.Month()), true
	case "year":
		return float64(t.Year()), true
	}
	return 0, false
}

// requiredLiteral returns a literal every match of the regular expression contains (the longest
// literal of its top-level concatenation), and whether it must be compared case-insensitively.
// It returns nil when there is none.
func requiredLiteral(expr string) ([]byte, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	re = re.Simplify()
	var best *syntax.Regexp
	consider := func(r *syntax.Regexp) {
		if r.Op == syntax.OpLiteral && (best == nil || len(r.Rune) > len(best.Rune)) {
			best = r
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		consider(re)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			consider(sub)
		}
	}
	if best == nil || len(best.Rune) < 3 {
		return nil, false
	}
	fold := best.Flags&syntax.FoldCase != 0
	s := string(best.Rune)
	if fold {
		s = foldString(s)
		// Only ASCII folds the same way in the event's lower-cased text and the regex.
		for _, r := range s {
			if r >= utf8.RuneSelf {
				return nil, false
			}
		}
	}
	return []byte(s), fold
}
