package sigma

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

// render writes an expression compactly: and(a, not(b)), 1 of sel_*[sel_a sel_b].
func render(e *rule.Expr) string {
	if e == nil {
		return "<nil>"
	}
	args := func() string {
		var s []string
		for _, a := range e.Args {
			s = append(s, render(a))
		}
		return strings.Join(s, ", ")
	}
	switch e.Op {
	case rule.OpAnd, rule.OpOr, rule.OpNot:
		return string(e.Op) + "(" + args() + ")"
	case rule.OpRef:
		return e.Ref
	case rule.OpQuantifier:
		q := "1"
		if e.All {
			q = "all"
		}
		s := q + " of " + e.Pattern
		if e.Refs != nil {
			s += fmt.Sprint(e.Refs)
		}
		return s
	case rule.OpPredicate:
		return renderPred(e.Predicate)
	case rule.OpOpaque:
		return "opaque(" + e.Text + ": " + e.Reason + ")"
	}
	return "?" + string(e.Op)
}

func renderPred(p *rule.Predicate) string {
	var flags []string
	f := p.Flags
	for _, x := range []struct {
		on   bool
		name string
	}{{f.All, "all"}, {f.Cased, "cased"}, {f.Negated, "negated"}, {f.Wildcard, "wildcard"}, {f.Placeholder, "placeholder"}, {f.Numeric, "numeric"}} {
		if x.on {
			flags = append(flags, x.name)
		}
	}
	if len(f.Encodings) > 0 {
		flags = append(flags, "enc="+strings.Join(f.Encodings, "+"))
	}
	if f.ReFlags != "" {
		flags = append(flags, "re="+f.ReFlags)
	}
	if f.TimePart != "" {
		flags = append(flags, "time="+f.TimePart)
	}
	s := fmt.Sprintf("%s %s %q", p.Field, p.Kind, p.Values)
	if len(flags) > 0 {
		s += " {" + strings.Join(flags, " ") + "}"
	}
	return s
}

func TestConditionGrammar(t *testing.T) {
	// Precedence, least to most binding: or, and, not, x of, parentheses (rules specification
	// v2.1, "Condition").
	tests := []struct{ cond, want string }{
		{"selection", "selection"},
		{"a and b", "and(a, b)"},
		{"a or b", "or(a, b)"},
		{"a and b or c", "or(and(a, b), c)"},
		{"a or b and c", "or(a, and(b, c))"},
		{"a or b or c", "or(a, b, c)"},
		{"a and b and c", "and(a, b, c)"},
		{"not a", "not(a)"},
		{"not a and b", "and(not(a), b)"},
		{"not a or not b", "or(not(a), not(b))"},
		{"not not a", "not(not(a))"},
		{"a and not b", "and(a, not(b))"},
		{"(a or b) and c", "and(or(a, b), c)"},
		{"a and (b or c)", "and(a, or(b, c))"},
		{"not (a or b)", "not(or(a, b))"},
		{"((a))", "a"},
		{"1 of sel*", "1 of sel*"},
		{"any of sel*", "1 of sel*"},
		{"all of sel*", "all of sel*"},
		{"1 of them", "1 of them"},
		{"all of them", "all of them"},
		{"not 1 of filter*", "not(1 of filter*)"},
		{"1 of sel* and not 1 of filter*", "and(1 of sel*, not(1 of filter*))"},
		{"all of sel_* or keywords", "or(all of sel_*, keywords)"},
		{"1 of *_x*", "1 of *_x*"},
		// Keywords are case-insensitive.
		{"a AND NOT b OR c", "or(and(a, not(b)), c)"},
		{"ALL OF them", "all of them"},
		{"1 OF Them", "1 of Them"},
		{"Any Of sel*", "1 of sel*"},
		// Identifiers are YAML keys: dots, dashes and digits are fine; "all" and "any" are names
		// when not followed by "of".
		{"sel-1.a and 2fa", "and(sel-1.a, 2fa)"},
		{"all", "all"},
		{"  a\tand\nb  ", "and(a, b)"},
	}
	for _, tt := range tests {
		e, err := ParseCondition(tt.cond)
		if err != nil {
			t.Errorf("ParseCondition(%q): %v", tt.cond, err)
			continue
		}
		if got := render(e); got != tt.want {
			t.Errorf("ParseCondition(%q) = %s, want %s", tt.cond, got, tt.want)
		}
	}
}

