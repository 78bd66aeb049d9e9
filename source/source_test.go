package source

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ruleatlas/ruleatlas/internal/testcorpora"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"sigma=/data/sigma", Spec{"sigma", "/data/sigma"}},
		{"../shared/corpora/suzaku-rules", Spec{"suzaku-rules", "../shared/corpora/suzaku-rules"}},
		{"../shared/corpora/suzaku-rules/", Spec{"suzaku-rules", "../shared/corpora/suzaku-rules/"}},
		{"https://github.com/SigmaHQ/sigma", Spec{"sigma", "https://github.com/SigmaHQ/sigma"}},
		{"https://github.com/SigmaHQ/sigma.git", Spec{"sigma", "https://github.com/SigmaHQ/sigma.git"}},
		{"git@github.com:Yamato-Security/suzaku-rules.git", Spec{"suzaku-rules", "git@github.com:Yamato-Security/suzaku-rules.git"}},
		{"ssh://git@github.com/elastic/detection-rules.git", Spec{"detection-rules", "ssh://git@github.com/elastic/detection-rules.git"}},
		{"mine=https://github.com/a/b?x=y", Spec{"mine", "https://github.com/a/b?x=y"}},
		// The "=" is part of the URL, not a name separator.
		{"https://example.com/r.git?ref=main", Spec{"r", "https://example.com/r.git?ref=main"}},
		{"./v=2/sigma", Spec{"sigma", "./v=2/sigma"}},
		{"kql-community=/c/kql-community", Spec{"kql-community", "/c/kql-community"}},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "  ", "=/x", "sigma=", "bad name=/x", "/", "./odd=dir"} {
		if got, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestDefaults(t *testing.T) {
	want := map[string]string{
		"sigma":        "github.com/SigmaHQ/sigma",
		"suzaku-rules": "github.com/Yamato-Security/suzaku-rules",
	}
	got := map[string]string{}
	for _, sp := range Defaults() {
		if !isGitURL(sp.Location) {
			t.Errorf("default %s: %q is not a git URL", sp.Name, sp.Location)
		}
		got[sp.Name] = normaliseRepo(sp.Location)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults() repositories = %v, want %v", got, want)
	}
}

func TestKnown(t *testing.T) {
	tests := []struct{ name, repo, branch string }{
		{"sigma", "github.com/SigmaHQ/sigma", "master"},
		{"suzaku-rules", "github.com/Yamato-Security/suzaku-rules", "main"},
		{"elastic", "github.com/elastic/detection-rules", "main"},
		{"sentinel", "github.com/Azure/Azure-Sentinel", "master"},
		{"splunk", "github.com/splunk/security_content", "develop"},
		{"panther", "github.com/panther-labs/panther-analysis", "develop"},
		{"chronicle", "github.com/chronicle/detection-rules", "main"},
		{"Sentinel-Queries", "github.com/reprise99/Sentinel-Queries", "main"},
		{"Hunting-Queries-Detection-Rules", "github.com/Bert-JanP/Hunting-Queries-Detection-Rules", "main"},
	}
	for _, tt := range tests {
		repo, branch, ok := Known(tt.name)
		if !ok || repo != tt.repo || branch != tt.branch {
			t.Errorf("Known(%q) = %q, %q, %v; want %q, %q, true", tt.name, repo, branch, ok, tt.repo, tt.branch)
		}
	}
	// kql-community is several repositories, not one.
	for _, name := range []string{"kql-community", "nosuch", "Sigma"} {
		if repo, _, ok := Known(name); ok {
			t.Errorf("Known(%q) = %q, want not known", name, repo)
		}
	}
}

func TestNormaliseRepo(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/SigmaHQ/sigma", "github.com/SigmaHQ/sigma"},
		{"https://github.com/SigmaHQ/sigma.git", "github.com/SigmaHQ/sigma"},
		{"https://github.com/SigmaHQ/sigma/", "github.com/SigmaHQ/sigma"},
		{"https://user:secret@GitHub.com/SigmaHQ/sigma.git", "github.com/SigmaHQ/sigma"},
		{"http://github.com/a/b", "github.com/a/b"},
		{"git@github.com:Yamato-Security/suzaku-rules.git", "github.com/Yamato-Security/suzaku-rules"},
		{"ssh://git@github.com/elastic/detection-rules.git", "github.com/elastic/detection-rules"},
		{"ssh://git@github.com:22/elastic/detection-rules", "github.com/elastic/detection-rules"},
		{"git://github.com/a/b.git", "github.com/a/b"},
		{"https://gitlab.com/group/sub/proj.git", "gitlab.com/group/sub/proj"},
		{"file:///srv/git/sigma.git", ""},
		{"/srv/git/sigma", ""},
		{"https://github.com/onlyowner", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := normaliseRepo(tt.in); got != tt.want {
			t.Errorf("normaliseRepo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIsGitURL(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://github.com/SigmaHQ/sigma", true},
		{"git@github.com:a/b.git", true},
		{"ssh://git@host/a/b", true},
		{"file:///tmp/x", true},
		{"/srv/mirrors/sigma.git", true},
		{"../sigma.git/", true},
		{"../shared/corpora/sigma", false},
		{"C:/rules", false},
		{"rules@2024", false},
	}
	for _, tt := range tests {
		if got := isGitURL(tt.in); got != tt.want {
			t.Errorf("isGitURL(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// mkfiles writes files (slash paths) under dir.
func mkfiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func open(t *testing.T, name, loc, cache string) *Source {
	t.Helper()
	s, err := Open(context.Background(), Spec{Name: name, Location: loc}, cache)
	if err != nil {
		t.Fatalf("Open(%s=%s): %v", name, loc, err)
	}
	return s
}

func TestOpenPlainDirKnownCorpus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "suzaku-rules")
	mkfiles(t, dir, map[string]string{"suzaku/aws/cloudtrail/iam/IAM User Creation Attempt.yml": "title: x\n"})

	sp, err := ParseSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, sp.Name, sp.Location, "")
	if s.Repo != "github.com/Yamato-Security/suzaku-rules" || s.Branch != "main" || s.Commit != "" {
		t.Fatalf("got repo %q branch %q commit %q", s.Repo, s.Branch, s.Commit)
	}
	if s.Dir != dir {
		t.Errorf("Dir = %q, want %q", s.Dir, dir)
	}
	got := s.URL("suzaku/aws/cloudtrail/iam/IAM User Creation Attempt.yml", 7)
	want := "https://github.com/Yamato-Security/suzaku-rules/blob/main/suzaku/aws/cloudtrail/iam/IAM%20User%20Creation%20Attempt.yml#L7"
	if got != want {
		t.Errorf("URL = %q\nwant  %q", got, want)
	}
	if c := s.CommitFor("suzaku/aws/cloudtrail/iam/IAM User Creation Attempt.yml"); c != "" {
		t.Errorf("CommitFor = %q, want empty for a plain directory", c)
	}
}

func TestOpenExplicitNameWins(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my-copy")
	mkfiles(t, dir, map[string]string{"Detections/AzureActivity/a.yaml": "x"})
	s := open(t, "sentinel", dir, "")
	if s.Repo != "github.com/Azure/Azure-Sentinel" || s.Branch != "master" {
		t.Errorf("explicit name: got repo %q branch %q", s.Repo, s.Branch)
	}
	u := open(t, "my-copy", dir, "")
	if u.Repo != "" || u.URL("Detections/AzureActivity/a.yaml", 1) != "" {
		t.Errorf("unknown corpus: repo %q, URL %q; want both empty", u.Repo, u.URL("Detections/AzureActivity/a.yaml", 1))
	}
}

func TestOpenNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "rules.yml")
	mkfiles(t, filepath.Dir(f), map[string]string{"rules.yml": "x"})
	if _, err := Open(context.Background(), Spec{"x", f}, ""); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Open(file) error = %v, want not a directory", err)
	}
	if _, err := Open(context.Background(), Spec{"x", f + ".missing"}, ""); err == nil || !strings.Contains(err.Error(), "source x") {
		t.Errorf("Open(missing) error = %v, want one naming the source", err)
	}
}

