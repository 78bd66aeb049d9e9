// Package source lists the rule files of a corpus, a local directory or a git
// repository kept in a cache, and knows where each file lives upstream (repository,
// commit, link) so the catalog can point readers at the original.
package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Spec is a source as given on the command line: "[NAME=]PATH_OR_URL".
type Spec struct {
	Name     string
	Location string
}

// String gives the spec back in its command-line form.
func (s Spec) String() string { return s.Name + "=" + s.Location }

// ParseSpec reads "[NAME=]PATH_OR_URL"; without NAME the name is the directory's or
// repository's base name.
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Spec{}, errors.New("empty source: want [NAME=]PATH_OR_URL")
	}
	var sp Spec
	// A "=" only separates a name when what precedes it cannot be part of a path or
	// URL, so "https://host/x?a=b" and "./a=b" stay whole locations.
	if i := strings.IndexByte(s, '='); i >= 0 && !strings.ContainsAny(s[:i], `/\:`) {
		sp.Name, sp.Location = s[:i], s[i+1:]
		if !validName(sp.Name) {
			return Spec{}, fmt.Errorf("source %q: name %q: want letters, digits, '.', '_' or '-'", s, sp.Name)
		}
		if sp.Location == "" {
			return Spec{}, fmt.Errorf("source %q: no path or URL after %q", s, sp.Name+"=")
		}
		return sp, nil
	}
	sp.Location = s
	sp.Name = defaultName(s)
	if !validName(sp.Name) {
		return Spec{}, fmt.Errorf("source %q: cannot derive a name from it; pass --source NAME=%s", s, s)
	}
	return sp, nil
}

func validName(n string) bool {
	if n == "" || n == "." || n == ".." {
		return false
	}
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// defaultName is the last path element of a URL or directory, without ".git".
func defaultName(loc string) string {
	var base string
	switch {
	case isGitURL(loc) && strings.Contains(loc, "://"):
		if u, err := url.Parse(loc); err == nil {
			base = path.Base(strings.TrimRight(u.Path, "/"))
		}
	case isSCPLike(loc):
		base = path.Base(strings.TrimRight(loc[strings.IndexByte(loc, ':')+1:], "/"))
	default:
		p := loc
		if abs, err := filepath.Abs(loc); err == nil {
			p = abs
		}
		base = filepath.Base(p)
	}
	return strings.TrimSuffix(base, ".git")
}

// Defaults are the sources used when none is given: the public Sigma corpora.
func Defaults() []Spec {
	return []Spec{
		{Name: "sigma", Location: "https://github.com/SigmaHQ/sigma.git"},
		{Name: "suzaku-rules", Location: "https://github.com/Yamato-Security/suzaku-rules.git"},
	}
}

// corpus is a known public repository and its default branch.
type corpus struct {
	repo, branch string
	// subs maps a top-level folder to the repository it was taken from, for
	// collections that gather several repositories under one root.
	subs map[string]corpus
}

// known maps a source name to its public repository, so a plain copy of a corpus
// (no .git) still links to its upstream files.
var known = map[string]corpus{
	"sigma":        {repo: "github.com/SigmaHQ/sigma", branch: "master"},
	"suzaku-rules": {repo: "github.com/Yamato-Security/suzaku-rules", branch: "main"},
	"elastic":      {repo: "github.com/elastic/detection-rules", branch: "main"},
	"sentinel":     {repo: "github.com/Azure/Azure-Sentinel", branch: "master"},
	"splunk":       {repo: "github.com/splunk/security_content", branch: "develop"},
	// develop is the repository's default (working) branch; main only receives releases.
	"panther":                         {repo: "github.com/panther-labs/panther-analysis", branch: "develop"},
	"chronicle":                       {repo: "github.com/chronicle/detection-rules", branch: "main"},
	"Sentinel-Queries":                {repo: "github.com/reprise99/Sentinel-Queries", branch: "main"},
	"Hunting-Queries-Detection-Rules": {repo: "github.com/Bert-JanP/Hunting-Queries-Detection-Rules", branch: "main"},
	"kql-community": {subs: map[string]corpus{
		"Sentinel-Queries":                {repo: "github.com/reprise99/Sentinel-Queries", branch: "main"},
		"Hunting-Queries-Detection-Rules": {repo: "github.com/Bert-JanP/Hunting-Queries-Detection-Rules", branch: "main"},
	}},
}

// Known returns the public repository ("github.com/owner/name") and default branch
// of a known corpus name.
func Known(name string) (repo, branch string, ok bool) {
	c, ok := known[name]
	if !ok || c.repo == "" {
		return "", "", false
	}
	return c.repo, c.branch, true
}

// Source is an opened corpus: where its files are and where they live upstream.
type Source struct {
	Name string
	Dir  string // absolute root of the files
	Repo string // "github.com/owner/name"; empty when unknown
	// Commit is the checkout's HEAD; empty for a plain directory.
	Commit string
	Branch string
	// Warning is set when the source was usable but not as asked, e.g. a cached
	// clone used because the remote could not be reached.
	Warning string

	prefix string            // Dir relative to the repository root, slash-separated
	subs   map[string]corpus // per top-level folder repositories, see corpus.subs
}

// File is one regular file of a source.
type File struct {
	Rel string // slash path relative to the source root
	Abs string
}

// Open makes spec's files available: a git URL is cloned (or updated) under
// cacheDir/<name>, cacheDir defaulting to the user cache; a directory is used in place.
func Open(ctx context.Context, spec Spec, cacheDir string) (*Source, error) {
	if spec.Name == "" || spec.Location == "" {
		return nil, fmt.Errorf("source %q: want NAME and a path or URL", spec.String())
	}
	if isGitURL(spec.Location) {
		if cacheDir == "" {
			uc, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("source %s: no cache directory: %w", spec.Name, err)
			}
			cacheDir = filepath.Join(uc, "ruleatlas", "sources")
		}
		return openGit(ctx, spec, filepath.Join(cacheDir, cacheName(spec.Name)))
	}
	return openDir(spec)
}