func TestConditionPositions(t *testing.T) {
	e, err := ParseCondition("sel and not 1 of f*")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	e.Walk(func(x *rule.Expr) { got = append(got, fmt.Sprintf("%s@%d", x.Op, x.Pos.Col)) })
	want := "and@1 ref@1 not@9 quantifier@13"
	if strings.Join(got, " ") != want {
		t.Errorf("positions %s, want %s", strings.Join(got, " "), want)
	}
}

func TestConditionErrors(t *testing.T) {
	tests := []struct {
		cond string
		col  int
		msg  string
	}{
		{"", 1, `expected identifier, "not", "1 of", "all of" or "(", found end of condition`},
		{"1 of )", 6, `expected identifier after "1 of", found ")"`},
		{"1 of", 5, `expected identifier after "1 of", found end of condition`},
		{"all of and", 8, `expected identifier after "all of", found "and"`},
		{"2 of sel*", 1, `expected "1", "any" or "all" before "of", found "2"`},
		{"none of sel*", 1, `expected "1", "any" or "all" before "of", found "none"`},
		{"a and", 6, `expected identifier, "not", "1 of", "all of" or "(", found end of condition`},
		{"a b", 3, `expected "and", "or" or end of condition, found "b"`},
		{"(a or b", 8, `expected ")" to close "(" at column 1, found end of condition`},
		{"a)", 2, `expected "and", "or" or end of condition, found ")"`},
		{"sel*", 1, `wildcard identifier "sel*" outside "1 of" or "all of"`},
		{"not", 4, `expected identifier, "not", "1 of", "all of" or "(", found end of condition`},
		{"a and or b", 7, `expected identifier, "not", "1 of", "all of" or "(", found "or"`},
		{"a | count() > 1", 3, `expected "and", "or" or end of condition, found "|"`},
		{"a = b", 3, `expected "and", "or" or end of condition, found "="`},
		{"é and )", 7, `expected identifier, "not", "1 of", "all of" or "(", found ")"`},
	}
	for _, tt := range tests {
		_, err := ParseCondition(tt.cond)
		ce, ok := err.(*ConditionError)
		if !ok {
			t.Errorf("ParseCondition(%q): error %v, want a *ConditionError", tt.cond, err)
			continue
		}
		if ce.Col != tt.col || ce.Msg != tt.msg {
			t.Errorf("ParseCondition(%q): col %d %q, want col %d %q", tt.cond, ce.Col, ce.Msg, tt.col, tt.msg)
		}
	}
}

func TestConditionDepthBounded(t *testing.T) {
	deep := strings.Repeat("(", 100000) + "a" + strings.Repeat(")", 100000)
	if _, err := ParseCondition(deep); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep parentheses: %v, want a nesting error", err)
	}
	nots := strings.Repeat("not ", 100000) + "a"
	if _, err := ParseCondition(nots); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("deep negation: %v, want a nesting error", err)
	}
	if _, err := ParseCondition(strings.Repeat("(", 400) + "a" + strings.Repeat(")", 400)); err != nil {
		t.Errorf("400 parentheses: %v", err)
	}
}

func TestResolve(t *testing.T) {
	names := []string{"selection", "sel_a", "filter_x", "_private", "sel_b"}
	tests := []struct{ cond, want, err string }{
		{"1 of sel_*", "1 of sel_*[sel_a sel_b]", ""},
		{"all of sel*", "all of sel*[selection sel_a sel_b]", ""},
		// them excludes identifiers starting with an underscore.
		{"1 of them", "1 of them[selection sel_a filter_x sel_b]", ""},
		{"1 of _*", "1 of _*[_private]", ""},
		{"all of *_x", "all of *_x[filter_x]", ""},
		{"1 of *e*_*", "1 of *e*_*[sel_a filter_x sel_b]", ""},
		{"_private", "_private", ""},
		{"1 of nothing*", "", `"nothing*" matches no search identifier`},
		{"selection and missing", "", `unknown search identifier "missing"`},
		{"Selection", "", `unknown search identifier "Selection"`},
	}
	for _, tt := range tests {
		e, err := ParseCondition(tt.cond)
		if err != nil {
			t.Fatal(err)
		}
		err = resolve(e, names)
		switch {
		case tt.err != "":
			if err == nil || err.(*ConditionError).Msg != tt.err {
				t.Errorf("resolve(%q): %v, want %s", tt.cond, err, tt.err)
			}
		case err != nil:
			t.Errorf("resolve(%q): %v", tt.cond, err)
		case render(e) != tt.want:
			t.Errorf("resolve(%q) = %s, want %s", tt.cond, render(e), tt.want)
		}
	}
}

