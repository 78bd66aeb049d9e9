package engine

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// corrState is a correlation's state for one group.
//
// Without a timespan (the whole stream) nothing leaves the window, so the state keeps only what
// the aggregate needs, not every match: counts per step (event_count), the latest match per step
// (temporal), the earliest end of an ordered chain per step (temporal_ordered, in input order),
// the sum and count (value_sum, value_avg), the least or greatest number (value_min,
// value_max). Only value_percentile keeps every number.
type corrState struct {
	times  [][]time.Time        // per step: match times within the window
	counts []int                // event_count over the whole stream: matches per step
	values map[string]time.Time // value_count: last time each value was seen
	// The metric types: the numbers within the window in time order, their sum, and, for
	// percentile, min and max, the same numbers in increasing order.
	samples []sample
	n       int // numbers summed, over the whole stream
	sum     float64
	sorted  []float64
	last    time.Time // the latest match (see correlation.sweep)
}

type sample struct {
	t time.Time
	v float64
}

// isMetric says whether a function aggregates the numbers of a field. value_min and value_max
// are the legacy min() and max(); the correlation specification has no such type.
func isMetric(fn string) bool {
	switch fn {
	case "value_sum", "value_avg", "value_percentile", "value_min", "value_max":
		return true
	}
	return false
}

// add adds a match to its group and reports the aggregated value and whether the correlation
// holds. When it does, the group starts over: one detection per completed window.
func (cr *correlation) add(run *corrRun, groups map[string]*corrState, k corrKey, t time.Time) (float64, bool) {
	st := groups[k.group]
	if st == nil {
		st = run.state(cr)
		groups[k.group] = st
	}
	if t.After(st.last) {
		st.last = t
	}
	var v float64
	var fired bool
	if isMetric(cr.agg.Function) {
		v, fired = cr.updateMetric(st, k, t)
	} else {
		v, fired = cr.update(st, k, t)
	}
	if fired {
		delete(groups, k.group)
		run.keep(st)
	}
	return v, fired
}

// since is where the window ending at t starts; the zero time when the correlation has no
// timespan (a legacy aggregation without timeframe aggregates the whole stream).
func (cr *correlation) since(t time.Time) time.Time {
	if cr.window <= 0 {
		return time.Time{}
	}
	return t.Add(-cr.window)
}

// prune drops the times before from (the window includes its ends). Once at least half the
// times are dropped the rest moves to the front, so that appends reuse the array rather than
// grow new ones; moving them at every drop would cost the whole window per match.
func prune(ts []time.Time, from time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(from) {
		i++
	}
	if 2*i < len(ts) {
		return ts[i:]
	}
	return ts[:copy(ts, ts[i:])]
}

// update adds the match to the group's state for the counting and temporal types.
func (cr *correlation) update(st *corrState, k corrKey, t time.Time) (float64, bool) {
	if cr.window <= 0 && cr.agg.Function != "value_count" {
		return cr.updateStream(st, k, t)
	}
	from := cr.since(t)
	st.times[k.step] = append(prune(st.times[k.step], from), t)
	switch cr.agg.Function {
	case "event_count":
		n := 0
		for s := range st.times {
			st.times[s] = prune(st.times[s], from)
			n += len(st.times[s])
		}
		return float64(n), holds(cr.agg.Conditions, float64(n))
	case "value_count":
		if st.values == nil {
			st.values = map[string]time.Time{}
		}
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
		return float64(n), holds(cr.agg.Conditions, float64(n))
	case "temporal":
		// Correlation specification, "Temporal Proximity": all events defined by the referred
		// rules must occur in the time frame; a condition may lower the number of rules.
		for s := range st.times {
			st.times[s] = prune(st.times[s], from)
		}
		return cr.stepsSeen(st)
	case "temporal_ordered":
		// "requires in addition that the events appear in the order provided in the rules
		// attribute": walk back from this match, taking for each earlier rule its latest
		// match not after the next one's, and check the first is within the timespan.
		if k.step != len(cr.bases)-1 {
			return 0, false
		}
		next := t
		for s := len(cr.bases) - 2; s >= 0; s-- {
			ts := prune(st.times[s], from)
			st.times[s] = ts
			j := sort.Search(len(ts), func(i int) bool { return ts[i].After(next) }) - 1
			if j < 0 {
				return 0, false
			}
			next = ts[j]
		}
		return float64(len(cr.bases)), !next.Before(from)
	}
	return 0, false
}

