package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ruleatlas/ruleatlas/catalog"
	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/store"
	"github.com/ruleatlas/ruleatlas/web"
)

// TestMain lets a test run the command as a separate process (to kill it mid-build).
func TestMain(m *testing.M) {
	if args := os.Getenv("RULEATLAS_TEST_ARGS"); args != "" {
		if err := run(context.Background(), strings.Split(args, "\x1f"), os.Stdout, os.Stderr); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

const goodRule = `title: Good Rule
id: 11111111-1111-4111-8111-111111111111
status: test
description: A rule that builds.
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: CreateUser
    condition: selection
level: medium
`

const htmlRule = `title: <script>alert(1)</script> Title
id: 22222222-2222-4222-8222-222222222222
status: "<b>test</b>"
description: '"><img src=x onerror=alert(2)> description'
author: <i>author</i>
references:
    - javascript:alert(3)
tags:
    - <svg/onload=alert(4)>
falsepositives:
    - <u>fp</u>
logsource:
    product: <p>aws
    service: cloudtrail
detection:
    selection:
        eventName: '<script>alert(5)</script>'
    condition: selection
level: high
`

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildReportsBadInputAndBuildsTheRest(t *testing.T) {
	dir := t.TempDir()
	aliasBomb := "title: bomb\ndetection:\n  a: &a [x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		aliasBomb += "  " + n + ": &" + n + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
		prev = n
	}
	aliasBomb += "  condition: a\n"
	huge := append([]byte(goodRule), bytes.Repeat([]byte("# padding line to make a very large file\n"), 50<<20/41)...)
	writeFiles(t, dir, map[string][]byte{
		"good.yml":     []byte(goodRule),
		"html.yml":     []byte(htmlRule),
		"broken.yml":   []byte("title: Broken\ndetection:\n  selection:\n    a: [1, 2\n  condition: selection\n"),
		"bomb.yml":     []byte(aliasBomb),
		"huge.yml":     huge,
		"utf8.yml":     []byte("title: Bad \xff\xfe bytes\ndetection:\n  selection:\n    a: b\n  condition: selection\n"),
		"zz/again.yml": []byte(strings.Replace(goodRule, "Good Rule", "Same id again", 1)),
		"README.md":    []byte("# not a rule\n"),
	})
	db := filepath.Join(t.TempDir(), "c.db")
	reportPath := filepath.Join(t.TempDir(), "r.json")
	start := time.Now()
	out, stderr, err := runCmd(t, "build", "--source", "bad="+dir, "--attack", "none", "--db", db, "--report", reportPath)
	if err != nil {
		t.Fatalf("build failed: %v\n%s\n%s", err, out, stderr)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("build of bad input took %v", d)
	}
	var rep catalog.Report
	js, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	failed := map[string]catalog.Failure{}
	for _, f := range rep.Failures {
		failed[f.File] = f
	}
	for _, name := range []string{"broken.yml", "bomb.yml", "huge.yml", "utf8.yml", "zz/again.yml"} {
		f, ok := failed["bad/"+name]
		if !ok {
			t.Errorf("%s is not reported as a failure (failures: %+v)", name, rep.Failures)
			continue
		}
		if f.Line < 1 || f.Reason == "" {
			t.Errorf("%s failure has no line or reason: %+v", name, f)
		}
		if !strings.Contains(out, "bad/"+name+":") {
			t.Errorf("printed report does not name %s with its line:\n%s", name, out)
		}
	}
	if f := failed["bad/broken.yml"]; f.Line != 4 {
		t.Errorf("broken.yml reported at line %d, want 4, where the unclosed flow sequence starts", f.Line)
	}
	if c := rep.Platforms[rule.PlatformSigma]; c == nil || c.Rules != 2 || c.Full != 2 {
		t.Errorf("sigma counts = %+v, want the good and the HTML rule built", c)
	}

	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"} {
		if _, err := st.Rule(id); err != nil {
			t.Errorf("rule %s not in the catalog: %v", id, err)
		}
	}
	// The rule page shows every text field of the HTML rule escaped.
	srv := web.New(st, web.Options{ReloadInterval: -1})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/rules/22222222-2222-4222-8222-222222222222", nil))
	page := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("rule page status %d", rec.Code)
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<i>author", "<svg/onload", "<u>fp", "<b>test", "<p>aws", `href="javascript:`} {
		if strings.Contains(page, bad) {
			t.Errorf("rule page contains unescaped %q", bad)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt; Title", "&lt;i&gt;author&lt;/i&gt;"} {
		if !strings.Contains(page, escaped) {
			t.Errorf("rule page lacks the escaped text %q", escaped)
		}
	}
}

// catalogOnce builds the Sigma corpora once for the tests that read them.
var catalogOnce = sync.OnceValues(func() (string, error) {
	corpora := testcorpora.Find()
	dir, err := os.MkdirTemp("", "ruleatlas-test-")
	if err != nil {
		return "", err
	}
	db := filepath.Join(dir, "c.db")
	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"build",
		"--source", filepath.Join(corpora, "sigma"), "--source", filepath.Join(corpora, "suzaku-rules"),
		"--attack", filepath.Join(corpora, "attack", "enterprise-attack.json"),
		"--db", db, "--report", filepath.Join(dir, "r.json")}, &out, &errb)
	if err != nil {
		return "", err
	}
	return db, nil
})

func corpusCatalog(t *testing.T) string {
	t.Helper()
	testcorpora.Path(t, "sigma")
	testcorpora.Path(t, "suzaku-rules")
	db, err := catalogOnce()
	if err != nil {
		t.Fatalf("building the corpora: %v", err)
	}
	return db
}

func showJSON(t *testing.T, db, id string) *rule.Rule {
	t.Helper()
	out, stderr, err := runCmd(t, "show", id, "--db", db, "--json")
	if err != nil {
		t.Fatalf("show %s: %v %s", id, err, stderr)
	}
	var r rule.Rule
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestSeedRulesAsOnTheirPages(t *testing.T) {
	db := corpusCatalog(t)
	const userID, keyID = "8f3a7b2c-1d4e-5f6a-9b0c-2e3d4f5a6b7d", "2c4d6e8f-0a1b-3c5d-7e9f-1a2b3c4d5e70"
	u, k := showJSON(t, db, userID), showJSON(t, db, keyID)
	for _, tc := range []struct {
		r                       *rule.Rule
		title, event, attackRow string
	}{
		{u, "IAM User Creation Attempt", "CreateUser", "Persistence T1136.003 Create Account: Cloud Account"},
		{k, "IAM Access Key Creation Attempt", "CreateAccessKey", "Persistence T1098.001 Account Manipulation: Additional Cloud Credentials"},
	} {
		r := tc.r
		if r.Title != tc.title || r.Status != "test" || r.Severity != "medium" || r.Author != "nishikawaakira (@nishikawaakira)" {
			t.Errorf("%s: header %q %q %q %q", tc.title, r.Title, r.Status, r.Severity, r.Author)
		}
		if r.LogSource.Product != "aws" || r.LogSource.Service != "cloudtrail" || r.Source.Repo != "github.com/Yamato-Security/suzaku-rules" {
			t.Errorf("%s: log source %+v, source %+v", tc.title, r.LogSource, r.Source)
		}
		if len(r.Attack) != 1 || r.Attack[0].Tactic+" "+r.Attack[0].TechniqueID+" "+r.Attack[0].Technique != tc.attackRow {
			t.Errorf("%s: attack %+v, want %s", tc.title, r.Attack, tc.attackRow)
		}
		if len(r.Events) != 1 || r.Events[0] != (rule.Event{Provider: "AWS-iam", Event: tc.event}) {
			t.Errorf("%s: events %+v", tc.title, r.Events)
		}
		if len(r.Stages) != 2 || r.Stages[0].Text != "selection" || r.Stages[1].Name != "selection" || len(r.Stages[1].Predicates) != 3 {
			t.Errorf("%s: stages %+v", tc.title, r.Stages)
		}
		var rows []string
		for _, ind := range r.Indicators {
			for _, v := range ind.Values {
				if v.Corpus < 1 {
					t.Errorf("%s: %s %s has corpus count %d", tc.title, ind.Field, v.Value, v.Corpus)
				}
				rows = append(rows, ind.Field+" "+string(ind.Kind)+" "+v.Value)
			}
		}
		want := []string{"errorCode eq AccessDenied", "eventName eq " + tc.event, "eventSource eq iam.amazonaws.com"}
		if !slices.Equal(rows, want) {
			t.Errorf("%s: indicators %v, want %v", tc.title, rows, want)
		}
	}
	var titles []string
	for _, s := range u.SameAction {
		titles = append(titles, s.Title)
		if s.ID == keyID {
			t.Errorf("the CreateAccessKey rule is listed as the same action as CreateUser")
		}
	}
	for _, want := range []string{"AWS IAM S3Browser User or AccessKey Creation", "IAM User Created"} {
		if !slices.Contains(titles, want) {
			t.Errorf("same action lacks %q: %v", want, titles)
		}
	}
	if !slices.IsSortedFunc(titles, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
		t.Errorf("same action not sorted by title: %v", titles)
	}
	// The S3Browser rule is in both corpora under one id: one rule, the other source a mirror.
	for _, s := range u.SameAction {
		if s.Title == "AWS IAM S3Browser User or AccessKey Creation" {
			r := showJSON(t, db, s.ID)
			if r.Source.Corpus != "sigma" || len(r.Mirrors) != 1 || r.Mirrors[0].Corpus != "suzaku-rules" {
				t.Errorf("S3Browser source %+v mirrors %+v, want sigma with a suzaku-rules mirror", r.Source, r.Mirrors)
			}
		}
	}
}

func TestKilledBuildKeepsThePreviousCatalog(t *testing.T) {
	sigma := testcorpora.Path(t, "sigma")
	dir := t.TempDir()
	src := filepath.Join(dir, "small")
	writeFiles(t, src, map[string][]byte{"good.yml": []byte(goodRule)})
	db := filepath.Join(dir, "c.db")
	if _, stderr, err := runCmd(t, "build", "--source", src, "--attack", "none", "--db", db); err != nil {
		t.Fatalf("first build: %v %s", err, stderr)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RULEATLAS_TEST_ARGS="+strings.Join([]string{"build", "--source", sigma, "--attack", "none", "--db", db}, "\x1f"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has started writing the new catalog.
	deadline := time.Now().Add(60 * time.Second)
	for {
		tmp, _ := filepath.Glob(filepath.Join(dir, ".c.db.build-*"))
		if len(tmp) > 0 {
			if st, err := os.Stat(tmp[0]); err == nil && st.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the build never started writing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the killed build changed the catalog file")
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Rule("11111111-1111-4111-8111-111111111111"); err != nil {
		t.Errorf("previous catalog lost its rule: %v", err)
	}
}

func TestShowRuleFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.yml")
	writeFiles(t, filepath.Dir(p), map[string][]byte{"r.yml": []byte(goodRule)})
	out, stderr, err := runCmd(t, "show", p, "--db", filepath.Join(t.TempDir(), "none.db"))
	if err != nil {
		t.Fatalf("show: %v %s", err, stderr)
	}
	for _, want := range []string{"Detection rules › Sigma", "Good Rule", "AWS-iam | CreateUser", "Stage 1: selection (selection)", "eventName", "not from a catalog"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"show"}, {"build", "stray"}} {
		_, _, err := runCmd(t, args...)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

func TestShowRuleFileFromTheCatalog(t *testing.T) {
	db := corpusCatalog(t)
	p := testcorpora.Path(t, "suzaku-rules", "suzaku", "aws", "cloudtrail", "aws_cloudtrail_attempt_to_create_iam_user.yml")
	out, stderr, err := runCmd(t, "show", p, "--db", db)
	if err != nil {
		t.Fatalf("show: %v %s", err, stderr)
	}
	for _, want := range []string{"T1136.003 Create Account: Cloud Account", "IAM User Created (Sigma)", "CreateUser ("} {
		if !strings.Contains(out, want) {
			t.Errorf("show of a catalogued file lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not from a catalog") {
		t.Errorf("a catalogued rule is shown as parsed only")
	}
}
