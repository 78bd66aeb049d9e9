package web

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/store"
)

// link is an anchor: Href is "" when the target is not safe to link (a rule's URL that is not
// http or https), and the page shows the text alone.
type link struct {
	Text string
	Href string
}

// safeURL returns u when it is an absolute http or https URL, else "": rule files are untrusted
// and a javascript: or data: reference must never become a link.
func safeURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" || (p.Scheme != "http" && p.Scheme != "https") {
		return ""
	}
	return p.String()
}

func ruleHref(id string) string { return "/rules/" + escapePath(id) }

func techniqueHref(id string) string { return "/attack/" + url.PathEscape(id) }

func eventHref(provider, event string) string {
	return "/events/" + url.PathEscape(provider) + "/" + escapePath(event)
}

// escapePath escapes each segment of p and keeps its slashes, so an event such as
// Microsoft.Authorization/roleAssignments/write keeps a readable URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// mitreTechniqueURL is the technique's page on attack.mitre.org: T1136.003 → /techniques/T1136/003/.
func mitreTechniqueURL(id string) string {
	return "https://attack.mitre.org/techniques/" + escapePath(strings.Replace(id, ".", "/", 1)) + "/"
}

func mitreTacticURL(id string) string {
	return "https://attack.mitre.org/tactics/" + url.PathEscape(id) + "/"
}

// searchHref is a search for one exact value, as the indicator table links it.
func searchHref(value string) string {
	return "/rules?q=" + url.QueryEscape(`"`+value+`"`)
}

// sevClass maps a severity to one of a fixed set of CSS classes; rule text never reaches
// a class attribute.
func sevClass(sev string) string {
	switch strings.ToLower(sev) {
	case "informational", "info", "low", "medium", "high", "critical":
		return "sev-" + strings.ToLower(sev)
	}
	return "sev-other"
}

func platformName(p string) string { return rule.Platform(p).DisplayName() }

