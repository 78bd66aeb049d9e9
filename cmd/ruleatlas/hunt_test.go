package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/store"
)

const (
	createUserID = "33333333-3333-4333-8333-333333333333"
	deleteUserID = "44444444-4444-4444-8444-444444444444"
)

// huntRules are two CloudTrail rules of different levels.
var huntRules = map[string][]byte{
	"create.yml": []byte(`title: IAM user created
id: ` + createUserID + `
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: CreateUser
    condition: selection
level: medium
`),
	"delete.yml": []byte(`title: IAM user deleted
id: ` + deleteUserID + `
status: stable
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: DeleteUser
    condition: selection
level: high
`),
}

// trail is a CloudTrail file: one envelope of three records, two of which the rules match.
const trail = `{"Records":[
 {"eventTime":"2026-01-01T00:00:01Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","userIdentity":{"arn":"arn:aws:iam::111122223333:user/alice"}},
 {"eventTime":"2026-01-01T00:00:02Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1"},
 {"eventTime":"2026-01-01T00:00:03Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"eu-west-1"}
]}
`

// huntDir writes the rules and the trail to a temporary directory.
func huntDir(t *testing.T) (rules, logs string) {
	t.Helper()
	dir := t.TempDir()
	rules = filepath.Join(dir, "rules")
	files := map[string][]byte{"logs/trail.json": []byte(trail)}
	for name, data := range huntRules {
		files["rules/"+name] = data
	}
	writeFiles(t, dir, files)
	return rules, filepath.Join(dir, "logs", "trail.json")
}

// jsonlDetection is a jsonl output line as a reader decodes it.
type jsonlDetection struct {
	RuleID    string          `json:"rule_id"`
	Title     string          `json:"title"`
	Level     string          `json:"level"`
	Timestamp string          `json:"timestamp"`
	File      string          `json:"file"`
	Record    *int64          `json:"record"`
	Event     json.RawMessage `json:"event"`
}

func decodeJSONL(t *testing.T, out string) []jsonlDetection {
	t.Helper()
	var ds []jsonlDetection
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var d jsonlDetection
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		ds = append(ds, d)
	}
	return ds
}

func TestHuntJSONL(t *testing.T) {
	rules, log := huntDir(t)
	out, stderr, err := runCmd(t, "hunt", "--rules", rules, "--output", "jsonl", log)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ds := decodeJSONL(t, out)
	if len(ds) != 2 {
		t.Fatalf("%d detections, want 2:\n%s", len(ds), out)
	}
	want := []struct {
		id, title, level, ts string
		record               int64
		eventName            string
	}{
		{createUserID, "IAM user created", "medium", "2026-01-01T00:00:01Z", 0, "CreateUser"},
		{deleteUserID, "IAM user deleted", "high", "2026-01-01T00:00:03Z", 2, "DeleteUser"},
	}
	for i, w := range want {
		d := ds[i]
		if d.RuleID != w.id || d.Title != w.title || d.Level != w.level || d.Timestamp != w.ts || d.File != log {
			t.Errorf("detection %d: %+v", i, d)
		}
		// Records inside an envelope are numbered by their position in it.
		if d.Record == nil || *d.Record != w.record {
			t.Errorf("detection %d: record %v, want %d", i, d.Record, w.record)
		}
		// The event is the record itself, as JSON, not the envelope.
		var ev map[string]any
		if err := json.Unmarshal(d.Event, &ev); err != nil || ev["eventName"] != w.eventName {
			t.Errorf("detection %d: event %s (%v)", i, d.Event, err)
		}
	}
	if !strings.Contains(stderr, "rules: 2 loaded, 0 skipped") || !strings.Contains(stderr, "3 events") || !strings.Contains(stderr, "detections: 2") {
		t.Errorf("summary:\n%s", stderr)
	}
}

func TestHuntMinLevel(t *testing.T) {
	rules, log := huntDir(t)
	for _, tc := range []struct {
		level string
		want  []string
	}{
		{"informational", []string{createUserID, deleteUserID}},
		{"medium", []string{createUserID, deleteUserID}},
		{"HIGH", []string{deleteUserID}},
		{"critical", nil},
	} {
		out, stderr, err := runCmd(t, "hunt", "--rules", rules, "--output", "jsonl", "--min-level", tc.level, log)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.level, err, stderr)
		}
		var got []string
		for _, d := range decodeJSONL(t, out) {
			got = append(got, d.RuleID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("--min-level %s: rules %v, want %v", tc.level, got, tc.want)
		}
	}
	if _, _, err := runCmd(t, "hunt", "--rules", rules, "--min-level", "severe", log); err == nil || !strings.Contains(err.Error(), `unknown level "severe"`) {
		t.Errorf("unknown level: err %v", err)
	}
}

