package format

import (
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		path, data string
		want       rule.Platform
	}{
		{"rules/a.yml", "title: a\ndetection:\n  s: {a: b}\n  condition: s\n", rule.PlatformSigma},
		{"rules/a.YAML", "title: a\ncorrelation:\n  type: event_count\n", rule.PlatformSigma},
		{"rules/f.yml", "filter:\n  rules: [a]\n", rule.PlatformSigma},
		{"config/abused.yml", "title: not a rule\nitems: [a]\n", ""},
		{"README.md", "detection:\n", ""},
		{"notes.yml", "description: the word detection: appears inline only\n", ""},
	} {
		if got := Detect(tc.path, []byte(tc.data)); got != tc.want {
			t.Errorf("Detect(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestParseIgnoresOtherFiles(t *testing.T) {
	rules, errs := Parse("README.md", []byte("# corpus\n"))
	if rules != nil || errs != nil {
		t.Errorf("Parse of a README = %v, %v", rules, errs)
	}
	rules, errs = Parse("a.yml", []byte("title: a\ndetection:\n  s: {a: b}\n  condition: s\n"))
	if len(rules) != 1 || len(errs) != 0 || rules[0].Platform != rule.PlatformSigma {
		t.Errorf("Parse of a Sigma rule = %v, %v", rules, errs)
	}
}
