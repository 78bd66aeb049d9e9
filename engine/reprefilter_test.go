package engine

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// prefilterLists shows a prefilter as its lists joined: "a|b & c".
func prefilterLists(pf [][]byte) string {
	var lists []string
	var cur []string
	for _, lit := range pf {
		if lit == nil {
			lists = append(lists, strings.Join(cur, "|"))
			cur = nil
			continue
		}
		cur = append(cur, string(lit))
	}
	return strings.Join(lists, " & ")
}

func TestRegexPrefilter(t *testing.T) {
	tests := []struct{ re, want string }{
		{`.+:assumed-role/aws:.+`, ":assumed-role/aws:"},
		{`(?i)^Invoke-Mimi`, "invoke-mimi"},
		{`a|bcdef`, "a|bcdef"},
		{`x(abc)+yzw`, "abc & yzw & x"},
		{`(Get-Item|gci|Get-ChildItem).{1,64}-Path.{1,64}\\(currentcontrolset\\services|CurrentVersion\\Run)\\`,
			`\currentcontrolset\services\|\currentversion\run\ & -path & get-item|gci|get-childitem`},
		{"\\w+`(\\w+|-|.)`[\\w+|\\s]", "` & `"},
		{`[Ee]ncoded[Cc]ommand`, "encodedcommand"},
		{`(?i)\\(cmd|powershell)\.exe$`, `\cmd.exe|\powershell.exe`},
		{`colou?r`, "color|colour"},
		{`a.*`, "a"},
		{`(abc)?x`, "x|abcx"},
		{`.*`, ""},
		{`(a|)b+`, "b"},
		{`(a|.)c`, "c"},
		{`(?i)straße`, "stra"},
		{`(?i)Straße\.(exe|dll)`, "stra & exe|dll"},
		{`[a-z]+\.exe`, ".exe"},
		{`(`, ""},
	}
	for _, tt := range tests {
		if got := prefilterLists(regexPrefilter(tt.re)); got != tt.want {
			t.Errorf("regexPrefilter(%q) = %q; want %q", tt.re, got, tt.want)
		}
	}
}

// FuzzRegexPrefilter: a text the expression matches passes its prefilter.
func FuzzRegexPrefilter(f *testing.F) {
	for _, s := range [][2]string{
		{`(Get-Item|gci).{1,64}-Path`, "gci x -Path"},
		{`(?i)\\(cmd|powershell)\.exe$`, `C:\Windows\POWERSHELL.EXE`},
		{"\\w+`(\\w+|-|.)`", "a`b`"},
		{`(?i)kelvin`, "\u212Aelvin"},
		{`(?i)ſ|s`, "S"},
		{`(?s)a.b|c?d`, "a\nb"},
		{`x{2,5}y{0,3}z+`, "xxzz"},
		{`(?m)^abc$|^$`, "\n"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		re, err := regexp.Compile(expr)
		if err != nil || !re.MatchString(text) {
			return
		}
		pf := regexPrefilter(expr)
		if !prefilterHolds(pf, appendLower(nil, []byte(text))) {
			t.Fatalf("%q matches %q, but its prefilter %q does not hold", expr, text, prefilterLists(pf))
		}
	})
}

// TestRegexPrefilterRandom builds random expressions and texts over a small alphabet, where
// matches are frequent, and checks every match passes the prefilter.
func TestRegexPrefilterRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	atoms := []string{"a", "ab", "Ab", "c", "[ab]", "[a-c]", "[Kk]", ".", `\.`, "ſ", "^", "$", `\b`}
	var expr func(depth int) string
	expr = func(depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			return atoms[rng.IntN(len(atoms))]
		}
		var s string
		switch rng.IntN(3) {
		case 0:
			s = expr(depth-1) + expr(depth-1)
		case 1:
			s = "(" + expr(depth-1) + "|" + expr(depth-1) + ")"
		default:
			s = "(" + expr(depth-1) + ")"
		}
		return s + []string{"", "", "?", "*", "+", "{1,3}", "{2}"}[rng.IntN(7)]
	}
	letters := []rune("aAbBck.K\u212A\u017fs ")
	matches, filtered := 0, 0
	for range 3000 {
		e := expr(4)
		if rng.IntN(3) == 0 {
			e = "(?i)" + e
		}
		re, err := regexp.Compile(e)
		if err != nil {
			continue // nested repetition, say
		}
		pf := regexPrefilter(e)
		if pf != nil {
			filtered++
		}
		for range 30 {
			var b strings.Builder
			for range rng.IntN(9) {
				b.WriteRune(letters[rng.IntN(len(letters))])
			}
			text := b.String()
			if !re.MatchString(text) {
				continue
			}
			matches++
			if !prefilterHolds(pf, appendLower(nil, []byte(text))) {
				t.Fatalf("%q matches %q, but its prefilter %q does not hold", e, text, prefilterLists(pf))
			}
		}
	}
	if matches < 1000 || filtered < 300 {
		t.Fatalf("%d matches, %d expressions with a prefilter: too few to tell", matches, filtered)
	}
	t.Logf("%d matches checked; %d of 3000 expressions have a prefilter", matches, filtered)
}
