package sigma

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ruleatlas/ruleatlas/rule"
)

// blockReader turns one search identifier into an expression (rules specification v2.1,
// "Search-Identifier"): a map is an AND of its items, a list an OR of its elements, and plain
// values in a list are keywords searched in the whole event.
type blockReader struct {
	f     *file
	r     *rule.Rule
	stage int
}

func (b *blockReader) block(key, val *yaml.Node) *rule.Expr {
	if val == nil || isNull(val) {
		return b.opaque(key, key.Value, "empty search identifier")
	}
	switch val.Kind {
	case yaml.MappingNode:
		return b.mapping(key, val)
	case yaml.SequenceNode:
		return b.list(key, val)
	case yaml.ScalarNode:
		// A lone value is a one-keyword list.
		return b.keywords([]*yaml.Node{val}, key)
	}
	return b.opaque(key, key.Value, "unreadable search identifier")
}

// mapping is the AND of a map's items.
func (b *blockReader) mapping(owner, m *yaml.Node) *rule.Expr {
	if len(m.Content) == 0 {
		return b.opaque(owner, owner.Value, "empty mapping")
	}
	var args []*rule.Expr
	for _, kv := range mergedItems(m) {
		args = append(args, b.item(kv[0], deref(kv[1])))
	}
	if len(args) == 0 {
		return b.opaque(owner, owner.Value, "empty mapping")
	}
	if len(args) == 1 {
		return args[0]
	}
	return &rule.Expr{Op: rule.OpAnd, Pos: pos(m), Args: args}
}

// mergedItems returns the key/value pairs of a mapping with YAML merge keys (`<<: *base`)
// expanded where they stand; keys written in the mapping itself win over merged ones.
func mergedItems(m *yaml.Node) [][2]*yaml.Node {
	own := map[string]bool{}
	merges := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			merges = true
		} else {
			own[k.Value] = true
		}
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !merges || k.Tag != "!!merge" {
			out = append(out, [2]*yaml.Node{k, v})
			continue
		}
		srcs := []*yaml.Node{deref(v)}
		if s := deref(v); s != nil && s.Kind == yaml.SequenceNode {
			srcs = s.Content
		}
		for _, src := range srcs {
			src = deref(src)
			if src == nil || src.Kind != yaml.MappingNode {
				out = append(out, [2]*yaml.Node{k, v}) // not a mapping: read as an item, opaque
				continue
			}
			for j := 0; j+1 < len(src.Content); j += 2 {
				if mk := src.Content[j]; !own[mk.Value] {
					own[mk.Value] = true
					out = append(out, [2]*yaml.Node{mk, src.Content[j+1]})
				}
			}
		}
	}
	return out
}

// list is the OR of a list's maps; its plain values form one keyword predicate, placed where
// the first of them is.
func (b *blockReader) list(owner, l *yaml.Node) *rule.Expr {
	if len(l.Content) == 0 {
		return b.opaque(owner, owner.Value, "empty list")
	}
	var args []*rule.Expr
	var words []*yaml.Node
	kwAt := -1
	for _, it := range l.Content {
		it = deref(it)
		switch {
		case it == nil:
		case it.Kind == yaml.MappingNode:
			args = append(args, b.mapping(owner, it))
		case it.Kind == yaml.ScalarNode:
			if kwAt < 0 {
				kwAt = len(args)
				args = append(args, nil)
			}
			words = append(words, it)
		default:
			args = append(args, b.opaque(it, owner.Value, "a list inside a list of search values"))
		}
	}
	if kwAt >= 0 {
		args[kwAt] = b.keywords(words, owner)
	}
	if len(args) == 1 {
		return args[0]
	}
	return &rule.Expr{Op: rule.OpOr, Pos: pos(l), Args: args}
}

// keywords is a predicate on the whole event: values without a field.
func (b *blockReader) keywords(vals []*yaml.Node, owner *yaml.Node) *rule.Expr {
	p := &rule.Predicate{Kind: rule.KindKeyword, Values: []string{}, Pos: pos(vals[0])}
	return b.finish(p, vals, owner, "")
}

