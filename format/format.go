// Package format recognises rule files and dispatches them to the parser of their format.
package format

import (
	"bytes"
	"path/filepath"
	"strings"

	"github.com/ruleatlas/ruleatlas/format/sigma"
	"github.com/ruleatlas/ruleatlas/rule"
)

// Detect returns the platform whose parser reads the file, or "" when the file is not a rule
// file of a known format (a README, a lookup table, a config file).
func Detect(path string, data []byte) rule.Platform {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yml", ".yaml":
		if isSigma(data) {
			return rule.PlatformSigma
		}
	}
	return ""
}

// RuleExtension reports whether a file's extension is one rule files use, so that a file of
// that kind which cannot even be recognised (too large, not text) is reported, not ignored.
func RuleExtension(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yml", ".yaml", ".toml":
		return true
	}
	return false
}

// Parse parses a rule file into rules. A file of no known format gives no rules and no errors.
// Errors name the file and position; a broken document does not hide the good ones.
func Parse(path string, data []byte) ([]*rule.Rule, []error) {
	switch Detect(path, data) {
	case rule.PlatformSigma:
		return sigma.Parse(path, data)
	}
	return nil, nil
}

// isSigma reports whether a YAML file has a top-level key only Sigma documents have.
func isSigma(data []byte) bool {
	for _, key := range [][]byte{[]byte("detection:"), []byte("correlation:"), []byte("filter:")} {
		if bytes.HasPrefix(data, key) || bytes.Contains(data, append([]byte("\n"), key...)) {
			return true
		}
	}
	return false
}
