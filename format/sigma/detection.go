package sigma

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/ruleatlas/ruleatlas/rule"
)

// detection reads a detection section (or the selections of a filter) into stage 0, the
// condition, stages 1..n, the search identifiers in source order, and one aggregate stage per
// legacy aggregation. Keys in skip are not search identifiers (a filter's `rules`).
func (f *file) detection(r *rule.Rule, key, det *yaml.Node, skip map[string]bool) []error {
	section := key.Value
	if det.Kind != yaml.MappingNode {
		return []error{f.errorf(det, "%s must be a mapping, found %s", section, kindName(det))}
	}
	var condKey, condVal, timeframe *yaml.Node
	var keys, vals []*yaml.Node
	seen := map[string]*yaml.Node{}
	var errs []error
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], deref(det.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, f.errorf(k, "%s: a search identifier is a name, found %s", section, kindName(k)))
			continue
		}
		if skip[k.Value] {
			continue
		}
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, f.errorf(k, "%s: duplicate key %q (first at line %d)", section, k.Value, first.Line))
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "condition":
			condKey, condVal = k, v
		case "timeframe":
			// Sigma v1: the time window of an aggregation in the condition.
			timeframe = v
		default:
			keys, vals = append(keys, k), append(vals, v)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if condKey == nil {
		return []error{f.errorf(key, "%s: missing condition", section)}
	}

	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Value
	}
	r.Stages = append(r.Stages, rule.Stage{
		Index: 0, Name: "condition", Kind: rule.StageCondition, Pos: pos(condKey),
		Predicates: []rule.Predicate{},
	})
	for i, k := range keys {
		b := &blockReader{f: f, r: r, stage: i + 1}
		e := b.block(k, vals[i])
		r.Stages = append(r.Stages, rule.Stage{
			Index: i + 1, Name: k.Value, Kind: rule.StageSelection, Text: f.blockText(k, vals[i]),
			Pos: pos(k), Expr: e, Predicates: predicates(e),
		})
	}

	// A condition may be a list whose items are OR-ed (rules specification v2.1, "Condition").
	var items []*yaml.Node
	switch {
	case condVal == nil || isNull(condVal):
		return []error{f.errorf(condKey, "%s: empty condition", section)}
	case condVal.Kind == yaml.ScalarNode:
		items = []*yaml.Node{condVal}
	case condVal.Kind == yaml.SequenceNode:
		for _, it := range condVal.Content {
			it = deref(it)
			if it == nil || it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				return []error{f.errorf(condVal, "condition: list items must be conditions, found %s", kindName(it))}
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			return []error{f.errorf(condKey, "%s: empty condition", section)}
		}
	default:
		return []error{f.errorf(condVal, "condition must be text or a list, found %s", kindName(condVal))}
	}
	var exprs []*rule.Expr
	var texts []string
	for _, it := range items {
		c, aggText, aggOff := splitAggregation(it.Value)
		e, err := ParseCondition(c)
		if err == nil {
			err = resolve(e, names)
		}
		if err != nil {
			// A condition outside the grammar (the pseudo-code of some unsupported rules, a
			// misspelt identifier) leaves the rule readable but not understood: an opaque
			// condition with the positioned reason, so the rule is listed, not dropped.
			exprs = append(exprs, f.opaqueCondition(it, err, 0))
			texts = append(texts, strings.TrimSpace(it.Value))
			continue
		}
		f.relocate(e, it, 0)
		exprs = append(exprs, e)
		texts = append(texts, strings.TrimSpace(c))
		if aggOff < 0 {
			continue
		}
		a, err := parseAggregation(aggText)
		if err == nil && a.expr != nil {
			err = resolve(a.expr, names)
		}
		if err != nil {
			o := f.opaqueCondition(it, err, aggOff)
			r.Stages = append(r.Stages, rule.Stage{
				Index: len(r.Stages), Name: uniqueStageName(r.Stages, "aggregation"), Kind: rule.StageOpaque,
				Text: strings.TrimSpace(aggText), Pos: o.Pos, Predicates: []rule.Predicate{}, Reason: o.Reason,
			})
			continue
		}
		if a.expr != nil {
			f.relocate(a.expr, it, aggOff)
			a.agg.Rules = positiveRefs(a.expr, true)
		}
		if tf := scalar(timeframe); tf != "" {
			a.agg.Window = tf
			if s, ok := parseWindow(tf); ok {
				a.agg.WindowSeconds = s
			} else {
				f.note(r, pos(timeframe), len(r.Stages), fmt.Sprintf("timeframe %q is not a number and a unit (s, m, h, d)", tf))
			}
		}
		r.Stages = append(r.Stages, rule.Stage{
			Index: len(r.Stages), Name: uniqueStageName(r.Stages, "aggregation"), Kind: rule.StageAggregate,
			Text: strings.TrimSpace(aggText), Pos: f.condPos(it, aggOff+1+leadingSpace(aggText)),
			Expr: a.expr, Predicates: []rule.Predicate{}, Aggregate: a.agg,
		})
	}
	if timeframe != nil && countKind(r.Stages, rule.StageAggregate) == 0 {
		r.Details = append(r.Details, rule.Detail{Label: "timeframe", Value: shortText(timeframe)})
	}
	cond := &r.Stages[0]
	cond.Text = strings.Join(texts, "\n")
	cond.Expr = exprs[0]
	if len(exprs) > 1 {
		cond.Expr = &rule.Expr{Op: rule.OpOr, Pos: pos(condVal), Args: exprs}
	}
	return nil
}

