package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// shortWriter writes at most max bytes a call, as a pipe or a signal may make writev do.
type shortWriter struct {
	max   int
	out   bytes.Buffer
	calls int
}

func (s *shortWriter) writeVectors(pieces [][]byte) (int, error) {
	s.calls++
	if len(pieces) > maxPieces {
		return 0, fmt.Errorf("%d pieces in one call", len(pieces))
	}
	n := 0
	for _, p := range pieces {
		k := min(len(p), s.max-n)
		s.out.Write(p[:k])
		if n += k; n == s.max {
			break
		}
	}
	return n, nil
}

// Pieces are written whole and in order however little each call writes, in calls of at most
// maxPieces, and the Writer's own lines keep their bytes when its buffer grows.
func TestGatherShortWrites(t *testing.T) {
	for _, max := range []int{1, 7, 1000, 1 << 30} {
		sw := &shortWriter{max: max}
		g := &gather{w: sw}
		var want bytes.Buffer
		for i := range 3000 {
			p := []byte(fmt.Sprintf("piece %d;", i))
			want.Write(p)
			if err := g.add(p); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 {
				line := fmt.Sprintf("own %d:%s;", i, strings.Repeat("o", i%500))
				want.WriteString(line)
				g.own(func(b []byte) []byte { return append(b, line...) })
			}
		}
		if err := g.flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sw.out.Bytes(), want.Bytes()) {
			t.Fatalf("max %d: wrote %d bytes, want %d, or not in order", max, sw.out.Len(), want.Len())
		}
		if max == 1<<30 && sw.calls > 4 {
			t.Errorf("%d calls for 3,300 pieces", sw.calls)
		}
	}
}

type stuckWriter struct{}

func (stuckWriter) writeVectors([][]byte) (int, error) { return 0, nil }

// A writer that writes nothing and says nothing is an error, not a loop.
func TestGatherStuck(t *testing.T) {
	g := &gather{w: stuckWriter{}}
	g.add([]byte("x"))
	if err := g.flush(); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("flush: %v, want %v", err, io.ErrShortWrite)
	}
}

// Output written to a file by writev is, byte for byte, what a buffered writer writes, in
// every format, with correlations' detections among the workers' lines.
func TestGatheredOutputAgrees(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("output is gathered on Linux only")
	}
	dir := t.TempDir()
	corr := `title: Brute Force
logsource:
    product: aws
    service: cloudtrail
correlation:
    type: event_count
    rules:
        - login_failed
    group-by:
        - userIdentity.userName
    timespan: 5m
    condition:
        gte: 3
level: high
---
` + baseRules
	rf := filepath.Join(dir, "rules.yml")
	os.WriteFile(rf, []byte(corr), 0o644)
	progs, _, err := LoadRules([]string{rf}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(progs)
	var events strings.Builder
	for i := range 50000 {
		fmt.Fprintln(&events, login(i%60, fmt.Sprintf("user%d", i%7), "10.0.0.1", i%3 > 0))
	}
	lf := filepath.Join(dir, "events.jsonl")
	os.WriteFile(lf, []byte(events.String()), 0o644)
	for _, format := range []string{"jsonl", "csv", "table"} {
		var buffered bytes.Buffer
		run := func(w io.Writer, threads int) *Writer {
			out, _ := NewWriter(format, w)
			if _, err := Run(context.Background(), set, []string{lf}, Options{Threads: threads, Transient: true, Output: out}, nil); err != nil {
				t.Fatal(err)
			}
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if run(&buffered, 1).g != nil {
			t.Fatal("a bytes.Buffer is gathered")
		}
		for _, threads := range []int{1, 2} {
			f, err := os.Create(filepath.Join(dir, format+".out"))
			if err != nil {
				t.Fatal(err)
			}
			if run(f, threads).g == nil {
				t.Fatal("a file is not gathered")
			}
			f.Close()
			got, _ := os.ReadFile(f.Name())
			if !bytes.Equal(got, buffered.Bytes()) {
				t.Errorf("%s, %d workers: the file holds %d bytes, the buffer %d, or they differ", format, threads, len(got), buffered.Len())
			}
			if !bytes.Contains(got, []byte("Brute Force")) {
				t.Errorf("%s: no correlation detection in the output", format)
			}
		}
	}
}

// Through a pipe read slowly, writev writes in part and waits as File.Write does; once the
// reader is gone the write fails and the run stops with the error.
func TestGatherPipe(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("output is gathered on Linux only")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w, _ := NewWriter("jsonl", pw)
	var want bytes.Buffer
	ref, _ := NewWriter("jsonl", &want)
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 1000)
		for {
			n, err := pr.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				got <- b.Bytes()
				return
			}
			time.Sleep(time.Microsecond)
		}
	}()
	for i := range 2000 {
		d := &Detection{RuleID: fmt.Sprint(i), Title: "t", Level: "low", Event: []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("p", i)))}
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
		ref.Write(d)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ref.Close()
	pw.Close()
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("read %d bytes from the pipe, want %d", len(b), want.Len())
	}

	pr, pw, _ = os.Pipe()
	pr.Close()
	w, _ = NewWriter("jsonl", pw)
	defer pw.Close()
	w.Write(&Detection{Title: "t", Event: []byte(`{}`)})
	if err := w.Close(); err == nil {
		t.Fatal("writing to a pipe with no reader did not fail")
	}
}
