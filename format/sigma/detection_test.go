package sigma

import (
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

// detectionRule wraps a search identifier named sel (YAML indented by 8) into a whole rule.
func detectionRule(sel string) string {
	return "title: t\nlogsource:\n    product: p\ndetection:\n    sel:\n" + sel + "    condition: sel\n"
}

func parseOne(t *testing.T, src string) *rule.Rule {
	t.Helper()
	rules, errs := Parse("x.yml", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("Parse: %v\n%s", errs, src)
	}
	if len(rules) != 1 {
		t.Fatalf("Parse: %d rules, want 1", len(rules))
	}
	return rules[0]
}

func stage(t *testing.T, r *rule.Rule, name string) *rule.Stage {
	t.Helper()
	for i := range r.Stages {
		if r.Stages[i].Name == name {
			return &r.Stages[i]
		}
	}
	t.Fatalf("no stage %q", name)
	return nil
}

// modifierTests have one row per modifier of the modifiers appendix v2.1 and the combinations
// rules use; the fuzz tests start from them too.
var modifierTests = []struct{ item, want string }{
	{"F: v", `F eq ["v"]`},
	{"F|contains: v", `F contains ["v"]`},
	{"F|startswith: v", `F startswith ["v"]`},
	{"F|endswith: v", `F endswith ["v"]`},
	{"F|all: [a, b]", `F eq ["a" "b"] {all}`},
	{"F|contains|all: [a, b]", `F contains ["a" "b"] {all}`},
	{"F|cased: V", `F eq ["V"] {cased}`},
	{"F|neq: v", `F eq ["v"] {negated}`},
	{"F|exists: true", `F exists ["true"]`},
	{"F|exists: false", `F exists ["false"] {negated}`},
	{"F|re: '^a.*b$'", `F re ["^a.*b$"]`},
	{"F|re|i: 'x'", `F re ["x"] {re=i}`},
	{"F|re|i|m|s: 'x'", `F re ["x"] {re=ims}`},
	{"F|re|s|i: 'x'", `F re ["x"] {re=si}`},
	{"F|cidr: 10.0.0.0/8", `F cidr ["10.0.0.0/8"]`},
	{"F|cidr: ['10.0.0.0/8', 'fe80::/10']", `F cidr ["10.0.0.0/8" "fe80::/10"]`},
	{"F|cidr: 192.168.1.1", `F cidr ["192.168.1.1"]`},
	{"F|cidr: '10.*'", `opaque(F|cidr: cidr needs a network range, found "10.*")`},
	{"F|lt: 5", `F lt ["5"] {numeric}`},
	{"F|lte: 5", `F lte ["5"] {numeric}`},
	{"F|gt: 5.5", `F gt ["5.5"] {numeric}`},
	{"F|gte: -1", `F gte ["-1"] {numeric}`},
	{"F|gt: '7'", `F gt ["7"] {numeric}`},
	{"F|fieldref: Other", `F fieldref ["Other"]`},
	{"F|fieldref|neq: Other", `F fieldref ["Other"] {negated}`},
	{"F|base64: v", `F eq ["v"] {enc=base64}`},
	{"F|base64offset|contains: v", `F contains ["v"] {enc=base64offset}`},
	{"F|utf16le|base64offset|contains: v", `F contains ["v"] {enc=utf16le+base64offset}`},
	{"F|utf16be|base64: v", `F eq ["v"] {enc=utf16be+base64}`},
	{"F|utf16|base64: v", `F eq ["v"] {enc=utf16+base64}`},
	{"F|wide|base64offset|contains: v", `F contains ["v"] {enc=wide+base64offset}`},
	{"F|windash|contains: ' -enc '", `F contains [" -enc "] {enc=windash}`},
	{"F|contains|windash: ' -enc '", `F contains [" -enc "] {enc=windash}`},
	{"F|contains|all|windash: ['-a', '-b']", `F contains ["-a" "-b"] {all enc=windash}`},
	{"F|expand: '%Admins%'", `F eq ["%Admins%"] {placeholder}`},
	{"F|contains|expand: '%Admins%'", `F contains ["%Admins%"] {placeholder}`},
	{"F|hour|gte: 8", `F gte ["8"] {numeric time=hour}`},
	{"F|minute: 30", `F eq ["30"] {numeric time=minute}`},
	{"F|day: 1", `F eq ["1"] {numeric time=day}`},
	{"F|week|lt: 10", `F lt ["10"] {numeric time=week}`},
	{"F|month|neq: 12", `F eq ["12"] {negated numeric time=month}`},
	{"F|year|gte: 2020", `F gte ["2020"] {numeric time=year}`},
	{"F|startswith|cased: Ab*", `F startswith ["Ab*"] {cased wildcard}`},

	// What cannot be read is kept, with why.
	{"F|foo: v", `opaque(F|foo: unknown modifier "foo")`},
	{"F|Contains: v", `opaque(F|Contains: unknown modifier "Contains")`},
	{"F|: v", `opaque(F|: unknown modifier "")`},
	{"F|contains|startswith: v", `opaque(F|contains|startswith: conflicting modifiers "contains" and "startswith")`},
	{"F|re|cidr: v", `opaque(F|re|cidr: conflicting modifiers "re" and "cidr")`},
	{"F|i: v", `opaque(F|i: regular-expression flag "i" without re)`},
	{"F|contains|i: v", `opaque(F|contains|i: regular-expression flag "i" without re)`},
	{"F|base64|re: v", `opaque(F|base64|re: encoding "base64" with "re")`},
	{"F|windash|cidr: v", `opaque(F|windash|cidr: encoding "windash" with "cidr")`},
	{"F|hour|minute: 1", `opaque(F|hour|minute: conflicting modifiers "hour" and "minute")`},
	{"F|hour|contains: 1", `opaque(F|hour|contains: time modifier "hour" with "contains")`},
	{"F|hour: x", `opaque(F|hour: hour needs a number, found "x")`},
	{"F|exists: yes", `opaque(F|exists: exists needs true or false)`},
	{"F|exists: [true, false]", `opaque(F|exists: exists needs true or false)`},
	{"F|gt: ten", `opaque(F|gt: gt needs a number, found "ten")`},
	{"F|contains: null", `opaque(F|contains: null value with modifiers "contains")`},
}

func TestModifiers(t *testing.T) {
	for _, tt := range modifierTests {
		r := parseOne(t, detectionRule("        "+tt.item+"\n"))
		s := stage(t, r, "sel")
		if got := render(s.Expr); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.item, got, tt.want)
		}
		wantMods := strings.Split(strings.SplitN(strings.SplitN(tt.item, ":", 2)[0], "|", 2)[min(1, strings.Count(tt.item, "|"))], "|")
		if s.Expr.Op == rule.OpPredicate && strings.Contains(tt.item, "|") && strings.Join(s.Expr.Predicate.Modifiers, "|") != strings.Join(wantMods, "|") {
			t.Errorf("%s: modifiers %q, want %q as written", tt.item, s.Expr.Predicate.Modifiers, wantMods)
		}
		single := strings.Contains(tt.item, "|all") && !strings.Contains(tt.item, "[")
		if opaque := s.Expr.Op == rule.OpOpaque; opaque != r.HasOpaque() || (opaque || single) != (len(r.Notes) == 1) {
			t.Errorf("%s: opaque node %v, HasOpaque %v, notes %v", tt.item, opaque, r.HasOpaque(), r.Notes)
		}
	}
}

