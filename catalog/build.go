// Package catalog builds the analysed catalog from rule sources: it parses every rule file,
// deduplicates rules across sources, resolves ATT&CK, events and links, computes indicator
// corpus counts and same-action lists, and writes it all to the store in one transaction.
package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/ruleatlas/ruleatlas/attack"
	"github.com/ruleatlas/ruleatlas/format"
	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/source"
	"github.com/ruleatlas/ruleatlas/store"
	"github.com/ruleatlas/ruleatlas/taxonomy"
)

// MaxFileSize is the largest rule file read; real rules are a few kilobytes, so anything
// larger is a mistake or an attack and is reported rather than parsed.
const MaxFileSize = 4 << 20

// Options configure a build.
type Options struct {
	Sources  []source.Spec
	CacheDir string // where git sources are cloned; "" for the user cache dir
	// Attack is the ATT&CK STIX bundle; nil builds without tactic and technique names.
	Attack  *attack.Matrix
	DB      string
	Threads int // parse workers; 0 means all cores
	// Progress, when set, is called as files are parsed.
	Progress func(done, total int)
}

// Build reads the sources and writes the catalog to opts.DB. The previous catalog stays in
// place until the new one is complete. The report is returned even when the build fails.
func Build(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	rep := &Report{Platforms: map[rule.Platform]*Counts{}}
	rules, err := Load(ctx, opts, rep)
	if err != nil {
		return rep, err
	}
	if len(rules) == 0 {
		return rep, errors.New("no rule could be built from the sources")
	}
	if err := write(opts, rules, rep, start); err != nil {
		return rep, err
	}
	return rep, nil
}

// Load reads, parses and analyses the sources into rules, recording failures and sources in
// rep; the rules are counted as they are stored.
func Load(ctx context.Context, opts Options, rep *Report) ([]*rule.Rule, error) {
	var srcs []*source.Source
	var files []job
	for i, spec := range opts.Sources {
		src, err := source.Open(ctx, spec, opts.CacheDir)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, src)
		if src.Warning != "" {
			rep.Warnings = append(rep.Warnings, src.Warning)
		}
		fs, err := src.Files()
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		rep.Sources = append(rep.Sources, SourceInfo{Name: src.Name, Repo: src.Repo, Commit: src.Commit, Dir: src.Dir, Files: len(fs)})
		for _, f := range fs {
			files = append(files, job{source: i, file: f})
		}
	}
	results := parseAll(ctx, files, opts.Threads, opts.Progress)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all []parsed
	for i, res := range results {
		j := files[i]
		src := srcs[j.source]
		name := src.Name + "/" + j.file.Rel
		if res.platform != "" {
			rep.counts(res.platform).Files++
		}
		for _, err := range res.errs {
			rep.fail(failureOf(name, res.platform, err))
		}
		for _, r := range res.rules {
			r.Source.Corpus = src.Name
			r.Source.Repo = src.RepoFor(j.file.Rel)
			r.Source.Path = j.file.Rel
			r.Source.Commit = src.CommitFor(j.file.Rel)
			r.Source.URL = src.URL(j.file.Rel, r.Source.Line)
			assignID(r)
			all = append(all, parsed{rule: r, source: j.source})
		}
	}
	rules, dups := dedupe(all)
	for _, f := range dups {
		rep.fail(f)
	}
	for _, r := range rules {
		taxonomy.Annotate(r)
		if opts.Attack != nil {
			r.Attack = attackRows(opts.Attack, r.Tags)
		}
	}
	resolveLinks(rules)
	analyse(rules)
	return rules, nil
}

func attackRows(m *attack.Matrix, tags []string) []rule.Attack {
	rows := m.Resolve(tags)
	out := make([]rule.Attack, 0, len(rows))
	for _, row := range rows {
		out = append(out, rule.Attack{TacticID: row.TacticID, Tactic: row.Tactic, TechniqueID: row.TechniqueID, Technique: row.Technique, Note: row.Note})
	}
	return out
}

func failureOf(file string, p rule.Platform, err error) Failure {
	var re *rule.Error
	if errors.As(err, &re) {
		return Failure{File: file, Line: max(re.Line, 1), Reason: re.Msg, Platform: p}
	}
	return Failure{File: file, Line: 1, Reason: err.Error(), Platform: p}
}

