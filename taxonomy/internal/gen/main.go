// Command gen writes cloudtrail_operations.tsv: the CloudTrail operations (eventName) and the
// service (eventSource) that emits each, learnt from Sigma and Suzaku rules that name both in
// one AND-group, from Elastic, Splunk, Sentinel and Chronicle queries that name a single
// service, and from CloudTrail records (sample logs, Panther rule tests). Run through go generate in package taxonomy; the corpora are read
// from $RULEATLAS_CORPORA or ../shared/corpora beside the repository.
package main

import (
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"
)

// resolved settles eventNames that the evidence pairs with more than one service. Each entry
// says which service the name means when a rule gives no eventSource, and why.
var resolved = map[string]struct{ source, why string }{
	// A rule pairs it with ec2 by mistake; it is an S3 bucket API (the sample logs agree).
	"GetBucketReplication": {"s3.amazonaws.com", "S3 bucket API; the ec2 pairing is a rule error"},
	// Route 53 Domains operations are logged by route53domains; rules that pair them with
	// route53.amazonaws.com never match real records.
	"DisableDomainTransferLock":         {"route53domains.amazonaws.com", "Route 53 Domains API"},
	"TransferDomainToAnotherAwsAccount": {"route53domains.amazonaws.com", "Route 53 Domains API"},
	// Panther negative tests pair these with another service on purpose.
	"DeleteBucketPublicAccessBlock": {"s3.amazonaws.com", "S3 bucket API; the ec2 record is a Panther negative test"},
	"SetQueueAttributes":            {"sqs.amazonaws.com", "SQS API; the s3 record is a Panther negative test"},
	"UpdateMacieSession":            {"macie2.amazonaws.com", "Amazon Macie API; Macie Classic (macie) has no such action"},
}

func main() {
	out := flag.String("o", "cloudtrail_operations.tsv", "output file")
	flag.Parse()
	root := corporaDir()
	if root == "" {
		fmt.Fprintln(os.Stderr, "gen: corpora not found: set RULEATLAS_CORPORA")
		os.Exit(1)
	}
	ev := evidence{}
	for _, dir := range []string{"sigma", "suzaku-rules"} {
		check(walk(filepath.Join(root, dir), ".yml", func(path string, data []byte) { ev.sigma(data) }))
	}
	check(walk(filepath.Join(root, "elastic"), ".toml", func(path string, data []byte) { ev.elastic(data) }))
	check(walk(filepath.Join(root, "splunk", "detections"), ".yml", func(path string, data []byte) { ev.query(data) }))
	check(walk(filepath.Join(root, "sentinel"), ".yaml", func(path string, data []byte) { ev.query(data) }))
	check(walk(filepath.Join(root, "chronicle", "rules"), ".yaral", func(path string, data []byte) { ev.yaral(data) }))
	check(walk(filepath.Join(root, "suzaku-sample-data"), ".json", func(path string, data []byte) { ev.log(data) }))
	check(walk(filepath.Join(root, "suzaku-sample-data"), ".json.gz", func(path string, data []byte) {
		zr, err := gzip.NewReader(strings.NewReader(string(data)))
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", path, err)
			return
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", path, err)
			return
		}
		ev.log(plain)
	}))
	// Panther's test records include deliberately wrong ones (negative tests), so they only add
	// names nothing else knows; they never make a known name ambiguous.
	panther := evidence{}
	check(walk(filepath.Join(root, "panther", "rules"), ".yml", func(path string, data []byte) { panther.pantherTests(data) }))
	for name, sources := range panther {
		if ev[name] == nil {
			ev[name] = sources
		}
	}
	check(os.WriteFile(*out, ev.tsv(), 0o644))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func corporaDir() string {
	if d := os.Getenv("RULEATLAS_CORPORA"); d != "" {
		return d
	}
	// go generate runs in the package directory: <repo>/taxonomy.
	for _, d := range []string{"../../shared/corpora", "../../../../shared/corpora"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

func walk(root, suffix string, fn func(path string, data []byte)) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, suffix) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fn(path, data)
		return nil
	})
}

// evidence counts, per eventName, the services seen with it: in rules and in logs.
type evidence map[string]map[string]*count

type count struct{ rules, logs int }

