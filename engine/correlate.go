package engine

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Correlation rules (Sigma correlation specification v2.1) aggregate the matches of the rules
// they refer to over the stream, per group of group-by values, within a timespan: event_count,
// value_count, temporal, temporal_ordered, value_sum, value_avg and value_percentile. A rule
// referred to may itself be a correlation ("Related rules": "Refers to one or multiple Sigma or
// Correlations rules. Allowing the user to chain multiple correlations together"): its
// detections feed the correlations above it. A Sigma v1 aggregation in a rule's condition
// (`selection | count() by x > 10`) is the correlation of the same function over the rule's
// own matches. Workers compute the keys of each match (keys); the state is kept and updated in
// input order (feed).

// corrKey is, for one match, a correlation it feeds and its group there.
type corrKey struct {
	corr  int    // index into correlator.cs
	step  int    // position, in the correlation's rule list, of the rule whose detection this is
	group string // group-by values joined
	value string // the aggregated field's value (value_count and the metric types)
	num   float64
	isNum bool // value is a number (the metric types read num)
}

type correlation struct {
	prog   *Program
	agg    *rule.Aggregate
	window time.Duration // 0: no timespan, the whole stream
	bases  []int         // program index of each step's rule, in the order listed
	// subs is, per step, the correlation (index into correlator.cs) whose detections the step
	// takes, or -1 when it takes a rule's matches.
	subs []int
	// inherit is, per step taking a correlation, per group-by field, the position of the same
	// field in that correlation's group, or -1: its value is then read from the event.
	inherit [][]int
	// inheritValue is, per step taking a correlation, the position of the aggregated field in
	// that correlation's group, or -1.
	inheritValue []int
	// reports: the correlation's detections are reported, not only fed to those above it.
	reports bool
}

// baseRef is, for a program whose matches feed a correlation (directly, or through the
// correlations above the ones it feeds), where and the slots of the fields to read.
type baseRef struct {
	corr, step int
	groupSlots [][]int // per group-by field, the slots of its paths
	valueSlots []int   // the slots of the aggregated field
	numeric    bool    // the aggregated value is read as a number
}

type correlator struct {
	cs    []*correlation
	bases [][]baseRef // per program index, the correlations it feeds
}

// newCorrelator links correlations to the rules they refer to (by id, name or title), legacy
// aggregations to their own rule, and decides what reports on its own.
func newCorrelator(set *Set) *correlator {
	progs := set.Programs
	c := &correlator{bases: make([][]baseRef, len(progs))}
	links := linkCorrelations(progs)
	corrOf := map[int]int{} // program index → the correlation it is, or carries
	for i, p := range progs {
		// A rule with a legacy aggregation reports its aggregate, never its single matches.
		p.generate = p.aggregate == nil
		switch {
		case p.aggregate != nil:
			corrOf[i] = c.add(p, p.aggregate, []int{i})
		case p.corr != nil && links.problem[i] == "":
			corrOf[i] = c.add(p, p.corr, links.refs[i])
		}
	}
	for _, cr := range c.cs {
		for step, b := range cr.bases {
			if sub, ok := corrOf[b]; ok && cr.prog.corr != nil {
				cr.subs[step] = sub
			}
		}
	}
	c.decideReports(progs, corrOf)
	for ci, cr := range c.cs {
		for step := range cr.bases {
			c.linkStep(set, ci, step)
		}
	}
	return c
}

// add appends a correlation over the programs of bases, one per step, and returns its index.
func (c *correlator) add(p *Program, a *rule.Aggregate, bases []int) int {
	n := len(bases)
	cr := &correlation{
		prog: p, agg: a, window: time.Duration(a.WindowSeconds * float64(time.Second)), bases: bases,
		subs: make([]int, n), inherit: make([][]int, n), inheritValue: make([]int, n),
		reports: true,
	}
	for i := range cr.subs {
		cr.subs[i], cr.inheritValue[i] = -1, -1
	}
	c.cs = append(c.cs, cr)
	return len(c.cs) - 1
}

