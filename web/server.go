// Package web serves the catalog: HTML pages rendered on the server with html/template (they
// work without JavaScript), a JSON API, a health check and embedded static assets. It reads
// only from a store, and follows a build that renames a new catalog file into place.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ruleatlas/ruleatlas/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server. The zero value is usable.
type Options struct {
	// ReloadInterval is how often requests may check whether a build replaced the catalog
	// file; 0 means every 2 seconds, a negative value never.
	ReloadInterval time.Duration
	// PageCacheBytes bounds the cache of rendered rule pages; 0 means 128 MiB, negative disables it.
	PageCacheBytes int
	// NoPrerender turns off rendering every rule page into the cache in the background when a
	// catalog is opened (stopping when the cache is nearly full).
	NoPrerender bool
	// Logger receives errors; nil means slog.Default().
	Logger *slog.Logger
}

// Header values every response carries.
var (
	cspValue      = []string{"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}
	nosniffValue  = []string{"nosniff"}
	referrerValue = []string{"strict-origin-when-cross-origin"}
)

// Server is the http.Handler of the site.
type Server struct {
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	pages  map[string]*template.Template
	static map[string]staticFile
	css    string // URL of the stylesheet, versioned by its content

	cur        atomic.Pointer[generation]
	nextCheck  atomic.Int64 // unix nanoseconds before which no reload check runs
	reloading  atomic.Bool
	failedMu   sync.Mutex
	failedFile os.FileInfo // the last replacement that failed to open, not retried
	bufs       sync.Pool
}

// generation is one catalog being served, with what was derived from it.
type generation struct {
	st    *store.Store
	cache *pageCache
	tag   string        // identifies the catalog in ETags
	stop  chan struct{} // closed when the server moves to another catalog
}

type staticFile struct {
	body  []byte
	ctype string
	etag  string
}

// New returns the site serving st. The templates and assets are embedded, so a failure to
// parse them is a bug caught by the tests, and panics.
func New(st *store.Store, opts Options) *Server {
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = 2 * time.Second
	}
	if opts.PageCacheBytes == 0 {
		opts.PageCacheBytes = 128 << 20
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux(), static: map[string]staticFile{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	if err := s.loadStatic(); err != nil {
		panic(err)
	}
	if err := s.parseTemplates(); err != nil {
		panic(err)
	}
	s.use(s.newGeneration(st))
	s.nextCheck.Store(time.Now().Add(opts.ReloadInterval).UnixNano())
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /rules", s.rules)
	s.mux.HandleFunc("GET /rules/{id...}", s.rulePage)
	s.mux.HandleFunc("POST /rules/{id...}", s.testRule) // /rules/{id}/test
	s.mux.HandleFunc("GET /attack", s.attack)
	s.mux.HandleFunc("GET /attack/{technique}", s.technique)
	s.mux.HandleFunc("GET /events/{provider}/{event...}", s.event)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/rules", s.apiSearch)
	s.mux.HandleFunc("GET /api/rules/{id...}", s.apiRule)
	s.mux.HandleFunc("POST /api/rules/{id...}", s.apiTestRule) // /api/rules/{id}/test
	s.mux.HandleFunc("GET /static/{file}", s.staticFile)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r, "No page at this address.") })
}

// ServeHTTP serves a request from the current catalog, first switching to a newer one when a
// build has replaced the file.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.maybeReload()
	h := w.Header()
	// Defence in depth behind the template escaping: no script may run, whatever a rule says.
	// The values are shared, never modified, slices: this runs on every request.
	h["Content-Security-Policy"] = cspValue
	h["X-Content-Type-Options"] = nosniffValue
	h["Referrer-Policy"] = referrerValue
	s.mux.ServeHTTP(w, r)
}

// Store returns the catalog being served.
func (s *Server) Store() *store.Store { return s.cur.Load().st }

// Swap switches to another catalog and returns the previous one, which the caller closes
// once requests in flight are done with it.
func (s *Server) Swap(st *store.Store) *store.Store {
	return s.use(s.newGeneration(st)).st
}

