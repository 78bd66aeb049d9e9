package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ruleatlas/ruleatlas/rule"
)

// FuzzScan: the scanner never panics, accepts every document encoding/json accepts, and finds
// the same top-level string value.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"eventName":"CreateUser","userIdentity":{"type":"Root","arn":"a"}}`,
		`{"Records":[{"eventName":"x"},{"eventName":"y"}]}`,
		`[{"a":1},{"b":[true,false,null]}]`,
		`{"a":"\u00e9\"\\","b":-1.5e3,"c":{"d":[{"e":"f"}]}}`,
		`{"a": tru}`, `{"a":`, `"str"`, `{"a":"x"} trailing`,
		`{"Event":{"System":{"EventID":{"#text":4688}},"EventData":{"Image":"C:\\x.exe"}}}`,
	} {
		f.Add([]byte(s))
	}
	p, err := Compile(sel(
		rule.Predicate{Field: "eventName", Kind: rule.KindEq, Values: []string{"x"}},
		rule.Predicate{Field: "userIdentity.arn", Kind: rule.KindContains, Values: []string{"a"}},
		rule.Predicate{Field: "c.d.e", Kind: rule.KindExists, Values: []string{"true"}},
	))
	if err != nil {
		f.Fatal(err)
	}
	set := NewSet([]*Program{p})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		e.reset(data, set.nslots)
		err := set.scan(&e)
		set.Match(&e, nil)
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		if err != nil {
			t.Fatalf("encoding/json accepts %q, the scanner says %v", data, err)
		}
		m, ok := doc.(map[string]any)
		if !ok {
			return
		}
		want, isString := m["eventName"].(string)
		vs := e.values(p.slots[0][0])
		// encoding/json decodes each byte that is not UTF-8 as U+FFFD; the scanner keeps the
		// bytes, as the event holds them.
		if isString && (len(vs) == 0 || string([]rune(string(e.text(&vs[len(vs)-1])))) != want) {
			t.Fatalf("%q: eventName %q, scanner found %d values", data, want, len(vs))
		}
	})
}

