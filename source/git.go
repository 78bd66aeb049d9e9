package source

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// openGit clones spec's repository into dir, or updates the clone already there.
func openGit(ctx context.Context, spec Spec, dir string) (*Source, error) {
	loc := spec.Location
	if !strings.Contains(loc, "://") && !isSCPLike(loc) {
		// A relative path would be resolved against wherever git runs, not here.
		if abs, err := filepath.Abs(loc); err == nil {
			loc = abs
		}
	}

	var warning string
	r, err := git.PlainOpen(dir)
	switch {
	case err == nil && originURL(r) == loc:
		ferr := fetch(ctx, r)
		switch {
		case ferr == nil:
			if err := resetToFetched(r); err != nil {
				return nil, fmt.Errorf("source %s: updating %s: %w", spec.Name, dir, err)
			}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("source %s: %w", spec.Name, ctx.Err())
		case errors.Is(ferr, git.NoMatchingRefSpecError{}):
			// The branch we follow is gone upstream (renamed default branch): start over.
			if r, err = clone(ctx, loc, dir); err != nil {
				return nil, unreachable(spec, err)
			}
		default:
			// Offline is normal on a plane: yesterday's rules beat no rules.
			warning = fmt.Sprintf("source %s (%s): cannot reach it (%v); using the cached clone in %s",
				spec.Name, redact(spec.Location), ferr, dir)
		}
	case err == nil || errors.Is(err, git.ErrRepositoryNotExists):
		// No clone yet, or a clone of another URL under the same name.
		if r, err = clone(ctx, loc, dir); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("source %s: %w", spec.Name, ctx.Err())
			}
			return nil, unreachable(spec, err)
		}
	default:
		return nil, fmt.Errorf("source %s: cached clone %s: %w", spec.Name, dir, err)
	}

	s := &Source{Name: spec.Name, Dir: dir, Repo: normaliseRepo(spec.Location), Warning: warning}
	if s.Repo == "" {
		// A file:// or path clone is usually a mirror of a known corpus.
		s.Repo, _, _ = Known(spec.Name)
	}
	head, err := r.Head()
	if err != nil {
		return nil, fmt.Errorf("source %s: %s has no HEAD: %w", spec.Name, dir, err)
	}
	s.Commit = head.Hash().String()
	if head.Name().IsBranch() {
		s.Branch = head.Name().Short()
	}
	return s, nil
}

func unreachable(spec Spec, err error) error {
	what := "cannot reach it"
	if errors.Is(err, transport.ErrRepositoryNotFound) || errors.Is(err, transport.ErrAuthenticationRequired) {
		what = "cannot clone it"
	}
	return fmt.Errorf("source %s (%s): %s (%w); clone it yourself and pass --source %s=/path/to/checkout",
		spec.Name, redact(spec.Location), what, err, spec.Name)
}

// redact hides a password or token given in the URL, so messages can be shown and logged.
func redact(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.User == nil {
		return loc
	}
	return u.Redacted()
}

func originURL(r *git.Repository) string {
	rem, err := r.Remote("origin")
	if err != nil || len(rem.Config().URLs) == 0 {
		return ""
	}
	return rem.Config().URLs[0]
}

// clone makes a shallow clone of loc in a temporary directory beside dir and moves
// it into place only when complete, so an interrupted clone never passes for a cache.
func clone(ctx context.Context, loc, dir string) (*git.Repository, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err == nil {
		// Only replace what we made ourselves: a clone or an empty directory.
		if _, gerr := git.PlainOpen(dir); gerr != nil && !(fi.IsDir() && isEmptyDir(dir)) {
			return nil, fmt.Errorf("%s exists and is not a git clone; remove it", dir)
		}
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".clone-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	_, err = git.PlainCloneContext(ctx, tmp, false, &git.CloneOptions{
		URL:          loc,
		Depth:        1,
		SingleBranch: true,
		Tags:         git.NoTags,
	})
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return git.PlainOpen(dir)
}

func isEmptyDir(dir string) bool {
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) == 0
}

// fetch brings the remote's tip of the checked-out branch into refs/remotes/origin.
func fetch(ctx context.Context, r *git.Repository) error {
	branch, err := checkedOutBranch(r)
	if err != nil {
		return err
	}
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/remotes/origin/%s", branch, branch))
	err = r.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{spec},
		Depth:      1,
		Tags:       git.NoTags,
		Force:      true, // upstream history may be rewritten; we follow it
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// resetToFetched hard-resets the checkout to the fetched tip; the cache is ours, so
// nothing local is worth keeping, and a reset survives force-pushes a merge would not.
func resetToFetched(r *git.Repository) error {
	branch, err := checkedOutBranch(r)
	if err != nil {
		return err
	}
	ref, err := r.Reference(plumbing.NewRemoteReferenceName("origin", branch), true)
	if err != nil {
		return err
	}
	wt, err := r.Worktree()
	if err != nil {
		return err
	}
	return wt.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.HardReset})
}

func checkedOutBranch(r *git.Repository) (string, error) {
	head, err := r.Reference(plumbing.HEAD, false)
	if err != nil {
		return "", err
	}
	if head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
		return "", errors.New("HEAD is not on a branch")
	}
	return head.Target().Short(), nil
}

// checkout is what a local directory's enclosing git checkout tells about it.
type checkout struct {
	repo, commit, branch string
	prefix               string // the directory relative to the checkout root
}

func detectCheckout(dir string) (checkout, bool) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return checkout{}, false
	}
	wt, err := r.Worktree()
	if err != nil {
		return checkout{}, false
	}
	var ck checkout
	// Compare resolved paths: the checkout root comes back without symlinks
	// (e.g. /tmp on macOS) while dir may hold them.
	root, err1 := filepath.EvalSymlinks(wt.Filesystem.Root())
	d, err2 := filepath.EvalSymlinks(dir)
	if err1 != nil || err2 != nil || !within(root, d) {
		return checkout{}, false
	}
	if rel, err := filepath.Rel(root, d); err == nil && rel != "." {
		ck.prefix = filepath.ToSlash(rel)
	}
	if head, err := r.Head(); err == nil {
		ck.commit = head.Hash().String()
		if head.Name().IsBranch() {
			ck.branch = head.Name().Short()
		}
	}
	ck.repo = normaliseRepo(originURL(r))
	return ck, true
}