func TestURL(t *testing.T) {
	s := &Source{Name: "sentinel", Repo: "github.com/Azure/Azure-Sentinel", Branch: "master"}
	rel := "Hunting Queries/Azure Activity/Rare op #1 ?50%.yaml"
	tests := []struct {
		commit string
		line   int
		want   string
	}{
		{"", 0, "https://github.com/Azure/Azure-Sentinel/blob/master/Hunting%20Queries/Azure%20Activity/Rare%20op%20%231%20%3F50%25.yaml"},
		{"", 12, "https://github.com/Azure/Azure-Sentinel/blob/master/Hunting%20Queries/Azure%20Activity/Rare%20op%20%231%20%3F50%25.yaml#L12"},
		{"b18c9279bfc5", 3, "https://github.com/Azure/Azure-Sentinel/blob/b18c9279bfc5/Hunting%20Queries/Azure%20Activity/Rare%20op%20%231%20%3F50%25.yaml#L3"},
	}
	for _, tt := range tests {
		s.Commit = tt.commit
		if got := s.URL(rel, tt.line); got != tt.want {
			t.Errorf("URL(commit %q, line %d) = %q\nwant %q", tt.commit, tt.line, got, tt.want)
		}
	}

	// No branch and no commit: HEAD, which the host resolves to the default branch.
	h := &Source{Repo: "github.com/a/b"}
	if got, want := h.URL("x.yml", 0), "https://github.com/a/b/blob/HEAD/x.yml"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	// A branch with a slash keeps it as a path separator.
	f := &Source{Repo: "github.com/a/b", Branch: "feature/new rules"}
	if got, want := f.URL("x.yml", 0), "https://github.com/a/b/blob/feature/new%20rules/x.yml"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	g := &Source{Repo: "gitlab.com/g/p", Branch: "main"}
	if got, want := g.URL("r/x.yml", 2), "https://gitlab.com/g/p/-/blob/main/r/x.yml#L2"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got := (&Source{Repo: "git.example.org/a/b"}).URL("x.yml", 0); got != "" {
		t.Errorf("URL on an unknown host = %q, want empty", got)
	}
}