func TestSkipString(t *testing.T) {
	tests := []struct {
		in   string
		end  int
		esc  bool
		fail bool
	}{
		{`"abc"x`, 5, false, false},
		{`"abcdefghijklmnop"`, 18, false, false},
		{`"a\"b"`, 6, true, false},
		{`"a\\"b`, 5, true, false},
		{`"1234567\\"`, 11, true, false},
		{`"123456\"89012345678"`, 21, true, false},
		{`"12345678901234\\\"x"`, 21, true, false},
		{`"12345678901234567890123456789\"0123456789\\"x`, 45, true, false},
		{`"123456789012345678901234567890123456789"`, 41, false, false},
		{`"12345678901234567890123456789012345678\`, 40, true, true},
		{`"unterminated`, 13, false, true},
		{`"ends with backslash\`, 21, true, true},
	}
	for _, tt := range tests {
		end, esc, err := skipString([]byte(tt.in), 0)
		if end != tt.end || esc != tt.esc || (err != nil) != tt.fail {
			t.Errorf("skipString(%s) = %d, %v, %v; want %d, %v, fail %v", tt.in, end, esc, err, tt.end, tt.esc, tt.fail)
		}
		if end, err := stringEnd([]byte(tt.in), 0); end != tt.end || (err != nil) != tt.fail {
			t.Errorf("stringEnd(%s) = %d, %v; want %d, fail %v", tt.in, end, err, tt.end, tt.fail)
		}
	}
}

// FuzzSkipString: skipString and stringEnd agree with a byte-by-byte reading of the string,
// whatever its length and wherever its escapes fall (short strings take one path, long ones
// another).
func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"` + strings.Repeat("x", 40) + `\"y"`, `"` + strings.Repeat("\\", 20) + `"`, `"abc\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '"' {
			return
		}
		wantEnd, wantEsc, wantFail := len(data), false, true
		for j := 1; j < len(data); j++ {
			if data[j] == '\\' {
				wantEsc = true
				j++
				continue
			}
			if data[j] == '"' {
				wantEnd, wantFail = j+1, false
				break
			}
		}
		end, esc, err := skipString(data, 0)
		if end != wantEnd || esc != wantEsc || (err != nil) != wantFail {
			t.Fatalf("skipString(%q) = %d, %v, %v; want %d, %v, fail %v", data, end, esc, err, wantEnd, wantEsc, wantFail)
		}
		if end, err := stringEnd(data, 0); end != wantEnd || (err != nil) != wantFail {
			t.Fatalf("stringEnd(%q) = %d, %v; want %d, fail %v", data, end, err, wantEnd, wantFail)
		}
	})
}

// FuzzScanNamed: Windows Data elements named by attribute (see byName) never panic the scanner,
// and in documents encoding/json accepts, the string values found for a name are the "#text"
// strings of the Data elements of that Name.
func FuzzScanNamed(f *testing.F) {
	for _, s := range []string{
		`{"Event":{"EventData":{"Data":[{"#attributes":{"Name":"Image"},"#text":"C:\\x.exe"},{"#attributes":{"Name":"User"},"#text":"a"}]}}}`,
		`{"Event":{"EventData":{"Data":{"#text":"y","#attributes":{"Name":"Image"}}}}}`,
		`{"Event":{"EventData":{"Data":[{"#attributes":{"Name":"Image"}},"loose",{"#attributes":{"Name":"Im\u0061ge"},"#text":"z"}]}}}`,
		`{"Event":{"EventData":{"Data":[{"#attributes":{"Name":"Image"},"#text":tru}]}}}`,
		`{"Event":{"EventData":{"Data":[{"#attributes":{"Name":"Image","#text":"q"}]}}}`,
	} {
		f.Add([]byte(s))
	}
	r := sel(rule.Predicate{Field: "Image", Kind: rule.KindContains, Values: []string{"x"}})
	r.LogSource.Product = "windows"
	p, err := Compile(r)
	if err != nil {
		f.Fatal(err)
	}
	set := NewSet([]*Program{p})
	slot, ok := set.bySlot[strings.Join([]string{"Event", "EventData", "Data", byName, "Image"}, "\x00")]
	if !ok {
		f.Fatal("no slot for named Data")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		e.reset(data, set.nslots)
		err := set.scan(&e)
		set.scanFull(&e)
		set.Match(&e, nil)
		// Maps, not structs: encoding/json matches struct fields case-insensitively. Invalid
		// UTF-8 is left out: encoding/json replaces it, the scanner keeps the bytes.
		var doc map[string]any
		if err != nil || !utf8.Valid(data) || json.Unmarshal(data, &doc) != nil {
			return
		}
		obj := func(v any, key string) any {
			m, _ := v.(map[string]any)
			return m[key]
		}
		d := obj(obj(doc["Event"], "EventData"), "Data")
		elems, ok := d.([]any)
		if !ok {
			elems = []any{d}
		}
		var want []string
		for _, el := range elems {
			m, ok := el.(map[string]any)
			if !ok || obj(m["#attributes"], "Name") != "Image" {
				continue
			}
			if s, ok := m["#text"].(string); ok {
				want = append(want, s)
			} else if _, has := m["#text"]; !has {
				want = append(want, "")
			}
		}
		var got []string
		for _, v := range e.values(slot) {
			if v.kind == kString {
				got = append(got, string(e.text(&v)))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("Image values %q, want %q", got, want)
		}
	})
}

// BenchmarkSkipString: a long string with an escape every few bytes (a script block full of
// Windows paths) is read in time linear in its length.
func BenchmarkSkipString(b *testing.B) {
	s := []byte(`"` + strings.Repeat(`C:\\Windows\\x `, 1<<14) + `"`)
	b.SetBytes(int64(len(s)))
	for range b.N {
		if end, esc, err := skipString(s, 0); end != len(s) || !esc || err != nil {
			b.Fatal(end, esc, err)
		}
	}
}
