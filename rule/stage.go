package rule

// StageKind is what a stage does in the rule's logic.
type StageKind string

const (
	StageCondition StageKind = "condition"
	StageSelection StageKind = "selection"
	StageParams    StageKind = "params"
	StageSource    StageKind = "source"
	StageFilter    StageKind = "filter"
	StageTransform StageKind = "transform"
	StageAggregate StageKind = "aggregate"
	StageJoin      StageKind = "join"
	StageSequence  StageKind = "sequence"
	StageOutput    StageKind = "output"
	StageOpaque    StageKind = "opaque"
)

// Stage is one step of a rule's logic, in the order a reader follows it. For Sigma, stage 0 is
// the condition and stages 1..n are the named detection blocks in source order.
type Stage struct {
	Index int       `json:"index"`
	Name  string    `json:"name"`
	Kind  StageKind `json:"kind"`
	Text  string    `json:"text"`
	Pos   Pos       `json:"pos"`
	// Expr is the stage's logic; nil where the stage has none (a source, an output).
	Expr *Expr `json:"expr,omitempty"`
	// Predicates lists every predicate of Expr in source order, for readers of the API.
	Predicates []Predicate `json:"predicates"`
	// Aggregate describes an aggregation or correlation stage.
	Aggregate *Aggregate `json:"aggregate,omitempty"`
	// Stages are child stages: subqueries of a join or union, steps of a sequence.
	Stages []Stage `json:"stages,omitempty"`
	// Reason says why an opaque stage could not be read.
	Reason string `json:"reason,omitempty"`
}

// Op is the operator of an expression node.
type Op string

const (
	OpAnd        Op = "and"
	OpOr         Op = "or"
	OpNot        Op = "not"
	OpRef        Op = "ref"        // another stage, by name
	OpQuantifier Op = "quantifier" // "1 of selection_*", "all of them"
	OpPredicate  Op = "predicate"
	OpOpaque     Op = "opaque"
)

// Expr is a node of a stage's expression tree.
type Expr struct {
	Op   Op      `json:"op"`
	Pos  Pos     `json:"pos"`
	Args []*Expr `json:"args,omitempty"` // And, Or (two or more), Not (one)
	// Ref names the stage an OpRef node refers to.
	Ref string `json:"ref,omitempty"`
	// Quantifier fields: All is "all of", otherwise Count ("1 of"); Pattern as written
	// ("selection_*", "them"); Refs are the stage names it resolves to, in source order.
	All     bool     `json:"all,omitempty"`
	Count   int      `json:"count,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	Refs    []string `json:"refs,omitempty"`
	// Predicate is set on OpPredicate nodes.
	Predicate *Predicate `json:"predicate,omitempty"`
	// Text and Reason are set on OpOpaque nodes.
	Text   string `json:"text,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Kind is how a predicate compares a field with its values.
type Kind string

const (
	KindEq         Kind = "eq"
	KindContains   Kind = "contains"
	KindStartsWith Kind = "startswith"
	KindEndsWith   Kind = "endswith"
	KindTerm       Kind = "term" // a whole token: Kusto has, an SPL search term
	KindRe         Kind = "re"
	KindCIDR       Kind = "cidr"
	KindExists     Kind = "exists"
	KindNull       Kind = "null" // the field is absent or null (Sigma `field: null`)
	KindLt         Kind = "lt"
	KindLte        Kind = "lte"
	KindGt         Kind = "gt"
	KindGte        Kind = "gte"
	KindFieldRef   Kind = "fieldref" // values are names of fields to compare with
	KindKeyword    Kind = "keyword"  // a value anywhere in the event (no field)
)

// Predicate is one test of a field against values. Values are alternatives (any matches)
// unless Flags.All is set.
type Predicate struct {
	Field     string   `json:"field"`
	Canonical string   `json:"canonical"`
	Kind      Kind     `json:"kind"`
	Values    []string `json:"values"`
	// Modifiers are the Sigma modifiers (or the native operator) as written, for display.
	Modifiers []string `json:"modifiers,omitempty"`
	Flags     Flags    `json:"flags"`
	Pos       Pos      `json:"pos"`
}

// Flags refine a predicate.
type Flags struct {
	All     bool `json:"all,omitempty"`     // every value must match
	Cased   bool `json:"cased,omitempty"`   // compare case-sensitively
	Negated bool `json:"negated,omitempty"` // the predicate holds when the comparison fails (neq, !=, exists: false)
	// Wildcard: values use Sigma's glob syntax (`*`, `?`, backslash escapes) and must be
	// matched as patterns. Parsers of other languages translate their wildcards to it.
	Wildcard bool `json:"wildcard,omitempty"`
	// Encodings are value transformations applied in order before matching:
	// base64, base64offset, utf16le, utf16be, utf16, wide, windash.
	Encodings []string `json:"encodings,omitempty"`
	// ReFlags are regular-expression flags: any of "i", "m", "s".
	ReFlags string `json:"re_flags,omitempty"`
	// Placeholder: the values are %placeholder% names to expand (Sigma `expand`).
	Placeholder bool `json:"placeholder,omitempty"`
	// TimePart extracts a part of a timestamp before comparing: minute, hour, day, week, month, year.
	TimePart string `json:"time_part,omitempty"`
	// Numeric: the values were written as numbers.
	Numeric bool `json:"numeric,omitempty"`
}

// Aggregate describes an aggregation, correlation or legacy Sigma `| count() by` stage.
type Aggregate struct {
	// Function: a correlation type (event_count, value_count, temporal, temporal_ordered,
	// value_sum, value_avg, value_percentile), a legacy Sigma function (count, min, max, avg,
	// sum, near) or the native function name.
	Function string   `json:"function"`
	Field    string   `json:"field,omitempty"`
	GroupBy  []string `json:"group_by,omitempty"`
	// Window is the time window as written ("10m"); WindowSeconds its length.
	Window        string  `json:"window,omitempty"`
	WindowSeconds float64 `json:"window_seconds,omitempty"`
	// Conditions on the aggregated value, all of which must hold.
	Conditions []Threshold `json:"conditions,omitempty"`
	// Percentile is the rank, above 0 and at most 100, that a value_percentile correlation
	// takes of the field's values (its condition's `percentile`); 0 when not given.
	Percentile float64 `json:"percentile,omitempty"`
	// Rules are the rules (or stages) aggregated, by reference as written.
	Rules []string `json:"rules,omitempty"`
	// Aliases map an alias field to the field it stands for in each referenced rule.
	Aliases map[string]map[string]string `json:"aliases,omitempty"`
}

// Threshold is one comparison of an aggregated value: Op is gt, gte, lt, lte, eq or neq.
type Threshold struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// Indicator is one row of the indicators table: a positive (field, kind) and its values.
type Indicator struct {
	Field     string           `json:"field"`
	Canonical string           `json:"canonical"`
	Kind      Kind             `json:"kind"`
	Cased     bool             `json:"cased,omitempty"`
	Values    []IndicatorValue `json:"values"`
}

// IndicatorValue is a value with its corpus count: how many distinct rules of the catalog
// (this one included) share the same canonical field, kind and value.
type IndicatorValue struct {
	Value  string `json:"value"`
	Corpus int    `json:"corpus"`
}