// shapeTests follow the rules specification v2.1, "Search-Identifier": maps are AND, lists OR,
// plain list values are keywords.
var shapeTests = []struct{ name, sel, want string }{
	{"map", "        A: 1\n        B: x\n", `and(A eq ["1"] {numeric}, B eq ["x"])`},
	{"one item", "        A: x\n", `A eq ["x"]`},
	{"value list", "        A:\n            - x\n            - 'y'\n", `A eq ["x" "y"]`},
	{"list of maps", "        - A: x\n        - B: y\n          C: z\n", `or(A eq ["x"], and(B eq ["y"], C eq ["z"]))`},
	{"list at key indentation", "    - A: x\n    - B: y\n", `or(A eq ["x"], B eq ["y"])`},
	{"keywords", "        - 'evil'\n        - 'svchost.exe -n evil'\n", ` keyword ["evil" "svchost.exe -n evil"]`},
	{"keyword all", "        '|all':\n            - 'a'\n            - 'b'\n", ` keyword ["a" "b"] {all}`},
	{"keyword contains", "        '|contains': 'a'\n", ` contains ["a"]`},
	{"lone keyword", "        evil\n", ` keyword ["evil"]`},
	{"keywords and maps", "        - A: x\n        - k1\n        - B: y\n        - k2\n", `or(A eq ["x"],  keyword ["k1" "k2"], B eq ["y"])`},
	{"null", "        A: null\n", `A null []`},
	{"tilde", "        A: ~\n", `A null []`},
	{"no value", "        A:\n", `A null []`},
	{"empty string", "        A: ''\n", `A eq [""]`},
	{"null in list", "        A:\n            - ''\n            - null\n", `or(A null [], A eq [""])`},
	{"null with neq", "        A|neq: null\n", `A null [] {negated}`},
	{"numbers", "        A: [4624, 0x10, 1.5]\n", `A eq ["4624" "0x10" "1.5"] {numeric}`},
	{"quoted number", "        A: '4624'\n", `A eq ["4624"]`},
	{"mixed numbers", "        A: [4624, x]\n", `A eq ["4624" "x"]`},
	{"bools", "        A: True\n        B: false\n", `and(A eq ["true"], B eq ["false"])`},
	{"flow map", "        {A: x, B: y}\n", `and(A eq ["x"], B eq ["y"])`},
	{"nested map value", "        A:\n            B: x\n", `opaque(A: a mapping as the value of a field)`},
	{"map in value list", "        A:\n            - B: x\n", `opaque(A: a value list holding a mapping)`},
	{"empty value list", "        A: []\n", `opaque(A: empty list of values)`},
	{"empty map", "        {}\n", `opaque(sel: empty mapping)`},
	{"empty list", "        []\n", `opaque(sel: empty list)`},
	{"merge key", "        <<: {A: x, B: y}\n        B: z\n", `and(A eq ["x"], B eq ["z"])`},
	{"merge list", "        <<: [{A: x}, {C: w}]\n", `and(A eq ["x"], C eq ["w"])`},
	{"merge scalar", "        <<: x\n", `opaque(<<: a merge key (<<) without a mapping to merge)`},
	{"quoted merge key is a field", "        '<<': x\n", `<< eq ["x"]`},
	{"complex key", "        ? [a, b]\n        : c\n", `opaque(: a field name that is a list)`},
	{"list of lists", "        - [a, b]\n", `opaque(sel: a list inside a list of search values)`},
}