// Standard input is read as "-"; the command runs as a process of its own to be given one.
func TestHuntStdin(t *testing.T) {
	rules, _ := huntDir(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RULEATLAS_TEST_ARGS="+strings.Join([]string{"hunt", "--rules", rules, "--output", "jsonl", "-"}, "\x1f"))
	cmd.Stdin = strings.NewReader(`{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}` + "\n" +
		`{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser","eventTime":"2026-01-02T00:00:00Z"}` + "\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	ds := decodeJSONL(t, string(out))
	if len(ds) != 1 || ds[0].RuleID != deleteUserID || ds[0].File != "-" || ds[0].Record == nil || *ds[0].Record != 1 {
		t.Fatalf("detections from stdin: %s", out)
	}
}

func TestHuntCSV(t *testing.T) {
	rules, log := huntDir(t)
	out, stderr, err := runCmd(t, "hunt", "--rules", rules, "--output", "csv", log)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	header := []string{"rule_id", "timestamp", "level", "rule", "eventName", "user", "sourceIP", "region", "account", "file", "record"}
	if len(recs) != 3 || !slices.Equal(recs[0], header) {
		t.Fatalf("csv:\n%s", out)
	}
	row := recs[1]
	want := []string{createUserID, "2026-01-01T00:00:01Z", "medium", "IAM user created", "CreateUser", "arn:aws:iam::111122223333:user/alice", "", "us-east-1", "", log, "0"}
	if !slices.Equal(row, want) {
		t.Errorf("first row %q\nwant      %q", row, want)
	}
}

// A malformed line is reported with its file and line, and the lines after it are hunted.
func TestHuntMalformedLine(t *testing.T) {
	rules, _ := huntDir(t)
	log := filepath.Join(t.TempDir(), "lines.jsonl")
	lines := `{"eventSource":"iam.amazonaws.com","eventName":"CreateUser"}
{"eventSource":"iam.amazonaws.com","eventName":
{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}
`
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCmd(t, "hunt", "--rules", rules, "--output", "jsonl", log)
	if err != nil {
		t.Fatalf("a malformed line stopped the hunt: %v\n%s", err, stderr)
	}
	var recs []int64
	for _, d := range decodeJSONL(t, out) {
		recs = append(recs, *d.Record)
	}
	if !slices.Equal(recs, []int64{0, 2}) {
		t.Errorf("detections at records %v, want [0 2]", recs)
	}
	if !strings.Contains(stderr, "read errors: 1") || !strings.Contains(stderr, log+": record 1: malformed JSON") {
		t.Errorf("stderr does not report the line:\n%s", stderr)
	}
}

// A missing input among good ones is reported and skipped; when no input could be read at
// all, hunt fails, so that a script does not take the silence for a clean result.
func TestHuntUnreadableInput(t *testing.T) {
	rules, log := huntDir(t)
	missing := filepath.Join(t.TempDir(), "missing.json")
	out, stderr, err := runCmd(t, "hunt", "--rules", rules, "--output", "jsonl", missing, log)
	if err != nil {
		t.Fatalf("a missing file among good ones failed the hunt: %v\n%s", err, stderr)
	}
	if n := len(decodeJSONL(t, out)); n != 2 {
		t.Errorf("%d detections, want 2", n)
	}
	if !strings.Contains(stderr, "read errors: 1") || !strings.Contains(stderr, "  "+missing+": stat ") {
		t.Errorf("stderr does not report the missing file as a whole:\n%s", stderr)
	}
	if _, stderr, err := runCmd(t, "hunt", "--rules", rules, missing); err == nil || !strings.Contains(err.Error(), "no event could be read") {
		t.Errorf("hunt over a missing file only: err %v, want no event could be read\n%s", err, stderr)
	}
}

// Rules are read from a catalog database as from files, with the filters applied.
func TestHuntCatalog(t *testing.T) {
	rules, log := huntDir(t)
	db := filepath.Join(t.TempDir(), "catalog.db")
	if _, stderr, err := runCmd(t, "build", "--source", rules, "--attack", "none", "--db", db); err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	s, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.IDs()
	s.Close()
	if err != nil || len(ids) != 2 {
		t.Fatalf("catalog ids %v, %v", ids, err)
	}
	out, stderr, err := runCmd(t, "hunt", "--rules", db, "--output", "jsonl", log)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ds := decodeJSONL(t, out)
	if len(ds) != 2 || ds[0].Title != "IAM user created" || ds[1].Title != "IAM user deleted" ||
		!slices.Contains(ids, ds[0].RuleID) || !slices.Contains(ids, ds[1].RuleID) {
		t.Fatalf("detections from the catalog:\n%s", out)
	}
	out, stderr, err = runCmd(t, "hunt", "--rules", db, "--status", "stable", "--output", "jsonl", log)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if ds := decodeJSONL(t, out); len(ds) != 1 || ds[0].Title != "IAM user deleted" || !strings.Contains(stderr, "rules: 1 loaded") {
		t.Errorf("--status stable:\n%s\n%s", out, stderr)
	}
}

// A Sigma filter rule silences the rules it names where its condition does not hold, and
// reports nothing itself; the summary counts the rules it tunes and reports a filter that
// applies to no rule.
func TestHuntFilter(t *testing.T) {
	rules, log := huntDir(t)
	filter := func(name, ref string) {
		writeFiles(t, rules, map[string][]byte{name: []byte(`title: Deployment region
logsource:
    product: aws
    service: cloudtrail
filter:
    rules:
        - ` + ref + `
    selection:
        awsRegion: us-east-1
    condition: not selection
`)})
	}
	filter("mf_region.yml", createUserID)
	filter("mf_typo.yml", "no-such-rule")
	out, stderr, err := runCmd(t, "hunt", "--rules", rules, "--output", "jsonl", log)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ds := decodeJSONL(t, out)
	if len(ds) != 1 || ds[0].RuleID != deleteUserID {
		t.Fatalf("detections %+v, want the deletion only (the creation is in us-east-1)", ds)
	}
	if !strings.Contains(stderr, "rules: 2 loaded (1 tuned by 1 filter), 1 skipped") ||
		!strings.Contains(stderr, "mf_typo.yml (Deployment region): filter applies to no loaded rule") ||
		strings.Contains(stderr, "mf_region.yml (Deployment region): filter") {
		t.Errorf("summary:\n%s", stderr)
	}
}
