package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// TestAppendJSONStringEveryByte puts every byte value at every position of strings long enough to be
// passed eight bytes at a time, and checks the result decodes back to the string, with each
// byte of invalid UTF-8 replaced, and holds no raw control character; bytes are written as
// the same text is.
func TestAppendJSONStringEveryByte(t *testing.T) {
	for n := 1; n <= 19; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				s := string(b)
				out := appendJSONString(nil, s)
				if outBytes := appendJSONString(nil, b); !bytes.Equal(outBytes, out) {
					t.Fatalf("%q: wrote %s from bytes, %s from text", s, outBytes, out)
				}
				var got string
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("%q: %s: %v", s, out, err)
				}
				var want strings.Builder
				for i := 0; i < len(s); {
					r, w := utf8.DecodeRuneInString(s[i:])
					want.WriteRune(r) // RuneError for an invalid byte, as the writer does
					i += w
				}
				if got != want.String() {
					t.Fatalf("%q: wrote %s, decoded %q, want %q", s, out, got, want.String())
				}
				for _, x := range out {
					if x < 0x20 {
						t.Fatalf("%q: raw control character in %q", s, out)
					}
				}
			}
		}
	}
}

// TestOutputFormattedInWorkers checks that detections formatted by Run's workers
// (Options.Output) come out byte for byte as a Writer given each detection in order writes
// them, correlation detections included, for every format, thread count and minimum level.
func TestOutputFormattedInWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole sample data")
	}
	dir := testcorpora.Dir(t)
	progs := cloudTrailPrograms(t, dir)
	logs := []string{filepath.Join(dir, "suzaku-sample-data")}
	for _, minLevel := range []string{"", "high"} {
		var dets []*Detection
		wst, err := Run(context.Background(), NewSet(progs), logs, Options{Threads: 2, MinLevel: minLevel}, func(d *Detection) error {
			dets = append(dets, d)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"jsonl", "csv", "table"} {
			var want bytes.Buffer
			seq, _ := NewWriter(format, &want)
			for _, d := range dets {
				seq.Write(d)
			}
			seq.Close()
			threads := []int{3}
			if format == "jsonl" {
				threads = []int{1, 3}
			}
			for _, n := range threads {
				var got bytes.Buffer
				par, _ := NewWriter(format, &got)
				gst, err := Run(context.Background(), NewSet(progs), logs, Options{Threads: n, MinLevel: minLevel, Transient: true, Output: par}, nil)
				if err != nil {
					t.Fatal(err)
				}
				par.Close()
				name := fmt.Sprintf("%s/threads=%d/min-level=%q", format, n, minLevel)
				if wst.Detections == 0 || gst.Detections != wst.Detections {
					t.Errorf("%s: %d detections, want %d", name, gst.Detections, wst.Detections)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("%s: output differs (%d bytes, want %d)", name, got.Len(), want.Len())
				}
				if format == "jsonl" && int64(bytes.Count(got.Bytes(), []byte{'\n'})) != gst.Detections {
					t.Errorf("%s: %d lines for %d detections", name, bytes.Count(got.Bytes(), []byte{'\n'}), gst.Detections)
				}
			}
		}
		if minLevel == "" && !bytes.Contains(func() []byte {
			var b bytes.Buffer
			for _, d := range dets {
				b.WriteString(d.Title + "\n")
			}
			return b.Bytes()
		}(), []byte("IAM Persis Chain")) {
			t.Error("the correlation's detections are missing")
		}
	}
}

// A correlation without group-by still writes its value (and an empty group).
func TestJSONLValueWithoutGroup(t *testing.T) {
	var evs []string
	for i := range 7 {
		evs = append(evs, login(i, "bob", "x", false))
	}
	var buf bytes.Buffer
	w, _ := NewWriter("jsonl", &buf)
	n := 0
	for _, d := range correlationRun(t, legacyRule("Legacy", "count() > 6", ""), evs) {
		if d.Title == "Legacy" {
			w.Write(d)
			n++
		}
	}
	w.Close()
	if n != 1 || !bytes.Contains(buf.Bytes(), []byte(`"group":[],"value":7,`)) {
		t.Errorf("%d detections: %s", n, buf.Bytes())
	}
}

// TestColumnsEscapedInWorkers: timeline columns holding escapes, quotes, control characters,
// non-ASCII and invalid UTF-8 are written by the workers (from the event's bytes) as a Writer
// writes them from the detection's strings.
func TestColumnsEscapedInWorkers(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "r.yml")
	logs := filepath.Join(dir, "e.jsonl")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(rules, `title: Any console login
logsource: {product: aws, service: cloudtrail}
detection:
    sel: {eventName: ConsoleLogin}
    condition: sel
`)
	users := []string{`plain`, `quote\" and \\ back`, `caf\u00e9 \u2028 \t tab`, "caf\xc3\xa9 raw", "bad \xff byte", `\ud83d\ude00 pair`, ``}
	var events strings.Builder
	for i, u := range users {
		fmt.Fprintf(&events, `{"eventTime":"2024-01-01T00:00:0%d\"Z","eventName":"ConsoleLogin","userIdentity":{"arn":"%s"},"awsRegion":"eu-\u0077est-1"}`+"\n", i, u)
	}
	write(logs, events.String())
	progs, _, err := LoadRules([]string{rules}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"jsonl", "csv", "table"} {
		var want, got bytes.Buffer
		seq, _ := NewWriter(format, &want)
		if _, err := Run(context.Background(), NewSet(progs), []string{logs}, Options{Threads: 1}, func(d *Detection) error {
			return seq.Write(d)
		}); err != nil {
			t.Fatal(err)
		}
		seq.Close()
		par, _ := NewWriter(format, &got)
		if _, err := Run(context.Background(), NewSet(progs), []string{logs}, Options{Threads: 2, Transient: true, Output: par}, nil); err != nil {
			t.Fatal(err)
		}
		par.Close()
		if !bytes.Equal(got.Bytes(), want.Bytes()) || !strings.Contains(want.String(), "caf") {
			t.Errorf("%s: workers wrote\n%s\nwant\n%s", format, got.Bytes(), want.Bytes())
		}
	}
}
