package sigma

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ruleatlas/ruleatlas/rule"
)

// rule builds the rule of one (merged) document.
func (f *file) rule(d *document) (*rule.Rule, []error) {
	root := d.root
	r := &rule.Rule{
		Platform:       rule.PlatformSigma,
		Language:       rule.LangSigma,
		Class:          rule.ClassDetection,
		References:     []string{},
		Tags:           []string{},
		FalsePositives: []string{},
		Details:        []rule.Detail{},
		OutputFields:   []string{},
		Related:        []rule.Related{},
		Links:          []rule.Link{},
		Stages:         []rule.Stage{},
		Notes:          []rule.Note{},
		Body:           body(d.texts),
		Source:         rule.Source{Line: d.line},
	}
	f.meta(r, root)

	var errs []error
	switch {
	case lookup(root, "correlation") != nil:
		r.Class = rule.ClassCorrelation
		errs = f.correlation(r, lookupKey(root, "correlation"), lookup(root, "correlation"))
	case lookup(root, "detection") != nil:
		errs = f.detection(r, lookupKey(root, "detection"), lookup(root, "detection"), nil)
	case lookup(root, "filter") != nil:
		// Sigma filters specification v2.1, "Global Filter": rules plus selections and a
		// condition, read like a detection.
		r.Class = rule.ClassFilter
		fl := lookup(root, "filter")
		refs := lookup(fl, "rules")
		for _, ref := range stringList(refs) {
			if strings.TrimSpace(ref) != "" {
				r.Links = append(r.Links, rule.Link{Ref: ref})
			}
		}
		switch {
		case refs != nil && refs.Kind == yaml.SequenceNode && len(refs.Content) == 0:
			// An empty list names every rule of the filter's log source, as "any" does
			// (pySigma reads it so).
			r.Links = append(r.Links, rule.Link{Ref: "any"})
		case len(r.Links) == 0: // missing, null, a mapping, empty names
			f.note(r, pos(lookupKey(root, "filter")), -1, "filter has no rules to apply to")
		}
		errs = f.detection(r, lookupKey(root, "filter"), fl, map[string]bool{"rules": true})
	default:
		errs = []error{f.errorf(root, "missing detection: a Sigma rule needs a detection (or correlation, or filter) section")}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

// body is the rule's own text: its document, preceded by the v1 collection documents merged
// into it, if any, so that a reader sees every line the rule is made of.
func body(texts []string) string {
	if len(texts) == 1 {
		return texts[0]
	}
	var b strings.Builder
	for i, t := range texts {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(t)
		if !strings.HasSuffix(t, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// detailKeys are the header facts of the specification with no field of their own in the
// model, in the order pages show them; extra logsource keys and arbitrary custom fields (rules
// specification v2.1, "File Structure": "[arbitrary custom fields]") come after them.
var detailKeys = []string{"taxonomy", "scope", "generate", "regression_tests_path", "simulation"}

// knownKeys are the top-level keys read into fields of the model.
var knownKeys = map[string]bool{
	"title": true, "id": true, "name": true, "related": true, "status": true, "description": true,
	"license": true, "references": true, "author": true, "date": true, "modified": true,
	"logsource": true, "detection": true, "fields": true, "falsepositives": true, "level": true,
	"tags": true, "correlation": true, "filter": true, "action": true,
}

func (f *file) meta(r *rule.Rule, root *yaml.Node) {
	r.Title = scalar(lookup(root, "title"))
	if r.Title == "" {
		// Mandatory in every document type of the specification; the rule is still readable.
		f.note(r, pos(root), -1, "missing title")
	}
	r.ID = scalar(lookup(root, "id"))
	r.Name = scalar(lookup(root, "name"))
	r.Status = scalar(lookup(root, "status"))
	r.Severity = scalar(lookup(root, "level"))
	r.Description = strings.TrimRight(scalar(lookup(root, "description")), "\n")
	r.Author = strings.Join(stringList(lookup(root, "author")), ", ")
	r.License = scalar(lookup(root, "license"))
	r.References = append(r.References, stringList(lookup(root, "references"))...)
	r.Tags = append(r.Tags, stringList(lookup(root, "tags"))...)
	r.FalsePositives = append(r.FalsePositives, stringList(lookup(root, "falsepositives"))...)
	r.OutputFields = append(r.OutputFields, stringList(lookup(root, "fields"))...)
	for _, k := range []string{"date", "modified"} {
		n := lookup(root, k)
		v := scalar(n)
		if v == "" {
			continue
		}
		norm, ok := normDate(v)
		if !ok {
			f.note(r, pos(n), -1, fmt.Sprintf("%s %q is not a YYYY-MM-DD date", k, v))
		}
		if k == "date" {
			r.Date = norm
		} else {
			r.Modified = norm
		}
	}
	var lsDetails []rule.Detail
	if ls := lookup(root, "logsource"); ls != nil && ls.Kind == yaml.MappingNode {
		r.LogSource.Product = scalar(lookup(ls, "product"))
		r.LogSource.Category = scalar(lookup(ls, "category"))
		r.LogSource.Service = scalar(lookup(ls, "service"))
		r.LogSource.Definition = strings.TrimSpace(scalar(lookup(ls, "definition")))
		// The specification allows "an arbitrary number of optional elements" in logsource.
		for i := 0; i+1 < len(ls.Content); i += 2 {
			switch k := ls.Content[i].Value; k {
			case "product", "category", "service", "definition":
			default:
				lsDetails = append(lsDetails, rule.Detail{Label: "logsource." + k, Value: shortText(ls.Content[i+1])})
			}
		}
	}
	if rel := lookup(root, "related"); rel != nil && rel.Kind == yaml.SequenceNode {
		for _, it := range rel.Content {
			id, typ := scalar(lookup(it, "id")), scalar(lookup(it, "type"))
			if id != "" || typ != "" {
				r.Related = append(r.Related, rule.Related{ID: id, Type: typ})
			}
		}
	}
	for _, k := range detailKeys {
		if n := lookup(root, k); n != nil && !isNull(n) {
			r.Details = append(r.Details, rule.Detail{Label: k, Value: shortText(n)})
		}
	}
	r.Details = append(r.Details, lsDetails...)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i].Value
		if knownKeys[k] || slices.Contains(detailKeys, k) || isNull(root.Content[i+1]) {
			continue
		}
		r.Details = append(r.Details, rule.Detail{Label: k, Value: shortText(root.Content[i+1])})
	}
}

func (f *file) note(r *rule.Rule, p rule.Pos, stage int, msg string) {
	r.Notes = append(r.Notes, rule.Note{Pos: p, Stage: stage, Message: msg})
}

var dateRe = regexp.MustCompile(`^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$`)

// normDate writes a date as YYYY-MM-DD; old rules use 2020/05/03 (rules specification v2.1,
// "Date": ISO 8601 with separator).
func normDate(s string) (string, bool) {
	m := dateRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		// A YAML timestamp with a time part keeps its date.
		if len(s) > 10 && dateRe.MatchString(s[:10]) && (s[10] == 'T' || s[10] == ' ') {
			return normDate(s[:10])
		}
		return s, false
	}
	pad := func(x string) string {
		if len(x) == 1 {
			return "0" + x
		}
		return x
	}
	return m[1] + "-" + pad(m[2]) + "-" + pad(m[3]), true
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// scalar returns a scalar's text, "" for anything else.
func scalar(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// stringList reads a list of scalars, or a single scalar as a one-item list.
func stringList(n *yaml.Node) []string {
	n = deref(n)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if v := scalar(n); v != "" {
			return []string{v}
		}
		return nil
	}
	var out []string
	if n.Kind == yaml.SequenceNode {
		for _, it := range n.Content {
			if v := scalar(it); v != "" {
				out = append(out, v)
			} else if it := deref(it); it != nil && it.Kind != yaml.ScalarNode {
				out = append(out, shortText(it))
			}
		}
	}
	return out
}

// maxDetail bounds a detail value: details are short header facts.
const maxDetail = 200

// shortText renders a value as one line of short text.
func shortText(n *yaml.Node) string {
	var b strings.Builder
	writeShort(&b, n, 0)
	s := b.String()
	if len([]rune(s)) > maxDetail {
		s = string([]rune(s)[:maxDetail-1]) + "…"
	}
	return s
}

func writeShort(b *strings.Builder, n *yaml.Node, depth int) {
	n = deref(n)
	if n == nil || b.Len() > 4*maxDetail || depth > 20 {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			b.WriteString(strings.Join(strings.Fields(n.Value), " "))
		}
	case yaml.SequenceNode:
		for i, it := range n.Content {
			if i > 0 {
				b.WriteString(", ")
			}
			writeShort(b, it, depth+1)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(n.Content[i].Value)
			b.WriteString(": ")
			writeShort(b, n.Content[i+1], depth+1)
		}
	}
}
