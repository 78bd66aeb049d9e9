package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// huntSet is a set of one rule matching eventName: Hit.
func huntSet(t *testing.T) *Set {
	t.Helper()
	return huntSetFor(t)
}

func huntSetFor(tb testing.TB) *Set {
	p, err := Compile(sel(rule.Predicate{Field: "eventName", Kind: rule.KindEq, Values: []string{"Hit"}}))
	if err != nil {
		tb.Fatal(err)
	}
	return NewSet([]*Program{p})
}

type hit struct {
	file   string
	record int64
}

func runOn(t *testing.T, set *Set, inputs []string, threads int, stdin string) ([]hit, *Stats) {
	t.Helper()
	var got []hit
	st, err := Run(context.Background(), set, inputs, Options{Threads: threads, Stdin: strings.NewReader(stdin)}, func(d *Detection) error {
		got = append(got, hit{filepath.Base(d.File), d.Record})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

// fileWriter returns a function writing a file in dir and returning its path.
func fileWriter(t *testing.T, dir string) func(name string, data []byte) string {
	return func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReaders(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lines := "{\"eventName\":\"Miss\"}\n{\"eventName\":\"Hit\"}\n\n{\"eventName\":\"Hit\"}\n"
	envelope := `{"Records":[{"eventName":"Miss"},{"eventName":"Hit"},{"eventName":"Hit"}]}`
	pretty := "{\n  \"eventName\": \"Miss\"\n}\n{\n  \"eventName\": \"Hit\"\n}\n[\n {\"eventName\": \"Hit\"},\n {\"eventName\": \"Miss\"}\n]\n"
	tests := []struct {
		name string
		data []byte
		want []int64
	}{
		{"lines.jsonl", []byte(lines), []int64{1, 3}},
		{"lines-crlf.jsonl", []byte(strings.ReplaceAll(lines, "\n", "\r\n")), []int64{1, 3}},
		{"no-final-newline.jsonl", []byte(strings.TrimSuffix(lines, "\n")), []int64{1, 3}},
		{"envelope.json", []byte(envelope), []int64{1, 2}},
		{"envelope-pretty.json", []byte("{\n \"Records\": [\n  {\"eventName\": \"Hit\"},\n  {\"eventName\": \"Miss\"}\n ]\n}\n"), []int64{0}},
		{"array.json", []byte(`[{"eventName":"Hit"},{"eventName":"Miss"},{"eventName":"Hit"}]`), []int64{0, 2}},
		// The envelope's Records is not always its first key.
		{"envelope-records-last.json", []byte(`{"source":"export","Records": [ {"eventName":"Miss"},{"eventName":"Hit"}]}`), []int64{1}},
		{"envelope-records-middle.jsonl", []byte("{\"a\":{\"Records\":[]},\"Records\":[\n{\"eventName\":\"Miss\"},{\"eventName\":\"Hit\"}],\"b\":1}\n{\"eventName\":\"Hit\",\"Records\":5}\n"), []int64{1, 1}},
		// An event with a Records field that is not a list of objects is an event.
		{"records-field.jsonl", []byte(`{"eventName":"Hit","Records":["a","b"]}` + "\n" + `{"eventName":"Hit","Records":[[{"eventName":"Miss"}]]}` + "\n" + `{"eventName":"Hit","Records":[]}` + "\n"), []int64{0, 1, 2}},
		{"envelope-records-empty.json", []byte(`{"n":1,"Records":[]}`), nil},
		// evtx_dump's JSON output labels each event with a line "Record <id>": pretty-printed
		// (records are documents), or one per line with --no-indent (records are lines).
		{"evtx_dump.json", []byte("Record 1\n{\n  \"eventName\": \"Miss\"\n}\nRecord 2\n{\n  \"eventName\": \"Hit\"\n}\nRecord 10\r\n{\"eventName\": \"Hit\"}\n"), []int64{1, 2}},
		{"evtx_dump-no-indent.json", []byte("Record 7\n{\"eventName\":\"Hit\"}\nRecord 8\n{\"eventName\":\"Miss\"}\nRecord 9\n{\"eventName\":\"Hit\"}"), []int64{1, 5}},
		{"evtx_dump.json.gz", gz([]byte("Record 1\n{\n  \"eventName\": \"Hit\"\n}\n")), []int64{0}},
		{"pretty.json", []byte(pretty), []int64{1, 0}},
		{"lines.jsonl.gz", gz([]byte(lines)), []int64{1, 3}},
		{"envelope.json.gz", gz([]byte(envelope)), []int64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(tt.name, tt.data)
			got, st := runOn(t, huntSet(t), []string{p}, 2, "")
			var recs []int64
			for _, h := range got {
				recs = append(recs, h.record)
			}
			if !slices.Equal(recs, tt.want) {
				t.Errorf("records %v, want %v", recs, tt.want)
			}
			if st.ErrorCount != 0 {
				t.Errorf("errors: %v", st.Errors)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		got, _ := runOn(t, huntSet(t), []string{"-"}, 1, lines)
		if !slices.Equal(got, []hit{{"-", 1}, {"-", 3}}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("directory", func(t *testing.T) {
		sub := filepath.Join(dir, "tree")
		write("tree/a/x.json", []byte(envelope))
		write("tree/b/y.jsonl.gz", gz([]byte(lines)))
		write("tree/README.md", []byte("# not a log"))
		got, st := runOn(t, huntSet(t), []string{sub}, 2, "")
		want := []hit{{"x.json", 1}, {"x.json", 2}, {"y.jsonl.gz", 1}, {"y.jsonl.gz", 3}}
		if !slices.Equal(got, want) || st.Files != 2 {
			t.Errorf("got %v in %d files, want %v in 2", got, st.Files, want)
		}
	})
}

// TestBadInput: malformed lines, a truncated gzip, an oversized line and a non-JSON file are
// reported with file and record and skipped; the run goes on with the next record or file.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	malformed := write("1-malformed.jsonl", []byte("{\"eventName\":\"Hit\"}\n{\"eventName\": \"Hit\",\n{\"eventName\": tru}\n{\"eventName\":\"Hit\"} x\n{\"eventName\":\"Hit\"}\n"))
	full := gz([]byte(strings.Repeat("{\"eventName\":\"Hit\"}\n", 2000)))
	truncated := write("2-truncated.jsonl.gz", full[:len(full)/2])
	big := bytes.Repeat([]byte("x"), maxRecord+1024)
	long := write("3-long.jsonl", append(append(append([]byte("{\"eventName\":\"Hit\"}\n{\"a\":\""), big...), "\"}\n"...), "{\"eventName\":\"Hit\"}\n"...))
	text := write("4-text.log", []byte("2024-01-01 this is not JSON\n{\"eventName\":\"Hit\"}\n"))
	after := write("5-after.jsonl", []byte("{\"eventName\":\"Hit\"}\n"))

	got, st := runOn(t, huntSet(t), []string{malformed, truncated, long, text, after}, 2, "")
	count := map[string][]int64{}
	for _, h := range got {
		count[h.file] = append(count[h.file], h.record)
	}
	if want := []int64{0, 4}; !slices.Equal(count["1-malformed.jsonl"], want) {
		t.Errorf("malformed: hits %v, want %v", count["1-malformed.jsonl"], want)
	}
	if n := len(count["2-truncated.jsonl.gz"]); n == 0 || n >= 2000 {
		t.Errorf("truncated gzip: %d hits, want some but not all", n)
	}
	if want := []int64{0, 2}; !slices.Equal(count["3-long.jsonl"], want) {
		t.Errorf("long line: hits %v, want %v", count["3-long.jsonl"], want)
	}
	if len(count["4-text.log"]) != 0 || len(count["5-after.jsonl"]) != 1 {
		t.Errorf("text file: %v; file after: %v", count["4-text.log"], count["5-after.jsonl"])
	}
	var reported []string
	for _, e := range st.Errors {
		reported = append(reported, fmt.Sprintf("%s:%d", filepath.Base(e.File), e.Record))
	}
	for _, want := range []string{"1-malformed.jsonl:1", "1-malformed.jsonl:2", "1-malformed.jsonl:3", "3-long.jsonl:1", "4-text.log:0"} {
		if !slices.Contains(reported, want) {
			t.Errorf("error at %s not reported; reported %v", want, reported)
		}
	}
	found := false
	for _, e := range st.Errors {
		if filepath.Base(e.File) == "2-truncated.jsonl.gz" && strings.Contains(e.Msg, "truncated") {
			found = true
		}
	}
	if !found {
		t.Errorf("truncated gzip not reported: %v", st.Errors)
	}
}

// TestOrderAcrossThreads: with several workers, detections come out in input order.
func TestOrderAcrossThreads(t *testing.T) {
	var b strings.Builder
	for i := range 200000 {
		if i%7 == 0 {
			b.WriteString(`{"eventName":"Hit","n":` + fmt.Sprint(i) + "}\n")
		} else {
			b.WriteString(`{"eventName":"Miss","pad":"` + strings.Repeat("p", i%50) + "\"}\n")
		}
	}
	p := filepath.Join(t.TempDir(), "many.jsonl")
	os.WriteFile(p, []byte(b.String()), 0o644)
	got, st := runOn(t, huntSet(t), []string{p}, 4, "")
	if st.Events != 200000 || len(got) != (200000+6)/7 {
		t.Fatalf("%d events, %d hits", st.Events, len(got))
	}
	for i, h := range got {
		if h.record != int64(i*7) {
			t.Fatalf("hit %d has record %d, want %d", i, h.record, i*7)
		}
	}
}

// TestTransientReusesBuffersSafely: with Options.Transient, input buffers are read into again
// once their detections are emitted. Over many chunks and a few workers, each detection must
// still carry its own event and record when emit sees it, with or without reuse.
func TestTransientReusesBuffersSafely(t *testing.T) {
	var in bytes.Buffer
	pad := strings.Repeat("x", 200)
	n := 0
	for in.Len() < 6*chunkSize {
		name := "Miss"
		if n%3 != 2 {
			name = "Hit"
		}
		fmt.Fprintf(&in, "{\"eventName\":%q,\"n\":%d,\"pad\":%q}\n", name, n, pad)
		n++
	}
	f := filepath.Join(t.TempDir(), "many.jsonl")
	if err := os.WriteFile(f, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	set := huntSet(t)
	for _, threads := range []int{1, 3} {
		for _, transient := range []bool{false, true} {
			var count int
			_, err := Run(context.Background(), set, []string{f}, Options{Threads: threads, Transient: transient}, func(d *Detection) error {
				want := fmt.Sprintf("{\"eventName\":\"Hit\",\"n\":%d,\"pad\":%q}", d.Record, pad)
				if string(d.Event) != want {
					return fmt.Errorf("record %d: event %.60s…", d.Record, d.Event)
				}
				if d.Record%3 == 2 || (count > 0 && d.Record != int64(count/2*3+count%2)) {
					return fmt.Errorf("detection %d: record %d, out of order", count, d.Record)
				}
				count++
				return nil
			})
			if err != nil {
				t.Fatalf("threads %d, transient %v: %v", threads, transient, err)
			}
			if want := n - n/3; count != want {
				t.Errorf("threads %d, transient %v: %d detections, want %d", threads, transient, count, want)
			}
		}
	}
}

// TestManyFilesInOrder reads a directory of files of every size at once with several readers:
// detections come out file by file in input order, each file's in record order, errors
// included, and a file larger than the chunks in flight goes through while later files wait.
func TestManyFilesInOrder(t *testing.T) {
	dir := t.TempDir()
	var want []hit
	wantErrs := 0
	for i := range 60 {
		name := fmt.Sprintf("f%03d.jsonl", i)
		var b bytes.Buffer
		n := i % 7 * 3
		if i == 5 || i == 31 {
			n = 120000 // several megabytes: more chunks than a file may have in flight
		}
		for rec := range n {
			if rec%3 == 1 {
				b.WriteString(`{"eventName":"Hit","pad":"` + strings.Repeat("p", 40) + `"}` + "\n")
				want = append(want, hit{name, int64(rec)})
			} else {
				b.WriteString(`{"eventName":"Miss"}` + "\n")
			}
		}
		data := b.Bytes()
		if i%4 == 0 {
			name += ".gz"
			for j := range want {
				if want[j].file == strings.TrimSuffix(name, ".gz") {
					want[j].file = name
				}
			}
			data = gz(data)
		}
		if i == 17 {
			data = append(data, "{broken\n"...)
			wantErrs++
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, threads := range []int{1, 2, 5} {
		got, st := runOn(t, huntSet(t), []string{dir}, threads, "")
		if !slices.Equal(got, want) {
			t.Errorf("threads=%d: %d detections out of order or missing (want %d)", threads, len(got), len(want))
		}
		if st.Files != 60 || st.ErrorCount != wantErrs {
			t.Errorf("threads=%d: %d files, %d errors (%v), want 60 and %d", threads, st.Files, st.ErrorCount, st.Errors, wantErrs)
		}
	}
}

// failAfter is a writer that fails once n bytes are written, as a closed pipe does.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

// TestOutputFails stops a run whose output fails (hunt | head): Run returns the error, with
// every reader and worker stopped, and no goroutine left behind; the same for a cancelled
// context and for an emit that fails.
func TestOutputFails(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 30 {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.jsonl", i))
		os.WriteFile(p, bytes.Repeat([]byte(`{"eventName":"Hit","x":"`+strings.Repeat("y", 200)+`"}`+"\n"), 20000), 0o644)
		files = append(files, p)
	}
	before := runtime.NumGoroutine()
	for _, threads := range []int{1, 3} {
		out, _ := NewWriter("jsonl", &failAfter{n: 1 << 20})
		_, err := Run(context.Background(), huntSet(t), files, Options{Threads: threads, Transient: true, Output: out}, nil)
		if err == nil || !strings.Contains(err.Error(), "broken pipe") {
			t.Errorf("threads=%d: output failing: %v", threads, err)
		}
		n := 0
		_, err = Run(context.Background(), huntSet(t), files, Options{Threads: threads}, func(*Detection) error {
			if n++; n == 1000 {
				return errors.New("enough")
			}
			return nil
		})
		if err == nil || err.Error() != "enough" {
			t.Errorf("threads=%d: emit failing: %v", threads, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n = 0
		_, err = Run(ctx, huntSet(t), files, Options{Threads: threads}, func(*Detection) error {
			if n++; n == 1000 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("threads=%d: cancelled: %v", threads, err)
		}
	}
	// Goroutines of the runs may take a moment to return after Run does.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind (%d before)", n-before, before)
	}
}

// TestEvtxDumpLarge reads evtx_dump's pretty JSON output larger than a chunk, so that labels
// and documents straddle the reader's buffers: every event is read, numbered by its position.
func TestEvtxDumpLarge(t *testing.T) {
	var b bytes.Buffer
	var want []int64
	for i := range 30000 {
		name := "Miss"
		if i%7 == 3 {
			name = "Hit"
			want = append(want, int64(i))
		}
		fmt.Fprintf(&b, "Record %d\n{\n  \"eventName\": %q,\n  \"pad\": %q\n}\n", i+1, name, strings.Repeat("x", i%97))
	}
	p := filepath.Join(t.TempDir(), "security.json")
	os.WriteFile(p, b.Bytes(), 0o644)
	for _, threads := range []int{1, 3} {
		got, st := runOn(t, huntSet(t), []string{p}, threads, "")
		var recs []int64
		for _, h := range got {
			recs = append(recs, h.record)
		}
		if !slices.Equal(recs, want) || st.Events != 30000 || st.ErrorCount != 0 {
			t.Errorf("threads=%d: %d detections, %d events, errors %v", threads, len(recs), st.Events, st.Errors)
		}
	}
}

// FuzzReader cuts and evaluates arbitrary input as a file: whatever it holds, the run ends
// without a panic or an error of its own (bad input is reported in the stats).
func FuzzReader(f *testing.F) {
	f.Add([]byte("{\"eventName\":\"Hit\"}\n{\"eventName\":\"Hit\"}\n"))
	f.Add([]byte("Record 1\n{\n \"eventName\": \"Hit\"\n}\nRecord 2\n[{\"eventName\":\"Hit\"}]"))
	f.Add([]byte(`{"a":1,"Records":[{"eventName":"Hit"},{"eventName":"Hit"}]}`))
	f.Add([]byte("Record 1\r\n{\"eventName\":\"Hit\"}\r\nRecord"))
	set := huntSetFor(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "in.json")
		os.WriteFile(p, data, 0o644)
		// Read into buffers, and mapped: the same detections and errors.
		var got [2]string
		for i, opts := range []Options{{Threads: 2}, {Threads: 2, selfRead: 1, Transient: true, mapMin: 1}} {
			var recs []int64
			st, err := Run(context.Background(), set, []string{p}, opts, func(d *Detection) error {
				if d.Record < 0 {
					t.Fatalf("record %d", d.Record)
				}
				recs = append(recs, d.Record)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got[i] = fmt.Sprint(st.Events, st.Bytes, recs, st.Errors)
		}
		if got[0] != got[1] {
			t.Fatalf("read %s\nmapped %s", got[0], got[1])
		}
	})
}

// A table or csv output that fails stops the run, as jsonl does.
func TestOutputFailsEveryFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.jsonl")
	os.WriteFile(p, bytes.Repeat([]byte(`{"eventName":"Hit"}`+"\n"), 200000), 0o644)
	for _, format := range []string{"jsonl", "table", "csv"} {
		out, _ := NewWriter(format, &failAfter{n: 1 << 16})
		st, err := Run(context.Background(), huntSet(t), []string{p}, Options{Threads: 2, Transient: true, Output: out}, nil)
		if err == nil || st.Events == 200000 {
			t.Errorf("%s: error %v after %d events", format, err, st.Events)
		}
	}
}

// After one long record, the chunks of the file are back to their usual size.
func TestChunksAfterLongRecord(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"x":"` + strings.Repeat("y", 5<<20) + `"}` + "\n")
	for b.Len() < 40<<20 {
		b.WriteString(`{"eventName":"Hit"}` + "\n")
	}
	var sizes []int
	c := cutter{name: "x", r: &b, ctx: context.Background(), first: chunkSize,
		send: func(ch *chunk) bool { sizes = append(sizes, len(ch.data)); return true }}
	for c.step() {
	}
	for i, n := range sizes[1:] {
		if n > chunkSize {
			t.Fatalf("chunk %d, after the long line: %d bytes", i+1, n)
		}
	}
}

// An array or envelope cut short at the end of its line is reported, not taken for an empty one.
func TestUnterminatedArray(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cut.jsonl")
	os.WriteFile(p, []byte("{\"eventName\":\"Miss\"}\n[\n{\"Records\":[\n[{\"eventName\":\"Hit\"}\n{\"eventName\":\"Hit\"}\n"), 0o644)
	got, st := runOn(t, huntSet(t), []string{p}, 1, "")
	if len(got) != 2 || st.ErrorCount != 3 {
		t.Errorf("detections %v, errors %v", got, st.Errors)
	}
	for _, e := range st.Errors {
		if !strings.Contains(e.Msg, "unterminated array") {
			t.Errorf("error %v", e)
		}
	}
}

// A carriage return is white space in JSON, and may sit between an event's tokens (or end its
// line, CRLF): every jsonl line still holds one event, compacted onto it, and no raw '\r'.
func TestCarriageReturnsInEvents(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cr.jsonl")
	in := "{\"eventName\":\r\"Hit\"}\r\n{\"eventName\":\"Hit\"}\r\n{\"eventName\":\"Hit\"}\n{\"a\":1,\r\"eventName\":\"Hit\"}"
	os.WriteFile(p, []byte(in), 0o644)
	var out bytes.Buffer
	w, _ := NewWriter("jsonl", &out)
	if _, err := Run(context.Background(), huntSet(t), []string{p}, Options{Threads: 1, Transient: true, Output: w}, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 || strings.Contains(out.String(), "\r") {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	for _, l := range lines {
		var d struct{ Event map[string]any }
		if err := json.Unmarshal([]byte(l), &d); err != nil || d.Event["eventName"] != "Hit" {
			t.Errorf("%q: %v", l, err)
		}
	}
}

// TestSelfReadAgrees: workers reading the input themselves (and reporting their own results)
// give what readers of their own give, whatever the input and the number of workers: the
// same detections in the same order, the same counts and errors, the same output bytes.
func TestSelfReadAgrees(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	var lines, docs, envelopes bytes.Buffer
	for i := range 60000 {
		name := "Miss"
		if i%5 == 2 {
			name = "Hit"
		}
		fmt.Fprintf(&lines, "{\"eventName\":%q,\"pad\":%q}\n", name, strings.Repeat("p", i%80))
		if i < 20000 {
			fmt.Fprintf(&docs, "Record %d\n{\n  \"eventName\": %q,\n  \"pad\": %q\n}\n", i+1, name, strings.Repeat("x", i%97))
		}
		if i%100 == 0 {
			envelopes.WriteString("{\"Records\":[")
		}
		fmt.Fprintf(&envelopes, "{\"eventName\":%q}", name)
		if i%100 == 99 {
			envelopes.WriteString("]}\n")
		} else {
			envelopes.WriteString(",")
		}
	}
	gzLines := gz(lines.Bytes())
	big := bytes.Repeat([]byte("x"), maxRecord+1024)
	inputs := map[string]string{
		"lines":     write("lines.jsonl", lines.Bytes()),
		"documents": write("security.json", docs.Bytes()),
		"envelopes": write("trail.json", envelopes.Bytes()),
		"gzip":      write("lines.jsonl.gz", gzLines),
		"truncated": write("cut.jsonl.gz", gzLines[:len(gzLines)/2]),
		"malformed": write("bad.jsonl", []byte("{\"eventName\":\"Hit\"}\n{\"eventName\": \"Hit\",\n{\"eventName\":\"Hit\"}\n")),
		"long line": write("long.jsonl", append(append(append([]byte("{\"eventName\":\"Hit\"}\n{\"a\":\""), big...), "\"}\n"...), "{\"eventName\":\"Hit\"}\n"...)),
		"not JSON":  write("text.log", []byte("2024-01-01 this is not JSON\n")),
		"empty":     write("empty.jsonl", nil),
		"missing":   filepath.Join(dir, "missing.jsonl"),
		"stdin":     "-",
	}
	stdin := lines.String()
	// mapMin 1 maps every regular file the workers read themselves, when nothing outlives
	// its reporting (the second run).
	run := func(input string, threads, selfRead int, mapMin int64) (string, []byte) {
		var got []string
		opts := Options{Threads: threads, Stdin: strings.NewReader(stdin), selfRead: selfRead}
		st, err := Run(context.Background(), huntSet(t), []string{input}, opts, func(d *Detection) error {
			got = append(got, fmt.Sprint(d.Record))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		opts.Output, _ = NewWriter("jsonl", &out)
		opts.Transient, opts.Stdin, opts.mapMin = true, strings.NewReader(stdin), mapMin
		if _, err := Run(context.Background(), huntSet(t), []string{input}, opts, nil); err != nil {
			t.Fatal(err)
		}
		opts.Output.Close()
		return fmt.Sprintf("events %d, bytes %d, detections %v, errors %v", st.Events, st.Bytes, got, st.Errors), out.Bytes()
	}
	for name, input := range inputs {
		t.Run(name, func(t *testing.T) {
			want, wantOut := run(input, 1, -1, 0)
			for _, c := range []struct {
				threads, selfRead int
				mapMin            int64
			}{{1, 1, 0}, {2, 1, 0}, {3, 1, 0}, {3, -1, 0}, {1, 1, 1}, {2, 1, 1}, {3, 1, 1}} {
				got, out := run(input, c.threads, c.selfRead, c.mapMin)
				if got != want {
					t.Errorf("%d workers, selfRead %d, mapMin %d:\n got %.300s\nwant %.300s", c.threads, c.selfRead, c.mapMin, got, want)
				}
				if !bytes.Equal(out, wantOut) {
					t.Errorf("%d workers, selfRead %d, mapMin %d: output differs (%d bytes, want %d)", c.threads, c.selfRead, c.mapMin, len(out), len(wantOut))
				}
			}
		})
	}
}

// TestSelfReadStopsOnError: when reporting a detection fails, workers reading for themselves
// stop, and Run returns the error after reporting nothing more.
func TestSelfReadStopsOnError(t *testing.T) {
	var b strings.Builder
	for range 200000 {
		b.WriteString("{\"eventName\":\"Hit\"}\n")
	}
	p := filepath.Join(t.TempDir(), "hits.jsonl")
	os.WriteFile(p, []byte(b.String()), 0o644)
	failed := errors.New("output closed")
	for _, threads := range []int{1, 2, 4} {
		n := 0
		_, err := Run(context.Background(), huntSet(t), []string{p}, Options{Threads: threads, selfRead: 1}, func(d *Detection) error {
			n++
			if n >= 1000 {
				return failed
			}
			return nil
		})
		if !errors.Is(err, failed) || n != 1000 {
			t.Errorf("%d workers: err %v after %d detections, want %v after 1000", threads, err, n, failed)
		}
	}
}
