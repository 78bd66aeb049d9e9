package sigma

import (
	"math"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// splitAggregation cuts a legacy condition at its first pipe: Sigma v1 wrote aggregations and
// the near operator after the condition (`selection | count(x) by y > 10`). It returns the
// condition, the aggregation text and the aggregation's 0-based character offset, or -1.
func splitAggregation(cond string) (string, string, int) {
	i := strings.IndexByte(cond, '|')
	if i < 0 {
		return cond, "", -1
	}
	return cond[:i], cond[i+1:], len([]rune(cond[:i+1]))
}

// aggregation is a parsed legacy aggregation: the Aggregate and, for near, the expression
// over search identifiers that must appear together.
type aggregation struct {
	agg  *rule.Aggregate
	expr *rule.Expr
}

// parseAggregation reads a legacy aggregation expression (Sigma v1 specification,
// "Aggregation expression" and "Near aggregation expression"):
//
//	agg-function(agg-field) [ by group-field ] [ comparison-op value ]
//	near search-id-1 [ [ and search-id-2 | and not search-id-3 ] ... ]
//
// where agg-function is count, min, max, avg or sum. Columns in errors are relative to text.
func parseAggregation(text string) (*aggregation, error) {
	toks := lex(text)
	p := &condParser{toks: toks}
	fn := p.next()
	if fn.kind != tokIdent {
		return nil, p.errorf(fn, "expected an aggregation function or \"near\" after \"|\", found %s", fn)
	}
	name := strings.ToLower(fn.text)
	if name == "near" {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind != tokEOF {
			return nil, p.errorf(t, "expected \"and\" or end of near expression, found %s", t)
		}
		// Rules are filled once the identifiers are resolved.
		return &aggregation{agg: &rule.Aggregate{Function: "near"}, expr: e}, nil
	}
	switch name {
	case "count", "min", "max", "avg", "sum":
	default:
		return nil, p.errorf(fn, "unknown aggregation function %s: expected count, min, max, avg, sum or near", fn)
	}
	agg := &rule.Aggregate{Function: name}
	if t := p.next(); t.kind != tokLParen {
		return nil, p.errorf(t, "expected \"(\" after %s, found %s", fn, t)
	}
	if t := p.peek(); t.kind == tokIdent {
		agg.Field = p.next().text
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, p.errorf(t, "expected \")\" after the aggregated field, found %s", t)
	}
	if name != "count" && agg.Field == "" {
		return nil, p.errorf(fn, "%s needs a field", fn)
	}
	if p.peek().is("by") {
		p.next()
		g := p.next()
		if g.kind != tokIdent {
			return nil, p.errorf(g, "expected a field after \"by\", found %s", g)
		}
		agg.GroupBy = []string{g.text}
		for p.peek().kind == tokComma { // several group fields, "by a, b"
			p.next()
			g := p.next()
			if g.kind != tokIdent {
				return nil, p.errorf(g, "expected a field after \",\", found %s", g)
			}
			agg.GroupBy = append(agg.GroupBy, g.text)
		}
	}
	if op := p.peek(); op.kind == tokOp {
		p.next()
		v := p.next()
		// ParseFloat also reads "inf" and "NaN", which compare with no count and which JSON
		// cannot carry.
		n, err := strconv.ParseFloat(v.text, 64)
		if v.kind != tokIdent || err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, p.errorf(v, "expected a number after %s, found %s", op, v)
		}
		agg.Conditions = []rule.Threshold{{Op: compareOps[op.text], Value: n}}
		if agg.Conditions[0].Op == "" {
			return nil, p.errorf(op, "unknown comparison %s", op)
		}
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "expected a comparison or end of aggregation, found %s", t)
	}
	return &aggregation{agg: agg}, nil
}

var compareOps = map[string]string{
	">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq", "!=": "neq",
}

// positiveRefs lists the identifiers e references under no negation, in order.
func positiveRefs(e *rule.Expr, positive bool) []string {
	var out []string
	if e == nil {
		return out
	}
	switch e.Op {
	case rule.OpRef:
		if positive {
			out = append(out, e.Ref)
		}
	case rule.OpQuantifier:
		if positive {
			out = append(out, e.Refs...)
		}
	case rule.OpNot:
		for _, a := range e.Args {
			out = append(out, positiveRefs(a, !positive)...)
		}
	default:
		for _, a := range e.Args {
			out = append(out, positiveRefs(a, positive)...)
		}
	}
	return out
}

// parseWindow returns the length in seconds of a time span written as a number and a unit
// (correlation specification v2.1, "Time Selection": s, m, h, d; v1 timeframes also used M
// for months and y for years, and w appears in the wild).
func parseWindow(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil || !(n >= 0) { // !(n >= 0) also rejects NaN
		return 0, false
	}
	unit := map[byte]float64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400, 'M': 30 * 86400, 'y': 365 * 86400}[s[len(s)-1]]
	if unit == 0 {
		return 0, false
	}
	// "inf" parses, and a large finite number overflows once multiplied by the unit: a window
	// with no length is no window, and JSON cannot carry it.
	if w := n * unit; !math.IsInf(w, 0) {
		return w, true
	}
	return 0, false
}
