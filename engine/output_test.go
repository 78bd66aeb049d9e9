package engine

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendJSONStringEveryByte puts every byte value at every position of strings long enough to be
// passed eight bytes at a time, and checks the result decodes back to the string, with each
// byte of invalid UTF-8 replaced, and holds no raw control character.
func TestAppendJSONStringEveryByte(t *testing.T) {
	for n := 1; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				s := string(b)
				out := appendJSONString(nil, s)
				var got string
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("%q: %s: %v", s, out, err)
				}
				var want strings.Builder
				for i := 0; i < len(s); {
					r, w := utf8.DecodeRuneInString(s[i:])
					want.WriteRune(r) // RuneError for an invalid byte, as the writer does
					i += w
				}
				if got != want.String() {
					t.Fatalf("%q: wrote %s, decoded %q, want %q", s, out, got, want.String())
				}
				for _, x := range out {
					if x < 0x20 {
						t.Fatalf("%q: raw control character in %q", s, out)
					}
				}
			}
		}
	}
}
