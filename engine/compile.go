package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Program is a rule compiled for evaluation: matchers built once, references and quantifiers
// resolved, an expression tree evaluated with short-circuit.
type Program struct {
	Rule  *rule.Rule
	Level string // the rule's severity, lower-cased ("informational" when absent)

	root   *node
	stages []compiledStage // the rule's selection stages, for Explain
	fields []field         // fields the program reads, by local index
	// slots maps a local field index to the global slots of its paths, set by a Set.
	slots [][]int
	// keyword: the program searches all string values of an event.
	keyword bool
	// windows: fields resolve the Sigma way in Windows event log JSON.
	windows bool
	// corr is set for a correlation rule, which has no per-event logic of its own.
	corr *rule.Aggregate
	// keepRefs: the correlation says generate: true, so the rules it refers to still report.
	keepRefs bool
	// aggregate is set for a rule whose condition ends in a Sigma v1 aggregation: the
	// correlation computing it over the rule's own matches, which it reports instead of them.
	aggregate *rule.Aggregate
	// generate: the program's matches are reported (they are not only fed to correlations).
	generate bool
	// full: the program reads paths the set's first scanning pass leaves out.
	full bool
	// notOn: the shapes of event the program can never match, by its log source guards
	// (see productGuard); the index leaves it out for them.
	notOn eventShape
	// filterRules are the Sigma filter rules compiled into the program (see applyFilters).
	filterRules []*rule.Rule
	// guards are the log-source checks ANDed before the condition, kept apart so that Explain
	// can say why an event was not considered rather than only that it did not match.
	guards []guard
}

// guard is a log-source check of a program and what an event failing it is.
type guard struct {
	node *node
	why  string
}

// guardExpr is a log-source check before compiling.
type guardExpr struct {
	expr *rule.Expr
	why  string
}

// field is a field a program reads, with the JSON paths where it may be found.
type field struct {
	name  string
	paths [][]string
}

type compiledStage struct {
	name  string
	node  *node
	preds []*pred // in source order
}

// nodeOp is the operator of a compiled expression node.
type nodeOp uint8

const (
	opAnd nodeOp = iota
	opOr
	opNot
	opPred
	opAtLeast // at least count of kids: "N of" with N > 1
	opConst
)

type node struct {
	op    nodeOp
	kids  []*node
	pred  *pred
	count int
	val   bool // opConst
}

// pred is a compiled predicate.
type pred struct {
	src     *rule.Predicate
	field   int // local field index; -1 for keywords
	kind    rule.Kind
	negated bool
	all     bool
	want    bool        // exists: the field must be present (true) or absent (false)
	groups  [][]matcher // one group per rule value: the variants any of which may match
	refs    []int       // fieldref: local field indexes to compare with
	fold    bool
	pieces  *substrings // all the groups' literals, when piecesOf finds it pays
	lits    *litSet     // the same for many equalities or path endings (see litSetOf)
	// shared is the predicate's number among the set's predicates that many programs hold
	// alike (see Set.sharePredicates), or -1.
	shared int32
}

// Compile compiles a rule. Rules it cannot evaluate (opaque logic, placeholders without
// values, an unsupported modifier) give an error saying why.
func Compile(r *rule.Rule) (*Program, error) {
	return compile(r, nil)
}

// compile compiles a rule with the filters that apply to it (see applyFilters).
func compile(r *rule.Rule, filters []*rule.Rule) (*Program, error) {
	p := &Program{Rule: r, Level: level(r.Severity), generate: true, filterRules: filters}
	if a := correlationStage(r); a != nil {
		return compileCorrelation(p, r, a)
	}
	agg, err := legacyAggregation(r)
	if err != nil {
		return nil, err
	}
	p.aggregate = agg
	if p.windows = isWindows(r.LogSource); p.windows {
		return compileWindows(p, r)
	}
	var pg []guardExpr
	pg, p.notOn = productGuard(r.LogSource)
	root, gs, stages, err := compileRule(p, r, nil, pg)
	if err != nil {
		return nil, err
	}
	p.root, p.stages = root, stages
	for i, g := range gs {
		p.guards = append(p.guards, guard{g, pg[i].why})
	}
	return p, nil
}

// correlationStage returns the aggregate of a correlation rule, nil for other rules.
func correlationStage(r *rule.Rule) *rule.Aggregate {
	if r.Class != rule.ClassCorrelation {
		return nil
	}
	for i := range r.Stages {
		if s := &r.Stages[i]; s.Kind == rule.StageAggregate && s.Aggregate != nil {
			return s.Aggregate
		}
	}
	return nil
}

