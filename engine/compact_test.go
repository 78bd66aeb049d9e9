package engine

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

// reachable returns the nodes of the tree under n.
func reachable(n *node, seen map[*node]bool) map[*node]bool {
	if n == nil || seen[n] {
		return seen
	}
	seen[n] = true
	for _, k := range n.kids {
		reachable(k, seen)
	}
	return seen
}

// TestCompactTrees: copied into the set's arrays, each program's condition tree holds what it
// held, and its stages and guards point into the copy, as they pointed into the tree before.
func TestCompactTrees(t *testing.T) {
	dir := testcorpora.Dir(t)
	progs, _, err := LoadRules([]string{filepath.Join(dir, "sigma", "rules", "windows", "process_creation")}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	progs = append(progs, cloudTrailPrograms(t, dir)...) // with log source guards
	type shape struct {
		root       *node
		stageIn    []bool // stage i's node is in the tree
		guardIn    []bool
		stagePreds [][]*pred
	}
	before := make([]shape, len(progs))
	for i, p := range progs {
		in := reachable(p.root, map[*node]bool{})
		sh := shape{root: p.root}
		for _, st := range p.stages {
			sh.stageIn = append(sh.stageIn, in[st.node])
			sh.stagePreds = append(sh.stagePreds, append([]*pred(nil), st.preds...))
		}
		for _, g := range p.guards {
			sh.guardIn = append(sh.guardIn, in[g.node])
		}
		before[i] = sh
	}
	NewSet(progs)
	copied, guards := 0, 0
	for i, p := range progs {
		sh := before[i]
		if p.root != sh.root {
			copied++
		} else if p.root == nil {
			copied++ // a correlation: no tree
		}
		// The predicates were numbered (shared) before they were copied, so the trees
		// compare equal value for value.
		if !reflect.DeepEqual(p.root, sh.root) {
			t.Fatalf("%s: the tree changed when copied", p.Rule.Title)
		}
		in := reachable(p.root, map[*node]bool{})
		preds := map[*pred]bool{}
		for n := range in {
			if n.pred != nil {
				preds[n.pred] = true
			}
		}
		for j, st := range p.stages {
			if in[st.node] != sh.stageIn[j] {
				t.Errorf("%s: stage %s in the tree: %v, before %v", p.Rule.Title, st.name, in[st.node], sh.stageIn[j])
			}
			for k, pr := range st.preds {
				if !reflect.DeepEqual(pr, sh.stagePreds[j][k]) || sh.stageIn[j] && !preds[pr] {
					t.Errorf("%s: stage %s: predicate %d not the tree's copy", p.Rule.Title, st.name, k)
				}
			}
		}
		for j, g := range p.guards {
			guards++
			if in[g.node] != sh.guardIn[j] {
				t.Errorf("%s: guard %d in the tree: %v, before %v", p.Rule.Title, j, in[g.node], sh.guardIn[j])
			}
		}
	}
	if copied != len(progs) || len(progs) < 1000 || guards == 0 {
		t.Errorf("%d of %d trees copied, %d guards", copied, len(progs), guards)
	}
}
