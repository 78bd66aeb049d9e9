package engine

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ruleatlas/ruleatlas/format"
	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/store"
	"github.com/ruleatlas/ruleatlas/taxonomy"
)

// Filter selects the rules of a hunt. Empty lists select everything; values of one list are
// alternatives.
type Filter struct {
	// Platform matches the rule's platform (sigma, elastic, ...) or its log source product
	// (aws, windows).
	Platform []string
	Tag      []string // a tag of the rule, e.g. attack.persistence or attack.t1098
	Status   []string
}

func (f Filter) keep(r *rule.Rule) bool {
	if r.Class == rule.ClassFilter {
		// A filter rule only acts on the loaded rules it names: selecting rules selects
		// what it acts on, and it has no status or tags of its own to select it by.
		return true
	}
	anyFold := func(want []string, have ...string) bool {
		if len(want) == 0 {
			return true
		}
		for _, w := range want {
			for _, h := range have {
				if strings.EqualFold(w, h) {
					return true
				}
			}
		}
		return false
	}
	return anyFold(f.Platform, string(r.Platform), r.LogSource.Product) &&
		anyFold(f.Tag, r.Tags...) && anyFold(f.Status, r.Status)
}

// Skipped is a rule (or rule file) not loaded, and why.
type Skipped struct {
	Path   string
	Title  string
	Reason string
}

// LoadRules reads and compiles rules from files, directories (walked recursively) and catalog
// databases (SQLite files written by build). Rules that cannot be read or evaluated are
// returned as skipped with the reason; so are correlations referring to rules that are missing
// or cannot be evaluated, and correlations on a cycle of references.
func LoadRules(paths []string, f Filter) ([]*Program, []Skipped, error) {
	// Parsing YAML is most of the time spent loading and it comes before any event is read,
	// so it bounds how much a hunt gains from more cores: files are parsed, and their rules
	// annotated and compiled, in parallel into the slots of items, which keep the order of
	// the walk.
	type item struct {
		path    string       // a rule file to parse; empty when rules are given
		rules   []*rule.Rule // rules read from a catalog, to compile
		progs   []*Program
		filters []*rule.Rule // Sigma filter rules, applied once every rule is loaded
		sk      []Skipped
	}
	var items []item
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case st.IsDir():
			err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					items = append(items, item{sk: []Skipped{{Path: path, Reason: err.Error()}}})
					return nil
				}
				if d.Type().IsRegular() {
					items = append(items, item{path: path})
				}
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
		case isSQLite(p):
			rs, err := catalogRules(p)
			if err != nil {
				return nil, nil, err
			}
			for _, r := range rs {
				items = append(items, item{rules: []*rule.Rule{r}})
			}
		default:
			items = append(items, item{path: p})
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				it := &items[i]
				if it.path != "" {
					it.rules, it.sk = parseFile(it.path)
				}
				it.progs, it.filters, it.sk = compileRules(it.rules, f, it.sk)
			}
		}()
	}
	wg.Wait()
	var progs []*Program
	var filters []*rule.Rule
	var skipped []Skipped
	for _, it := range items {
		progs, skipped = append(progs, it.progs...), append(skipped, it.sk...)
		filters = append(filters, it.filters...)
	}
	progs, idle := applyFilters(progs, filters)
	progs, broken := withoutBrokenCorrelations(progs)
	return progs, append(append(skipped, idle...), broken...), nil
}

// compileRules compiles the rules the filter keeps, adding those that cannot be to skipped.
// Sigma filter rules are returned apart, once they compile on their own.
func compileRules(rules []*rule.Rule, f Filter, skipped []Skipped) ([]*Program, []*rule.Rule, []Skipped) {
	var progs []*Program
	var filters []*rule.Rule
	for _, r := range rules {
		if !f.keep(r) {
			continue
		}
		if len(r.Events) == 0 && len(r.Indicators) == 0 {
			taxonomy.Annotate(r)
		}
		p, err := Compile(r)
		if err != nil {
			skipped = append(skipped, Skipped{Path: r.Source.Path, Title: r.Title, Reason: err.Error()})
			continue
		}
		if r.Class == rule.ClassFilter {
			filters = append(filters, r)
			continue
		}
		progs = append(progs, p)
	}
	return progs, filters, skipped
}

// parseFile parses one rule file; files of no known rule format are ignored.
func parseFile(path string) ([]*rule.Rule, []Skipped) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Skipped{{Path: path, Reason: err.Error()}}
	}
	rs, errs := format.Parse(path, data)
	var sk []Skipped
	for _, e := range errs {
		sk = append(sk, Skipped{Path: path, Reason: e.Error()})
	}
	for _, r := range rs {
		if r.Source.Path == "" {
			r.Source.Path = path
		}
	}
	return rs, sk
}

func isSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := f.Read(head)
	return bytes.Equal(head[:n], []byte("SQLite format 3\x00"))
}

// catalogRules lists the rules of a catalog database; LoadRules filters them.
func catalogRules(path string) ([]*rule.Rule, error) {
	s, err := store.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	defer s.Close()
	var out []*rule.Rule
	if err := s.EachRule(func(r *rule.Rule) error {
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return out, nil
}