func compileCorrelation(p *Program, r *rule.Rule, a *rule.Aggregate) (*Program, error) {
	if err := supportedCorrelation(a); err != nil {
		return nil, err
	}
	p.corr = a
	// Sigma correlation specification, "Generate": by default only the correlation is
	// generated, not the rules it refers to.
	for _, d := range r.Details {
		if d.Label == "generate" && strings.EqualFold(d.Value, "true") {
			p.keepRefs = true
		}
	}
	return p, nil
}

// eventShape is a set of event shapes that tell a log source: CloudTrail records and Windows
// event log records.
type eventShape uint8

const (
	shapeCloudTrail eventShape = 1 << iota // eventSource and awsRegion
	shapeWindows                           // Event.System
)

// productGuard keeps a rule to the events of its log source where the event's shape tells:
// rules of any product but windows never apply to Windows event log records
// ({"Event": {"System": ...}}), and rules of a log source other than aws or cloudtrail never
// apply to CloudTrail records (eventSource and awsRegion): neither a product's nor one of a
// category alone (webserver, database), whose keyword searches would otherwise read every
// CloudTrail record. Only a rule with no log source at all applies to any event. Sigma rules
// specification, "Log Source": the log source selects the events a rule is evaluated on.
// It returns the guards and the shapes of event they keep the rule from.
func productGuard(ls rule.LogSource) ([]guardExpr, eventShape) {
	exists := func(field string) *rule.Expr {
		return &rule.Expr{Op: rule.OpPredicate, Predicate: &rule.Predicate{Field: field, Kind: rule.KindExists, Values: []string{"true"}}}
	}
	not := func(e *rule.Expr) *rule.Expr { return &rule.Expr{Op: rule.OpNot, Args: []*rule.Expr{e}} }
	win := guardExpr{not(exists("Event.System")), "a Windows event log record (it has Event.System) and the rule's log source is not Windows"}
	p, svc := strings.ToLower(ls.Product), strings.ToLower(ls.Service)
	if p != "aws" && svc != "cloudtrail" && (p != "" || ls.Category != "" || svc != "") {
		what := "product is " + ls.Product
		if p == "" {
			what = "has no product"
		}
		ct := guardExpr{not(&rule.Expr{Op: rule.OpAnd, Args: []*rule.Expr{exists("eventSource"), exists("awsRegion")}}),
			fmt.Sprintf("a CloudTrail record (it has eventSource and awsRegion) and the rule's log source %s, not aws", what)}
		return []guardExpr{ct, win}, shapeCloudTrail | shapeWindows
	}
	return []guardExpr{win}, shapeWindows
}

func level(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "informational"
	}
	return s
}

// compileRule compiles the rule's condition with fields renamed by rename (nil: as written),
// and its selection stages. The guards, when any, are ANDed before the condition and returned
// compiled, in order, for the caller to record (Windows streams are alternatives, not checks
// that must all hold).
func compileRule(p *Program, r *rule.Rule, rename map[string]string, guards []guardExpr) (*node, []*node, []compiledStage, error) {
	c := newCompiler(p, r, rename)
	root, err := c.condition(r)
	if err != nil {
		return nil, nil, nil, err
	}
	// Filters are compiled for each of the rule's streams, with its field names, and ANDed
	// to its condition (see applyFilters).
	for _, f := range p.filterRules {
		fc := newCompiler(p, f, rename)
		fc.fieldIdx = c.fieldIdx // one field table for the rule's stages and the filter's
		fn, err := fc.condition(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("filter %q: %w", f.Title, err)
		}
		root = &node{op: opAnd, kids: []*node{root, fn}}
	}
	var gs []*node
	if len(guards) > 0 {
		for _, ge := range guards {
			g, err := c.expr(ge.expr)
			if err != nil {
				return nil, nil, nil, err
			}
			gs = append(gs, g)
		}
		g := gs[0]
		if len(gs) > 1 {
			g = &node{op: opAnd, kids: gs}
		}
		root = &node{op: opAnd, kids: []*node{g, root}}
	}
	var stages []compiledStage
	for i := range r.Stages {
		s := &r.Stages[i]
		if s.Kind == rule.StageSelection || s.Kind == rule.StageFilter {
			n, err := c.stage(s.Name)
			if err != nil {
				return nil, nil, nil, err
			}
			stages = append(stages, compiledStage{name: s.Name, node: n, preds: c.stagePreds[s.Name]})
		}
	}
	return root, gs, stages, nil
}

