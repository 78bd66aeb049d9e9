package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/ruleatlas/ruleatlas/attack"
	"github.com/ruleatlas/ruleatlas/catalog"
	"github.com/ruleatlas/ruleatlas/source"
)

// buildFlags are shared by build and serve.
type buildFlags struct {
	sources  stringList
	attack   string
	db       string
	cacheDir string
	threads  int
}

func (b *buildFlags) register(fs *flag.FlagSet) {
	fs.Var(&b.sources, "source", "a rule source `[NAME=]PATH_OR_URL` (repeatable); default: the public Sigma repositories")
	fs.StringVar(&b.attack, "attack", "", "the ATT&CK STIX bundle, a `FILE_OR_URL`, or none (default: the MITRE bundle, downloaded and cached)")
	fs.StringVar(&b.db, "db", defaultDB(), "the catalog `FILE`")
	fs.StringVar(&b.cacheDir, "cache-dir", "", "where git sources and downloads are kept (default: the user cache dir)")
	fs.IntVar(&b.threads, "threads", 0, "parse workers (default: all cores)")
}

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("build", stderr)
	var b buildFlags
	b.register(fs)
	reportPath := fs.String("report", "", "also write the build report as JSON to `FILE`")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the build to `FILE`")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("build takes no arguments, got %q (use --source)", rest[0])}
	}
	rep, err := build(ctx, b, stderr)
	if rep != nil {
		rep.Print(stdout)
		if *reportPath != "" {
			if werr := writeJSON(*reportPath, rep); werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}

// build runs a catalog build with a progress line on a terminal.
func build(ctx context.Context, b buildFlags, stderr io.Writer) (*catalog.Report, error) {
	specs, err := sourceSpecs(b.sources)
	if err != nil {
		return nil, err
	}
	cache := catalog.CacheDir(b.cacheDir)
	opts := catalog.Options{Sources: specs, CacheDir: filepath.Join(cache, "sources"), DB: b.db, Threads: b.threads}
	attackLoc := b.attack
	if attackLoc == "" {
		attackLoc = catalog.DefaultAttackURL
	}
	var m *attack.Matrix
	var warning string
	if attackLoc != "none" {
		m, err = catalog.LoadAttack(ctx, attackLoc, cache)
	}
	if err != nil {
		if b.attack != "" {
			return nil, err
		}
		warning = fmt.Sprintf("%v: building without ATT&CK names", err)
		fmt.Fprintln(stderr, "warning:", warning)
	}
	opts.Attack = m
	if isTerminal(stderr) {
		opts.Progress = func(done, total int) {
			if done%50 == 0 || done == total {
				fmt.Fprintf(stderr, "\rparsing rule files: %d/%d", done, total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(b.db), 0o755); err != nil {
		return nil, err
	}
	rep, err := catalog.Build(ctx, opts)
	if warning != "" && rep != nil {
		rep.Warnings = append(rep.Warnings, warning)
	}
	return rep, err
}

func sourceSpecs(args []string) ([]source.Spec, error) {
	if len(args) == 0 {
		return source.Defaults(), nil
	}
	var specs []source.Spec
	for _, a := range args {
		s, err := source.ParseSpec(a)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func writeJSON(path string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(js, '\n'), 0o644)
}

// isTerminal reports whether w is a character device, where a progress line helps rather than
// fills a log file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
