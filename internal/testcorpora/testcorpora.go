// Package testcorpora finds the shared rule corpora for tests and benchmarks.
package testcorpora

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the corpora directory: $RULEATLAS_CORPORA, else ../shared/corpora beside the
// repository. It skips the test, with a message saying how to provide them, when absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	if d := Find(); d != "" {
		return d
	}
	tb.Skip("corpora not found: set RULEATLAS_CORPORA or place them at ../shared/corpora beside the repository")
	return ""
}

// Path returns a path inside the corpora, skipping the test when it does not exist.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("corpus path %s not found", p)
	}
	return p
}

// Find returns the corpora directory or "" when there is none.
func Find() string {
	if d := os.Getenv("RULEATLAS_CORPORA"); d != "" {
		if isDir(d) {
			return d
		}
		return ""
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <repo>/internal/testcorpora/testcorpora.go
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	d := filepath.Join(filepath.Dir(repo), "shared", "corpora")
	if isDir(d) {
		return d
	}
	return ""
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
