// Package rule is the normalised model every rule format is parsed into: metadata, log source,
// stages of logic with expression trees and predicates, and the analysis the catalog adds
// (ATT&CK rows, events, indicators, related rules). It does no I/O.
package rule

import "strings"

// Platform is the rule corpus family a rule comes from.
type Platform string

const (
	PlatformSigma   Platform = "sigma"
	PlatformElastic Platform = "elastic"
	PlatformKusto   Platform = "kusto"
	PlatformSplunk  Platform = "splunk"
	PlatformPanther Platform = "panther"
)

// DisplayName is how pages label the platform ("Sigma", "Kusto", ...).
func (p Platform) DisplayName() string {
	switch p {
	case PlatformSigma:
		return "Sigma"
	case PlatformElastic:
		return "Elastic"
	case PlatformKusto:
		return "Kusto"
	case PlatformSplunk:
		return "Splunk"
	case PlatformPanther:
		return "Panther"
	}
	return string(p)
}

// Language is the query language of a rule's logic.
type Language string

const (
	LangSigma  Language = "sigma"
	LangKQL    Language = "kql"
	LangEQL    Language = "eql"
	LangESQL   Language = "esql"
	LangLucene Language = "lucene"
	LangKusto  Language = "kusto"
	LangSPL    Language = "spl"
	LangPython Language = "python"
)

// Class says what a rule is for.
type Class string

const (
	ClassDetection     Class = "detection"
	ClassHunting       Class = "hunting"
	ClassBuildingBlock Class = "building_block"
	ClassAlertFeed     Class = "alert_feed"
	ClassCorrelation   Class = "correlation"
	ClassFilter        Class = "filter"
)

// Rule is one detection rule in the normalised model. JSON keys follow the /api/rules contract.
type Rule struct {
	ID       string   `json:"id"`
	Platform Platform `json:"platform"`
	Language Language `json:"language"`
	Class    Class    `json:"class"`
	Title    string   `json:"title"`
	// Name is a rule's symbolic name where the format has one (Sigma `name`), used by references.
	Name           string    `json:"name,omitempty"`
	Status         string    `json:"status"`
	Severity       string    `json:"severity"`
	Description    string    `json:"description"`
	Author         string    `json:"author"`
	Date           string    `json:"date"`
	Modified       string    `json:"modified"`
	License        string    `json:"license,omitempty"`
	References     []string  `json:"references"`
	Tags           []string  `json:"tags"`
	FalsePositives []string  `json:"falsepositives"`
	LogSource      LogSource `json:"logsource"`
	Source         Source    `json:"source"`
	// Details are the platform's own header facts, in the order a reader wants them.
	Details      []Detail `json:"details"`
	OutputFields []string `json:"output_fields"`
	// Related are the rule's declared relations to other rules (Sigma `related`).
	Related []Related `json:"related"`
	// Links are the rules this rule's logic uses: the base rules of a correlation, the rules a
	// filter applies to. The parser fills Ref; the catalog resolves ID and Title.
	Links []Link `json:"links"`

	Body   string  `json:"body"`
	Stages []Stage `json:"stages"`
	Notes  []Note  `json:"notes"`

	// Filled by the catalog.
	Attack     []Attack    `json:"attack"`
	Events     []Event     `json:"events"`
	Indicators []Indicator `json:"indicators"`
	SameAction []RuleRef   `json:"same_action"`
	// SameActionMore counts the rules sharing an event that SameAction leaves out because the
	// event is shared by very many rules; the event pages list them all.
	SameActionMore int       `json:"same_action_more,omitempty"`
	Similar        []Similar `json:"similar"`
	Mirrors        []Source  `json:"mirrors"`
}

// LogSource is where the rule's events come from: Sigma's product/category/service and the
// native index, table, sourcetype or log type of other platforms.
type LogSource struct {
	Product    string   `json:"product,omitempty"`
	Category   string   `json:"category,omitempty"`
	Service    string   `json:"service,omitempty"`
	Definition string   `json:"definition,omitempty"`
	Native     []string `json:"native,omitempty"`
}

// Source says where a rule was read from.
type Source struct {
	Corpus string `json:"corpus"`
	Repo   string `json:"repo"`
	Path   string `json:"path"`
	Commit string `json:"commit"`
	URL    string `json:"url"`
	// Line is the 1-based line where the rule's document starts in a multi-document file.
	Line int `json:"line,omitempty"`
}

// Detail is one labelled header fact.
type Detail struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Related is a declared relation (Sigma: derived, obsolete, merged, renamed, similar).
type Related struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Link is a reference from this rule's logic to another rule.
type Link struct {
	Ref   string `json:"ref"`             // as written: an id, a name or a title
	ID    string `json:"id,omitempty"`    // resolved by the catalog
	Title string `json:"title,omitempty"` // resolved by the catalog
}

// TunesEveryRule reports whether r is a filter applying to every rule within its log source:
// its rules are "any" or "all" alone (Sigma filters specification), or an empty list, which
// the Sigma parser reads as "any".
func (r *Rule) TunesEveryRule() bool {
	if r.Class != ClassFilter || len(r.Links) != 1 {
		return false
	}
	ref := strings.TrimSpace(r.Links[0].Ref)
	return strings.EqualFold(ref, "any") || strings.EqualFold(ref, "all")
}

// Attack is one (tactic, technique) row of a rule's ATT&CK coverage.
type Attack struct {
	TacticID    string `json:"tactic_id"`
	Tactic      string `json:"tactic"`
	TechniqueID string `json:"technique_id"`
	Technique   string `json:"technique"`
	// Note says how the row was resolved when it was not literal, e.g. a revoked technique.
	Note string `json:"note,omitempty"`
}

// Event is an action a rule watches: a cloud service operation or a Windows event.
type Event struct {
	Provider string `json:"provider"`
	Event    string `json:"event"`
	Title    string `json:"title"`
}

// CatchAll is the event of a rule that covers a whole provider rather than one operation.
const CatchAll = "_catch_all"

// RuleRef names another rule of the catalog.
type RuleRef struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Platform Platform `json:"platform"`
}

// Similar is another rule with a similarity score.
type Similar struct {
	RuleRef
	Score float64 `json:"score"`
}

// Pos is a 1-based position in the rule file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Note records something the parser could not fully understand, with where.
type Note struct {
	Pos
	Stage   int    `json:"stage"` // index of the stage concerned, -1 for the whole rule
	Message string `json:"message"`
}