// logSource renders a log source as the seed pages do: "product aws, service cloudtrail".
func logSource(ls rule.LogSource) string {
	var parts []string
	for _, kv := range [][2]string{{"product", ls.Product}, {"category", ls.Category}, {"service", ls.Service}, {"definition", ls.Definition}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	parts = append(parts, ls.Native...)
	return strings.Join(parts, ", ")
}

func summaryLogSource(s store.Summary) string {
	return logSource(rule.LogSource{Product: s.Product, Category: s.Category, Service: s.Service})
}

// paragraphs splits a description at blank lines and unwraps the lines of each paragraph.
func paragraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ruleView is the rule page.
type ruleView struct {
	ID             string
	Title          string
	Platform       link
	Facts          []fact
	Paragraphs     []string
	Attack         []attackRow
	Events         []eventRow
	SameAction     []refRow
	SameActionMore int // rules the catalog left out of SameAction: the event pages list them
	BodyLang       string
	Body           []token
	Stages         []stageView
	Indicators     []indicatorRow
	Links          []refRow
	TunesEveryRule bool // a filter of every rule within its log source
	Related        []relatedRow
	Mirrors        []link
	Similar        []refRow
	References     []link
	FalsePositives []string
	Tags           []string
	Notes          []noteRow
	Test           testForm
	APIHref        string
}

type fact struct {
	Label string
	Value string
	Href  string
	Class string
}

type attackRow struct {
	Tactic     link
	TacticID   string
	Techniques []techniqueRef
}

type techniqueRef struct {
	ID, Name  string
	Href      string // our technique page
	MitreHref string
	Note      string
}

type eventRow struct {
	Provider, Event, Title, Href string
}

type refRow struct {
	Title, Platform, Href string
	Score                 string
}

type relatedRow struct {
	Type  string
	ID    string
	Title string
	Href  string
}

type stageView struct {
	Index      int
	Name       string
	Kind       string
	Opaque     bool
	Reason     string
	Text       []token
	Predicates []predicateRow
	Aggregate  []fact
	Children   []stageView
}

type predicateRow struct {
	Field     string
	Canonical string // shown when it differs from Field
	Kind      string
	Modifiers string
	Negated   bool
	Values    []string
}

type indicatorRow struct {
	Field  string
	Kind   string
	Values []indicatorValue
}

type indicatorValue struct {
	Value  string
	Corpus int
	Href   string
}

type noteRow struct {
	Where   string
	Message string
}

func newRuleView(r *rule.Rule) *ruleView {
	v := &ruleView{
		ID:             r.ID,
		Title:          r.Title,
		Platform:       link{r.Platform.DisplayName(), "/rules?platform=" + url.QueryEscape(string(r.Platform))},
		Paragraphs:     paragraphs(r.Description),
		BodyLang:       bodyLanguage(r),
		FalsePositives: nonBlank(r.FalsePositives),
		Tags:           nonBlank(r.Tags),
		Test:           newTestForm(r),
		APIHref:        "/api/rules/" + escapePath(r.ID),
	}
	if v.Title == "" {
		v.Title = r.ID
	}
	v.Body = highlight(v.BodyLang, r.Body)
	v.Facts = ruleFacts(r)

	byTactic := map[string]int{}
	for _, a := range r.Attack {
		i, ok := byTactic[a.TacticID+"\x00"+a.Tactic]
		if !ok {
			i = len(v.Attack)
			byTactic[a.TacticID+"\x00"+a.Tactic] = i
			name := a.Tactic
			if name == "" {
				name = a.TacticID
			}
			row := attackRow{Tactic: link{Text: name}, TacticID: a.TacticID}
			if a.TacticID != "" {
				row.Tactic.Href = mitreTacticURL(a.TacticID)
			}
			v.Attack = append(v.Attack, row)
		}
		if a.TechniqueID != "" {
			v.Attack[i].Techniques = append(v.Attack[i].Techniques, techniqueRef{ID: a.TechniqueID, Name: a.Technique,
				Href: techniqueHref(a.TechniqueID), MitreHref: mitreTechniqueURL(a.TechniqueID), Note: a.Note})
		}
	}
	for _, e := range r.Events {
		v.Events = append(v.Events, eventRow{e.Provider, e.Event, e.Title, eventHref(e.Provider, e.Event)})
	}
	for _, ref := range r.SameAction {
		v.SameAction = append(v.SameAction, refRow{Title: orID(ref.Title, ref.ID), Platform: ref.Platform.DisplayName(), Href: ruleHref(ref.ID)})
	}
	v.SameActionMore = r.SameActionMore
	v.Stages = stageViews(r.Language, r.Stages)
	for _, ind := range r.Indicators {
		row := indicatorRow{Field: ind.Field, Kind: string(ind.Kind)}
		for _, val := range ind.Values {
			row.Values = append(row.Values, indicatorValue{val.Value, val.Corpus, searchHref(val.Value)})
		}
		v.Indicators = append(v.Indicators, row)
	}
	v.TunesEveryRule = r.TunesEveryRule()
	for _, l := range r.Links {
		row := refRow{Title: orID(l.Title, l.Ref)}
		if l.ID != "" {
			row.Href = ruleHref(l.ID)
		}
		v.Links = append(v.Links, row)
	}
	for _, rel := range r.Related {
		v.Related = append(v.Related, relatedRow{Type: rel.Type, ID: rel.ID, Href: ruleHref(rel.ID)})
	}
	for _, m := range r.Mirrors {
		text := m.Repo
		if text == "" {
			text = m.Corpus
		}
		if m.Path != "" {
			text += " · " + m.Path
		}
		v.Mirrors = append(v.Mirrors, link{text, safeURL(m.URL)})
	}
	for _, sim := range r.Similar {
		v.Similar = append(v.Similar, refRow{Title: orID(sim.Title, sim.ID), Platform: sim.Platform.DisplayName(),
			Href: ruleHref(sim.ID), Score: strconv.FormatFloat(sim.Score, 'f', 2, 64)})
	}
	for _, ref := range nonBlank(r.References) {
		v.References = append(v.References, link{ref, safeURL(ref)})
	}
	for _, n := range r.Notes {
		var where []string
		if n.Line > 0 {
			where = append(where, "line "+strconv.Itoa(n.Line))
		}
		if n.Stage >= 0 && n.Stage < len(r.Stages) {
			where = append(where, "stage "+strconv.Itoa(n.Stage))
		}
		v.Notes = append(v.Notes, noteRow{strings.Join(where, ", "), n.Message})
	}
	return v
}

func ruleFacts(r *rule.Rule) []fact {
	var facts []fact
	add := func(label, value, href string) {
		if strings.TrimSpace(value) != "" {
			facts = append(facts, fact{Label: label, Value: value, Href: href})
		}
	}
	add("Status", r.Status, "")
	if r.Severity != "" {
		facts = append(facts, fact{Label: "Severity", Value: r.Severity, Class: sevClass(r.Severity)})
	}
	add("Log source", logSource(r.LogSource), "")
	add("Author", r.Author, "")
	src := r.Source.Repo
	if src == "" {
		src = r.Source.Corpus
	}
	add("Source", src, safeURL(r.Source.URL))
	path := r.Source.Path
	if path != "" && r.Source.Line > 1 {
		path += ":" + strconv.Itoa(r.Source.Line)
	}
	add("File", path, "")
	for _, d := range r.Details {
		add(d.Label, d.Value, "")
	}
	if r.Class != "" && r.Class != rule.ClassDetection {
		add("Class", strings.ReplaceAll(string(r.Class), "_", " "), "")
	}
	add("Language", string(r.Language), "")
	add("Date", r.Date, "")
	add("Modified", r.Modified, "")
	add("License", r.License, "")
	return facts
}

// stageLanguage is the highlighting of a stage's text: Sigma detection blocks are YAML, its
// condition is the condition language; other rules' stages are their query language.
func stageLanguage(lang rule.Language, s *rule.Stage) string {
	if lang == rule.LangSigma {
		if s.Kind == rule.StageCondition {
			return "sigma"
		}
		return "yaml"
	}
	return string(lang)
}

func stageViews(lang rule.Language, stages []rule.Stage) []stageView {
	var out []stageView
	for i := range stages {
		s := &stages[i]
		sv := stageView{Index: s.Index, Name: s.Name, Kind: string(s.Kind), Opaque: s.Kind == rule.StageOpaque,
			Reason: s.Reason, Text: highlight(stageLanguage(lang, s), s.Text)}
		for _, p := range s.Predicates {
			row := predicateRow{Field: p.Field, Kind: string(p.Kind), Modifiers: modifiers(p), Negated: p.Flags.Negated, Values: p.Values}
			if p.Canonical != "" && p.Canonical != p.Field {
				row.Canonical = p.Canonical
			}
			sv.Predicates = append(sv.Predicates, row)
		}
		if a := s.Aggregate; a != nil {
			sv.Aggregate = aggregateFacts(a)
		}
		sv.Children = stageViews(lang, s.Stages)
		out = append(out, sv)
	}
	return out
}

// modifiers lists a predicate's modifiers as written, then the flags they did not already say;
// a modifier that only names the kind ("contains") is in the Kind column already.
func modifiers(p rule.Predicate) string {
	var parts []string
	for _, m := range p.Modifiers {
		if m != string(p.Kind) && !slices.Contains(parts, m) {
			parts = append(parts, m)
		}
	}
	flag := func(on bool, name string) {
		if on && !slices.Contains(parts, name) {
			parts = append(parts, name)
		}
	}
	f := p.Flags
	flag(f.All, "all")
	flag(f.Cased, "cased")
	flag(f.Negated, "not")
	flag(f.Wildcard, "wildcard")
	for _, e := range f.Encodings {
		flag(true, e)
	}
	// Sigma writes regular-expression flags as modifiers (re|i|m); other languages do not.
	written := true
	for _, c := range f.ReFlags {
		written = written && slices.Contains(parts, string(c))
	}
	flag(!written, "flags "+f.ReFlags)
	flag(f.Placeholder, "expand")
	flag(f.TimePart != "", f.TimePart)
	flag(f.Numeric, "numeric")
	return strings.Join(parts, ", ")
}

func aggregateFacts(a *rule.Aggregate) []fact {
	var facts []fact
	add := func(label, value string) {
		if value != "" {
			facts = append(facts, fact{Label: label, Value: value})
		}
	}
	fn := a.Function
	if a.Field != "" {
		fn += "(" + a.Field + ")"
	}
	add("Function", fn)
	add("Group by", strings.Join(a.GroupBy, ", "))
	add("Window", a.Window)
	var conds []string
	for _, c := range a.Conditions {
		conds = append(conds, c.Op+" "+strconv.FormatFloat(c.Value, 'g', -1, 64))
	}
	add("Condition", strings.Join(conds, " and "))
	add("Rules", strings.Join(a.Rules, ", "))
	return facts
}

func nonBlank(list []string) []string {
	var out []string
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func orID(title, id string) string {
	if title != "" {
		return title
	}
	return id
}

// summaryView is one rule in a list.
type summaryView struct {
	Href, Title, Platform, Severity, SevClass, Status, LogSource, Excerpt, Class string
}

func summaries(list []store.Summary) []summaryView {
	out := make([]summaryView, len(list))
	for i, s := range list {
		out[i] = summaryView{
			Href: ruleHref(s.ID), Title: orID(s.Title, s.ID), Platform: s.Platform.DisplayName(),
			Severity: s.Severity, SevClass: sevClass(s.Severity), Status: s.Status,
			LogSource: summaryLogSource(s), Excerpt: s.Excerpt,
		}
		if s.Class != "" && s.Class != rule.ClassDetection {
			out[i].Class = strings.ReplaceAll(string(s.Class), "_", " ")
		}
	}
	return out
}

// pager is the page links under a list.
type pager struct {
	From, To, Total int
	Prev, Next      string
	Items           []pageItem
}

type pageItem struct {
	N       int
	Href    string
	Current bool
	Gap     bool
}

// newPager links pages 1, last, and two either side of the current one; href makes a page's URL.
func newPager(total, page, per int, href func(page int) string) pager {
	p := pager{Total: total}
	if total == 0 {
		return p
	}
	pages := (total + per - 1) / per
	p.From = min((page-1)*per+1, total+1)
	p.To = min(page*per, total)
	if page > 1 {
		p.Prev = href(min(page-1, pages))
	}
	if page < pages {
		p.Next = href(page + 1)
	}
	if pages == 1 {
		return p
	}
	last := 0
	for n := 1; n <= pages; n++ {
		if n != 1 && n != pages && (n < page-2 || n > page+2) {
			continue
		}
		if last != 0 && n > last+1 {
			p.Items = append(p.Items, pageItem{Gap: true})
		}
		p.Items = append(p.Items, pageItem{N: n, Href: href(n), Current: n == page})
		last = n
	}
	return p
}

// facetTitles label the facets of the rules page.
var facetTitles = map[string]string{
	store.FacetPlatform: "Platform", store.FacetTactic: "Tactic", store.FacetTechnique: "Technique",
	store.FacetProduct: "Product", store.FacetService: "Service", store.FacetSeverity: "Severity", store.FacetStatus: "Status",
}

type rulesView struct {
	Q       string
	Keep    []param // the filters a new search from the page keeps
	Total   int
	Rules   []summaryView
	Facets  []facetView
	Active  []activeFilter
	Pager   pager
	APIHref string
}

type param struct{ Name, Value string }

type facetView struct {
	Name, Title string
	Values      []facetValue
	Open        bool
}

type facetValue struct {
	Label    string
	Count    int
	Selected bool
	Href     string
}

type activeFilter struct {
	Facet, Label, Href string
}

// listQuery is a parsed /rules query string: what the user asked for, bounded.
type listQuery struct {
	store.Query
	values url.Values // the canonical parameters, for building links
}

const maxFilterValues = 20

// maxQuery bounds the length of a search in bytes.
const maxQuery = 500

func parseListQuery(raw url.Values) listQuery {
	q := listQuery{values: url.Values{}}
	q.Q = strings.TrimSpace(raw.Get("q"))
	if len(q.Q) > maxQuery {
		// Cut at a character boundary: half a character would be invalid UTF-8 in the search
		// and in the links built from it.
		cut := maxQuery
		for cut > 0 && !utf8.RuneStart(q.Q[cut]) {
			cut--
		}
		q.Q = q.Q[:cut]
	}
	if q.Q != "" {
		q.values.Set("q", q.Q)
	}
	for _, f := range store.Facets {
		var vals []string
		for _, v := range raw[f] {
			if v = strings.TrimSpace(v); f == store.FacetTactic || f == store.FacetTechnique {
				// ATT&CK ids are upper case; the store reads t1136 as T1136, and so must the
				// facet list, or the chosen value would show as another one.
				v = strings.ToUpper(v)
			}
			if v != "" && len(v) <= 200 && !slices.Contains(vals, v) && len(vals) < maxFilterValues {
				vals = append(vals, v)
			}
		}
		if len(vals) > 0 {
			q.SetFilter(f, vals)
			q.values[f] = vals
		}
	}
	q.Page, _ = strconv.Atoi(raw.Get("page"))
	q.Page = max(1, min(q.Page, 100_000))
	if per, err := strconv.Atoi(raw.Get("per_page")); err == nil && per > 0 {
		q.PerPage = min(per, 200)
		if q.PerPage != store.DefaultPerPage {
			q.values.Set("per_page", strconv.Itoa(q.PerPage))
		}
	}
	return q
}

// href is the list URL for these parameters changed by fn, back on page 1 unless fn sets it.
func (q listQuery) href(fn func(v url.Values)) string {
	v := url.Values{}
	for k, vals := range q.values {
		v[k] = slices.Clone(vals)
	}
	if fn != nil {
		fn(v)
	}
	if len(v) == 0 {
		return "/rules"
	}
	return "/rules?" + v.Encode()
}

func (q listQuery) toggle(facet, value string) string {
	return q.href(func(v url.Values) {
		vals := v[facet]
		if i := slices.Index(vals, value); i >= 0 {
			vals = slices.Delete(vals, i, i+1)
		} else {
			vals = append(vals, value)
		}
		if len(vals) == 0 {
			delete(v, facet)
		} else {
			v[facet] = vals
		}
	})
}

func facetLabel(facet string, c store.FacetCount) string {
	switch facet {
	case store.FacetPlatform:
		return platformName(c.Value)
	case store.FacetTechnique:
		if c.Label != "" {
			return c.Value + " " + c.Label
		}
	case store.FacetTactic:
		if c.Label != "" {
			return c.Label
		}
	}
	return c.Value
}

func newRulesView(q listQuery, res *store.Results) *rulesView {
	v := &rulesView{Q: q.Q, Total: res.Total, Rules: summaries(res.Rules)}
	for _, f := range store.Facets {
		for _, val := range q.Filter(f) {
			v.Keep = append(v.Keep, param{f, val})
		}
	}
	v.APIHref = "/api" + q.href(nil)
	v.Pager = newPager(res.Total, res.Page, res.PerPage, func(n int) string {
		return q.href(func(v url.Values) {
			if n > 1 {
				v.Set("page", strconv.Itoa(n))
			}
		})
	})
	for _, f := range store.Facets {
		selected := q.Filter(f)
		fv := facetView{Name: f, Title: facetTitles[f], Open: len(selected) > 0 || f == store.FacetPlatform || f == store.FacetSeverity}
		labels := map[string]string{}
		for _, c := range res.Facets[f] {
			label := facetLabel(f, c)
			labels[c.Value] = label
			fv.Values = append(fv.Values, facetValue{Label: label, Count: c.Count, Selected: slices.Contains(selected, c.Value), Href: q.toggle(f, c.Value)})
		}
		for _, s := range selected {
			label, ok := labels[s]
			if !ok {
				// Selected but without matches under the other filters: still offer to remove it.
				label = facetLabel(f, store.FacetCount{Value: s})
				fv.Values = append(fv.Values, facetValue{Label: label, Selected: true, Href: q.toggle(f, s)})
			}
			v.Active = append(v.Active, activeFilter{Facet: facetTitles[f], Label: label, Href: q.toggle(f, s)})
		}
		if len(fv.Values) > 0 {
			v.Facets = append(v.Facets, fv)
		}
	}
	if q.Q != "" {
		v.Active = append([]activeFilter{{Facet: "Text", Label: q.Q, Href: q.href(func(v url.Values) { v.Del("q") })}}, v.Active...)
	}
	return v
}

type homeView struct {
	Stats   *store.Stats
	Lists   []countList
	Sources []link
	Built   string
}

type countList struct {
	Title string
	Items []facetValue
}

func newHomeView(st *store.Stats) *homeView {
	v := &homeView{Stats: st}
	list := func(facet string, counts []store.FacetCount) []facetValue {
		var out []facetValue
		for _, c := range counts {
			out = append(out, facetValue{Label: facetLabel(facet, c), Count: c.Count,
				Href: "/rules?" + url.Values{facet: {c.Value}}.Encode()})
		}
		return out
	}
	v.Lists = []countList{
		{"Platforms", list(store.FacetPlatform, st.Platforms)},
		{"Severity", list(store.FacetSeverity, st.Severities)},
		{"Status", list(store.FacetStatus, st.Statuses)},
		{"Top products", list(store.FacetProduct, st.Products)},
	}
	for _, s := range st.Sources {
		text := s.Name
		if s.Repo != "" && s.Repo != s.Name {
			text += " (" + s.Repo + ")"
		}
		href := safeURL(s.URL)
		if href == "" && s.Repo != "" {
			href = safeURL("https://" + strings.TrimPrefix(strings.TrimPrefix(s.Repo, "https://"), "http://"))
		}
		if s.Rules > 0 {
			text += fmt.Sprintf(": %d rules", s.Rules)
		}
		v.Sources = append(v.Sources, link{text, href})
	}
	if !st.Built.IsZero() {
		v.Built = st.Built.UTC().Format("2 January 2006, 15:04 UTC")
	}
	return v
}

type attackView struct {
	Tactics    []tacticColumn
	Covered    int
	Techniques int
}

type tacticColumn struct {
	ID, Name, MitreHref string
	Rules               int
	Techniques          []techniqueCell
}

type techniqueCell struct {
	ID, Name, Href string
	Rules          int
	Heat           int // 0 (no rule) to 5
	Subs           []techniqueCell
}

// heat grades a count against the largest on the matrix on a log scale, so the few techniques
// with hundreds of rules do not wash out the ones with a handful.
func heat(n, most int) int {
	if n <= 0 || most <= 0 {
		return 0
	}
	h := int(math.Ceil(5 * math.Log1p(float64(n)) / math.Log1p(float64(most))))
	return max(1, min(h, 5))
}

func newAttackView(m []store.MatrixTactic) *attackView {
	v := &attackView{}
	most := 0
	for _, t := range m {
		for _, tech := range t.Techniques {
			most = max(most, tech.Rules)
		}
	}
	seen := map[string]bool{}
	for _, t := range m {
		col := tacticColumn{ID: t.ID, Name: t.Name, MitreHref: mitreTacticURL(t.ID), Rules: t.Rules}
		for _, tech := range t.Techniques {
			cell := techniqueCell{ID: tech.ID, Name: tech.Name, Href: techniqueHref(tech.ID), Rules: tech.Rules, Heat: heat(tech.Rules, most)}
			for _, sub := range tech.Subs {
				// Sub-technique names repeat their parent's ("Create Account: Cloud Account").
				name := strings.TrimPrefix(sub.Name, tech.Name+": ")
				cell.Subs = append(cell.Subs, techniqueCell{ID: sub.ID, Name: name, Href: techniqueHref(sub.ID), Rules: sub.Rules, Heat: heat(sub.Rules, most)})
			}
			col.Techniques = append(col.Techniques, cell)
			if !seen[tech.ID] {
				seen[tech.ID] = true
				v.Techniques++
				if tech.Rules > 0 {
					v.Covered++
				}
			}
		}
		v.Tactics = append(v.Tactics, col)
	}
	return v
}

type techniqueView struct {
	ID, Name, MitreHref string
	Parent              *link
	Subs                []techniqueCell
	Rules               []summaryView
	Pager               pager
}

type eventView struct {
	Provider, Event, Title string
	Rules                  []summaryView
	Pager                  pager
}
