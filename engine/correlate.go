package engine

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Correlation rules (Sigma correlation specification) aggregate the matches of base rules over
// the stream, per group of group-by values, within a timespan: event_count, value_count,
// temporal and temporal_ordered. Workers compute each base match's group key; state is kept
// and updated in input order by Run.

// corrKey is, for one base match, the correlation it feeds and its group.
type corrKey struct {
	corr  int    // index into correlator.cs
	step  int    // position of the base rule in the correlation's rule list
	group string // group-by values joined
	value string // value_count: the counted field's value
}

type correlation struct {
	prog   *Program
	agg    *rule.Aggregate
	window time.Duration
	bases  []int // program index of each referenced rule, in the order listed
	groups map[string]*corrState
}

type corrState struct {
	times  [][]time.Time        // per step: match times within the window
	values map[string]time.Time // value_count: last time each value was seen
	last   time.Time
}

// baseRef is, for a base program, where it feeds and the paths of the group-by fields in it.
type baseRef struct {
	corr, step int
	groupSlots [][]int // per group-by field, the slots of its paths
	valueSlots []int   // value_count: the slots of the counted field
}

type correlator struct {
	cs    []*correlation
	bases map[int][]baseRef // program index → correlations it feeds
}

// resolveCorrelations links correlation programs to their base rules (by id, name or title)
// and marks the bases that still report on their own.
func newCorrelator(set *Set) *correlator {
	c := &correlator{bases: map[int][]baseRef{}}
	for _, p := range set.Programs {
		if p.corr == nil {
			p.generate = true
		}
	}
	// A reference resolves to a rule of the correlation's own file first (base rules usually
	// sit beside it, and corpora hold copies of rules), then to any loaded rule.
	find := func(ref, path string) int {
		for _, samePath := range []bool{true, false} {
			for _, byTitle := range []bool{false, true} {
				for i, p := range set.Programs {
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
	for _, p := range set.Programs {
		if p.corr == nil {
			continue
		}
		cr := &correlation{prog: p, agg: p.corr, window: time.Duration(p.corr.WindowSeconds * float64(time.Second)), groups: map[string]*corrState{}}
		ok := true
		for _, ref := range p.corr.Rules {
			i := find(ref, p.Rule.Source.Path)
			if i < 0 {
				ok = false
				break
			}
			cr.bases = append(cr.bases, i)
		}
		if !ok || len(cr.bases) == 0 {
			continue
		}
		ci := len(c.cs)
		c.cs = append(c.cs, cr)
		for _, bi := range cr.bases {
			if _, seen := c.bases[bi]; !seen {
				set.Programs[bi].generate = false
			}
			// Correlation specification, "Generate": the referred rules report on their own
			// only when a correlation using them says generate: true.
			set.Programs[bi].generate = set.Programs[bi].generate || p.generate
			if c.bases[bi] == nil {
				c.bases[bi] = []baseRef{}
			}
		}
		for step, bi := range cr.bases {
			base := set.Programs[bi]
			br := baseRef{corr: ci, step: step}
			for _, g := range p.corr.GroupBy {
				name := g
				if a, ok := p.corr.Aliases[g]; ok {
					if f, ok := a[p.corr.Rules[step]]; ok {
						name = f
					}
				}
				br.groupSlots = append(br.groupSlots, set.fieldSlots(name, base.windows))
			}
			if p.corr.Field != "" {
				br.valueSlots = set.fieldSlots(p.corr.Field, base.windows)
			}
			c.bases[bi] = append(c.bases[bi], br)
		}
	}
	return c
}

// fieldSlots returns the slots of a field's paths, adding them to the set's trie.
func (s *Set) fieldSlots(name string, windows bool) []int {
	var out []int
	for _, p := range fieldPaths(name, windows) {
		out = append(out, s.slot(p))
	}
	return out
}

// keys computes, in a worker, the group keys of a base program's match.
func (c *correlator) keys(prog int, e *Event) []corrKey {
	refs := c.bases[prog]
	if len(refs) == 0 {
		return nil
	}
	var out []corrKey
	for _, br := range refs {
		var parts []string
		for _, slots := range br.groupSlots {
			parts = append(parts, firstText(e, slots))
		}
		k := corrKey{corr: br.corr, step: br.step, group: strings.Join(parts, "\x00")}
		if br.valueSlots != nil {
			k.value = firstText(e, br.valueSlots)
		}
		out = append(out, k)
	}
	return out
}

func firstText(e *Event, slots []int) string {
	for _, s := range slots {
		if vs := e.values(s); len(vs) > 0 {
			return string(e.text(&vs[0]))
		}
	}
	return ""
}

// feed updates the correlations a base match feeds and returns the correlation detections it
// completes.
func (c *correlator) feed(d *Detection) []*Detection {
	if len(d.corr) == 0 {
		return nil
	}
	t, ok := parseTime(d.Timestamp)
	var out []*Detection
	for _, k := range d.corr {
		cr := c.cs[k.corr]
		if !ok {
			continue // no time, no window
		}
		st := cr.groups[k.group]
		if st == nil {
			st = &corrState{times: make([][]time.Time, len(cr.bases)), values: map[string]time.Time{}}
			cr.groups[k.group] = st
		}
		if n, fired := cr.update(st, k, t); fired {
			out = append(out, &Detection{
				Program: cr.prog, RuleID: cr.prog.Rule.ID, Title: cr.prog.Rule.Title, Level: cr.prog.Level,
				Timestamp: d.Timestamp, File: d.File, Record: d.Record,
				EventName: d.EventName, User: d.User, SourceIP: d.SourceIP, Region: d.Region, Account: d.Account,
				Group: strings.Split(k.group, "\x00"), Count: n, Event: d.Event, flat: d.flat,
			})
			// Start over for the group: one detection per completed window.
			cr.groups[k.group] = &corrState{times: make([][]time.Time, len(cr.bases)), values: map[string]time.Time{}}
		}
	}
	return out
}

// update adds the match to the group's state and reports whether the correlation holds.
func (cr *correlation) update(st *corrState, k corrKey, t time.Time) (int, bool) {
	from := t.Add(-cr.window)
	prune := func(ts []time.Time) []time.Time {
		i := 0
		for i < len(ts) && ts[i].Before(from) {
			i++
		}
		return ts[i:]
	}
	st.times[k.step] = append(prune(st.times[k.step]), t)
	switch cr.agg.Function {
	case "event_count":
		n := 0
		for s := range st.times {
			st.times[s] = prune(st.times[s])
			n += len(st.times[s])
		}
		return n, holds(cr.agg.Conditions, float64(n))
	case "value_count":
		if k.value != "" {
			st.values[k.value] = t
		}
		n := 0
		for v, seen := range st.values {
			if seen.Before(from) {
				delete(st.values, v)
				continue
			}
			n++
		}
		return n, holds(cr.agg.Conditions, float64(n))
	case "temporal":
		// Sigma correlation spec, "Temporal Proximity": all events defined by the referred
		// rules must occur in the time frame; a condition may lower the number of rules.
		n := 0
		for s := range st.times {
			st.times[s] = prune(st.times[s])
			if len(st.times[s]) > 0 {
				n++
			}
		}
		if len(cr.agg.Conditions) > 0 {
			return n, holds(cr.agg.Conditions, float64(n))
		}
		return n, n == len(cr.bases)
	case "temporal_ordered":
		// "requires in addition that the events appear in the order provided in the rules
		// attribute": walk back from this match, taking for each earlier rule its latest
		// match not after the next one's, and check the first is within the timespan.
		if k.step != len(cr.bases)-1 {
			return 0, false
		}
		next := t
		for s := len(cr.bases) - 2; s >= 0; s-- {
			ts := prune(st.times[s])
			st.times[s] = ts
			j := sort.Search(len(ts), func(i int) bool { return ts[i].After(next) }) - 1
			if j < 0 {
				return 0, false
			}
			next = ts[j]
		}
		return len(cr.bases), !next.Before(from)
	}
	return 0, false
}

func holds(conds []rule.Threshold, v float64) bool {
	if len(conds) == 0 {
		return false
	}
	for _, c := range conds {
		ok := false
		switch c.Op {
		case "gt":
			ok = v > c.Value
		case "gte":
			ok = v >= c.Value
		case "lt":
			ok = v < c.Value
		case "lte":
			ok = v <= c.Value
		case "eq":
			ok = math.Abs(v-c.Value) < 1e-9
		case "neq":
			ok = math.Abs(v-c.Value) >= 1e-9
		}
		if !ok {
			return false
		}
	}
	return true
}

// parseTime reads an event timestamp: RFC 3339 (CloudTrail, Windows SystemTime), or epoch
// seconds or milliseconds.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n > 1e12 {
			return time.UnixMilli(int64(n)), true
		}
		return time.Unix(int64(n), 0), true
	}
	return time.Time{}, false
}

// supportedCorrelation says whether a correlation function can be evaluated.
func supportedCorrelation(a *rule.Aggregate) error {
	switch a.Function {
	case "event_count", "value_count", "temporal", "temporal_ordered":
		if a.Function == "value_count" && a.Field == "" {
			return fmt.Errorf("value_count correlation without a field")
		}
		return nil
	}
	return fmt.Errorf("correlation type %q is not supported", a.Function)
}