// decideReports applies the correlation specification, "Generate": "defines if the rules
// referred from the correlation rule should be converted as stand-alone rules or if only the
// correlation query should be generated (default)". A rule referred to, detection or
// correlation alike ("Correlation rules": the rules that build a correlation "are not producing
// individual, independent queries"), reports on its own only when a correlation referring to
// it says generate: true.
func (c *correlator) decideReports(progs []*Program, corrOf map[int]int) {
	keep := map[int]bool{}
	for _, cr := range c.cs {
		if cr.prog.corr == nil {
			continue // a legacy aggregation refers to its own matches
		}
		for _, b := range cr.bases {
			keep[b] = keep[b] || cr.prog.keepRefs
		}
	}
	for b, k := range keep {
		if ci, ok := corrOf[b]; ok {
			c.cs[ci].reports = k
		} else {
			progs[b].generate = k
		}
	}
}

// linkStep records, for every program whose matches reach the step, the fields to read.
func (c *correlator) linkStep(set *Set, ci, step int) {
	cr := c.cs[ci]
	sub := cr.subs[step]
	if sub < 0 {
		c.addRef(set, ci, step, cr.bases[step])
		return
	}
	// The values of the group-by fields that the correlation below groups by are its own;
	// the others are read from the event that completed it.
	below := c.cs[sub].agg.GroupBy
	for _, g := range cr.agg.GroupBy {
		cr.inherit[step] = append(cr.inherit[step], indexOf(below, cr.fieldName(g, step)))
	}
	if cr.agg.Field != "" {
		cr.inheritValue[step] = indexOf(below, cr.fieldName(cr.agg.Field, step))
	}
	for _, b := range c.feeders(sub) {
		c.addRef(set, ci, step, b)
	}
}

// feeders returns the programs whose matches reach a correlation, through the correlations
// below it too. Links have no cycles.
func (c *correlator) feeders(ci int) []int {
	var out []int
	for step, b := range c.cs[ci].bases {
		if sub := c.cs[ci].subs[step]; sub >= 0 {
			out = append(out, c.feeders(sub)...)
		} else {
			out = append(out, b)
		}
	}
	return out
}

// addRef records that the matches of program b reach step of correlation ci, once.
func (c *correlator) addRef(set *Set, ci, step, b int) {
	for _, br := range c.bases[b] {
		if br.corr == ci && br.step == step {
			return
		}
	}
	cr := c.cs[ci]
	base := set.Programs[b]
	br := baseRef{corr: ci, step: step, numeric: isMetric(cr.agg.Function)}
	for _, g := range cr.agg.GroupBy {
		br.groupSlots = append(br.groupSlots, set.fieldSlots(cr.fieldName(g, step), base.windows))
	}
	if cr.agg.Field != "" {
		br.valueSlots = set.fieldSlots(cr.fieldName(cr.agg.Field, step), base.windows)
	}
	c.bases[b] = append(c.bases[b], br)
}

// fieldName resolves a field through the correlation's aliases for the rule of a step
// ("Field Name Aliases": an alias names, per referred rule, a field of its events).
func (cr *correlation) fieldName(name string, step int) string {
	if a, ok := cr.agg.Aliases[name]; ok && step < len(cr.agg.Rules) {
		if f, ok := a[cr.agg.Rules[step]]; ok {
			return f
		}
	}
	return name
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// fieldSlots returns the slots of a field's paths, adding them to the set's trie.
func (s *Set) fieldSlots(name string, windows bool) []int {
	var out []int
	for _, p := range fieldPaths(name, windows) {
		out = append(out, s.slot(p))
	}
	return out
}

// anyBase reports whether any of the programs is a base of a correlation.
func (c *correlator) anyBase(progs []int) bool {
	for _, p := range progs {
		if len(c.bases[p]) > 0 {
			return true
		}
	}
	return false
}

// keys computes, in a worker, the keys of a program's match: for the correlations it feeds,
// and for those above them, which take them when a correlation below completes.
func (c *correlator) keys(prog int, e *Event) []corrKey {
	return c.appendKeys(nil, prog, e, nil)
}

// appendKeys appends the keys of a program's match to out (see keys): a worker keeps those of
// a chunk's detections in one array, where an array for each would be one allocation per
// detection a correlation counts; their strings come from in, when it is not nil.
func (c *correlator) appendKeys(out []corrKey, prog int, e *Event, in *interner) []corrKey {
	refs := c.bases[prog]
	if len(refs) == 0 {
		return out
	}
	for _, br := range refs {
		k := corrKey{corr: br.corr, step: br.step, group: groupKey(e, br.groupSlots, in)}
		if br.valueSlots != nil {
			k.value = firstText(e, br.valueSlots, in)
			if br.numeric {
				k.num, k.isNum = number(k.value)
			}
		}
		out = append(out, k)
	}
	return out
}

// groupKey is joinGroup of the event's group-by values, made without a string per value: it
// runs for every detection a correlation counts.
func groupKey(e *Event, groupSlots [][]int, in *interner) string {
	if len(groupSlots) == 1 {
		return firstText(e, groupSlots[0], in)
	}
	var buf [256]byte
	b := buf[:0]
	for _, slots := range groupSlots {
		var v []byte
		for _, s := range slots {
			if vs := e.values(s); len(vs) > 0 {
				v = e.text(&vs[0])
				break
			}
		}
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return in.str(b)
}

// interner gives the same string for the same bytes, allocating only the first time: the
// values a correlation groups by (addresses, user names) repeat from event to event, and a
// string for each would be an allocation per detection the correlation counts.
type interner struct{ m map[string]string }

// maxInterned bounds the strings an interner keeps; past it, it starts over.
const maxInterned = 4096

// str returns b as a string; a nil interner allocates it.
func (in *interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 64)
	}
	s := string(b)
	in.m[s] = s
	return s
}

