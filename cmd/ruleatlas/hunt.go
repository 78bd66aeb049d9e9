package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/ruleatlas/ruleatlas/engine"
	"github.com/ruleatlas/ruleatlas/rule"
)

func runHunt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hunt", stderr)
	var rules, platforms, tags, statuses stringList
	fs.Var(&rules, "rules", "rule `PATH`: a file, a directory or a catalog db (repeatable)")
	output := fs.String("output", "table", "output `FORMAT`: table, csv or jsonl")
	threads := fs.Int("threads", 0, "workers (default: all cores)")
	minLevel := fs.String("min-level", "", "report detections of this `LEVEL` and above: informational, low, medium, high, critical")
	fs.Var(&platforms, "platform", "only rules of this platform (sigma, ...) or log source product (aws, windows); repeatable")
	fs.Var(&tags, "tag", "only rules with this tag, e.g. attack.persistence (repeatable)")
	fs.Var(&statuses, "status", "only rules with this status, e.g. stable, test (repeatable)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the hunt to `FILE`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: ruleatlas hunt --rules PATH... [flags] LOG...

Runs the rules over the logs and writes the detections in input order. A LOG is a file, a
directory (walked for .json, .jsonl, .ndjson, .log and .gz files) or - for stdin, holding JSON
Lines, JSON documents one after another, arrays of events, CloudTrail {"Records": [...]}
files, or Windows events as evtx_dump writes them (-o json or -o jsonl); gzipped or not.

`)
		fs.PrintDefaults()
	}
	logs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		return usageError{"hunt: --rules is required"}
	}
	if len(logs) == 0 {
		return usageError{"hunt: no LOG given (use - for stdin)"}
	}
	if *minLevel != "" && !validLevel(*minLevel) {
		return usageError{fmt.Sprintf("hunt: unknown level %q", *minLevel)}
	}
	w, err := engine.NewWriter(*output, stdout)
	if err != nil {
		return usageError{"hunt: " + err.Error()}
	}
	// Trade memory for less GC work: parsing YAML allocates much and keeps little, and how
	// much it keeps depends on the rules (10 MB for the 850 CloudTrail rules, 75 MB for the
	// 3,141 rules of the Sigma corpus). While they load, a soft limit of 192 MB bounds the heap.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(192 << 20))
	progs, skipped, err := engine.LoadRules(rules, engine.Filter{Platform: platforms, Tag: tags, Status: statuses})
	if err != nil {
		return fmt.Errorf("hunt: %w", err)
	}
	if len(progs) == 0 {
		printSkipped(stderr, skipped)
		return fmt.Errorf("hunt: no rule loaded")
	}
	set := engine.NewSet(progs)
	// Then memory stays flat (chunks in flight are bounded), so trade some of it for less GC
	// work, within a soft limit: the memory held once the rules are loaded, and a few megabytes
	// per worker for its chunks in flight and their results, with room to spare (128 MB at
	// least: a peak well below 200 MB with the CloudTrail rules). Below what the rules hold,
	// the collector would run without pause: it did with the Sigma corpus under a fixed 128 MB.
	workers := *threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if heldMemory() > 64<<20 {
		// Loading left memory free but held (the Sigma corpus's 3,141 rules: a 170 MB heap
		// for 75 MB kept): give it back before the limit is set above what stays.
		debug.FreeOSMemory()
	}
	debug.SetMemoryLimit(max(128<<20, heldMemory()+int64(workers)*24<<20+32<<20))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("hunt: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("hunt: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// Nothing keeps a detection once written (Transient).
	opts := engine.Options{Threads: *threads, MinLevel: strings.ToLower(*minLevel), Stdin: os.Stdin, Transient: true, Output: w}
	st, runErr := engine.Run(ctx, set, logs, opts, nil)
	if err := w.Close(); err != nil && runErr == nil {
		runErr = err
	}
	summary(stderr, set, skipped, st)
	if runErr != nil {
		return fmt.Errorf("hunt: %w", runErr)
	}
	if st.Events == 0 && st.ErrorCount > 0 {
		// One bad input among good ones is reported and skipped; with nothing read at all,
		// a script must not take the silence for a clean result.
		return fmt.Errorf("hunt: no event could be read (%d read errors above)", st.ErrorCount)
	}
	return nil
}

func validLevel(l string) bool {
	switch strings.ToLower(l) {
	case "informational", "low", "medium", "high", "critical":
		return true
	}
	return false
}

func printSkipped(w io.Writer, skipped []engine.Skipped) {
	if len(skipped) == 0 {
		return
	}
	reasons := map[string]int{}
	for _, s := range skipped {
		reasons[s.Reason]++
	}
	fmt.Fprintf(w, "skipped %d rules:\n", len(skipped))
	const maxShown = 20
	for i, s := range skipped {
		if i == maxShown {
			fmt.Fprintf(w, "  ... and %d more\n", len(skipped)-maxShown)
			break
		}
		name := s.Path
		if s.Title != "" {
			name += " (" + s.Title + ")"
		}
		fmt.Fprintf(w, "  %s: %s\n", name, s.Reason)
	}
}

// summary prints what the hunt did: rules, input, detections by level and by rule, speed.
func summary(w io.Writer, set *engine.Set, skipped []engine.Skipped, st *engine.Stats) {
	filters, filtered := map[*rule.Rule]bool{}, 0
	for _, p := range set.Programs {
		for _, f := range p.Filters() {
			filters[f] = true
		}
		if len(p.Filters()) > 0 {
			filtered++
		}
	}
	fmt.Fprintf(w, "rules: %d loaded", len(set.Programs))
	if len(filters) > 0 {
		plural := "s"
		if len(filters) == 1 {
			plural = ""
		}
		fmt.Fprintf(w, " (%d tuned by %d filter%s)", filtered, len(filters), plural)
	}
	fmt.Fprintf(w, ", %d skipped\n", len(skipped))
	printSkipped(w, skipped)
	if st == nil {
		return
	}
	secs := st.Duration.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	fmt.Fprintf(w, "input: %d files, %d events, %.1f MB in %.2fs (%.0f events/s, %.1f MB/s)\n",
		st.Files, st.Events, float64(st.Bytes)/1e6, secs, float64(st.Events)/secs, float64(st.Bytes)/1e6/secs)
	if st.ErrorCount > 0 {
		fmt.Fprintf(w, "read errors: %d (skipped)\n", st.ErrorCount)
		for _, e := range st.Errors {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
		if st.ErrorCount > len(st.Errors) {
			fmt.Fprintf(w, "  ... and %d more\n", st.ErrorCount-len(st.Errors))
		}
	}
	fmt.Fprintf(w, "detections: %d\n", st.Detections)
	for _, l := range []string{"critical", "high", "medium", "low", "informational"} {
		if n := st.ByLevel[l]; n > 0 {
			fmt.Fprintf(w, "  %-13s %d\n", l, n)
		}
	}
	type rc struct {
		title string
		n     int64
	}
	var byRule []rc
	for p, n := range st.ByRule {
		byRule = append(byRule, rc{p.Rule.Title, n})
	}
	sort.Slice(byRule, func(i, j int) bool {
		if byRule[i].n != byRule[j].n {
			return byRule[i].n > byRule[j].n
		}
		return byRule[i].title < byRule[j].title
	})
	if len(byRule) > 0 {
		fmt.Fprintln(w, "by rule:")
		for _, r := range byRule {
			fmt.Fprintf(w, "  %7d  %s\n", r.n, r.title)
		}
	}
}

// heldMemory returns the memory the Go runtime holds from the system, as its memory limit
// counts it. It is more than the live heap: the rules' objects, allocated among the garbage of
// loading, leave spans partly free that the runtime cannot give back (61 MB beside 75 MB of
// live objects for the Sigma corpus); a limit below it made the collector run without pause.
func heldMemory() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}
