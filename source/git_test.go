package source

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// upstream is a repository made in a temporary directory to clone from.
type upstream struct {
	t   *testing.T
	dir string
	r   *git.Repository
}

func newUpstream(t *testing.T, dir string) *upstream {
	t.Helper()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &upstream{t: t, dir: dir, r: r}
}

// commit writes files and commits them, returning the commit hash.
func (u *upstream) commit(files map[string]string) string {
	u.t.Helper()
	mkfiles(u.t, u.dir, files)
	wt, err := u.r.Worktree()
	if err != nil {
		u.t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		u.t.Fatal(err)
	}
	h, err := wt.Commit("update rules", &git.CommitOptions{
		Author: &object.Signature{Name: "Rule Author", Email: "author@example.org", When: time.Now()},
	})
	if err != nil {
		u.t.Fatal(err)
	}
	return h.String()
}

func (u *upstream) setOrigin(url string) {
	u.t.Helper()
	if _, err := u.r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		u.t.Fatal(err)
	}
}

// needGit skips tests that clone from local paths: go-git serves file:// and path
// remotes through git-upload-pack, not in process.
func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed: go-git needs git-upload-pack to clone local repositories")
	}
}

func relsOf(t *testing.T, s *Source) []string {
	t.Helper()
	files, err := s.Files()
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range files {
		rels = append(rels, f.Rel)
	}
	return rels
}