// item reads one `field|modifier|...: value` entry.
func (b *blockReader) item(key, val *yaml.Node) *rule.Expr {
	if key.Kind != yaml.ScalarNode {
		return b.opaque(key, "", "a field name that is "+kindName(key))
	}
	if key.Tag == "!!merge" { // left by mergedItems: it merges nothing but mappings
		return b.opaque(key, key.Value, "a merge key (<<) without a mapping to merge")
	}
	parts := strings.Split(key.Value, "|")
	p := &rule.Predicate{Field: parts[0], Kind: rule.KindEq, Values: []string{}, Pos: pos(key)}
	if len(parts) > 1 {
		p.Modifiers = parts[1:]
	}
	if reason := modifiers(p); reason != "" {
		return b.opaque(key, key.Value, reason)
	}
	if p.Field == "" && p.Kind == rule.KindEq {
		// `'|all':` and friends: keywords with modifiers (rules specification v2.1,
		// "Keywords search").
		p.Kind = rule.KindKeyword
	}
	var vals []*yaml.Node
	switch {
	case val == nil:
		vals = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!null"}}
	case val.Kind == yaml.ScalarNode:
		vals = []*yaml.Node{val}
	case val.Kind == yaml.SequenceNode:
		if len(val.Content) == 0 {
			return b.opaque(key, key.Value, "empty list of values")
		}
		for _, it := range val.Content {
			it = deref(it)
			if it == nil || it.Kind != yaml.ScalarNode {
				return b.opaque(key, key.Value, "a value list holding "+kindName(it))
			}
			vals = append(vals, it)
		}
	default:
		return b.opaque(key, key.Value, "a mapping as the value of a field")
	}
	return b.finish(p, vals, key, key.Value)
}

// finish sets the values of p and checks them against its kind. A null among other values is
// split off into its own predicate, OR-ed with the rest: the specification forbids the mix
// ("Special Field Values") but rules write it meaning either.
func (b *blockReader) finish(p *rule.Predicate, vals []*yaml.Node, owner *yaml.Node, text string) *rule.Expr {
	var nulls, rest []*yaml.Node
	for _, v := range vals {
		if v.Tag == "!!null" {
			nulls = append(nulls, v)
		} else {
			rest = append(rest, v)
		}
	}
	if text == "" {
		text = owner.Value
	}
	var null *rule.Expr
	if len(nulls) > 0 {
		if p.Kind != rule.KindEq || len(p.Flags.Encodings) > 0 || p.Flags.Placeholder || p.Flags.TimePart != "" {
			return b.opaque(owner, text, fmt.Sprintf("null value with modifiers %q", strings.Join(p.Modifiers, "|")))
		}
		np := *p
		np.Kind, np.Values = rule.KindNull, []string{}
		np.Flags.All = false
		null = &rule.Expr{Op: rule.OpPredicate, Pos: p.Pos, Predicate: &np}
		if len(rest) == 0 {
			return null
		}
	}
	numeric := true
	for _, v := range rest {
		s := v.Value
		switch v.Tag {
		case "!!bool":
			s = strings.ToLower(s)
			numeric = false
		case "!!int", "!!float":
		default:
			numeric = false
		}
		p.Values = append(p.Values, s)
	}
	if reason := check(p, rest, numeric); reason != "" {
		return b.opaque(owner, text, reason)
	}
	if p.Flags.All && len(p.Values) == 1 {
		// Readable, but the modifiers appendix ("Generic Modifiers") disallows it.
		b.f.note(b.r, p.Pos, b.stage, text+": all with a single value")
	}
	e := &rule.Expr{Op: rule.OpPredicate, Pos: p.Pos, Predicate: p}
	if null != nil {
		return &rule.Expr{Op: rule.OpOr, Pos: p.Pos, Args: []*rule.Expr{null, e}}
	}
	return e
}

// check validates values against the predicate's kind and sets the value-dependent flags.
func check(p *rule.Predicate, vals []*yaml.Node, numeric bool) string {
	switch p.Kind {
	case rule.KindExists:
		// exists takes a boolean (modifiers appendix v2.1, "Generic Modifiers").
		if len(vals) != 1 || vals[0].Tag != "!!bool" {
			return "exists needs true or false"
		}
		if p.Values[0] == "false" {
			p.Flags.Negated = !p.Flags.Negated
		}
		return ""
	case rule.KindLt, rule.KindLte, rule.KindGt, rule.KindGte:
		for _, v := range p.Values {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return fmt.Sprintf("%s needs a number, found %q", p.Kind, v)
			}
		}
		p.Flags.Numeric = true
		return ""
	}
	if p.Flags.TimePart != "" {
		for _, v := range p.Values {
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return fmt.Sprintf("%s needs a number, found %q", p.Flags.TimePart, v)
			}
		}
	}
	p.Flags.Numeric = numeric && len(vals) > 0
	switch p.Kind {
	case rule.KindCIDR:
		// A network range, IPv4 or IPv6 ("IP Modifiers"); a lone address is its own range.
		for _, v := range p.Values {
			if _, err := netip.ParsePrefix(v); err != nil {
				if _, err := netip.ParseAddr(v); err != nil {
					return fmt.Sprintf("cidr needs a network range, found %q", v)
				}
			}
		}
		return ""
	case rule.KindRe, rule.KindFieldRef:
		return ""
	}
	if p.Flags.Numeric {
		return ""
	}
	for _, v := range p.Values {
		if hasWildcard(v) {
			p.Flags.Wildcard = true
			break
		}
	}
	return ""
}