// uniqueStageName returns name, or name2, name3...: a search identifier may already be called
// "aggregation".
func uniqueStageName(stages []rule.Stage, name string) string {
	n := name
	for i := 2; hasStage(stages, n); i++ {
		n = fmt.Sprintf("%s%d", name, i)
	}
	return n
}

// opaqueCondition is the expression standing for a condition that could not be read.
func (f *file) opaqueCondition(n *yaml.Node, err error, off int) *rule.Expr {
	msg := err.Error()
	var p rule.Pos
	if re, ok := f.condError(n, err, off).(*rule.Error); ok {
		p, msg = rule.Pos{Line: re.Line, Col: re.Col}, re.Msg
	}
	return &rule.Expr{Op: rule.OpOpaque, Pos: p, Text: strings.TrimSpace(n.Value), Reason: msg}
}

func hasStage(stages []rule.Stage, name string) bool {
	for _, s := range stages {
		if s.Name == name {
			return true
		}
	}
	return false
}

func countKind(stages []rule.Stage, k rule.StageKind) int {
	n := 0
	for _, s := range stages {
		if s.Kind == k {
			n++
		}
	}
	return n
}

// resolve checks that every identifier of a condition names a search identifier and fills
// the Refs of quantifiers.
func resolve(e *rule.Expr, names []string) error {
	var err error
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	e.Walk(func(x *rule.Expr) {
		if err != nil {
			return
		}
		switch x.Op {
		case rule.OpRef:
			if known[x.Ref] {
				return
			}
			err = &ConditionError{Col: x.Pos.Col, Msg: fmt.Sprintf("unknown search identifier %q", x.Ref)}
		case rule.OpQuantifier:
			x.Refs = []string{}
			for _, n := range names {
				// "them" is every search identifier but those starting with an underscore
				// (rules specification v2.1, "Condition").
				if strings.EqualFold(x.Pattern, "them") && !strings.HasPrefix(n, "_") || glob(x.Pattern, n) {
					x.Refs = append(x.Refs, n)
				}
			}
			if len(x.Refs) == 0 {
				err = &ConditionError{Col: x.Pos.Col, Msg: fmt.Sprintf("%q matches no search identifier", x.Pattern)}
			}
		}
	})
	return err
}

// glob matches a search-identifier pattern, where `*` stands for any number of characters.
func glob(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, last)
}

// condError places a condition error at the file position of the condition scalar.
func (f *file) condError(n *yaml.Node, err error, off int) error {
	ce, ok := err.(*ConditionError)
	if !ok {
		return f.errorf(n, "condition: %v", err)
	}
	p := f.condPos(n, ce.Col+off)
	return rule.Errorf(f.path, p.Line, p.Col, "condition: %s", ce.Msg)
}

