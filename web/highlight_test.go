package web

import (
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

// classes renders tokens compactly: plain text as is, classed text as class{text}.
func classes(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		if t.Class == "" {
			b.WriteString(t.Text)
		} else {
			b.WriteString(t.Class + "{" + t.Text + "}")
		}
	}
	return b.String()
}

func TestHighlight(t *testing.T) {
	tests := []struct {
		lang, in, want string
	}{
		{"yaml", "title: IAM User Creation Attempt", "k{title}p{:} IAM User Creation Attempt"},
		{"yaml", "level: medium # why", "k{level}p{:} medium c{# why}"},
		{"yaml", "# whole line", "c{# whole line}"},
		{"yaml", "tags:\n    - attack.persistence", "k{tags}p{:}\n    p{-} attack.persistence"},
		{"yaml", "    Image|endswith: '\\powershell.exe'", "    k{Image|endswith}p{:} s{'\\powershell.exe'}"},
		{"yaml", `x: "a \" b" # c`, `k{x}p{:} s{"a \" b"} c{# c}`},
		{"yaml", "x: 'it''s'", "k{x}p{:} s{'it''s'}"},
		{"yaml", "EventID: 4688\nok: true\nn: null", "k{EventID}p{:} n{4688}\nk{ok}p{:} b{true}\nk{n}p{:} b{null}"},
		{"yaml", "date: 2026-05-03", "k{date}p{:} n{2026-05-03}"},
		{"yaml", "x: [a, 'b', 3]", "k{x}p{:} p{[}ap{,} s{'b'}p{,} n{3}p{]}"},
		{"yaml", "url: https://a.example/x#frag", "k{url}p{:} https://a.example/x#frag"},
		{"yaml", "description: |\n    line: one\n\n    two # no comment\nlevel: high",
			"k{description}p{:} p{|}\ns{    line: one\n\n    two # no comment\n}k{level}p{:} high"},
		{"yaml", "- key: >-\n    folded\n- next", "p{-} k{key}p{:} p{>-}\ns{    folded\n}p{-} next"},
		{"yaml", "---\na: 1", "p{---}\nk{a}p{:} n{1}"},
		{"yaml", "\"quoted key\": v", "k{\"quoted key\"}p{:} v"},
		{"toml", "[metadata]\ncreation_date = \"2024/11/04\"", "h{[metadata]}\nk{creation_date} p{=} s{\"2024/11/04\"}"},
		{"toml", "risk_score = 21\nenabled = true # on", "k{risk_score} p{=} n{21}\nk{enabled} p{=} b{true} c{# on}"},
		{"toml", "query = '''\na: \"b\"\n'''\nx = 1", "k{query} p{=} s{'''\na: \"b\"\n'''}\nk{x} p{=} n{1}"},
		{"toml", "[[rule.threat]]\ntags = [\"a\", \"b\"]", "h{[[rule.threat]]}\nk{tags} p{=} p{[}s{\"a\"}p{,} s{\"b\"}p{]}"},
		{"toml", "rule.name = 'x'", "k{rule}p{.}k{name} p{=} s{'x'}"},
		{"kusto", "SigninLogs\n| where ResultType == \"0\" // ok\n| summarize count() by bin(TimeGenerated, 1h)",
			"SigninLogs\np{|} kw{where} ResultType p{==} s{\"0\"} c{// ok}\np{|} kw{summarize} kw{count}p{()} kw{by} kw{bin}p{(}TimeGeneratedp{,} n{1h}p{)}"},
		{"kusto", "| project-away A", "p{|} kw{project-away} A"},
		{"kusto", "x has @\"C:\\temp\"", "x kw{has} s{@\"C:\\temp\"}"},
		{"eql", "sequence by host.id [process where process.name == \"a\"]",
			"kw{sequence} kw{by} hostp{.}id p{[}process kw{where} processp{.}name p{==} s{\"a\"}p{]}"},
		{"sigma", "selection and not 1 of filter_*", "selection kw{and} kw{not} n{1} kw{of} filter_p{*}"},
		{"spl", "index=main ``` note ``` | stats count by user", "kw{index}p{=}main c{``` note ```} p{|} kw{stats} kw{count} kw{by} user"},
		{"python", "def rule(event):\n    return event.get(\"x\") # c", "kw{def} f{rule}p{(}eventp{):}\n    kw{return} eventp{.}f{get}p{(}s{\"x\"}p{)} c{# c}"},
		{"json", `{"a": 1, "b": "c"}`, `p{{}k{"a"}p{:} n{1}p{,} k{"b"}p{:} s{"c"}p{}}`},
		{"unknown", "<b>as is</b>", "<b>as is</b>"},
	}
	for _, tt := range tests {
		got := tokenize(tt.lang, tt.in)
		if s := classes(got); s != tt.want {
			t.Errorf("tokenize(%s, %q)\n got %s\nwant %s", tt.lang, tt.in, s, tt.want)
		}
	}
}

func TestCompact(t *testing.T) {
	got := classes(highlight("yaml", "tags:\n    - attack.persistence\n    - x # c\nlevel: high"))
	want := "k{tags}p{:\n    - }attack.persistence\n    p{- }x c{# c\n}k{level}p{: }high"
	if got != want {
		t.Errorf("highlight\n got %s\nwant %s", got, want)
	}
}

// Whatever the input, the tokens put back together are the input: highlighting never loses,
// reorders or invents text.
func FuzzHighlight(f *testing.F) {
	for _, s := range []string{"title: x\n  - 'a''b'\n# c", "a = '''\nx", "[t]\nk=\"\\\"", "| where x == @\"a", "/* x", "```", "description: |\n  x\ny: \"unterminated", "é: ü", "\xff\xfe: \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for lang := range codeLangs {
			checkRoundTrip(t, lang, s)
		}
		checkRoundTrip(t, "yaml", s)
		checkRoundTrip(t, "toml", s)
	})
}

func checkRoundTrip(t *testing.T, lang, s string) {
	var b strings.Builder
	for _, tok := range highlight(lang, s) {
		if tok.Text == "" {
			t.Fatalf("%s: empty token", lang)
		}
		b.WriteString(tok.Text)
	}
	if b.String() != s {
		t.Fatalf("%s: tokens give %q, input was %q", lang, b.String(), s)
	}
}

func TestBodyLanguage(t *testing.T) {
	for _, tt := range []struct{ path, platform, want string }{
		{"rules/x.yml", "sigma", "yaml"},
		{"rules/x.toml", "elastic", "toml"},
		{"x.py", "panther", "python"},
		{"", "elastic", "toml"},
		{"", "kusto", "yaml"},
	} {
		r := seedRule("x", "t", "E", "T1", "n")
		r.Source.Path, r.Platform = tt.path, rule.Platform(tt.platform)
		if got := bodyLanguage(r); got != tt.want {
			t.Errorf("bodyLanguage(%s, %s) = %s, want %s", tt.path, tt.platform, got, tt.want)
		}
	}
}