func TestKQLCommunitySubRepositories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kql-community")
	mkfiles(t, dir, map[string]string{
		"Sentinel-Queries/Azure Active Directory/Identity-Legacy.kql": "SigninLogs",
		"Hunting-Queries-Detection-Rules/Defender For Endpoint/x.md":  "# x",
		"README.md": "top",
	})
	s := open(t, "kql-community", dir, "")
	tests := []struct{ rel, repo, url string }{
		{"Sentinel-Queries/Azure Active Directory/Identity-Legacy.kql", "github.com/reprise99/Sentinel-Queries",
			"https://github.com/reprise99/Sentinel-Queries/blob/main/Azure%20Active%20Directory/Identity-Legacy.kql#L4"},
		{"Hunting-Queries-Detection-Rules/Defender For Endpoint/x.md", "github.com/Bert-JanP/Hunting-Queries-Detection-Rules",
			"https://github.com/Bert-JanP/Hunting-Queries-Detection-Rules/blob/main/Defender%20For%20Endpoint/x.md#L4"},
		{"README.md", "", ""},
	}
	for _, tt := range tests {
		if got := s.RepoFor(tt.rel); got != tt.repo {
			t.Errorf("RepoFor(%q) = %q, want %q", tt.rel, got, tt.repo)
		}
		if got := s.URL(tt.rel, 4); got != tt.url {
			t.Errorf("URL(%q) = %q\nwant %q", tt.rel, got, tt.url)
		}
	}
	// The sub-repositories are also known on their own, by base name.
	sq := open(t, "Sentinel-Queries", filepath.Join(dir, "Sentinel-Queries"), "")
	if got, want := sq.URL("Azure Active Directory/Identity-Legacy.kql", 0),
		"https://github.com/reprise99/Sentinel-Queries/blob/main/Azure%20Active%20Directory/Identity-Legacy.kql"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "corpus")
	mkfiles(t, dir, map[string]string{
		"top.yml":                   "a",
		"a/b.yml":                   "b",
		"a-b/c.yml":                 "c",
		"a/deep/er/d.toml":          "d",
		".git/config":               "[core]",
		".git/objects/ab/cdef":      "obj",
		".github/workflows/ci.yml":  "ci",
		"rules/.hidden/x.yml":       "h",
		"rules/.yamllint":           "lint",
		"Hunting Queries/q 1.yaml":  "q",
		"../outside/secret.yml":     "s",
		"../outside/dir/inside.yml": "s",
	})
	// A link inside the corpus counts; links leading out of it, or to directories, do not.
	links := map[string]string{
		"a/link.yml":      filepath.Join(dir, "top.yml"),
		"escape.yml":      filepath.Join(root, "outside", "secret.yml"),
		"escapedir":       filepath.Join(root, "outside", "dir"),
		"loop":            dir,
		"dangling.yml":    filepath.Join(dir, "nothing.yml"),
		"rel-escape.yml":  "../outside/secret.yml",
		"a/rel-ok.yml":    "../top.yml",
		"a/rel-up-in.yml": "../../corpus/a/b.yml",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	s := open(t, "corpus", dir, "")
	files, err := s.Files()
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range files {
		rels = append(rels, f.Rel)
		if f.Abs != filepath.Join(dir, filepath.FromSlash(f.Rel)) {
			t.Errorf("%s: Abs = %q", f.Rel, f.Abs)
		}
	}
	want := []string{
		"Hunting Queries/q 1.yaml",
		"a-b/c.yml",
		"a/b.yml",
		"a/deep/er/d.toml",
		"a/link.yml",
		"a/rel-ok.yml",
		"a/rel-up-in.yml",
		"rules/.yamllint",
		"top.yml",
	}
	if !reflect.DeepEqual(rels, want) {
		t.Errorf("Files() =\n%q\nwant\n%q", rels, want)
	}
}

