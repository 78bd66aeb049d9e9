package catalog

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Report is what a build did, as printed and as written by `build --report` (DESIGN.md).
type Report struct {
	Platforms map[rule.Platform]*Counts `json:"platforms"`
	Failures  []Failure                 `json:"failures"`
	Opaque    []Opaque                  `json:"opaque"`
	Warnings  []string                  `json:"warnings,omitempty"`
	Sources   []SourceInfo              `json:"sources"`
	Seconds   float64                   `json:"seconds"`
}

// Counts are a platform's (or a language's) figures. Full rules have no opaque stage.
type Counts struct {
	Files     int                       `json:"files"`
	Rules     int                       `json:"rules"`
	Full      int                       `json:"full"`
	Opaque    int                       `json:"opaque"`
	Failed    int                       `json:"failed"`
	Mirrors   int                       `json:"mirrors"`
	Languages map[rule.Language]*Counts `json:"languages,omitempty"`
}

// Failure is a file or document that could not be built.
type Failure struct {
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Reason   string        `json:"reason"`
	Platform rule.Platform `json:"platform,omitempty"`
}

// Opaque is a stage of a built rule that the parser could not read.
type Opaque struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Rule   string `json:"rule"`
	Title  string `json:"title"`
	Stage  int    `json:"stage"`
	Reason string `json:"reason"`
}

// SourceInfo says what a source resolved to.
type SourceInfo struct {
	Name   string `json:"name"`
	Repo   string `json:"repo"`
	Commit string `json:"commit,omitempty"`
	Dir    string `json:"dir"`
	Files  int    `json:"files"`
}

func (rep *Report) counts(p rule.Platform) *Counts {
	if rep.Platforms == nil {
		rep.Platforms = map[rule.Platform]*Counts{}
	}
	c := rep.Platforms[p]
	if c == nil {
		c = &Counts{}
		rep.Platforms[p] = c
	}
	return c
}

func (c *Counts) language(l rule.Language) *Counts {
	if c.Languages == nil {
		c.Languages = map[rule.Language]*Counts{}
	}
	lc := c.Languages[l]
	if lc == nil {
		lc = &Counts{}
		c.Languages[l] = lc
	}
	return lc
}

// countRule adds a built rule to its platform and language figures and lists its opaque stages.
func (rep *Report) countRule(r *rule.Rule) {
	c := rep.counts(r.Platform)
	lc := c.language(r.Language)
	c.Rules++
	lc.Rules++
	reasons := r.OpaqueReasons()
	if len(reasons) == 0 {
		c.Full++
		lc.Full++
		return
	}
	c.Opaque++
	lc.Opaque++
	for _, o := range reasons {
		line := o.Pos.Line
		if line == 0 {
			line = r.Source.Line
		}
		rep.Opaque = append(rep.Opaque, Opaque{
			File: r.Source.Corpus + "/" + r.Source.Path, Line: line, Rule: r.ID, Title: r.Title,
			Stage: o.Stage, Reason: o.Reason,
		})
	}
}

func (rep *Report) fail(f Failure) {
	if f.Platform != "" {
		rep.counts(f.Platform).Failed++
	}
	rep.Failures = append(rep.Failures, f)
}

// Print writes the report for a person: figures per platform, then every failure and opaque stage.
func (rep *Report) Print(w io.Writer) {
	platforms := make([]rule.Platform, 0, len(rep.Platforms))
	for p := range rep.Platforms {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	fmt.Fprintf(w, "%-10s %7s %7s %7s %7s %7s %7s\n", "platform", "files", "rules", "full", "opaque", "failed", "full %")
	for _, p := range platforms {
		c := rep.Platforms[p]
		fmt.Fprintf(w, "%-10s %7d %7d %7d %7d %7d %6.2f%%\n", p, c.Files, c.Rules, c.Full, c.Opaque, c.Failed, c.fullShare())
	}
	for _, s := range rep.Sources {
		commit := s.Commit
		if commit == "" {
			commit = "no commit"
		} else if len(commit) > 12 {
			commit = commit[:12]
		}
		fmt.Fprintf(w, "source %s: %s (%s), %d files\n", s.Name, s.Repo, commit, s.Files)
	}
	for _, msg := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
	failures := slices.Clone(rep.Failures)
	slices.SortFunc(failures, func(a, b Failure) int { return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) })
	for _, f := range failures {
		fmt.Fprintf(w, "failed: %s:%d: %s\n", f.File, f.Line, oneLine(f.Reason))
	}
	for _, o := range rep.Opaque {
		fmt.Fprintf(w, "opaque: %s:%d: %s (stage %d): %s\n", o.File, o.Line, o.Title, o.Stage, oneLine(o.Reason))
	}
	fmt.Fprintf(w, "built in %.2f s\n", rep.Seconds)
}

func (c *Counts) fullShare() float64 {
	total := c.Rules + c.Failed
	if total == 0 {
		return 0
	}
	return 100 * float64(c.Full) / float64(total)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