func aggName(a *rule.Aggregate) string {
	if a == nil {
		return ""
	}
	return a.Function
}

func newCompiler(p *Program, r *rule.Rule, rename map[string]string) *compiler {
	return &compiler{p: p, byName: map[string]*rule.Stage{}, done: map[string]*node{}, fieldIdx: p.fieldIdx(), rename: rename,
		sigma: r.Language == rule.LangSigma || r.Platform == rule.PlatformSigma}
}

// condition compiles the rule's conditions, after checking its stages can be evaluated.
func (c *compiler) condition(r *rule.Rule) (*node, error) {
	var conds []*rule.Stage
	for i := range r.Stages {
		s := &r.Stages[i]
		c.byName[s.Name] = s
		switch s.Kind {
		case rule.StageCondition:
			conds = append(conds, s)
		case rule.StageOpaque:
			return nil, fmt.Errorf("stage %q is opaque: %s", s.Name, s.Reason)
		case rule.StageAggregate:
			if c.p.aggregate == nil || c.p.Rule != r {
				return nil, fmt.Errorf("stage %q: aggregation %q over events is not supported", s.Name, aggName(s.Aggregate))
			}
		}
	}
	if len(conds) == 0 {
		return nil, errors.New("no condition to evaluate")
	}
	var roots []*node
	for _, s := range conds {
		n, err := c.expr(s.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		roots = append(roots, n)
	}
	// Sigma spec, "Condition": several conditions in a list are alternatives.
	if len(roots) > 1 {
		return &node{op: opOr, kids: roots}, nil
	}
	return roots[0], nil
}

// fieldIdx indexes the program's fields by name.
func (p *Program) fieldIdx() map[string]int {
	m := make(map[string]int, len(p.fields))
	for i, f := range p.fields {
		m[f.name] = i
	}
	return m
}

type compiler struct {
	p          *Program
	byName     map[string]*rule.Stage
	done       map[string]*node
	visiting   map[string]bool
	fieldIdx   map[string]int
	rename     map[string]string
	stagePreds map[string][]*pred
	cur        string // stage being compiled
	sigma      bool   // values are in Sigma's syntax (escapes apply even without wildcards)
}

func (c *compiler) stage(name string) (*node, error) {
	if n := c.done[name]; n != nil {
		return n, nil
	}
	s := c.byName[name]
	if s == nil {
		return nil, fmt.Errorf("condition refers to %q, which is not a search identifier of the rule", name)
	}
	if c.visiting == nil {
		c.visiting = map[string]bool{}
	}
	if c.visiting[name] {
		return nil, fmt.Errorf("stage %q refers to itself", name)
	}
	if s.Kind == rule.StageOpaque {
		return nil, fmt.Errorf("stage %q is opaque: %s", name, s.Reason)
	}
	c.visiting[name] = true
	prev := c.cur
	c.cur = name
	n, err := c.expr(s.Expr)
	c.cur = prev
	c.visiting[name] = false
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.done[name] = n
	return n, nil
}

func (c *compiler) expr(e *rule.Expr) (*node, error) {
	if e == nil {
		return nil, errors.New("empty expression")
	}
	switch e.Op {
	case rule.OpAnd, rule.OpOr, rule.OpNot:
		op := map[rule.Op]nodeOp{rule.OpAnd: opAnd, rule.OpOr: opOr, rule.OpNot: opNot}[e.Op]
		n := &node{op: op}
		for _, a := range e.Args {
			k, err := c.expr(a)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		if op == opNot && len(n.kids) != 1 {
			return nil, fmt.Errorf("not with %d operands", len(n.kids))
		}
		return n, nil
	case rule.OpRef:
		return c.stage(e.Ref)
	case rule.OpQuantifier:
		// Sigma spec, "Condition": "1 of" is a logical OR and "all of" a logical AND over the
		// search identifiers the pattern matches; "them" is every identifier not starting
		// with an underscore. Resolved here, once.
		refs := e.Refs
		if len(refs) == 0 {
			refs = c.resolvePattern(e.Pattern)
		}
		if len(refs) == 0 {
			return nil, fmt.Errorf("%q matches no search identifier", e.Pattern)
		}
		n := &node{op: opOr}
		switch {
		case e.All:
			n.op = opAnd
		case e.Count > 1:
			n.op, n.count = opAtLeast, e.Count
		}
		for _, name := range refs {
			k, err := c.stage(name)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	case rule.OpPredicate:
		if e.Predicate == nil {
			return nil, errors.New("predicate node without predicate")
		}
		pr, err := c.pred(e.Predicate)
		if err != nil {
			return nil, err
		}
		if c.stagePreds == nil {
			c.stagePreds = map[string][]*pred{}
		}
		c.stagePreds[c.cur] = append(c.stagePreds[c.cur], pr)
		return &node{op: opPred, pred: pr}, nil
	case rule.OpOpaque:
		return nil, fmt.Errorf("cannot evaluate %q: %s", e.Text, e.Reason)
	}
	return nil, fmt.Errorf("unknown expression operator %q", e.Op)
}

func (c *compiler) resolvePattern(pattern string) []string {
	var out []string
	for _, s := range c.p.Rule.Stages {
		if s.Kind != rule.StageSelection && s.Kind != rule.StageFilter {
			continue
		}
		if pattern == "them" {
			if !strings.HasPrefix(s.Name, "_") {
				out = append(out, s.Name)
			}
			continue
		}
		if ok, _ := path.Match(pattern, s.Name); ok {
			out = append(out, s.Name)
		}
	}
	return out
}

// fieldIndex returns the local index of a field, adding it.
func (c *compiler) fieldIndex(name string) int {
	if c.rename != nil {
		if to, ok := c.rename[name]; ok {
			name = to
		}
	}
	if i, ok := c.fieldIdx[name]; ok {
		return i
	}
	i := len(c.p.fields)
	c.fieldIdx[name] = i
	c.p.fields = append(c.p.fields, field{name: name, paths: fieldPaths(name, c.p.windows)})
	return i
}

func (c *compiler) pred(rp *rule.Predicate) (*pred, error) {
	f := rp.Flags
	if f.Placeholder {
		return nil, fmt.Errorf("field %s: placeholder values %v need expanding (Sigma expand) and none were given", rp.Field, rp.Values)
	}
	switch f.TimePart {
	case "", "minute", "hour", "day", "week", "month", "year":
	default:
		return nil, fmt.Errorf("field %s: time part %q is not supported", rp.Field, f.TimePart)
	}
	p := &pred{src: rp, kind: rp.Kind, negated: f.Negated, all: f.All, field: -1, fold: !f.Cased, shared: -1}
	if rp.Kind == rule.KindKeyword || rp.Field == "" {
		p.kind = rule.KindKeyword
		c.p.keyword = true
	} else {
		p.field = c.fieldIndex(rp.Field)
	}
	switch p.kind {
	case rule.KindExists:
		// `exists: false` is the negated predicate; its value is kept for display only.
		p.want, p.negated = !p.negated, false
		return p, nil
	case rule.KindNull:
		return p, nil
	case rule.KindFieldRef:
		for _, v := range rp.Values {
			p.refs = append(p.refs, c.fieldIndex(v))
		}
		return p, nil
	}
	if len(rp.Values) == 0 {
		return nil, fmt.Errorf("field %s: %s without values", rp.Field, rp.Kind)
	}
	for _, v := range rp.Values {
		g, err := matchers(p.kind, v, f, c.sigma)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", rp.Field, err)
		}
		p.groups = append(p.groups, g)
	}
	p.pieces = piecesOf(p)
	if p.pieces == nil {
		p.lits = litSetOf(p)
	}
	return p, nil
}

// piecesOf returns an automaton over a predicate's literals when it holds as soon as any value
// contains any of many (a list of suspicious words, say): one pass over the value then stands
// for a search per literal.
func piecesOf(pr *pred) *substrings {
	if pr.all {
		return nil
	}
	var lits [][]byte
	for _, g := range pr.groups {
		for i := range g {
			if m := &g[i]; m.op != mContains || m.fold != pr.fold || len(m.lit) == 0 {
				return nil
			}
			lits = append(lits, g[i].lit)
		}
	}
	if len(lits) < manyPieces {
		return nil
	}
	return newSubstrings(lits)
}

// manyPieces is how many literals make an automaton faster than a search for each.
const manyPieces = 16

// matchers builds the matchers of one rule value: one per variant its encodings produce.
func matchers(kind rule.Kind, v string, f rule.Flags, sigma bool) ([]matcher, error) {
	fold := !f.Cased
	if f.TimePart != "" {
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("%s needs a number, found %q", f.TimePart, v)
		}
		op, ok := map[rule.Kind]mop{rule.KindEq: mNumEq, rule.KindLt: mLt, rule.KindLte: mLte, rule.KindGt: mGt, rule.KindGte: mGte}[kind]
		if !ok {
			return nil, fmt.Errorf("%s with %s is not supported", f.TimePart, kind)
		}
		return []matcher{{op: op, num: n, timePart: f.TimePart}}, nil
	}
	switch kind {
	case rule.KindRe:
		// Sigma spec, appendix "Modifiers": re is case-sensitive; the i, m and s
		// sub-modifiers make it case-insensitive, multi-line, and let `.` match newlines.
		flags := ""
		for _, r := range f.ReFlags {
			if strings.ContainsRune("ims", r) && !strings.ContainsRune(flags, r) {
				flags += string(r)
			}
		}
		src := v
		if flags != "" {
			src = "(?" + flags + ")" + v
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("regular expression %q: %w", v, err)
		}
		lit, _ := requiredLiteral(src) // for the index, which folds it
		return []matcher{{op: mRe, re: re, lit: lit, pre: regexPrefilter(src)}}, nil
	case rule.KindCIDR:
		pfx, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("cidr %q: %w", v, err)
		}
		return []matcher{{op: mCIDR, cidr: pfx.Masked()}}, nil
	case rule.KindLt, rule.KindLte, rule.KindGt, rule.KindGte:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("%s needs a number, found %q", kind, v)
		}
		op := map[rule.Kind]mop{rule.KindLt: mLt, rule.KindLte: mLte, rule.KindGt: mGt, rule.KindGte: mGte}[kind]
		return []matcher{{op: op, num: n}}, nil
	case rule.KindEq, rule.KindContains, rule.KindStartsWith, rule.KindEndsWith, rule.KindKeyword, rule.KindTerm:
	default:
		return nil, fmt.Errorf("cannot evaluate predicate kind %q", kind)
	}
	// Sigma spec, "Escape Character": backslash escapes apply to every Sigma value, with or
	// without wildcards (`\\` is one backslash, `\*` a plain star).
	vs, err := encode(variant{s: v, glob: f.Wildcard || (sigma && !f.Numeric)}, f.Encodings)
	if err != nil {
		return nil, err
	}
	var out []matcher
	for _, x := range vs {
		var toks []globTok
		if x.glob {
			toks = parseGlob(x.s)
		} else {
			toks = literalToks([]byte(x.s))
		}
		star := globTok{kind: '*'}
		switch kind {
		case rule.KindContains, rule.KindKeyword, rule.KindTerm:
			// Sigma spec, appendix "Modifiers": contains puts wildcards around the value;
			// keywords search the value anywhere in the event.
			toks = append(append([]globTok{star}, toks...), star)
		case rule.KindStartsWith:
			toks = append(toks, star)
		case rule.KindEndsWith:
			toks = append([]globTok{star}, toks...)
		}
		out = append(out, globMatcher(collapseStars(toks), fold))
	}
	return out, nil
}