// use makes g the generation requests see, stops the previous one's background work and
// starts g's, and returns the previous one.
func (s *Server) use(g *generation) *generation {
	old := s.cur.Swap(g)
	if old != nil {
		close(old.stop)
	}
	if !s.opts.NoPrerender {
		go s.prerender(g)
	}
	return old
}

// prerender fills the page cache with every rule page, one at a time, so that a page's first
// visitor does not pay for decoding and rendering it. It stops when the cache is nearly full,
// when the server moves to another catalog, or at the first error.
func (s *Server) prerender(g *generation) {
	ids, err := g.st.IDs()
	if err != nil {
		return
	}
	for _, id := range ids {
		select {
		case <-g.stop:
			return
		default:
		}
		if g.cache.nearlyFull() {
			return
		}
		if _, err := g.cache.load(id, func() (*pageEntry, error) { return s.renderRule(g, id) }); err != nil {
			return
		}
	}
}

func (s *Server) newGeneration(st *store.Store) *generation {
	g := &generation{st: st, cache: newPageCache(s.opts.PageCacheBytes), stop: make(chan struct{})}
	h := fnv.New64a()
	fmt.Fprint(h, st.Path())
	if info, err := os.Stat(st.Path()); err == nil {
		fmt.Fprint(h, info.ModTime().UnixNano(), info.Size())
	}
	if built, err := st.Meta(store.MetaBuilt); err == nil {
		fmt.Fprint(h, built)
	}
	g.tag = strconv.FormatUint(h.Sum64(), 36)
	return g
}

// Reload opens the catalog file again if a build replaced it, warms it and switches to it.
// A file that cannot be opened leaves the current catalog serving.
func (s *Server) Reload() error {
	cur := s.cur.Load().st
	if !cur.Replaced() {
		return nil
	}
	info, err := os.Stat(cur.Path())
	if err != nil {
		return nil
	}
	s.failedMu.Lock()
	failed := s.failedFile != nil && os.SameFile(info, s.failedFile) && info.ModTime().Equal(s.failedFile.ModTime())
	s.failedMu.Unlock()
	if failed {
		return nil
	}
	next, err := store.Open(cur.Path())
	if err == nil {
		if err = next.Warm(); err != nil {
			next.Close()
		}
	}
	if err != nil {
		s.failedMu.Lock()
		s.failedFile = info
		s.failedMu.Unlock()
		return fmt.Errorf("web: keeping the current catalog: %w", err)
	}
	old := s.Swap(next)
	// Requests that loaded the old catalog may still be reading it.
	time.AfterFunc(time.Minute, func() { old.Close() })
	s.log.Info("catalog reloaded", "path", cur.Path())
	return nil
}

// maybeReload runs Reload in the background at most once per interval, so requests pay one
// atomic load in the common case and never wait for a new catalog to open.
func (s *Server) maybeReload() {
	if s.opts.ReloadInterval < 0 {
		return
	}
	now := time.Now().UnixNano()
	next := s.nextCheck.Load()
	if now < next || !s.nextCheck.CompareAndSwap(next, now+int64(s.opts.ReloadInterval)) {
		return
	}
	if !s.reloading.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.reloading.Store(false)
		if err := s.Reload(); err != nil {
			s.log.Error("reload", "err", err)
		}
	}()
}

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{"css": func() string { return s.css }}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	s.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		page := path.Base(name)
		if page == "layout.html" || page == "parts.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, name)
		if err != nil {
			return fmt.Errorf("web: templates: %w", err)
		}
		s.pages[page[:len(page)-len(".html")]] = t
	}
	return nil
}

func (s *Server) loadStatic() error {
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		tag := hex.EncodeToString(sum[:8])
		name := path.Base(p)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		s.static[name] = staticFile{body: body, ctype: ctype, etag: `"` + tag + `"`}
		if name == "style.css" {
			s.css = "/static/style.css?v=" + tag
		}
		return nil
	})
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("file")]
	if !ok {
		s.notFound(w, r, "No such file.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	// Pages link assets with their content hash, so a versioned URL never changes meaning.
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.Write(f.body)
}

// layout is what every page gives the layout template.
type layout struct {
	Title   string
	Nav     string // "rules", "attack" or "": the highlighted menu entry
	Q       string // the header search box's text
	Content any
}

// render executes a page template into a pooled buffer and writes it with its length, so a
// template error becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, status int, page string, l layout) {
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.putBuf(buf)
	if err := s.execute(buf, page, l); err != nil {
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "text/html; charset=utf-8", buf.Bytes())
}