type job struct {
	source int
	file   source.File
}

type result struct {
	platform rule.Platform
	rules    []*rule.Rule
	errs     []error
}

// parseAll parses files on a pool of workers; results keep the order of files so the build is
// deterministic whatever the scheduling.
func parseAll(ctx context.Context, files []job, threads int, progress func(done, total int)) []result {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	results := make([]result, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = parseFile(files[i].file)
				if progress != nil {
					mu.Lock()
					done++
					progress(done, len(files))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range files {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// parseFile reads and parses one file. A parser panic is a bug, but one file must never take
// the build down: it is reported as that file's failure.
func parseFile(f source.File) (res result) {
	defer func() {
		if p := recover(); p != nil {
			res = result{platform: res.platform, errs: []error{fmt.Errorf("internal error while parsing: %v", p)}}
		}
	}()
	fh, err := os.Open(f.Abs)
	if err != nil {
		return result{errs: []error{err}}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return result{errs: []error{err}}
	}
	res.platform = format.Detect(f.Rel, data)
	if len(data) > MaxFileSize {
		if res.platform == "" && !format.RuleExtension(f.Rel) {
			return result{} // a large file of no rule format (a log sample, an archive): not ours
		}
		return result{platform: res.platform, errs: []error{fmt.Errorf("file of more than %d MiB: not read", MaxFileSize>>20)}}
	}
	if res.platform == "" {
		return res
	}
	res.rules, res.errs = format.Parse(f.Rel, data)
	return res
}

func write(opts Options, rules []*rule.Rule, rep *Report, start time.Time) error {
	w, err := store.Create(opts.DB)
	if err != nil {
		return err
	}
	defer w.Abort()
	stored := 0
	for _, r := range rules {
		// A rule the store refuses is that rule's failure, never the build's.
		if err := w.AddRule(r); err != nil {
			rep.fail(Failure{File: r.Source.Corpus + "/" + r.Source.Path, Line: max(r.Source.Line, 1),
				Reason: "not stored: " + err.Error(), Platform: r.Platform})
			continue
		}
		stored++
		rep.countRule(r)
		rep.counts(r.Platform).Mirrors += len(r.Mirrors)
	}
	if stored == 0 {
		return errors.New("no rule could be stored: keeping the previous catalog")
	}
	if opts.Attack != nil {
		if err := addMatrix(w, opts.Attack); err != nil {
			return err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	js, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := w.SetMeta(store.MetaReport, string(js)); err != nil {
		return err
	}
	if err := w.SetMeta(store.MetaBuilt, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	if err := w.SetMeta(store.MetaSources, string(sourcesJSON(rep, rules))); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	rep.Seconds = time.Since(start).Seconds()
	return nil
}

// addMatrix stores the ATT&CK matrix the coverage pages draw: tactics in matrix order and every
// current technique with its tactics.
func addMatrix(w *store.Writer, m *attack.Matrix) error {
	seen := map[string]bool{}
	for i, t := range m.Tactics() {
		if err := w.AddTactic(store.Tactic{ID: t.ID, Name: t.Name, Order: i}); err != nil {
			return err
		}
		for _, tech := range t.Techniques {
			if seen[tech.ID] {
				continue
			}
			seen[tech.ID] = true
			if err := w.AddTechnique(store.Technique{ID: tech.ID, Name: tech.FullName, Parent: tech.ParentID, Tactics: tech.Tactics}); err != nil {
				return err
			}
		}
	}
	return nil
}

func sourcesJSON(rep *Report, rules []*rule.Rule) []byte {
	perCorpus := map[string]int{}
	for _, r := range rules {
		perCorpus[r.Source.Corpus]++
	}
	var out []store.SourceInfo
	for _, s := range rep.Sources {
		info := store.SourceInfo{Name: s.Name, Repo: s.Repo, Commit: s.Commit, Rules: perCorpus[s.Name]}
		if s.Repo != "" {
			info.URL = "https://" + s.Repo
		}
		out = append(out, info)
	}
	js, _ := json.Marshal(out)
	return js
}
