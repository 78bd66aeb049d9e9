package store

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/ruleatlas/ruleatlas/rule"
)

func TestEachRule(t *testing.T) {
	s := fixture(t, 10, true)
	var ids []string
	byID := map[string]*rule.Rule{}
	if err := s.EachRule(func(r *rule.Rule) error {
		ids = append(ids, r.ID)
		byID[r.ID] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want, err := s.IDs()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("EachRule ids %v, want %v in id order", ids, want)
	}
	// Each rule is the stored document decoded, as Rule returns it.
	for _, id := range []string{seedRule().ID, "gen-00003"} {
		one, err := s.Rule(id)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(byID[id])
		b, _ := json.Marshal(one)
		if string(a) != string(b) {
			t.Errorf("%s: EachRule gives %s, Rule %s", id, a, b)
		}
	}
	// An error of fn ends the walk and comes back as it was.
	stop := errors.New("enough")
	n := 0
	err = s.EachRule(func(*rule.Rule) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("after an error: %d calls, err %v", n, err)
	}
}
