package engine

import (
	"fmt"
	"strings"
)

// correlationLinks are the references of the correlation programs of a list, resolved.
type correlationLinks struct {
	refs map[int][]int // correlation program index → program index of each rule it refers to
	// problem says, per correlation program, why it cannot be evaluated: a reference to no
	// loaded rule, a cycle, or a reference to a correlation with a problem.
	problem map[int]string
}

// linkCorrelations resolves the references of the correlations among progs.
func linkCorrelations(progs []*Program) correlationLinks {
	l := correlationLinks{refs: map[int][]int{}, problem: map[int]string{}}
	for i, p := range progs {
		if p.corr == nil {
			continue
		}
		for _, ref := range p.corr.Rules {
			j := findRule(progs, ref, p.Rule.Source.Path)
			if j < 0 {
				l.problem[i] = fmt.Sprintf("correlation refers to %q, which is not among the loaded rules", ref)
				break
			}
			l.refs[i] = append(l.refs[i], j)
		}
	}
	l.markCycles(progs)
	l.spreadProblems(progs)
	return l
}

// findRule resolves a reference to a rule of the correlation's own file first (base rules
// usually sit beside it, and corpora hold copies of rules), then to any loaded rule; by id or
// name first, then by title (as suzaku-rules refers to rules). It returns -1 when none is.
func findRule(progs []*Program, ref, path string) int {
	for _, samePath := range []bool{true, false} {
		for _, byTitle := range []bool{false, true} {
			for i, p := range progs {
				r := p.Rule
				if samePath && r.Source.Path != path {
					continue
				}
				if (!byTitle && (r.ID == ref || (r.Name != "" && r.Name == ref))) || (byTitle && r.Title == ref) {
					return i
				}
			}
		}
	}
	return -1
}

// markCycles gives a problem to the correlations on a cycle of references: a correlation
// detection would feed itself without end.
func (l *correlationLinks) markCycles(progs []*Program) {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(progs))
	var path []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		path = append(path, i)
		for _, j := range l.refs[i] {
			switch {
			case progs[j].corr == nil:
			case state[j] == onPath:
				l.markCycle(progs, path[indexOfInt(path, j):])
			case state[j] == unseen:
				visit(j)
			}
		}
		path = path[:len(path)-1]
		state[i] = done
	}
	for i, p := range progs {
		if p.corr != nil && state[i] == unseen {
			visit(i)
		}
	}
}

func (l *correlationLinks) markCycle(progs []*Program, cycle []int) {
	var names []string
	for _, i := range cycle {
		names = append(names, ruleName(progs[i]))
	}
	why := "correlation cycle: " + strings.Join(names, " → ") + " → " + names[0]
	for _, i := range cycle {
		if l.problem[i] == "" {
			l.problem[i] = why
		}
	}
}

// spreadProblems gives a problem to the correlations that refer to one with a problem.
func (l *correlationLinks) spreadProblems(progs []*Program) {
	for changed := true; changed; {
		changed = false
		for i := range progs {
			if l.problem[i] != "" {
				continue
			}
			for _, j := range l.refs[i] {
				if why := l.problem[j]; why != "" {
					l.problem[i] = fmt.Sprintf("correlation refers to %s, which cannot be evaluated (%s)", ruleName(progs[j]), why)
					changed = true
					break
				}
			}
		}
	}
}

func ruleName(p *Program) string {
	if p.Rule.Title != "" {
		return fmt.Sprintf("%q", p.Rule.Title)
	}
	return fmt.Sprintf("%q", p.Rule.ID)
}

func indexOfInt(list []int, x int) int {
	for i, y := range list {
		if y == x {
			return i
		}
	}
	return -1
}

// withoutBrokenCorrelations leaves out the correlations that cannot be evaluated, each
// returned as skipped with the reason.
func withoutBrokenCorrelations(progs []*Program) ([]*Program, []Skipped) {
	l := linkCorrelations(progs)
	if len(l.problem) == 0 {
		return progs, nil
	}
	var keep []*Program
	var skipped []Skipped
	for i, p := range progs {
		if why := l.problem[i]; why != "" {
			skipped = append(skipped, Skipped{Path: p.Rule.Source.Path, Title: p.Rule.Title, Reason: why})
			continue
		}
		keep = append(keep, p)
	}
	return keep, skipped
}
