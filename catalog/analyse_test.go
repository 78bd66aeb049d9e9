package catalog

import (
	"slices"
	"testing"
	"time"

	"github.com/ruleatlas/ruleatlas/rule"
)

// cloudRule builds a Sigma-shaped rule: condition "selection" over one block of eq predicates,
// with the given events already derived.
func cloudRule(id, title string, events []rule.Event, preds ...rule.Predicate) *rule.Rule {
	var args []*rule.Expr
	for i := range preds {
		preds[i].Canonical = preds[i].Field
		args = append(args, &rule.Expr{Op: rule.OpPredicate, Predicate: &preds[i]})
	}
	return &rule.Rule{
		ID: id, Title: title, Platform: rule.PlatformSigma, Events: events,
		Stages: []rule.Stage{
			{Index: 0, Name: "condition", Kind: rule.StageCondition, Expr: &rule.Expr{Op: rule.OpRef, Ref: "selection"}},
			{Index: 1, Name: "selection", Kind: rule.StageSelection, Expr: &rule.Expr{Op: rule.OpAnd, Args: args}, Predicates: preds},
		},
	}
}

func eq(field string, values ...string) rule.Predicate {
	return rule.Predicate{Field: field, Kind: rule.KindEq, Values: values}
}

func TestIndicatorCorpusCounts(t *testing.T) {
	createUser := []rule.Event{{Provider: "AWS-iam", Event: "CreateUser"}}
	a := cloudRule("a", "A", createUser, eq("eventSource", "iam.amazonaws.com"), eq("eventName", "CreateUser"), eq("errorCode", "AccessDenied"))
	b := cloudRule("b", "B", createUser, eq("eventSource", "IAM.amazonaws.com"), eq("eventName", "CreateUser"))
	c := cloudRule("c", "C", nil, eq("errorCode", "AccessDenied"), eq("eventName", "CreateUser", "createuser"))
	cased := cloudRule("d", "D", nil, rule.Predicate{Field: "errorCode", Kind: rule.KindEq, Values: []string{"accessdenied"}, Flags: rule.Flags{Cased: true}})
	analyse([]*rule.Rule{a, b, c, cased})

	got := map[string]int{}
	for _, ind := range a.Indicators {
		for _, v := range ind.Values {
			got[ind.Field+"="+v.Value] = v.Corpus
		}
	}
	want := map[string]int{
		"errorCode=AccessDenied":        2, // a and c; d compares case-sensitively, so it is another value
		"eventName=CreateUser":          3, // c names it twice in two cases: still one rule
		"eventSource=iam.amazonaws.com": 2, // compared case-insensitively
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("corpus count of %s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	var fields []string
	for _, ind := range a.Indicators {
		fields = append(fields, ind.Field)
	}
	if !slices.Equal(fields, []string{"errorCode", "eventName", "eventSource"}) {
		t.Errorf("indicator rows not sorted by field: %v", fields)
	}
	if n := cased.Indicators[0].Values[0].Corpus; n != 1 {
		t.Errorf("cased value count = %d, want 1", n)
	}
}

func TestIndicatorsLeaveOutNegatedAndValueless(t *testing.T) {
	r := cloudRule("a", "A", nil, eq("eventName", "CreateUser"))
	filter := rule.Predicate{Field: "errorCode", Kind: rule.KindExists}
	neq := rule.Predicate{Field: "userAgent", Kind: rule.KindEq, Values: []string{"console"}, Flags: rule.Flags{Negated: true}}
	r.Stages = append(r.Stages,
		rule.Stage{Index: 2, Name: "filter", Kind: rule.StageSelection, Expr: &rule.Expr{Op: rule.OpPredicate, Predicate: &filter}},
		rule.Stage{Index: 3, Name: "other", Kind: rule.StageSelection, Expr: &rule.Expr{Op: rule.OpPredicate, Predicate: &neq}},
	)
	r.Stages[0].Expr = &rule.Expr{Op: rule.OpAnd, Args: []*rule.Expr{
		{Op: rule.OpRef, Ref: "selection"},
		{Op: rule.OpNot, Args: []*rule.Expr{{Op: rule.OpRef, Ref: "filter"}}},
		{Op: rule.OpRef, Ref: "other"},
	}}
	analyse([]*rule.Rule{r})
	if len(r.Indicators) != 1 || r.Indicators[0].Field != "eventName" {
		t.Fatalf("indicators = %+v, want only eventName", r.Indicators)
	}
}

func TestSameAction(t *testing.T) {
	ev := func(p, e string) []rule.Event { return []rule.Event{{Provider: p, Event: e}} }
	user := cloudRule("u", "IAM User Creation Attempt", ev("AWS-iam", "CreateUser"))
	created := cloudRule("c", "iam User Created", ev("AWS-iam", "CreateUser"))
	s3browser := cloudRule("s", "AWS IAM S3Browser", append(ev("AWS-iam", "CreateUser"), ev("AWS-iam", "CreateAccessKey")...))
	key := cloudRule("k", "IAM Access Key Creation Attempt", ev("AWS-iam", "CreateAccessKey"))
	anyIAM := cloudRule("x", "Any IAM call", ev("AWS-iam", rule.CatchAll))
	anyIAM2 := cloudRule("y", "Another IAM catch-all", ev("AWS-iam", rule.CatchAll))
	analyse([]*rule.Rule{user, created, s3browser, key, anyIAM, anyIAM2})

	titles := func(r *rule.Rule) []string {
		var out []string
		for _, s := range r.SameAction {
			out = append(out, s.Title)
		}
		return out
	}
	if got, want := titles(user), []string{"AWS IAM S3Browser", "iam User Created"}; !slices.Equal(got, want) {
		t.Errorf("same action of CreateUser rule = %v, want %v (sorted by title, case-insensitively; no CreateAccessKey, no catch-all)", got, want)
	}
	if got, want := titles(key), []string{"AWS IAM S3Browser"}; !slices.Equal(got, want) {
		t.Errorf("same action of CreateAccessKey rule = %v, want %v", got, want)
	}
	if got, want := titles(anyIAM), []string{"Another IAM catch-all"}; !slices.Equal(got, want) {
		t.Errorf("catch-all rules pair only with catch-all rules: got %v, want %v", got, want)
	}
}

func TestSameActionLimitKeepsClosestRules(t *testing.T) {
	proc := []rule.Event{{Provider: "Sysmon", Event: "1"}}
	var rules []*rule.Rule
	target := cloudRule("t", "target", proc, eq("Image", `\whoami.exe`), eq("CommandLine", "/all"))
	rules = append(rules, target)
	for i := range 120 {
		rules = append(rules, cloudRule(string(rune('A'+i/26))+string(rune('a'+i%26)), "r", proc, eq("Image", `\other.exe`)))
	}
	close := cloudRule("close", "zzz closest", proc, eq("Image", `\whoami.exe`))
	rules = append(rules, close)
	analyse(rules)
	if len(target.SameAction) != sameActionLimit {
		t.Fatalf("same action has %d rules, want the limit %d", len(target.SameAction), sameActionLimit)
	}
	if !slices.ContainsFunc(target.SameAction, func(r rule.RuleRef) bool { return r.ID == "close" }) {
		t.Errorf("the rule sharing an indicator was cut from the same-action list")
	}
}

func TestSimilar(t *testing.T) {
	a := cloudRule("a", "A", nil, eq("Image", `\a.exe`, `\b.exe`), eq("CommandLine", "-enc"))
	b := cloudRule("b", "B", nil, eq("Image", `\a.exe`, `\b.exe`))
	c := cloudRule("c", "C", nil, eq("Image", `\z.exe`))
	analyse([]*rule.Rule{a, b, c})
	if len(a.Similar) != 1 || a.Similar[0].ID != "b" || a.Similar[0].Score != 0.667 {
		t.Errorf("similar of a = %+v, want b with score 0.667", a.Similar)
	}
	if len(c.Similar) != 0 {
		t.Errorf("similar of c = %+v, want none", c.Similar)
	}
}

func TestDedupeAndLinks(t *testing.T) {
	mk := func(id, title, corpus, path string) *rule.Rule {
		return &rule.Rule{ID: id, Title: title, Source: rule.Source{Corpus: corpus, Path: path}}
	}
	a := mk("1", "S3Browser", "sigma", "a.yml")
	aMirror := mk("1", "S3Browser", "suzaku-rules", "a.yml")
	dup := mk("1", "Copy", "sigma", "b.yml")
	base := mk("2", "IAM CreateUser", "suzaku-rules", "chain.yml")
	base.Events = []rule.Event{{Provider: "AWS-iam", Event: "CreateUser"}}
	chain := mk("3", "Chain", "suzaku-rules", "chain.yml")
	chain.Class = rule.ClassCorrelation
	chain.Links = []rule.Link{{Ref: "IAM CreateUser"}, {Ref: "missing"}}
	collection := mk("1", "S3Browser part 2", "sigma", "a.yml")
	rules, failures := dedupe([]parsed{{a, 0}, {aMirror, 1}, {dup, 0}, {base, 1}, {chain, 1}, {collection, 0}})
	if collection.ID != "1-2" {
		t.Errorf("second document of a collection got id %q, want 1-2", collection.ID)
	}
	rules = slices.DeleteFunc(rules, func(r *rule.Rule) bool { return r == collection })
	if len(rules) != 3 || len(a.Mirrors) != 1 || a.Mirrors[0].Corpus != "suzaku-rules" {
		t.Fatalf("dedupe: %d rules, mirrors %+v", len(rules), a.Mirrors)
	}
	if len(failures) != 1 || failures[0].File != "sigma/b.yml" {
		t.Fatalf("duplicate id in one source not reported: %+v", failures)
	}
	resolveLinks(rules)
	if chain.Links[0].ID != "2" || chain.Links[1].ID != "" {
		t.Errorf("links = %+v", chain.Links)
	}
	if len(chain.Events) != 1 || chain.Events[0].Event != "CreateUser" {
		t.Errorf("correlation events = %+v, want its base rule's", chain.Events)
	}
	if len(chain.Notes) != 1 {
		t.Errorf("unresolved reference not noted: %+v", chain.Notes)
	}
}

// A filter of every rule ("any", or an empty list) names no rule: nothing is resolved, and
// nothing is noted missing, even beside a rule titled "any".
func TestFilterOfEveryRuleLinksNothing(t *testing.T) {
	anyRule := &rule.Rule{ID: "1", Title: "any", Source: rule.Source{Corpus: "sigma", Path: "a.yml"}}
	filter := &rule.Rule{ID: "2", Title: "Admins", Class: rule.ClassFilter, Links: []rule.Link{{Ref: "any"}}, Source: rule.Source{Corpus: "sigma", Path: "f.yml"}}
	named := &rule.Rule{ID: "3", Title: "Named", Class: rule.ClassFilter, Links: []rule.Link{{Ref: "nope"}}, Source: rule.Source{Corpus: "sigma", Path: "g.yml"}}
	resolveLinks([]*rule.Rule{anyRule, filter, named})
	if filter.Links[0].ID != "" || len(filter.Notes) != 0 {
		t.Errorf("filter of every rule: links %+v, notes %+v", filter.Links, filter.Notes)
	}
	if len(named.Notes) != 1 {
		t.Errorf("a filter naming a missing rule is not noted: %+v", named.Notes)
	}
}

func TestCollectionMirrorsPairDocumentByDocument(t *testing.T) {
	mk := func(corpus string) *rule.Rule {
		return &rule.Rule{ID: "c", Title: "part", Source: rule.Source{Corpus: corpus, Path: "coll.yml"}}
	}
	a1, a2, b1, b2 := mk("a"), mk("a"), mk("b"), mk("b")
	rules, failures := dedupe([]parsed{{a1, 0}, {a2, 0}, {b1, 1}, {b2, 1}})
	if len(failures) != 0 || len(rules) != 2 {
		t.Fatalf("rules %d, failures %+v", len(rules), failures)
	}
	if a1.ID != "c" || a2.ID != "c-2" {
		t.Errorf("ids %q %q, want c and c-2", a1.ID, a2.ID)
	}
	if len(a1.Mirrors) != 1 || len(a2.Mirrors) != 1 {
		t.Errorf("mirrors %d and %d, want one each", len(a1.Mirrors), len(a2.Mirrors))
	}
}

func TestDedupeIsLinearInRepeatedIDs(t *testing.T) {
	var all []parsed
	for range 20000 {
		all = append(all, parsed{&rule.Rule{ID: "same", Source: rule.Source{Corpus: "a", Path: "big.yml"}}, 0})
	}
	start := time.Now()
	rules, _ := dedupe(all)
	if len(rules) != 20000 {
		t.Fatalf("%d rules, want 20000 distinct ids", len(rules))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("dedupe of 20,000 documents sharing an id took %v", d)
	}
}

func TestChainedCorrelationsTakeEventsWhateverTheOrder(t *testing.T) {
	outer := &rule.Rule{ID: "o", Title: "outer", Class: rule.ClassCorrelation, Links: []rule.Link{{Ref: "i"}}}
	inner := &rule.Rule{ID: "i", Title: "inner", Class: rule.ClassCorrelation, Links: []rule.Link{{Ref: "b"}, {Ref: "o"}}}
	base := &rule.Rule{ID: "b", Title: "base", Events: []rule.Event{{Provider: "AWS-iam", Event: "CreateUser"}}}
	resolveLinks([]*rule.Rule{outer, inner, base})
	for _, r := range []*rule.Rule{outer, inner} {
		if len(r.Events) != 1 || r.Events[0].Event != "CreateUser" {
			t.Errorf("%s events %+v, want the base rule's", r.Title, r.Events)
		}
	}
}