// hasWildcard reports whether a value has an unescaped `*` or `?` (rules specification v2.1,
// "Escape Character": a backslash escapes `*`, `?` and itself).
func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				i++
			}
		case '*', '?':
			return true
		}
	}
	return false
}

// kindModifiers are the modifiers that choose how a value is compared (modifiers appendix
// v2.1); a predicate takes at most one of them.
var kindModifiers = map[string]rule.Kind{
	"contains": rule.KindContains, "startswith": rule.KindStartsWith, "endswith": rule.KindEndsWith,
	"re": rule.KindRe, "cidr": rule.KindCIDR, "exists": rule.KindExists, "fieldref": rule.KindFieldRef,
	"lt": rule.KindLt, "lte": rule.KindLte, "gt": rule.KindGt, "gte": rule.KindGte,
}

// modifiers reads p.Modifiers into the kind and flags of p (modifiers appendix v2.1). It returns
// why they cannot be read: a modifier the specification does not define, or a combination
// that means nothing.
func modifiers(p *rule.Predicate) string {
	setKind := func(m string, k rule.Kind) string {
		if p.Kind != rule.KindEq && p.Kind != k {
			return fmt.Sprintf("conflicting modifiers %q and %q", string(p.Kind), m)
		}
		p.Kind = k
		return ""
	}
	for _, m := range p.Modifiers {
		var reason string
		if k, ok := kindModifiers[m]; ok {
			if reason = setKind(m, k); reason != "" {
				return reason
			}
			continue
		}
		switch m {
		case "i", "m", "s":
			// Sub-modifiers of re ("Regular Expression"): only after it.
			if p.Kind != rule.KindRe {
				reason = fmt.Sprintf("regular-expression flag %q without re", m)
			} else if !strings.Contains(p.Flags.ReFlags, m) {
				p.Flags.ReFlags += m
			}
		case "all":
			p.Flags.All = true
		case "cased":
			p.Flags.Cased = true
		case "neq":
			p.Flags.Negated = true
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash":
			p.Flags.Encodings = append(p.Flags.Encodings, m)
		case "expand":
			p.Flags.Placeholder = true
		case "minute", "hour", "day", "week", "month", "year":
			if p.Flags.TimePart != "" {
				reason = fmt.Sprintf("conflicting modifiers %q and %q", p.Flags.TimePart, m)
			}
			p.Flags.TimePart = m
		default:
			reason = fmt.Sprintf("unknown modifier %q", m)
		}
		if reason != "" {
			return reason
		}
	}
	// Encodings transform string values before a string comparison; they mean nothing to a
	// regular expression, a network range, a field test or a number.
	if len(p.Flags.Encodings) > 0 {
		switch p.Kind {
		case rule.KindRe, rule.KindCIDR, rule.KindExists, rule.KindLt, rule.KindLte, rule.KindGt, rule.KindGte, rule.KindFieldRef:
			return fmt.Sprintf("encoding %q with %q", p.Flags.Encodings[0], string(p.Kind))
		}
	}
	if p.Flags.TimePart != "" {
		switch p.Kind {
		case rule.KindEq, rule.KindLt, rule.KindLte, rule.KindGt, rule.KindGte:
		default:
			return fmt.Sprintf("time modifier %q with %q", p.Flags.TimePart, string(p.Kind))
		}
	}
	return ""
}

// opaque is an item the parser cannot read: kept as written, with why, and noted.
func (b *blockReader) opaque(n *yaml.Node, text, reason string) *rule.Expr {
	p := pos(n)
	b.f.note(b.r, p, b.stage, fmt.Sprintf("%s: %s", text, reason))
	return &rule.Expr{Op: rule.OpOpaque, Pos: p, Text: text, Reason: reason}
}