func (s *Server) execute(buf *bytes.Buffer, page string, l layout) error {
	if err := s.pages[page].ExecuteTemplate(buf, "layout.html", l); err != nil {
		s.log.Error("render", "page", page, "err", err)
		return err
	}
	return nil
}

func (s *Server) putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // a huge page's buffer is not worth keeping
		s.bufs.Put(b)
	}
}

func writeBody(w http.ResponseWriter, status int, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.putBuf(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		s.log.Error("json", "err", err)
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "application/json; charset=utf-8", buf.Bytes())
}

type errorView struct {
	Status  int
	Heading string
	Message string
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusNotFound, "error", layout{Title: "Not found", Content: errorView{404, "Not found", msg}})
}

// fail answers an error from the store: unknown things are 404s, the rest a logged 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r, "Nothing in the catalog has this name.")
		return
	}
	s.log.Error("request", "path", r.URL.Path, "err", err)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusInternalServerError, "error", layout{Title: "Error",
		Content: errorView{500, "Something went wrong", "The catalog could not be read. Try again shortly."}})
}

// pageCache keeps rendered rule pages of one catalog. When full it drops arbitrary entries (Go
// randomises map iteration) down to three quarters of its budget: cheaper than LRU bookkeeping
// on every hit, and never the whole cache at once, which would make every request render again
// at the same moment. Concurrent misses on one page wait for a single render.
type pageCache struct {
	mu      sync.RWMutex
	pages   map[string]*pageEntry
	flights map[string]*flight
	size    int
	max     int
}

type pageEntry struct {
	body []byte
	etag string
	// gz is body gzip-compressed once, when rendered: browsers ask for it, and a rule page
	// shrinks to about a third.
	gz []byte
}

// size is what the entry holds in the cache.
func (e *pageEntry) size() int { return len(e.body) + len(e.gz) }

type flight struct {
	done  chan struct{}
	entry *pageEntry
	err   error
}

func newPageCache(max int) *pageCache {
	return &pageCache{pages: map[string]*pageEntry{}, flights: map[string]*flight{}, max: max}
}

func (c *pageCache) get(key string) (*pageEntry, bool) {
	c.mu.RLock()
	e, ok := c.pages[key]
	c.mu.RUnlock()
	return e, ok
}

// load returns the cached page for key, or renders it once however many requests ask at once.
func (c *pageCache) load(key string, render func() (*pageEntry, error)) (*pageEntry, error) {
	if e, ok := c.get(key); ok {
		return e, nil
	}
	c.mu.Lock()
	if e, ok := c.pages[key]; ok {
		c.mu.Unlock()
		return e, nil
	}
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		<-f.done
		return f.entry, f.err
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	defer func() {
		c.mu.Lock()
		delete(c.flights, key)
		if f.err == nil && f.entry != nil {
			c.add(key, f.entry)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.entry, f.err = render()
	return f.entry, f.err
}

// nearlyFull reports whether more pages would start evicting others.
func (c *pageCache) nearlyFull() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.size >= c.max*9/10
}

func (c *pageCache) put(key string, e *pageEntry) {
	c.mu.Lock()
	c.add(key, e)
	c.mu.Unlock()
}

// add stores an entry; c.mu is held.
func (c *pageCache) add(key string, e *pageEntry) {
	n := e.size()
	if c.max <= 0 || n > c.max/16 {
		return
	}
	if _, ok := c.pages[key]; ok {
		return
	}
	if c.size+n > c.max {
		for k, v := range c.pages {
			delete(c.pages, k)
			c.size -= v.size()
			if c.size+n <= c.max*3/4 {
				break
			}
		}
	}
	c.pages[key] = e
	c.size += n
}
