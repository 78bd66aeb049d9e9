package catalog

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ruleatlas/ruleatlas/attack"
)

// DefaultAttackURL is the ATT&CK Enterprise bundle used when --attack is not given.
const DefaultAttackURL = "https://raw.githubusercontent.com/mitre/cti/master/enterprise-attack/enterprise-attack.json"

// LoadAttack loads the ATT&CK bundle from a file or an http(s) URL. A downloaded bundle is
// kept in cacheDir and used when the URL cannot be reached again.
func LoadAttack(ctx context.Context, location, cacheDir string) (*attack.Matrix, error) {
	if !strings.HasPrefix(location, "http://") && !strings.HasPrefix(location, "https://") {
		m, err := attack.LoadFile(location)
		if err != nil {
			return nil, fmt.Errorf("attack bundle %s: %w", location, err)
		}
		return m, nil
	}
	cached := filepath.Join(cacheDir, "attack", filepath.Base(location))
	if err := download(ctx, location, cached); err != nil {
		if _, statErr := os.Stat(cached); statErr != nil {
			return nil, fmt.Errorf("attack bundle %s: cannot reach it (%v); pass a local copy with --attack FILE", location, err)
		}
	}
	m, err := attack.LoadFile(cached)
	if err != nil {
		return nil, fmt.Errorf("attack bundle %s: %w", cached, err)
	}
	return m, nil
}

func download(ctx context.Context, url, dst string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// CacheDir is where sources and downloads are kept when no directory is given.
func CacheDir(dir string) string {
	if dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "ruleatlas")
}