// The shared corpora are plain copies: each folder must link to its upstream.
func TestOpenSharedCorpora(t *testing.T) {
	dir := testcorpora.Path(t, "suzaku-rules")
	sp, err := ParseSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, sp.Name, sp.Location, "")
	if s.Repo != "github.com/Yamato-Security/suzaku-rules" {
		t.Fatalf("Repo = %q", s.Repo)
	}
	files, err := s.Files()
	if err != nil {
		t.Fatal(err)
	}
	var yml int
	for _, f := range files {
		if strings.HasPrefix(f.Rel, ".") || strings.Contains(f.Rel, "/.") {
			t.Errorf("hidden path listed: %s", f.Rel)
		}
		if strings.HasSuffix(f.Rel, ".yml") {
			yml++
		}
		if strings.HasPrefix(f.Rel, "suzaku/aws/") {
			u := s.URL(f.Rel, 0)
			if !strings.HasPrefix(u, "https://github.com/Yamato-Security/suzaku-rules/blob/main/suzaku/aws/") || strings.Contains(u, " ") {
				t.Errorf("URL(%s) = %q", f.Rel, u)
			}
		}
	}
	// The manifest counts 962 rules; allow the snapshot to grow.
	if yml < 900 {
		t.Errorf("%d .yml files, want at least 900", yml)
	}
}

func TestFilesThroughLinkedRoot(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	mkfiles(t, real, map[string]string{"x/a.yml": "a"})
	link := filepath.Join(root, "sigma")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	s := open(t, "sigma", link, "")
	files, err := s.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Rel != "x/a.yml" || files[0].Abs != filepath.Join(link, "x", "a.yml") {
		t.Errorf("Files() = %+v, want x/a.yml under %s", files, link)
	}
}

func TestRedact(t *testing.T) {
	got := redact("https://bot:s3cret@github.com/SigmaHQ/sigma.git")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "github.com/SigmaHQ/sigma.git") {
		t.Errorf("redact = %q", got)
	}
	if got := redact("git@github.com:a/b.git"); got != "git@github.com:a/b.git" {
		t.Errorf("redact(scp form) = %q", got)
	}
}
