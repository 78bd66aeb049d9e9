package engine

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// occurrences lists, for each pattern, the end offsets of its occurrences, by brute force.
func occurrences(patterns [][]byte, text []byte) [][]int {
	out := make([][]int, len(patterns))
	for i, p := range patterns {
		for j := 0; j+len(p) <= len(text); j++ {
			if bytes.Equal(text[j:j+len(p)], p) {
				out[i] = append(out[i], j+len(p))
			}
		}
	}
	return out
}

func automatonOccurrences(a *substrings, n int, text []byte) [][]int {
	out := make([][]int, n)
	s := int32(0)
	for pos, c := range text {
		s = a.step(s, c)
		for t := a.report[s]; t >= 0; t = a.next[t] {
			for _, p := range a.ids[a.ends[t]:a.ends[t+1]] {
				out[p] = append(out[p], pos+1)
			}
		}
	}
	return out
}

func checkSubstrings(t *testing.T, patterns [][]byte, text []byte) {
	t.Helper()
	want := occurrences(patterns, text)
	// Pad the set past fewPatterns with patterns that cannot occur, to test the automaton.
	big := slices.Clone(patterns)
	for len(big) <= fewPatterns {
		big = append(big, []byte("\x01never\x02"))
	}
	a := newSubstrings(big)
	walking := *a
	walking.delta = nil // the automaton without its table, as for large pattern sets
	for _, x := range []*substrings{a, &walking} {
		got := automatonOccurrences(x, len(big), text)
		for i := range patterns {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("pattern %q in %q (table %v): ends %v, want %v", patterns[i], text, x.delta != nil, got[i], want[i])
			}
		}
	}
	for _, a := range []*substrings{a, &walking, newSubstrings(patterns)} {
		found := map[int32]bool{}
		a.find(text, func(p int32) { found[p] = true })
		anyWant := false
		for i := range patterns {
			anyWant = anyWant || len(want[i]) > 0
		}
		if a.any(text) != anyWant { // the padding never occurs
			t.Fatalf("%q in %q: any says %v, want %v (%d patterns)", patterns, text, a.any(text), anyWant, a.n)
		}
		for i := range patterns {
			if found[int32(i)] != (len(want[i]) > 0) {
				t.Fatalf("pattern %q in %q: found %v, want %v (%d patterns)", patterns[i], text, found[int32(i)], len(want[i]) > 0, a.n)
			}
		}
	}
}

func TestSubstrings(t *testing.T) {
	checkSubstrings(t, [][]byte{[]byte("he"), []byte("she"), []byte("his"), []byte("hers")}, []byte("ushers and his shells"))
	checkSubstrings(t, [][]byte{[]byte("a"), []byte("aa"), []byte("aaa"), []byte("aa")}, []byte("aaaa"))
	checkSubstrings(t, [][]byte{[]byte(`\certutil.exe`), []byte(" -decode "), []byte("-urlcache")}, []byte(`c:\windows\system32\certutil.exe -urlcache -f http://x -decode `))
	checkSubstrings(t, [][]byte{[]byte("x")}, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var patterns [][]byte
		for range 1 + rng.IntN(8) {
			p := make([]byte, 1+rng.IntN(4))
			for i := range p {
				p[i] = "abc\x00\xff"[rng.IntN(5)]
			}
			patterns = append(patterns, p)
		}
		text := make([]byte, rng.IntN(40))
		for i := range text {
			text[i] = "abcd\x00\xff"[rng.IntN(6)]
		}
		checkSubstrings(t, patterns, text)
	}
}

func FuzzSubstrings(f *testing.F) {
	f.Add([]byte("he\nshe\nhis\nhers"), []byte("ushers"))
	f.Fuzz(func(t *testing.T, pats, text []byte) {
		var patterns [][]byte
		for _, p := range bytes.Split(pats, []byte{'\n'}) {
			if len(p) > 0 && len(patterns) < 64 {
				patterns = append(patterns, p)
			}
		}
		if len(patterns) == 0 || len(text) > 4096 {
			return
		}
		checkSubstrings(t, patterns, text)
	})
}

// Patterns over every byte value, and a set too large for a table (hashes of drivers, say),
// are found as by brute force.
func TestSubstringsLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var every [][]byte
	for range 200 {
		p := make([]byte, 1+rng.IntN(3))
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
		every = append(every, p)
	}
	text := make([]byte, 4096)
	for i := range text {
		text[i] = byte(rng.IntN(256))
	}
	checkSubstrings(t, every, text)

	const hexdigits = "0123456789abcdef"
	var hashes [][]byte
	for range 5000 {
		h := make([]byte, 64)
		for i := range h {
			h[i] = hexdigits[rng.IntN(16)]
		}
		hashes = append(hashes, h)
	}
	a := newSubstrings(hashes)
	if a.delta != nil {
		t.Fatalf("a table of %d entries was built", len(a.delta))
	}
	hay := []byte("SHA256=" + string(hashes[4321]) + ",MD5=" + string(hashes[7][:32]) + ",IMPHASH=" + string(hashes[99]))
	found := map[int32]bool{}
	a.find(hay, func(p int32) { found[p] = true })
	if len(found) != 2 || !found[4321] || !found[99] || !a.any(hay) || a.any([]byte(string(hashes[7][:63]))) {
		t.Errorf("found %v", found)
	}
}