func collapseStars(toks []globTok) []globTok {
	out := toks[:0:0]
	for _, t := range toks {
		if t.kind == '*' && len(out) > 0 && out[len(out)-1].kind == '*' {
			continue
		}
		out = append(out, t)
	}
	return out
}

// fieldPaths returns the JSON paths where a rule's field is found: its dotted path, and for
// Windows event log JSON the places evtx exports put System and EventData fields.
func fieldPaths(name string, windows bool) [][]string {
	dotted := strings.Split(name, ".")
	if !windows {
		return [][]string{dotted}
	}
	return windowsPaths(name)
}

// eval evaluates a node with short-circuit.
func (p *Program) eval(n *node, e *Event) bool {
	switch n.op {
	case opPred:
		if i := n.pred.shared; i >= 0 && int(i) < len(e.known) {
			// Programs that share a predicate (a log source guard, a common image name) ask
			// it of the event once.
			if k := e.known[i]; k>>1 == e.match {
				return k&1 == 1
			}
			ok := p.evalPred(n.pred, e)
			e.known[i] = e.match<<1 | b2u(ok)
			return ok
		}
		return p.evalPred(n.pred, e)
	case opAnd:
		for _, k := range n.kids {
			if !p.eval(k, e) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if p.eval(k, e) {
				return true
			}
		}
		return false
	case opNot:
		return !p.eval(n.kids[0], e)
	case opAtLeast:
		c := 0
		for i, k := range n.kids {
			if p.eval(k, e) {
				c++
				if c >= n.count {
					return true
				}
			}
			if c+len(n.kids)-i-1 < n.count {
				return false
			}
		}
		return false
	case opConst:
		return n.val
	}
	return false
}