// isGitURL tells a repository to clone from a directory to read in place.
func isGitURL(loc string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "git://", "file://"} {
		if strings.HasPrefix(loc, p) {
			return true
		}
	}
	return isSCPLike(loc) || strings.HasSuffix(strings.TrimRight(loc, `/\`), ".git")
}

// isSCPLike matches git's "user@host:path" form.
func isSCPLike(loc string) bool {
	at, colon := strings.IndexByte(loc, '@'), strings.IndexByte(loc, ':')
	return at > 0 && colon > at && !strings.ContainsAny(loc[:colon], `/\`)
}

// cacheName keeps a name safe as one directory element.
func cacheName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if s == "" {
		s = "_"
	}
	return s
}

func openDir(spec Spec) (*Source, error) {
	abs, err := filepath.Abs(spec.Location)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", spec.Name, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", spec.Name, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("source %s: %s is not a directory", spec.Name, abs)
	}
	s := &Source{Name: spec.Name, Dir: abs}
	if c, ok := known[spec.Name]; ok {
		s.Repo, s.Branch, s.subs = c.repo, c.branch, c.subs
	}
	ck, ok := detectCheckout(abs)
	switch {
	case !ok:
	case ck.repo != "":
		// A checkout's own remote and HEAD beat the table: it may be a fork or an
		// older snapshot, and links must show the text that was read.
		s.Repo, s.subs = ck.repo, nil
		s.Commit, s.prefix = ck.commit, ck.prefix
		if ck.branch != "" {
			s.Branch = ck.branch
		}
	case s.Repo == "" && s.subs == nil:
		// Nothing to link to, but the commit still dates what was read.
		s.Commit, s.Branch = ck.commit, ck.branch
	default:
		// A known corpus inside a checkout with no remote: that HEAD may belong to an
		// unrelated enclosing repository, so link on the corpus's default branch.
	}
	return s, nil
}

// Files lists every regular file under the source root in path order, leaving out
// .git and other hidden directories, and symbolic links that lead outside the root.
func (s *Source) Files() ([]File, error) {
	root, err := filepath.EvalSymlinks(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	var files []File
	// Walk the resolved root: WalkDir does not enter a root that is itself a link.
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// Links to directories are not followed (no loops); links to files
			// count only when the target stays inside the corpus.
			t, err := filepath.EvalSymlinks(p)
			if err != nil || !within(root, t) {
				return nil
			}
			fi, err := os.Stat(t)
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, File{Rel: filepath.ToSlash(rel), Abs: filepath.Join(s.Dir, rel)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// RepoFor is the repository holding rel; it differs from Repo only for collections
// of several repositories (kql-community).
func (s *Source) RepoFor(rel string) string {
	repo, _, _ := s.locate(rel)
	return repo
}

// CommitFor is the commit the file was read at, empty when not known.
func (s *Source) CommitFor(rel string) string {
	if _, _, sub := s.locate(rel); sub {
		// The collection's own HEAD says nothing about the repository the folder came from.
		return ""
	}
	return s.Commit
}

// URL links to the file upstream, at Commit when known, else on the default branch,
// at #L<line> when line > 0; empty when the repository is unknown.
func (s *Source) URL(rel string, line int) string {
	repo, p, sub := s.locate(rel)
	if repo == "" {
		return ""
	}
	ref := s.Commit
	if sub {
		ref = s.subs[strings.SplitN(rel, "/", 2)[0]].branch
	} else if ref == "" {
		ref = s.Branch
	}
	if ref == "" {
		ref = "HEAD" // GitHub and GitLab resolve it to the default branch
	}
	host := repo[:strings.IndexByte(repo, '/')]
	var blob string
	switch host {
	case "github.com":
		blob = "/blob/"
	case "gitlab.com":
		blob = "/-/blob/"
	default:
		return "" // no link form we can trust
	}
	u := "https://" + repo + blob + escapePath(ref) + "/" + escapePath(p)
	if line > 0 {
		u += "#L" + strconv.Itoa(line)
	}
	return u
}

// locate gives the repository of rel and rel's path within it.
func (s *Source) locate(rel string) (repo, p string, sub bool) {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if s.subs != nil {
		head, rest, ok := strings.Cut(rel, "/")
		if c, found := s.subs[head]; found && ok {
			return c.repo, rest, true
		}
	}
	if s.Repo == "" || !strings.Contains(s.Repo, "/") {
		return "", rel, false
	}
	return s.Repo, path.Join(s.prefix, rel), false
}

// escapePath escapes each segment for a URL path, keeping the slashes between them
// (Sentinel paths hold spaces).
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// normaliseRepo turns a remote URL (https, ssh, scp-like, git) into "host/owner/name";
// empty for local paths and forms it cannot read. Credentials in the URL are dropped.
func normaliseRepo(remote string) string {
	remote = strings.TrimSpace(remote)
	var host, p string
	switch {
	case isSCPLike(remote) && !strings.Contains(remote, "://"):
		i := strings.IndexByte(remote, ':')
		host, p = remote[strings.IndexByte(remote, '@')+1:i], remote[i+1:]
	case strings.Contains(remote, "://"):
		u, err := url.Parse(remote)
		if err != nil {
			return ""
		}
		switch u.Scheme {
		case "https", "http", "ssh", "git", "git+ssh", "ssh+git":
		default:
			return ""
		}
		host, p = u.Hostname(), u.Path
	default:
		return ""
	}
	host = strings.ToLower(host)
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	p = strings.Trim(p, "/")
	if host == "" || strings.Count(p, "/") < 1 {
		return ""
	}
	return host + "/" + p
}
