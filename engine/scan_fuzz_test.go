package engine

import (
	"encoding/json"
	"testing"

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
		if isString && (len(vs) == 0 || string(e.text(&vs[len(vs)-1])) != want) {
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
		{`"unterminated`, 13, false, true},
		{`"ends with backslash\`, 21, true, true},
	}
	for _, tt := range tests {
		end, esc, err := skipString([]byte(tt.in), 0)
		if end != tt.end || esc != tt.esc || (err != nil) != tt.fail {
			t.Errorf("skipString(%s) = %d, %v, %v; want %d, %v, fail %v", tt.in, end, esc, err, tt.end, tt.esc, tt.fail)
		}
	}
}