func (e evidence) add(name, source string, fromLog bool) {
	name, source = strings.TrimSpace(name), strings.ToLower(strings.TrimSpace(source))
	if !plain(name) || !plain(source) || !strings.HasSuffix(source, ".amazonaws.com") {
		return
	}
	if e[name] == nil {
		e[name] = map[string]*count{}
	}
	c := e[name][source]
	if c == nil {
		c = &count{}
		e[name][source] = c
	}
	if fromLog {
		c.logs++
	} else {
		c.rules++
	}
}

// plain rejects wildcards and empty values: only exact names are evidence.
func plain(s string) bool {
	return s != "" && !strings.ContainsAny(s, "*? \t")
}

// sigma reads the selections of Sigma (and Suzaku) rules: a map with both eventSource and
// eventName is one AND-group, so its values pair.
func (e evidence) sigma(data []byte) {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc struct {
			Detection map[string]any `yaml:"detection"`
		}
		if err := dec.Decode(&doc); err != nil {
			return
		}
		for name, sel := range doc.Detection {
			if name == "condition" {
				continue
			}
			for _, m := range selectionMaps(sel) {
				sources, names := values(m, "eventSource"), values(m, "eventName")
				for _, s := range sources {
					for _, n := range names {
						e.add(n, s, false)
					}
				}
			}
		}
	}
}

