package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

// sel builds a one-selection Sigma-shaped rule: condition "selection" over the predicates.
func sel(preds ...rule.Predicate) *rule.Rule {
	and := &rule.Expr{Op: rule.OpAnd}
	for i := range preds {
		and.Args = append(and.Args, &rule.Expr{Op: rule.OpPredicate, Predicate: &preds[i]})
	}
	return &rule.Rule{Title: "t", Stages: []rule.Stage{
		{Index: 0, Name: "condition", Kind: rule.StageCondition, Expr: &rule.Expr{Op: rule.OpRef, Ref: "selection"}},
		{Index: 1, Name: "selection", Kind: rule.StageSelection, Expr: and},
	}}
}

func matchOne(t *testing.T, r *rule.Rule, event string) bool {
	t.Helper()
	p, err := Compile(r)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	s := NewSet([]*Program{p})
	var e Event
	e.reset([]byte(event), s.nslots)
	if err := s.scan(&e); err != nil {
		t.Fatalf("scan %s: %v", event, err)
	}
	return len(s.Match(&e, nil)) == 1
}

func TestPredicates(t *testing.T) {
	P := func(field string, kind rule.Kind, f rule.Flags, vals ...string) rule.Predicate {
		return rule.Predicate{Field: field, Kind: kind, Values: vals, Flags: f}
	}
	wc := rule.Flags{Wildcard: true}
	tests := []struct {
		name  string
		p     rule.Predicate
		event string
		want  bool
	}{
		{"eq folds case", P("eventName", rule.KindEq, rule.Flags{}, "CreateUser"), `{"eventName":"createuser"}`, true},
		{"eq cased", P("eventName", rule.KindEq, rule.Flags{Cased: true}, "CreateUser"), `{"eventName":"createuser"}`, false},
		{"eq other", P("eventName", rule.KindEq, rule.Flags{}, "CreateUser"), `{"eventName":"CreateUsers"}`, false},
		{"nested", P("a.b.c", rule.KindEq, rule.Flags{}, "x"), `{"a":{"z":[1,{"q":2}],"b":{"c":"X"}}}`, true},
		{"through array", P("a.b", rule.KindEq, rule.Flags{}, "x"), `{"a":[{"b":"y"},{"b":"x"}]}`, true},
		{"list value", P("a", rule.KindEq, rule.Flags{}, "x"), `{"a":["y","x"]}`, true},
		{"escaped", P("a", rule.KindEq, rule.Flags{}, `C:\Windows "x"`), `{"a":"C:\\Windows \"x\""}`, true},
		{"unicode escape", P("a", rule.KindEq, rule.Flags{}, "é"), `{"a":"\u00c9"}`, true},
		{"glob", P("a", rule.KindEq, wc, "ab*d?f"), `{"a":"ABxxdzF"}`, true},
		{"glob no", P("a", rule.KindEq, wc, "ab*d?f"), `{"a":"ABxxdF"}`, false},
		{"escaped star", P("a", rule.KindEq, wc, `a\*b`), `{"a":"a*b"}`, true},
		{"escaped star literal", P("a", rule.KindEq, wc, `a\*b`), `{"a":"axxb"}`, false},
		{"contains", P("a", rule.KindContains, rule.Flags{}, "MID"), `{"a":"xxmidxx"}`, true},
		{"startswith", P("a", rule.KindStartsWith, rule.Flags{}, "ab"), `{"a":"abc"}`, true},
		{"endswith", P("a", rule.KindEndsWith, rule.Flags{}, "ab"), `{"a":"abc"}`, false},
		{"number eq", P("n", rule.KindEq, rule.Flags{Numeric: true}, "4688"), `{"n":4688}`, true},
		{"numeric string", P("n", rule.KindEq, rule.Flags{Numeric: true}, "4688"), `{"n":"4688"}`, true},
		{"gt", P("n", rule.KindGt, rule.Flags{}, "10"), `{"n":11}`, true},
		{"gt no", P("n", rule.KindGt, rule.Flags{}, "10"), `{"n":"10"}`, false},
		{"bool", P("b", rule.KindEq, rule.Flags{}, "true"), `{"b":true}`, true},
		{"null absent", P("x", rule.KindNull, rule.Flags{}), `{"b":true}`, true},
		{"null null", P("x", rule.KindNull, rule.Flags{}), `{"x":null}`, true},
		{"null present", P("x", rule.KindNull, rule.Flags{}), `{"x":""}`, false},
		{"exists", P("x", rule.KindExists, rule.Flags{}, "true"), `{"x":""}`, true},
		{"exists false", P("x", rule.KindExists, rule.Flags{Negated: true}), `{"y":""}`, true},
		{"missing fails negated", P("x", rule.KindEq, rule.Flags{Negated: true}, "a"), `{"y":""}`, false},
		{"re cased", P("a", rule.KindRe, rule.Flags{}, "^Ab+$"), `{"a":"abb"}`, false},
		{"re i", P("a", rule.KindRe, rule.Flags{ReFlags: "i"}, "^Ab+$"), `{"a":"abb"}`, true},
		{"cidr", P("ip", rule.KindCIDR, rule.Flags{}, "10.0.0.0/8"), `{"ip":"10.2.3.4"}`, true},
		{"cidr no", P("ip", rule.KindCIDR, rule.Flags{}, "10.0.0.0/8"), `{"ip":"11.2.3.4"}`, false},
		{"object contains", P("rp", rule.KindContains, rule.Flags{}, `"s3:GetObject"`), `{"rp":{"p":["s3:GetObject"]}}`, true},
		{"all", P("a", rule.KindContains, rule.Flags{All: true}, "x", "y"), `{"a":"xy"}`, true},
		{"all no", P("a", rule.KindContains, rule.Flags{All: true}, "x", "y"), `{"a":"xx"}`, false},
		{"base64offset", P("a", rule.KindContains, rule.Flags{Encodings: []string{"base64offset"}}, "http"), `{"a":"eHhodHRw"}`, true},
		{"windash", P("a", rule.KindContains, rule.Flags{Encodings: []string{"windash"}}, " -enc "), `{"a":"ps /enc x"}`, true},
		{"keyword", P("", rule.KindKeyword, rule.Flags{}, "evil"), `{"a":{"b":["x","an EVIL one"]}}`, true},
		{"keyword not key", P("", rule.KindKeyword, rule.Flags{}, "evil"), `{"evil":"x"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchOne(t, sel(tt.p), tt.event); got != tt.want {
				t.Errorf("%+v on %s = %v, want %v", tt.p, tt.event, got, tt.want)
			}
		})
	}
}

func TestRequiredLiteral(t *testing.T) {
	tests := []struct {
		re   string
		lit  string
		fold bool
	}{
		{".+:assumed-role/aws:.+", ":assumed-role/aws:", false},
		{"(?i)^Invoke-Mimi", "invoke-mimi", true},
		{"a|bcdef", "", false},
		{"ab", "", false},
		{"x(abc)+yzw", "yzw", false},
	}
	for _, tt := range tests {
		lit, fold := requiredLiteral(tt.re)
		if string(lit) != tt.lit || fold != tt.fold {
			t.Errorf("requiredLiteral(%q) = %q, %v; want %q, %v", tt.re, lit, fold, tt.lit, tt.fold)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "tab\tnl\n", "été", "bad\xffutf8", "\x01"} {
		got := string(appendJSONString(nil, s))
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: %s is not JSON: %v", s, got, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Errorf("%q: round trip gave %q", s, back)
		}
	}
}

// TestTwoPassScan: a program reading a path the first pass leaves out still matches, through
// the second scan, and programs of the first pass are not disturbed by it.
func TestTwoPassScan(t *testing.T) {
	eq := func(field, v string) rule.Predicate {
		return rule.Predicate{Field: field, Kind: rule.KindEq, Values: []string{v}}
	}
	var progs []*Program
	for _, r := range []*rule.Rule{
		sel(eq("eventName", "A")), sel(eq("eventName", "B")), sel(eq("eventName", "C")),
		sel(eq("eventName", "D"), eq("errorCode", "x")),
		sel(eq("eventName", "Deep"), eq("requestParameters.policy.effect", "Allow")),
	} {
		p, err := Compile(r)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	set := NewSet(progs)
	if !progs[4].full || progs[0].full {
		t.Fatalf("full: %v %v", progs[4].full, progs[0].full)
	}
	for ev, want := range map[string][]int{
		`{"eventName":"Deep","requestParameters":{"policy":{"effect":"Allow"}}}`:              {4},
		`{"eventName":"Deep","requestParameters":{"policy":{"effect":"Deny"}}}`:               nil,
		`{"eventName":"D","errorCode":"x","requestParameters":{"policy":{"effect":"Allow"}}}`: {3},
	} {
		var e Event
		e.reset([]byte(ev), set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatal(err)
		}
		if got := set.Match(&e, nil); !slices.Equal(got, want) {
			t.Errorf("%s: matched %v, want %v", ev, got, want)
		}
	}
}

// TestManyPieces checks that a predicate with many contains values, searched with one
// automaton (piecesOf), decides as its matchers one by one do: case folded or not, on strings,
// numbers and lists, with the windash variants.
func TestManyPieces(t *testing.T) {
	words := []string{"mimikatz", "sekurlsa", "-EncodedCommand", "Invoke-Expression", "DownloadString", "bypass", "hidden", "NoProfile",
		"certutil", "urlcache", "bitsadmin", "regsvr32", "scrobj", "mshta", "vbscript", "javascript", "é-accent", "42"}
	events := []string{
		`{"c":"powershell -nop -w HIDDEN"}`, `{"c":"nothing to see"}`, `{"c":["a","b","RegSvr32 /s"]}`, `{"c":1042}`,
		`{"c":"CERTUTIL"}`, `{"c":"É-ACCENT"}`, `{"c":"é-accent"}`, `{"c":"x -encodedcommand y"}`, `{"c":"/EncodedCommand"}`,
		`{"c":null}`, `{"d":"mimikatz"}`, `{"c":{"x":"mimikatz"}}`, `{"c":true}`,
	}
	for _, f := range []rule.Flags{{}, {Cased: true}, {Encodings: []string{"windash"}}} {
		shortcutAgrees(t, rule.Predicate{Field: "c", Kind: rule.KindContains, Values: words, Flags: f}, events, "automaton",
			func(pr *pred) func() {
				pieces := pr.pieces
				if pieces == nil {
					return nil
				}
				pr.pieces = nil
				return func() { pr.pieces = pieces }
			})
	}
}

// shortcutAgrees compiles a rule of one predicate on field c, which must have the shortcut
// that off takes away (off returns what puts it back), and checks the predicate says the same
// of each event with and without it. It returns how many events the predicate holds for.
func shortcutAgrees(t *testing.T, rp rule.Predicate, events []string, shortcut string, off func(*pred) func()) int {
	t.Helper()
	p, err := Compile(sel(rp))
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet([]*Program{p})
	var pr *pred
	eachPred(p.root, func(x *pred) {
		if x.field >= 0 && p.fields[x.field].name == "c" {
			pr = x
		}
	})
	var on func()
	if pr != nil {
		on = off(pr)
	}
	if on == nil {
		t.Fatalf("%s %+v: the predicate has no %s", rp.Kind, rp.Flags, shortcut)
	}
	on()
	matched := 0
	for _, ev := range events {
		var e Event
		e.reset([]byte(ev), set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatalf("%s: %v", ev, err)
		}
		got := p.evalPred(pr, &e)
		on := off(pr)
		want := p.evalPred(pr, &e)
		on()
		if got != want {
			t.Errorf("%s %+v, %s: the %s says %v, the matchers %v", rp.Kind, rp.Flags, ev, shortcut, got, want)
		}
		if want {
			matched++
		}
	}
	return matched
}

// TestLiteralSets checks the look-ups of many equalities or path endings against the matchers
// they stand for.
func TestLiteralSets(t *testing.T) {
	ends := []string{`\certutil.exe`, `\Tools\PsExec.exe`, `/usr/bin/curl`, `\`, `\a\`, `\rundll32.exe`, `\regsvr32.exe`,
		`\mshta.exe`, `\wscript.exe`, `\é.exe`}
	eqs := []string{"443", "8080", "-0", "1.5", "Admin", "C:\\x\\y", "é", "true", "null-ish", ""}
	events := []string{
		`{"c":"C:\\Windows\\System32\\CertUtil.exe"}`, `{"c":"C:/Windows/System32/certutil.exe"}`, `{"c":"certutil.exe"}`,
		`{"c":"D:\\tools\\psexec.exe"}`, `{"c":"/usr/bin/curl"}`, `{"c":"x/usr/bin/curl"}`, `{"c":"C:\\dir\\"}`, `{"c":"q\\a\\"}`,
		`{"c":"\\É.EXE"}`, `{"c":443}`, `{"c":443.0}`, `{"c":"443"}`, `{"c":0}`, `{"c":-0.0}`, `{"c":1.50}`, `{"c":"ADMIN"}`,
		`{"c":"C:\\x\\y"}`, `{"c":"É"}`, `{"c":true}`, `{"c":""}`, `{"c":null}`, `{"c":["x","admin"]}`, `{"d":"admin"}`,
		`{"c":{"x":"admin"}}`, `{"c":"8080 "}`,
	}
	for _, tc := range []struct {
		kind rule.Kind
		vals []string
		f    rule.Flags
	}{
		{rule.KindEndsWith, ends, rule.Flags{}}, {rule.KindEndsWith, ends, rule.Flags{Cased: true}},
		{rule.KindEq, eqs, rule.Flags{}}, {rule.KindEq, eqs, rule.Flags{Cased: true}},
	} {
		matched := shortcutAgrees(t, rule.Predicate{Field: "c", Kind: tc.kind, Values: tc.vals, Flags: tc.f}, events, "literal set",
			func(pr *pred) func() {
				lits := pr.lits
				if lits == nil {
					return nil
				}
				pr.lits = nil
				return func() { pr.lits = lits }
			})
		if matched == 0 || matched == len(events) {
			t.Errorf("%s %+v: %d of %d events match: the events do not tell the look-up apart", tc.kind, tc.f, matched, len(events))
		}
	}
}

// Case-insensitive comparisons fold as strings.EqualFold and a regular expression's (?i) do:
// ſ is s, the Kelvin sign is k, final sigma is sigma; the dotless ı stays itself. The index
// and the regex literal prefilter agree with the matchers.
func TestCaseFolding(t *testing.T) {
	cases := []struct {
		p     rule.Predicate
		event string
		want  bool
	}{
		{rule.Predicate{Field: "a", Kind: rule.KindEq, Values: []string{"xss"}}, `{"a":"XſS"}`, true},
		{rule.Predicate{Field: "a", Kind: rule.KindContains, Values: []string{"kernel"}}, `{"a":"the \u212aERNEL"}`, true},
		{rule.Predicate{Field: "a", Kind: rule.KindEq, Values: []string{"σοφία"}}, `{"a":"ΣΟΦΊΑ"}`, true},
		{rule.Predicate{Field: "a", Kind: rule.KindEq, Values: []string{"σ"}}, `{"a":"ς"}`, true},
		{rule.Predicate{Field: "a", Kind: rule.KindEq, Values: []string{"admin"}}, `{"a":"admın"}`, false},
		{rule.Predicate{Field: "a", Kind: rule.KindRe, Values: []string{"xssattack"}, Flags: rule.Flags{ReFlags: "i"}}, `{"a":"<xſsattack>"}`, true},
		{rule.Predicate{Field: "a", Kind: rule.KindRe, Values: []string{"(?i)kernelbase"}}, `{"a":"\u212aernelbase.dll"}`, true},
		{rule.Predicate{Field: "a", Kind: rule.KindEq, Values: []string{"xss"}, Flags: rule.Flags{Cased: true}}, `{"a":"xſs"}`, false},
	}
	for _, c := range cases {
		if got := matchOne(t, sel(c.p), c.event); got != c.want {
			t.Errorf("%s %v on %s: %v, want %v", c.p.Kind, c.p.Values, c.event, got, c.want)
		}
	}
}
