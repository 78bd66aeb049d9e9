package engine

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// TestIndexKeepsEveryMatch evaluates every program on every event, without the index, and
// checks the index offers each program that matches: it may offer more, never fewer. The
// programs are every CloudTrail and Windows rule of the corpora, the events CloudTrail sample
// records and Windows events of every kind.
func TestIndexKeepsEveryMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates thousands of rules on every event")
	}
	dir := testcorpora.Dir(t)
	win, _, err := LoadRules([]string{filepath.Join(dir, "sigma", "rules", "windows")}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	progs := append(cloudTrailPrograms(t, dir), win...)
	set := NewSet(progs)
	var events [][]byte
	ct := sampleRecords(t, filepath.Join(dir, "suzaku-sample-data"))
	for i, line := range bytes.Split(bytes.TrimSpace(ct), []byte{'\n'}) {
		if i%25 == 0 {
			events = append(events, line)
		}
	}
	events = append(events, bytes.Split(bytes.TrimSpace(windowsEvents(300)), []byte{'\n'})...)
	matched, offered := 0, 0
	for _, ev := range events {
		var e Event
		e.reset(ev, set.nslots)
		if err := set.scan(&e); err != nil {
			t.Fatal(err)
		}
		got := set.Match(&e, nil)
		offered += len(set.candidates(&e, nil))
		set.scanFull(&e)
		var want []int
		for i, p := range set.Programs {
			if p.corr == nil && p.root != nil && p.Match(&e) {
				want = append(want, i)
			}
		}
		matched += len(want)
		if !slices.Equal(got, want) {
			t.Fatalf("event %.200s: index matched %v, every program evaluated %v", ev, got, want)
		}
	}
	if matched == 0 {
		t.Fatal("no event matched any rule")
	}
	t.Logf("%d events, %d programs: %d matches; the index offered %.1f programs per event", len(events), len(progs), matched, float64(offered)/float64(len(events)))
}