// Match reports whether the event satisfies the program's condition.
func (p *Program) Match(e *Event) bool {
	if p.root == nil {
		return false
	}
	return p.eval(p.root, e)
}

func (p *Program) evalPred(pr *pred, e *Event) bool {
	if pr.kind == rule.KindKeyword {
		vals := e.strings()
		return pr.matchGroups(e, vals, nil) != pr.negated
	}
	slots := p.slots[pr.field]
	present, null := false, false
	for _, s := range slots {
		vs := e.values(s)
		if len(vs) > 0 {
			present = true
			for i := range vs {
				if vs[i].kind == kNull {
					null = true
				}
			}
		}
	}
	switch pr.kind {
	case rule.KindExists:
		return present == pr.want
	case rule.KindNull:
		// Sigma spec, "Null": a field with the value null matches when it is absent or null.
		return (!present || null) != pr.negated
	}
	if !present {
		// A missing field fails every comparison, negated ones included.
		return false
	}
	if pr.kind == rule.KindFieldRef {
		return p.fieldRef(pr, e) != pr.negated
	}
	return pr.matchGroups(e, nil, slots) != pr.negated
}

// matchGroups tests the values (or the values of the slots): any group matching, or every
// group with `all`.
func (pr *pred) matchGroups(e *Event, vals []value, slots []int) bool {
	switch {
	case pr.pieces != nil:
		return pr.anyValue(e, vals, slots, func(t []byte, _ *value) bool { return pr.pieces.any(t) })
	case pr.lits != nil:
		return pr.anyValue(e, vals, slots, func(t []byte, v *value) bool { return pr.lits.match(e, t, v) })
	}
	for gi := range pr.groups {
		ok := pr.groupMatches(e, pr.groups[gi], vals, slots)
		if ok && !pr.all {
			return true
		}
		if !ok && pr.all {
			return false
		}
	}
	return pr.all
}