func TestValueShapes(t *testing.T) {
	for _, tt := range shapeTests {
		r := parseOne(t, detectionRule(tt.sel))
		s := stage(t, r, "sel")
		if got := render(s.Expr); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	r := parseOne(t, strings.Replace(detectionRule(""), "    sel:\n", "    sel:\n    other: x\n", 1))
	if got := render(stage(t, r, "sel").Expr); got != "opaque(sel: empty search identifier)" {
		t.Errorf("empty search identifier: %s", got)
	}
}

func TestWildcards(t *testing.T) {
	// Rules specification v2.1, "Escape Character".
	tests := []struct {
		v    string
		want bool
	}{
		{`abc`, false}, {`a*c`, true}, {`a?c`, true}, {`*`, true},
		{`a\*c`, false}, {`a\?c`, false}, {`a\\*c`, true}, {`a\\\*c`, false},
		{`C:\Windows\`, false}, {`C:\Windows\*`, false}, {`\\server\share\*`, false},
		{`C:\Windows\\*`, true}, {`100%`, false}, {`\`, false}, {``, false},
	}
	for _, tt := range tests {
		if got := hasWildcard(tt.v); got != tt.want {
			t.Errorf("hasWildcard(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	// Values keep Sigma's escapes exactly; kinds that are not glob patterns never get the flag.
	r := parseOne(t, detectionRule(`        A: 'C:\Temp\*.exe'
        B|endswith: '\x\*y'
        C|re: '.*'
        D|cidr: '10.0.0.0/8'
        E|contains: '?'
        F|gt: 1
`))
	got := render(stage(t, r, "sel").Expr)
	want := `and(A eq ["C:\\Temp\\*.exe"], B endswith ["\\x\\*y"], C re [".*"], D cidr ["10.0.0.0/8"], E contains ["?"] {wildcard}, F gt ["1"] {numeric})`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestPredicatePositions(t *testing.T) {
	r := parseOne(t, "title: t\ndetection:\n    sel:\n        A|contains: x\n        B: y\n    kw:\n        - one\n    condition: sel or kw\n")
	sel, kw := stage(t, r, "sel"), stage(t, r, "kw")
	if len(sel.Predicates) != 2 || sel.Predicates[0].Pos != (rule.Pos{Line: 4, Col: 9}) || sel.Predicates[1].Pos != (rule.Pos{Line: 5, Col: 9}) {
		t.Errorf("sel predicates %+v", sel.Predicates)
	}
	if sel.Pos != (rule.Pos{Line: 3, Col: 5}) || kw.Pos != (rule.Pos{Line: 6, Col: 5}) {
		t.Errorf("stage positions %v %v", sel.Pos, kw.Pos)
	}
	if len(kw.Predicates) != 1 || kw.Predicates[0].Pos != (rule.Pos{Line: 7, Col: 11}) {
		t.Errorf("keyword predicate %+v", kw.Predicates)
	}
	cond := r.Stages[0]
	if cond.Pos != (rule.Pos{Line: 8, Col: 5}) || cond.Expr.Args[1].Pos != (rule.Pos{Line: 8, Col: 23}) {
		t.Errorf("condition positions %v %v", cond.Pos, cond.Expr.Args[1].Pos)
	}
	if cond.Predicates == nil || len(cond.Predicates) != 0 {
		t.Errorf("condition predicates %#v, want an empty non-nil slice", cond.Predicates)
	}
}

func TestStages(t *testing.T) {
	src := `title: t
detection:
    selection:
        eventSource: iam.amazonaws.com   # the service
        eventName:
            - CreateUser
            # a comment inside
            - CreateAccessKey

    # introduces the filter
    filter_a:
    - errorCode|exists: true
    - x: y
    keywords: [a, b]
    condition:
        - selection and not 1 of filter_*
        - keywords
level: high
`
	r := parseOne(t, src)
	var names []string
	for i, s := range r.Stages {
		if s.Index != i {
			t.Errorf("stage %d has index %d", i, s.Index)
		}
		names = append(names, s.Name+":"+string(s.Kind))
	}
	if got := strings.Join(names, " "); got != "condition:condition selection:selection filter_a:selection keywords:selection" {
		t.Errorf("stages %s", got)
	}
	texts := map[string]string{
		"condition": "selection and not 1 of filter_*\nkeywords",
		"selection": "selection:\n    eventSource: iam.amazonaws.com   # the service\n    eventName:\n        - CreateUser\n        # a comment inside\n        - CreateAccessKey",
		"filter_a":  "filter_a:\n- errorCode|exists: true\n- x: y",
		"keywords":  "keywords: [a, b]",
	}
	for name, want := range texts {
		if got := stage(t, r, name).Text; got != want {
			t.Errorf("%s text:\n%q\nwant\n%q", name, got, want)
		}
	}
	if got := render(r.Stages[0].Expr); got != "or(and(selection, not(1 of filter_*[filter_a])), keywords)" {
		t.Errorf("condition list: %s", got)
	}
	if got := len(stage(t, r, "filter_a").Predicates); got != 2 {
		t.Errorf("filter_a has %d predicates, want 2", got)
	}
}