func TestCloneThenPull(t *testing.T) {
	needGit(t)
	up := newUpstream(t, filepath.Join(t.TempDir(), "rules"))
	up.commit(map[string]string{"rules/a.yml": "title: a\n"})
	c1 := up.commit(map[string]string{"rules/b.yml": "title: b\n"})
	cache := t.TempDir()
	url := "file://" + filepath.ToSlash(up.dir)

	s := open(t, "my-rules", url, cache)
	if s.Commit != c1 || s.CommitFor("rules/a.yml") != c1 {
		t.Errorf("first Open: Commit = %q, CommitFor = %q, want %q", s.Commit, s.CommitFor("rules/a.yml"), c1)
	}
	if s.Dir != filepath.Join(cache, "my-rules") || s.Branch != "master" || s.Warning != "" {
		t.Errorf("first Open: Dir %q Branch %q Warning %q", s.Dir, s.Branch, s.Warning)
	}
	if got := strings.Join(relsOf(t, s), " "); got != "rules/a.yml rules/b.yml" {
		t.Errorf("Files = %s", got)
	}
	r, err := git.PlainOpen(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if shallow, err := r.Storer.Shallow(); err != nil || len(shallow) == 0 {
		t.Errorf("clone is not shallow (shallow commits %v, err %v)", shallow, err)
	}
	// A file:// remote names no public repository, so there is nothing to link to.
	if s.Repo != "" || s.URL("rules/a.yml", 1) != "" {
		t.Errorf("Repo = %q, URL = %q; want both empty", s.Repo, s.URL("rules/a.yml", 1))
	}

	c2 := up.commit(map[string]string{"rules/c.yml": "title: c\n", "rules/a.yml": "title: a2\n"})
	s = open(t, "my-rules", url, cache)
	if s.Commit != c2 || s.Warning != "" {
		t.Fatalf("second Open: Commit = %q (want %q), Warning %q", s.Commit, c2, s.Warning)
	}
	if got := strings.Join(relsOf(t, s), " "); got != "rules/a.yml rules/b.yml rules/c.yml" {
		t.Errorf("after pull Files = %s", got)
	}
	if b, err := os.ReadFile(filepath.Join(s.Dir, "rules", "a.yml")); err != nil || string(b) != "title: a2\n" {
		t.Errorf("after pull a.yml = %q, %v", b, err)
	}

	// Nothing new upstream: the same commit, no warning.
	s = open(t, "my-rules", url, cache)
	if s.Commit != c2 || s.Warning != "" {
		t.Errorf("third Open: Commit = %q (want %q), Warning %q", s.Commit, c2, s.Warning)
	}

	// Rewritten upstream history (a force-push) is followed too.
	wt, _ := up.r.Worktree()
	if err := wt.Reset(&git.ResetOptions{Commit: mustHash(t, c1), Mode: git.HardReset}); err != nil {
		t.Fatal(err)
	}
	c3 := up.commit(map[string]string{"rules/d.yml": "title: d\n"})
	s = open(t, "my-rules", url, cache)
	if s.Commit != c3 {
		t.Fatalf("after force-push: Commit = %q, want %q", s.Commit, c3)
	}
	if got := strings.Join(relsOf(t, s), " "); got != "rules/a.yml rules/b.yml rules/d.yml" {
		t.Errorf("after force-push Files = %s", got)
	}
}

func TestCloneFromPathOfKnownCorpus(t *testing.T) {
	needGit(t)
	// A local mirror given by path (ending in .git) of a known corpus links upstream.
	up := newUpstream(t, filepath.Join(t.TempDir(), "sigma.git"))
	c1 := up.commit(map[string]string{"rules/cloud/aws/x.yml": "title: x\n"})
	cache := t.TempDir()

	sp, err := ParseSpec(up.dir)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Name != "sigma" {
		t.Fatalf("ParseSpec name = %q, want sigma", sp.Name)
	}
	s := open(t, sp.Name, sp.Location, cache)
	if s.Commit != c1 || s.Repo != "github.com/SigmaHQ/sigma" {
		t.Fatalf("Commit %q Repo %q", s.Commit, s.Repo)
	}
	want := "https://github.com/SigmaHQ/sigma/blob/" + c1 + "/rules/cloud/aws/x.yml#L3"
	if got := s.URL("rules/cloud/aws/x.yml", 3); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestOfflineUsesCache(t *testing.T) {
	needGit(t)
	base := t.TempDir()
	up := newUpstream(t, filepath.Join(base, "rules.git"))
	c1 := up.commit(map[string]string{"a.yml": "title: a\n"})
	cache := t.TempDir()
	s := open(t, "rules", up.dir, cache)
	if s.Commit != c1 {
		t.Fatalf("Commit = %q, want %q", s.Commit, c1)
	}

	// The remote disappears: the cached clone is used, with a warning.
	if err := os.Rename(up.dir, filepath.Join(base, "gone")); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), Spec{"rules", up.dir}, cache)
	if err != nil {
		t.Fatalf("offline Open with a cache: %v", err)
	}
	if s.Commit != c1 {
		t.Errorf("offline Commit = %q, want cached %q", s.Commit, c1)
	}
	if !strings.Contains(s.Warning, "source rules") || !strings.Contains(s.Warning, "cannot reach it") ||
		!strings.Contains(s.Warning, s.Dir) {
		t.Errorf("Warning = %q, want it to name the source, say it cannot reach it and where the cache is", s.Warning)
	}
	if got := strings.Join(relsOf(t, s), " "); got != "a.yml" {
		t.Errorf("offline Files = %s", got)
	}
}