// joinGroup makes one map key of a group's values, and splitGroup, given how many there are,
// gives them back. A value may hold any byte (an event can escape a NUL), so each is preceded
// by its length; a single value is its own key.
func joinGroup(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return string(b)
}

func splitGroup(key string, n int) []string {
	if n == 1 {
		return []string{key}
	}
	parts := make([]string, 0, n)
	for len(key) > 0 {
		l, w := binary.Uvarint([]byte(key[:min(len(key), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(key)-w) < l {
			break // not a key joinGroup made
		}
		parts = append(parts, key[w:w+int(l)])
		key = key[w+int(l):]
	}
	return parts
}

func firstText(e *Event, slots []int, in *interner) string {
	for _, s := range slots {
		if vs := e.values(s); len(vs) > 0 {
			return in.str(e.text(&vs[0]))
		}
	}
	return ""
}

// number reads a value of a metric correlation. A value that is not a finite number (text, an
// empty field) gives no number: the match it comes with is left out of the aggregate.
func number(s string) (float64, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, false
	}
	return n, true
}

// corrRun is the state of a set's correlations over one run: per correlation, its groups.
// A set can be run again, or by several runs at once.
type corrRun struct {
	*correlator
	groups []map[string]*corrState
	added  []int // per correlation: matches added since its groups were last swept
	// spare holds states of groups that completed or left, to be used again with their
	// arrays by the next new group rather than allocated anew.
	spare []*corrState
}

const (
	// maxSpare bounds the states kept for reuse, and maxSpareItems what one may hold: the
	// arrays of a group that filled a large window go with it rather than stay in memory.
	maxSpare      = 1024
	maxSpareItems = 64
)

func (c *correlator) start() *corrRun {
	r := &corrRun{correlator: c, groups: make([]map[string]*corrState, len(c.cs)), added: make([]int, len(c.cs))}
	for i := range r.groups {
		r.groups[i] = map[string]*corrState{}
	}
	return r
}

// sweepEvery is how many matches a correlation takes between two sweeps of its groups.
const sweepEvery = 4096

// sweep drops the groups whose latest match left the window long ago: a correlation grouped by
// source address over a large log would otherwise keep every address it ever saw. "Long ago"
// is two windows before t, so that events a little out of order still find their group.
// Without a timespan a group never leaves.
func (cr *correlation) sweep(run *corrRun, groups map[string]*corrState, t time.Time) {
	if cr.window <= 0 {
		return
	}
	before := t.Add(-2 * cr.window)
	for key, st := range groups {
		if st.last.Before(before) {
			delete(groups, key)
			run.keep(st)
		}
	}
}

// state returns a state for a new group of cr: a spare one, emptied, or a new one.
func (c *corrRun) state(cr *correlation) *corrState {
	n := len(c.spare)
	if n == 0 {
		return &corrState{times: make([][]time.Time, len(cr.bases))}
	}
	st := c.spare[n-1]
	c.spare[n-1] = nil
	c.spare = c.spare[:n-1]
	times := st.times
	if cap(times) < len(cr.bases) {
		times = make([][]time.Time, len(cr.bases))
	}
	times = times[:len(cr.bases)]
	for i := range times {
		times[i] = times[i][:0]
	}
	clear(st.values)
	*st = corrState{times: times, values: st.values, samples: st.samples[:0], sorted: st.sorted[:0]}
	return st
}

// keep keeps the state of a group that is gone, for state to use again.
func (c *corrRun) keep(st *corrState) {
	if len(c.spare) >= maxSpare {
		return
	}
	n := cap(st.samples) + cap(st.sorted) + len(st.values)
	for _, ts := range st.times {
		n += cap(ts)
	}
	if n <= maxSpareItems {
		c.spare = append(c.spare, st)
	}
}

// feed updates the correlations a match feeds and returns the correlation detections it
// completes that report, each followed by those it completes in turn up the chain.
func (c *corrRun) feed(d *Detection) []*Detection {
	if len(d.corr) == 0 {
		return nil
	}
	var out []*Detection
	c.feedFrom(d, -1, &out)
	return out
}

// feedFrom updates the correlations that take d: a rule's match (from -1) or a detection of
// correlation from. d's other keys are for correlations further up, carried along.
func (c *corrRun) feedFrom(d *Detection, from int, out *[]*Detection) {
	t, ok := d.at, d.atOK
	if !ok {
		return // no time, no window
	}
	for _, k := range d.corr {
		cr := c.cs[k.corr]
		if cr.subs[k.step] != from {
			continue
		}
		v, fired := cr.add(c, c.groups[k.corr], k, t)
		if c.added[k.corr]++; c.added[k.corr] == sweepEvery {
			c.added[k.corr] = 0
			cr.sweep(c, c.groups[k.corr], t)
		}
		if !fired {
			continue
		}
		o := cr.detection(d, k.group, v)
		o.corr = c.lift(d.corr, k.corr, k.group)
		if cr.reports {
			*out = append(*out, o)
		}
		if len(o.corr) > 0 {
			c.feedFrom(o, k.corr, out)
		}
	}
}

// detection is the correlation's detection completed by d, in group, with the aggregated value.
func (cr *correlation) detection(d *Detection, group string, v float64) *Detection {
	o := &Detection{
		Program: cr.prog, RuleID: cr.prog.Rule.ID, Title: cr.prog.Rule.Title, Level: cr.prog.Level,
		Timestamp: d.Timestamp, File: d.File, Record: d.Record,
		EventName: d.EventName, User: d.User, SourceIP: d.SourceIP, Region: d.Region, Account: d.Account,
		Value: v, Event: d.Event, flat: d.flat, at: d.at, atOK: d.atOK, aggregated: true,
	}
	if len(cr.agg.GroupBy) > 0 {
		o.Group = splitGroup(group, len(cr.agg.GroupBy))
	}
	return o
}

// lift returns the keys a detection of correlation sub, in group, carries up the chain: those
// of the steps taking sub, with the group values sub has, and those of steps further up.
func (c *correlator) lift(keys []corrKey, sub int, group string) []corrKey {
	var out []corrKey
	var parts []string
	for _, k := range keys {
		cr := c.cs[k.corr]
		switch from := cr.subs[k.step]; {
		case from == sub:
			if parts == nil {
				parts = splitGroup(group, len(c.cs[sub].agg.GroupBy))
			}
			out = append(out, cr.inherited(k, parts))
		case from >= 0:
			out = append(out, k)
		}
	}
	return out
}

// inherited is k with the values the correlation below has for the fields it groups by.
func (cr *correlation) inherited(k corrKey, below []string) corrKey {
	if len(cr.inherit[k.step]) > 0 {
		parts := splitGroup(k.group, len(cr.agg.GroupBy))
		for i, pos := range cr.inherit[k.step] {
			if pos >= 0 && i < len(parts) && pos < len(below) {
				parts[i] = below[pos]
			}
		}
		k.group = joinGroup(parts)
	}
	if pos := cr.inheritValue[k.step]; pos >= 0 && pos < len(below) {
		k.value = below[pos]
		k.num, k.isNum = number(k.value)
	}
	return k
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