func selectionMaps(sel any) []map[string]any {
	switch v := sel.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, x := range v {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// values returns the exact values of key (no modifier) in a selection map.
func values(m map[string]any, key string) []string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, y := range x {
			if s, ok := y.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

var (
	providerRe = regexp.MustCompile(`event\.provider\s*(?::|==)\s*"?([a-z0-9.-]+\.amazonaws\.com)"?`)
	actionRe   = regexp.MustCompile(`event\.action\s*(?::|==|in)\s*(\([^)]*\)|"[^"]*"|[A-Za-z0-9]+)`)
	wordRe     = regexp.MustCompile(`"([A-Za-z0-9]+)"|\b([A-Z][A-Za-z0-9]+)\b`)
)

// elastic reads Elastic rule queries that name exactly one AWS event.provider; their
// event.action values are that service's operations. Queries naming several providers are
// skipped: without parsing them we cannot tell which action goes with which provider.
func (e evidence) elastic(data []byte) {
	var doc struct {
		Rule struct {
			Query string `toml:"query"`
		} `toml:"rule"`
	}
	if toml.Unmarshal(data, &doc) != nil || !strings.Contains(doc.Rule.Query, "amazonaws.com") {
		return
	}
	provs := map[string]bool{}
	for _, m := range providerRe.FindAllStringSubmatch(doc.Rule.Query, -1) {
		provs[m[1]] = true
	}
	if len(provs) != 1 || strings.Count(doc.Rule.Query, "event.provider") != 1 {
		return
	}
	var source string
	for p := range provs {
		source = p
	}
	for _, m := range actionRe.FindAllStringSubmatch(doc.Rule.Query, -1) {
		for _, w := range wordRe.FindAllStringSubmatch(m[1], -1) {
			name := w[1] + w[2]
			if name != "" && name != "or" && name != "and" {
				e.add(name, source, false)
			}
		}
	}
}

var (
	querySourceRe = regexp.MustCompile(`(?i)\beventSource"?\s*(?:=|==|=~)\s*"?([a-z0-9.-]+\.amazonaws\.com)`)
	queryNameRe   = regexp.MustCompile(`(?i)\beventName"?\s*(?:=|==|=~)\s*"?([A-Za-z0-9]+)(\*?)`)
	queryNamesRe  = regexp.MustCompile(`(?i)\beventName"?\s+in~?\s*\(([^)]*)\)`)
	quotedRe      = regexp.MustCompile(`"([A-Za-z0-9]+)"`)
)

// query reads Splunk searches and Sentinel (Kusto) queries the same way as Elastic ones: when a
// query names exactly one AWS eventSource, its literal eventName values belong to it.
func (e evidence) query(data []byte) {
	text := string(data)
	if !strings.Contains(text, "amazonaws.com") {
		return
	}
	srcs := map[string]bool{}
	for _, m := range querySourceRe.FindAllStringSubmatch(text, -1) {
		srcs[strings.ToLower(m[1])] = true
	}
	if len(srcs) != 1 {
		return
	}
	var source string
	for s := range srcs {
		source = s
	}
	for _, m := range queryNameRe.FindAllStringSubmatch(text, -1) {
		if m[2] == "" { // a trailing * is a wildcard, not a name
			e.add(m[1], source, false)
		}
	}
	for _, m := range queryNamesRe.FindAllStringSubmatch(text, -1) {
		for _, q := range quotedRe.FindAllStringSubmatch(m[1], -1) {
			e.add(q[1], source, false)
		}
	}
}

var (
	yaralSourceRe = regexp.MustCompile(`target\.application\s*=\s*"([a-z0-9.-]+\.amazonaws\.com)"`)
	yaralNameRe   = regexp.MustCompile(`metadata\.product_event_type\s*=\s*"([A-Za-z0-9]+)"`)
)

// yaral reads Chronicle YARA-L rules that name one AWS service (target.application); their
// product_event_type values are its operations.
func (e evidence) yaral(data []byte) {
	text := string(data)
	srcs := map[string]bool{}
	for _, m := range yaralSourceRe.FindAllStringSubmatch(text, -1) {
		srcs[m[1]] = true
	}
	if len(srcs) != 1 {
		return
	}
	for s := range srcs {
		for _, m := range yaralNameRe.FindAllStringSubmatch(text, -1) {
			e.add(m[1], s, false)
		}
	}
}

// pantherTests reads the CloudTrail records Panther rules carry as test cases; they count as
// records, like the sample logs.
func (e evidence) pantherTests(data []byte) {
	var doc struct {
		Tests []struct {
			Log map[string]any `yaml:"Log"`
		} `yaml:"Tests"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return
	}
	for _, t := range doc.Tests {
		src, _ := t.Log["eventSource"].(string)
		name, _ := t.Log["eventName"].(string)
		if src != "" && name != "" {
			e.add(name, src, true)
		}
	}
}

// log reads a CloudTrail {"Records": [...]} document.
func (e evidence) log(data []byte) {
	var doc struct {
		Records []struct {
			EventSource string `json:"eventSource"`
			EventName   string `json:"eventName"`
		} `json:"Records"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return
	}
	for _, r := range doc.Records {
		e.add(r.EventName, r.EventSource, true)
	}
}

func (e evidence) tsv() []byte {
	var b strings.Builder
	b.WriteString("# Generated by internal/gen (go generate ./taxonomy); review the diff, do not edit.\n")
	b.WriteString("# CloudTrail operations: eventName, the eventSource that emits it, and the evidence\n")
	b.WriteString("# (rules pairing them: Sigma/Suzaku AND-groups, Elastic/Splunk/Sentinel queries naming one\n")
	b.WriteString("# service, Chronicle rules naming one target.application; records in the sample logs and\n")
	b.WriteString("# in Panther rule tests).\n")
	b.WriteString("# eventName\teventSource\trules\tlogs\n")
	names := make([]string, 0, len(e))
	for n := range e {
		names = append(names, n)
	}
	sort.Strings(names)
	var ambiguous []string
	for _, n := range names {
		sources := e[n]
		if len(sources) > 1 {
			r, ok := resolved[n]
			if !ok || sources[r.source] == nil {
				ambiguous = append(ambiguous, n)
				continue
			}
			c := sources[r.source]
			fmt.Fprintf(&b, "%s\t%s\t%d\t%d\n", n, r.source, c.rules, c.logs)
			continue
		}
		for s, c := range sources {
			fmt.Fprintf(&b, "%s\t%s\t%d\t%d\n", n, s, c.rules, c.logs)
		}
	}
	for n, r := range sortedResolved() {
		fmt.Fprintf(&b, "# resolved %s → %s: %s\n", n, r.source, r.why)
	}
	for _, n := range ambiguous {
		fmt.Fprintf(&b, "# ambiguous, left out: %s:%s\n", n, describe(e[n]))
	}
	return []byte(b.String())
}

func describe(sources map[string]*count) string {
	keys := make([]string, 0, len(sources))
	for s := range sources {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, s := range keys {
		fmt.Fprintf(&b, " %s (rules %d, logs %d)", s, sources[s].rules, sources[s].logs)
	}
	return b.String()
}

func sortedResolved() func(func(string, struct{ source, why string }) bool) {
	return func(yield func(string, struct{ source, why string }) bool) {
		keys := make([]string, 0, len(resolved))
		for k := range resolved {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k, resolved[k]) {
				return
			}
		}
	}
}
