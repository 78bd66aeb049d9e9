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
