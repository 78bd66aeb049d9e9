package engine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// The three benchmarks below run on the same CloudTrail events (the suzaku sample data's
// records as JSON Lines, in memory): a hunt with every CloudTrail rule of sigma and
// suzaku-rules loaded on one thread, encoding/json into map[string]any, and a bare newline
// scan. Compare their MB/s.

var (
	benchOnce  sync.Once
	benchLines []byte
	benchProgs []*Program
)

func benchData(b *testing.B) ([]byte, []*Program) {
	dir := testcorpora.Dir(b)
	benchOnce.Do(func() {
		benchLines = sampleRecords(b, filepath.Join(dir, "suzaku-sample-data"))
		benchProgs = cloudTrailPrograms(b, dir)
	})
	if len(benchLines) == 0 || len(benchProgs) == 0 {
		b.Skip("no sample data or rules")
	}
	return benchLines, benchProgs
}

// sampleRecords returns the CloudTrail records of the sample data as JSON Lines.
func sampleRecords(tb testing.TB, dir string) []byte {
	var out bytes.Buffer
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".json.gz")) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		var r io.Reader = bufio.NewReader(f)
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil
			}
			r = zr
		}
		var doc struct{ Records []json.RawMessage }
		if json.NewDecoder(r).Decode(&doc) != nil {
			return nil
		}
		for _, rec := range doc.Records {
			var c bytes.Buffer
			if json.Compact(&c, rec) == nil {
				out.Write(c.Bytes())
				out.WriteByte('\n')
			}
		}
		return nil
	})
	return out.Bytes()
}

// cloudTrailPrograms compiles every rule of sigma and suzaku-rules on CloudTrail.
func cloudTrailPrograms(tb testing.TB, dir string) []*Program {
	progs, _, err := LoadRules(cloudTrailRuleFiles(dir), Filter{})
	if err != nil {
		tb.Fatal(err)
	}
	return progs
}

// cloudTrailRuleFiles lists the rule files of sigma and suzaku-rules on CloudTrail.
func cloudTrailRuleFiles(dir string) []string {
	var files []string
	for _, sub := range []string{"suzaku-rules", filepath.Join("sigma", "rules")} {
		filepath.WalkDir(filepath.Join(dir, sub), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yml") {
				data, err := os.ReadFile(path)
				if err == nil && cloudTrailRE.Match(data) {
					files = append(files, path)
				}
			}
			return nil
		})
	}
	return files
}

// BenchmarkLoadRules reads and compiles the CloudTrail rules and indexes them, as a hunt does
// before it reads an event: on small inputs, most of a hunt's time.
func BenchmarkLoadRules(b *testing.B) {
	files := cloudTrailRuleFiles(testcorpora.Dir(b))
	if len(files) == 0 {
		b.Skip("no CloudTrail rules")
	}
	// In one directory, as a hunt is usually given them.
	dir := b.TempDir()
	var size int64
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.yml", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		progs, _, err := LoadRules([]string{dir}, Filter{})
		if err != nil {
			b.Fatal(err)
		}
		NewSet(progs)
	}
	b.ReportMetric(float64(len(files)), "files")
}

func BenchmarkHunt(b *testing.B) {
	data, progs := benchData(b)
	benchWorker(b, NewSet(progs), data)
}

// benchWorker evaluates JSON Lines on one worker, cut into chunks as the reader cuts them, and
// formats the detections as JSON Lines, as a hunt's worker does; results are reused as in a
// hunt, where nothing keeps a detection once written.
func benchWorker(b *testing.B, set *Set, data []byte) {
	w := newWorker(set)
	w.keepAll = false
	w.render, _ = newRenderer("jsonl")
	w.spent = make(chan *result, 1)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var events, dets int64
	for range b.N {
		for off := 0; off < len(data); {
			end := min(off+chunkSize, len(data))
			if end < len(data) {
				end = off + bytes.LastIndexByte(data[off:end], '\n') + 1
			}
			r := w.process(&chunk{file: "bench", data: data[off:end]})
			events += r.events
			dets += int64(len(r.hits))
			off = end
			w.spent <- r
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(dets)/float64(events), "detections/event")
}

func BenchmarkDecodeBaseline(b *testing.B) {
	data, _ := benchData(b)
	b.SetBytes(int64(len(data)))
	for range b.N {
		for d := data; len(d) > 0; {
			nl := bytes.IndexByte(d, '\n')
			var m map[string]any
			if json.Unmarshal(d[:nl], &m) != nil {
				b.Fatal("bad line")
			}
			d = d[nl+1:]
		}
	}
}

func BenchmarkScanBaseline(b *testing.B) {
	data, _ := benchData(b)
	b.SetBytes(int64(len(data)))
	n := 0
	for range b.N {
		n += bytes.Count(data, []byte{'\n'})
	}
	if n == 0 {
		b.Fatal("no lines")
	}
}

var cloudTrailRE = regexp.MustCompile(`service: *cloudtrail`)

// BenchmarkScanFields is the scanner alone: every CloudTrail rule's fields extracted, no
// matching.
func BenchmarkScanFields(b *testing.B) {
	data, progs := benchData(b)
	set := NewSet(progs)
	var e Event
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		for d := data; len(d) > 0; {
			nl := bytes.IndexByte(d, '\n')
			e.reset(d[:nl], set.nslots)
			if err := set.scan(&e); err != nil {
				b.Fatal(err)
			}
			d = d[nl+1:]
		}
	}
}

// BenchmarkRun is the whole pipeline (reader, workers, ordered writer) on a file of the same
// events, with 1 and 2 workers: detections discarded by emit, or written as JSON Lines (the
// workers format them) to io.Discard.
func BenchmarkRun(b *testing.B) {
	data, progs := benchData(b)
	f := filepath.Join(b.TempDir(), "ct.jsonl")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		b.Fatal(err)
	}
	set := NewSet(progs)
	for _, mode := range []string{"emit", "jsonl"} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", mode, threads), func(b *testing.B) {
				runBench(b, set, f, int64(len(data)), threads, mode, io.Discard)
			})
		}
	}
}

// BenchmarkRunLarge is BenchmarkRun's jsonl case on the events repeated to at least 500 MB,
// as hunt-throughput measures hunt, written to the null device: the input is too large for
// the caches, and with two workers on two cores the workers read and write for themselves.
func BenchmarkRunLarge(b *testing.B) {
	data, progs := benchData(b)
	f := filepath.Join(b.TempDir(), "ct-500mb.jsonl")
	w, err := os.Create(f)
	if err != nil {
		b.Fatal(err)
	}
	size := int64(0)
	for size < 500e6 {
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	set := NewSet(progs)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			runBench(b, set, f, size, threads, "jsonl", null)
		})
	}
}

// runBench runs the set over file (of size bytes) b.N times, reporting detections to emit,
// which discards them, or as JSON Lines to out.
func runBench(b *testing.B, set *Set, file string, size int64, threads int, mode string, out io.Writer) {
	b.SetBytes(size)
	var events int64
	for range b.N {
		opts := Options{Threads: threads, Transient: true}
		emit := func(*Detection) error { return nil }
		if mode == "jsonl" {
			opts.Output, _ = NewWriter("jsonl", out)
			emit = nil
		}
		st, err := Run(context.Background(), set, []string{file}, opts, emit)
		if err != nil {
			b.Fatal(err)
		}
		if opts.Output != nil {
			if err := opts.Output.Close(); err != nil {
				b.Fatal(err)
			}
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