// relocate moves condition positions (line 1, column in the text) to the file.
func (f *file) relocate(e *rule.Expr, n *yaml.Node, off int) {
	m := f.scalarPositions(n)
	e.Walk(func(x *rule.Expr) { x.Pos = m.at(x.Pos.Col + off) })
}

// condPos returns the file position of the 1-based character col of scalar n's value.
func (f *file) condPos(n *yaml.Node, col int) rule.Pos { return f.scalarPositions(n).at(col) }

// scalarPos maps characters of a scalar's value to file positions.
type scalarPos struct {
	n      *yaml.Node
	starts []int // for block scalars: character offsets where value lines start
	indent []int // and the indentation of those lines in the file
	length int   // the value's length in characters
}

func (f *file) scalarPositions(n *yaml.Node) *scalarPos {
	m := &scalarPos{n: n, length: utf8.RuneCountInString(n.Value)}
	if n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle {
		off := 0
		for i, l := range strings.Split(n.Value, "\n") {
			m.starts = append(m.starts, off)
			indent := 0
			if ln := n.Line + 1 + i; ln-1 < len(f.lines) {
				fl := f.lines[ln-1]
				indent = len(fl) - len(strings.TrimLeft(fl, " "))
			}
			m.indent = append(m.indent, indent)
			off += utf8.RuneCountInString(l) + 1
		}
	}
	return m
}

func (m *scalarPos) at(col int) rule.Pos {
	off := min(max(col-1, 0), m.length)
	n := m.n
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// A block scalar starts on the line after its indicator; each value line is a file
		// line for literal style (folded style joins lines, so this is then approximate).
		i := sort.SearchInts(m.starts, off+1) - 1
		return rule.Pos{Line: n.Line + 1 + i, Col: m.indent[i] + off - m.starts[i] + 1}
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		return rule.Pos{Line: n.Line, Col: n.Column + 1 + off}
	}
	return rule.Pos{Line: n.Line, Col: n.Column + off}
}

// blockText returns a search identifier's source text: from its key line to the last line
// of its value, dedented to the key's indentation.
func (f *file) blockText(key, val *yaml.Node) string {
	first := key.Line - 1
	if first < 0 || first >= len(f.lines) {
		return ""
	}
	indent := key.Column - 1
	head := f.lines[first]
	if indent > len(head) || strings.TrimSpace(head[:min(indent, len(head))]) != "" {
		// The key is not the first thing on its line (a flow mapping): keep the line from it.
		return string([]rune(head)[min(indent, utf8.RuneCountInString(head)):])
	}
	out := []string{head[indent:]}
	isSeq := val != nil && val.Kind == yaml.SequenceNode
	for i := first + 1; i < len(f.lines); i++ {
		l := f.lines[i]
		t := strings.TrimLeft(l, " ")
		ind := len(l) - len(t)
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
		case ind > indent:
		case ind == indent && isSeq && (t == "-" || strings.HasPrefix(t, "- ")):
			// A block sequence may sit at its key's indentation.
		default:
			return trimTail(out)
		}
		if len(l) >= indent {
			l = l[indent:]
		} else {
			l = t
		}
		out = append(out, l)
	}
	return trimTail(out)
}

// trimTail drops trailing blank lines and the comments after the block that introduce what
// follows it (those not indented into the block).
func trimTail(lines []string) string {
	for len(lines) > 1 {
		l := lines[len(lines)-1]
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") && len(l)-len(t) == 0 {
			lines = lines[:len(lines)-1]
			continue
		}
		break
	}
	return strings.Join(lines, "\n")
}

// predicates lists the predicates of e in source order.
func predicates(e *rule.Expr) []rule.Predicate {
	out := []rule.Predicate{}
	e.Walk(func(x *rule.Expr) {
		if x.Op == rule.OpPredicate && x.Predicate != nil {
			out = append(out, *x.Predicate)
		}
	})
	return out
}

func leadingSpace(s string) int {
	return utf8.RuneCountInString(s) - utf8.RuneCountInString(strings.TrimLeftFunc(s, unicode.IsSpace))
}