func TestLegacyAggregation(t *testing.T) {
	// Sigma v1 aggregation expressions, still written by rules in deprecated/ and unsupported/.
	tests := []struct{ text, want, err string }{
		{"count() > 5", "count field= by=[] [{gt 5}]", ""},
		{"count(TargetUserName) by IpAddress > 10", "count field=TargetUserName by=[IpAddress] [{gt 10}]", ""},
		{" count() by TaskName < 5", "count field= by=[TaskName] [{lt 5}]", ""},
		{"sum(question_length) by src_ip > 300000", "sum field=question_length by=[src_ip] [{gt 300000}]", ""},
		{"avg(x) >= 2.5", "avg field=x by=[] [{gte 2.5}]", ""},
		{"max(x) <= 1", "max field=x by=[] [{lte 1}]", ""},
		{"min(x) = 1", "min field=x by=[] [{eq 1}]", ""},
		{"count() by a, b != 3", "count field= by=[a b] [{neq 3}]", ""},
		{"COUNT() by host", "count field= by=[host] []", ""},
		{"near a", "near field= by=[] [] rules=[a] expr=a", ""},
		{"near a and b and not c", "near field= by=[] [] rules=[a b] expr=and(a, b, not(c))", ""},
		{"sum() > 3", "", `"sum" needs a field`},
		{"count(a) by > 3", "", `expected a field after "by", found ">"`},
		{"count() > many", "", `expected a number after ">", found "many"`},
		{"count() > inf", "", `expected a number after ">", found "inf"`},
		{"count() > NaN", "", `expected a number after ">", found "NaN"`},
		{"count() > Infinity", "", `expected a number after ">", found "Infinity"`},
		{"count() > 1e309", "", `expected a number after ">", found "1e309"`},
		{"median(x) > 3", "", `unknown aggregation function "median": expected count, min, max, avg, sum or near`},
		{"count( > 3", "", `expected ")" after the aggregated field, found ">"`},
		{"count() > 3 extra", "", `expected a comparison or end of aggregation, found "extra"`},
		{"near a or b", "", `expected "and" or end of near expression, found "or"`},
		{"", "", `expected an aggregation function or "near" after "|", found end of condition`},
	}
	for _, tt := range tests {
		a, err := parseAggregation(tt.text)
		if tt.err != "" {
			if err == nil || err.(*ConditionError).Msg != tt.err {
				t.Errorf("parseAggregation(%q): %v, want %s", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseAggregation(%q): %v", tt.text, err)
			continue
		}
		got := fmt.Sprintf("%s field=%s by=%v %v", a.agg.Function, a.agg.Field, a.agg.GroupBy, a.agg.Conditions)
		if a.expr != nil {
			a.agg.Rules = positiveRefs(a.expr, true)
			got += fmt.Sprintf(" rules=%v expr=%s", a.agg.Rules, render(a.expr))
		}
		if strings.TrimSpace(got) != tt.want {
			t.Errorf("parseAggregation(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"30s", 30, true}, {"10m", 600, true}, {"1h", 3600, true}, {"1d", 86400, true},
		{"90m", 5400, true}, {"1.5h", 5400, true}, {"2w", 1209600, true},
		{"", 0, false}, {"m", 0, false}, {"10", 0, false}, {"10x", 0, false}, {"-1h", 0, false},
		// Not finite, or finite only before the unit multiplies it.
		{"infd", 0, false}, {"NaNh", 0, false}, {"Infinitys", 0, false}, {"-infm", 0, false},
		{"1e308d", 0, false}, {"1e309s", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseWindow(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseWindow(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
