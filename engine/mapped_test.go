package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A mapped file that shrinks while it is read stops the run with an error naming it; the
// program goes on.
func TestMappedFileShrinks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("files are mapped on Linux only")
	}
	p := filepath.Join(t.TempDir(), "rotated.jsonl")
	if err := os.WriteFile(p, bytes.Repeat([]byte(`{"eventName":"Hit"}`+"\n"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, bytes.Repeat([]byte(`{"eventName":"Hit"}`+"\n"), 1<<20), 0o644)
		shrunk := false
		opts := Options{Threads: threads, selfRead: 1, Transient: true}
		st, err := Run(context.Background(), huntSet(t), []string{p}, opts, func(*Detection) error {
			if !shrunk {
				shrunk = true
				if err := os.Truncate(p, 4096); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "shrank") {
			t.Errorf("%d workers: error %v after %d events, want the file named as shrunk", threads, err, st.Events)
		}
	}
}

// The pages of a mapping go once a stretch of dropEvery bytes is reported, at page
// boundaries, and not before.
func TestMappingDropsReported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.jsonl")
	if err := os.WriteFile(p, bytes.Repeat([]byte("{}\n"), dropEvery), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := mapInput(f, 3*dropEvery)
	if m == nil {
		t.Skip("files are not mapped on " + runtime.GOOS)
	}
	defer unmapFile(m.data)
	page := os.Getpagesize()
	m.reported(dropEvery - 1)
	if m.dropped != 0 {
		t.Fatalf("dropped %d before a stretch was reported", m.dropped)
	}
	m.reported(dropEvery + page + 7)
	if want := dropEvery + page; m.dropped != want {
		t.Fatalf("dropped %d, want %d", m.dropped, want)
	}
	m.reported(dropEvery + 2*page)
	if want := dropEvery + page; m.dropped != want {
		t.Fatalf("dropped %d, want %d: less than a stretch since the last", m.dropped, want)
	}
	// Pages given back read as they were.
	if !bytes.Equal(m.data[:6], []byte("{}\n{}\n")) || m.data[len(m.data)-1] != '\n' {
		t.Fatal("the mapping does not read as the file after its pages were dropped")
	}
}

// Pages are mapped ahead from a page boundary, once each, and read as the file.
func TestMappingPopulates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lines.jsonl")
	want := bytes.Repeat([]byte(`{"eventName":"Hit"}`+"\n"), 100000)
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := mapInput(f, int64(len(want)))
	if m == nil {
		t.Skip("files are not mapped on " + runtime.GOOS)
	}
	defer unmapFile(m.data)
	m.populate(4097, 70000) // not on a page boundary: madvise would refuse it as it is
	if m.noPopulate || m.populated != 70000 {
		t.Fatalf("populated to %d (refused: %v), want 70000", m.populated, m.noPopulate)
	}
	m.populate(100, 60000) // already done: nothing
	if m.populated != 70000 {
		t.Fatalf("populated moved back to %d", m.populated)
	}
	m.populate(60000, len(want))
	if m.populated != len(want) || !bytes.Equal(m.data, want) {
		t.Fatal("the mapping does not read as the file")
	}
}
