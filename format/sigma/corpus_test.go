package sigma

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// corpusFiles lists the .yml files of the Sigma corpora, relative to the corpora directory.
func corpusFiles(tb testing.TB) (string, []string) {
	tb.Helper()
	dir := testcorpora.Dir(tb)
	var files []string
	for _, c := range []string{"sigma", "suzaku-rules", "sigma-spec"} {
		root := filepath.Join(dir, c)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
				rel, _ := filepath.Rel(dir, p)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if len(files) == 0 {
		tb.Skip("no Sigma corpora found")
	}
	return dir, files
}

// mustParse reports whether a corpus file must parse without errors: the maintained rule sets.
// deprecated/ and unsupported/ hold rules the Sigma project itself no longer reads.
func mustParse(rel string) bool {
	rel = filepath.ToSlash(rel)
	return strings.HasPrefix(rel, "sigma/rules") || strings.HasPrefix(rel, "suzaku-rules/") || strings.HasPrefix(rel, "sigma-spec/")
}

func TestCorpus(t *testing.T) {
	dir, files := corpusFiles(t)
	var rules, opaque, failedFiles int
	reasons := map[string]int{}
	notes := map[string]int{}
	var examples []string
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !isSigmaFile(data) {
			continue
		}
		rs, errs := Parse(rel, data)
		if len(errs) > 0 {
			failedFiles++
			if mustParse(rel) {
				t.Errorf("%s: %v", rel, errs)
			} else {
				t.Logf("legacy file with errors: %v", errs)
			}
		}
		for _, r := range rs {
			for _, n := range r.Notes {
				notes[noteKind(n.Message)]++
			}
			rules++
			if r.HasOpaque() {
				opaque++
				for _, o := range r.OpaqueReasons() {
					reasons[o.Reason]++
					if len(examples) < 30 {
						examples = append(examples, rel+": "+o.Reason)
					}
				}
			}
		}
	}
	rate := float64(opaque) / float64(max(rules, 1))
	t.Logf("%d files, %d rules, %d with opaque nodes (%.2f%%), %d files with errors", len(files), rules, opaque, 100*rate, failedFiles)
	type kv struct {
		k string
		v int
	}
	var top []kv
	for k, v := range reasons {
		top = append(top, kv{k, v})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].v > top[j].v || top[i].v == top[j].v && top[i].k < top[j].k })
	for _, x := range top {
		t.Logf("opaque reason %4d× %s", x.v, x.k)
	}
	for k, v := range notes {
		t.Logf("note %4d× %s", v, k)
	}
	if rules < 3000 {
		t.Errorf("only %d rules parsed from %d files", rules, len(files))
	}
	if rate > 0.005 {
		t.Errorf("%.2f%% of rules have opaque nodes, want at most 0.5%%; examples:\n%s", 100*rate, strings.Join(examples, "\n"))
	}
}

// isSigmaFile skips YAML files of the corpora that are not rules (CI configs, mappings).
func isSigmaFile(data []byte) bool {
	s := string(data)
	for _, k := range []string{"detection:", "correlation:", "filter:"} {
		if strings.HasPrefix(s, k) || strings.Contains(s, "\n"+k) {
			return true
		}
	}
	return false
}

// noteKind drops the quoted specifics of a note so that notes group by kind.
func noteKind(msg string) string {
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		return msg[:i] + "…"
	}
	return msg
}