func TestUnreachableWithoutCache(t *testing.T) {
	cache := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Open(ctx, Spec{"sigma", "http://127.0.0.1:1/x.git"}, cache)
	if err == nil {
		t.Fatal("Open of an unreachable URL with no cache succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		"source sigma (http://127.0.0.1:1/x.git): cannot reach it (",
		"--source sigma=/path/to/checkout",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	// A failed clone leaves nothing that a later Open could take for a cache.
	if ents, _ := os.ReadDir(cache); len(ents) != 0 {
		t.Errorf("cache holds %d entries after a failed clone: %v", len(ents), ents)
	}
}

func TestRecloneWhenLocationChanges(t *testing.T) {
	needGit(t)
	a := newUpstream(t, filepath.Join(t.TempDir(), "a"))
	a.commit(map[string]string{"a.yml": "a"})
	b := newUpstream(t, filepath.Join(t.TempDir(), "b"))
	cb := b.commit(map[string]string{"b.yml": "b"})
	cache := t.TempDir()

	open(t, "rules", "file://"+a.dir, cache)
	s := open(t, "rules", "file://"+b.dir, cache)
	if s.Commit != cb {
		t.Errorf("Commit = %q, want the new location's %q", s.Commit, cb)
	}
	if got := strings.Join(relsOf(t, s), " "); got != "b.yml" {
		t.Errorf("Files = %s, want b.yml only", got)
	}
}

func TestCacheSlotNotAClone(t *testing.T) {
	needGit(t)
	up := newUpstream(t, filepath.Join(t.TempDir(), "up"))
	up.commit(map[string]string{"a.yml": "a"})
	cache := t.TempDir()
	mkfiles(t, filepath.Join(cache, "rules"), map[string]string{"notes.txt": "mine"})

	_, err := Open(context.Background(), Spec{"rules", "file://" + up.dir}, cache)
	if err == nil || !strings.Contains(err.Error(), "not a git clone") {
		t.Fatalf("error = %v, want a refusal to overwrite", err)
	}
	if b, err := os.ReadFile(filepath.Join(cache, "rules", "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("foreign file changed: %q, %v", b, err)
	}
}

func TestLocalCheckout(t *testing.T) {
	up := newUpstream(t, filepath.Join(t.TempDir(), "checkout"))
	c1 := up.commit(map[string]string{"rules/windows/proc.yml": "x", "README.md": "r"})
	up.setOrigin("git@github.com:example/detections.git")

	// A subdirectory of the checkout, named like a known corpus: the checkout's
	// origin and HEAD win over the table, and links keep the subdirectory.
	s := open(t, "sigma", filepath.Join(up.dir, "rules"), "")
	if s.Repo != "github.com/example/detections" || s.Commit != c1 || s.Branch != "master" {
		t.Fatalf("Repo %q Commit %q Branch %q", s.Repo, s.Commit, s.Branch)
	}
	if got := strings.Join(relsOf(t, s), " "); got != "windows/proc.yml" {
		t.Errorf("Files = %s", got)
	}
	want := "https://github.com/example/detections/blob/" + c1 + "/rules/windows/proc.yml#L2"
	if got := s.URL("windows/proc.yml", 2); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got := s.CommitFor("windows/proc.yml"); got != c1 {
		t.Errorf("CommitFor = %q, want %q", got, c1)
	}

	// The checkout root: .git is not listed.
	root := open(t, "detections", up.dir, "")
	if got := strings.Join(relsOf(t, root), " "); got != "README.md rules/windows/proc.yml" {
		t.Errorf("Files = %s", got)
	}
}

func TestLocalCheckoutWithoutOrigin(t *testing.T) {
	up := newUpstream(t, filepath.Join(t.TempDir(), "outer"))
	c1 := up.commit(map[string]string{"elastic/rules/a.toml": "x", "mine/a.yml": "y"})

	// A known corpus copied into some other repository: its HEAD is not the
	// corpus's, so links go to the corpus's default branch.
	s := open(t, "elastic", filepath.Join(up.dir, "elastic"), "")
	if s.Repo != "github.com/elastic/detection-rules" || s.Commit != "" || s.Branch != "main" {
		t.Errorf("known corpus: Repo %q Commit %q Branch %q", s.Repo, s.Commit, s.Branch)
	}
	if got, want := s.URL("rules/a.toml", 0), "https://github.com/elastic/detection-rules/blob/main/rules/a.toml"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	// An unknown corpus still records the commit it was read at.
	m := open(t, "mine", filepath.Join(up.dir, "mine"), "")
	if m.Repo != "" || m.Commit != c1 || m.CommitFor("a.yml") != c1 {
		t.Errorf("unknown corpus: Repo %q Commit %q", m.Repo, m.Commit)
	}
}

func mustHash(t *testing.T, s string) plumbing.Hash {
	t.Helper()
	h := plumbing.NewHash(s)
	if h.IsZero() {
		t.Fatalf("bad hash %q", s)
	}
	return h
}