// anyValue reports whether f holds for the text of a value (or of a value of the slots),
// lower-cased when the predicate folds case.
func (pr *pred) anyValue(e *Event, vals []value, slots []int, f func(t []byte, v *value) bool) bool {
	text := func(v *value) []byte {
		if pr.fold {
			return e.lower(v)
		}
		return e.text(v)
	}
	for i := range vals {
		if f(text(&vals[i]), &vals[i]) {
			return true
		}
	}
	for _, s := range slots {
		vs := e.values(s)
		for i := range vs {
			if f(text(&vs[i]), &vs[i]) {
				return true
			}
		}
	}
	return false
}

func (pr *pred) groupMatches(e *Event, g []matcher, vals []value, slots []int) bool {
	if slots == nil {
		for i := range vals {
			for mi := range g {
				if g[mi].match(e, &vals[i]) {
					return true
				}
			}
		}
		return false
	}
	for _, s := range slots {
		vs := e.values(s)
		for i := range vs {
			for mi := range g {
				if g[mi].match(e, &vs[i]) {
					return true
				}
			}
		}
	}
	return false
}

// fieldRef compares the field with the referenced fields: Sigma spec, appendix "Modifiers",
// fieldref "matches if the value of the field equals the value of the referenced field".
func (p *Program) fieldRef(pr *pred, e *Event) bool {
	match := func(ref int) bool {
		for _, s := range p.slots[pr.field] {
			for i, a := range e.values(s) {
				_ = a
				va := &e.values(s)[i]
				for _, rs := range p.slots[ref] {
					for j := range e.values(rs) {
						vb := &e.values(rs)[j]
						var x, y []byte
						if pr.fold {
							x, y = e.lower(va), e.lower(vb)
						} else {
							x, y = e.text(va), e.text(vb)
						}
						if string(x) == string(y) {
							return true
						}
					}
				}
			}
		}
		return false
	}
	for _, ref := range pr.refs {
		ok := match(ref)
		if ok && !pr.all {
			return true
		}
		if !ok && pr.all {
			return false
		}
	}
	return pr.all
}