// stepsSeen is temporal's value, the number of referred rules with a match in the group's
// state, and whether it holds: every rule, or as many as the condition asks.
func (cr *correlation) stepsSeen(st *corrState) (float64, bool) {
	n := 0
	for s := range st.times {
		if len(st.times[s]) > 0 {
			n++
		}
	}
	if len(cr.agg.Conditions) > 0 {
		return float64(n), holds(cr.agg.Conditions, float64(n))
	}
	return float64(n), n == len(cr.bases)
}

// updateStream is update for an aggregate over the whole stream (see corrState).
func (cr *correlation) updateStream(st *corrState, k corrKey, t time.Time) (float64, bool) {
	switch cr.agg.Function {
	case "event_count":
		if st.counts == nil {
			st.counts = make([]int, len(cr.bases))
		}
		st.counts[k.step]++
		n := 0
		for _, c := range st.counts {
			n += c
		}
		return float64(n), holds(cr.agg.Conditions, float64(n))
	case "temporal":
		st.times[k.step] = append(st.times[k.step][:0], t)
		return cr.stepsSeen(st)
	case "temporal_ordered":
		// times[s] holds the earliest time a chain of the steps up to s ends at: step s's match
		// extends the chain when the chain up to s-1 ended before it.
		if len(st.times[k.step]) > 0 || k.step > 0 && (len(st.times[k.step-1]) == 0 || st.times[k.step-1][0].After(t)) {
			return 0, false
		}
		st.times[k.step] = []time.Time{t}
		return float64(len(cr.bases)), k.step == len(cr.bases)-1
	}
	return 0, false
}

// updateMetric adds the match's number to the group for the metric types (correlation
// specification v2.1, "Value Sum", "Value Average", "Value Percentile": the sum, average or
// percentile of a number field within the timespan). A match without a number leaves the
// group as it was and completes nothing.
func (cr *correlation) updateMetric(st *corrState, k corrKey, t time.Time) (float64, bool) {
	if !k.isNum {
		return 0, false
	}
	ordered := cr.agg.Function != "value_sum" && cr.agg.Function != "value_avg"
	if cr.window <= 0 && cr.agg.Function != "value_percentile" {
		return cr.updateStreamMetric(st, k.num)
	}
	st.dropSamples(cr.since(t), ordered)
	st.samples = append(st.samples, sample{t, k.num})
	st.sum += k.num
	if ordered {
		i, _ := slices.BinarySearch(st.sorted, k.num)
		st.sorted = slices.Insert(st.sorted, i, k.num)
	}
	v := cr.metric(st)
	return v, holds(cr.agg.Conditions, v)
}

// updateStreamMetric is updateMetric over the whole stream, but for percentile (see corrState):
// sorted holds only the least (value_min) or greatest (value_max) number.
func (cr *correlation) updateStreamMetric(st *corrState, x float64) (float64, bool) {
	st.n++
	st.sum += x
	if fn := cr.agg.Function; len(st.sorted) == 0 || fn == "value_min" && x < st.sorted[0] || fn == "value_max" && x > st.sorted[0] {
		st.sorted = append(st.sorted[:0], x)
	}
	v := cr.metric(st)
	return v, holds(cr.agg.Conditions, v)
}

// dropSamples drops the samples before from.
func (st *corrState) dropSamples(from time.Time, ordered bool) {
	i := 0
	for i < len(st.samples) && st.samples[i].t.Before(from) {
		st.sum -= st.samples[i].v
		if ordered {
			j, _ := slices.BinarySearch(st.sorted, st.samples[i].v)
			st.sorted = slices.Delete(st.sorted, j, j+1)
		}
		i++
	}
	st.samples = st.samples[i:]
	if len(st.samples) == 0 {
		st.sum = 0 // no rounding left over from the numbers dropped
	}
}

// metric is the group's aggregated value; the group has at least one sample.
func (cr *correlation) metric(st *corrState) float64 {
	switch cr.agg.Function {
	case "value_sum":
		return st.sum
	case "value_avg":
		if st.n > 0 { // over the whole stream
			return st.sum / float64(st.n)
		}
		return st.sum / float64(len(st.samples))
	case "value_percentile":
		return nearestRank(st.sorted, cr.agg.Percentile)
	case "value_min":
		return st.sorted[0]
	case "value_max":
		return st.sorted[len(st.sorted)-1]
	}
	return 0
}

// nearestRank is the p-th percentile (0 < p <= 100) of values in increasing order by the
// nearest-rank method: the smallest value at or below which lie at least p% of the values. It
// is always one of the values, as in pySigma's backends ("Value Percentile": "median is a
// percentile 50").
func nearestRank(sorted []float64, p float64) float64 {
	n := len(sorted)
	r := int(math.Ceil(p * float64(n) / 100))
	return sorted[min(max(r, 1), n)-1]
}

// holds says whether a value meets every condition (correlation specification, "Condition":
// several criteria are linked by AND).
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
