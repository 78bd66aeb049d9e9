package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ruleatlas/ruleatlas/store"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	st, err := s.Store().Stats()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "home", layout{Title: "Detection rules", Content: newHomeView(st)})
}

func (s *Server) rules(w http.ResponseWriter, r *http.Request) {
	q := parseListQuery(r.URL.Query())
	res, err := s.Store().Search(q.Query)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := "Detection rules"
	if q.Q != "" {
		title = q.Q + " · " + title
	}
	s.render(w, http.StatusOK, "rules", layout{Title: title, Nav: "rules", Q: q.Q, Content: newRulesView(q, res)})
}

// rulePage serves the page most requests ask for, so it is cached rendered per catalog and
// answers conditional requests without rendering at all.
func (s *Server) rulePage(w http.ResponseWriter, r *http.Request) {
	g := s.cur.Load()
	id := r.PathValue("id")
	page, err := g.cache.load(id, func() (*pageEntry, error) { return s.renderRule(g, id) })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	body, etag := page.body, page.etag
	h["Vary"] = varyValue
	if page.gz != nil && acceptsGzip(r) {
		// Each encoding is its own representation, so it has its own entity tag.
		body, etag = page.gz, page.etag[:len(page.etag)-1]+`-gz"`
		h["Content-Encoding"] = gzipValue
	}
	h["Etag"] = []string{etag}
	h["Cache-Control"] = noCacheValue // revalidate: a new build may change the page
	if r.Header.Get("If-None-Match") == etag {
		delete(h, "Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, http.StatusOK, "text/html; charset=utf-8", body)
}

var (
	varyValue = []string{"Accept-Encoding"}
	gzipValue = []string{"gzip"}
)

// acceptsGzip reports whether the request's Accept-Encoding lists gzip with a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

var noCacheValue = []string{"no-cache"}

func (s *Server) renderRule(g *generation, id string) (*pageEntry, error) {
	ru, err := g.st.Rule(id)
	if err != nil {
		return nil, err
	}
	v := newRuleView(ru)
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.putBuf(buf)
	if err := s.execute(buf, "rule", layout{Title: v.Title, Nav: "rules", Content: v}); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression) // a valid level never fails
	zw.Write(buf.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &pageEntry{body: bytes.Clone(buf.Bytes()), gz: gz.Bytes(), etag: `"` + g.tag + "-" + strconv.FormatUint(h.Sum64(), 36) + `"`}, nil
}

func (s *Server) attack(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store().Matrix()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "attack", layout{Title: "ATT&CK coverage", Nav: "attack", Content: newAttackView(m)})
}

func (s *Server) technique(w http.ResponseWriter, r *http.Request) {
	st := s.Store()
	id := strings.ToUpper(r.PathValue("technique"))
	info, err := st.TechniqueInfo(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := pageParam(r)
	res, err := st.RulesForTechnique(id, page, store.DefaultPerPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &techniqueView{ID: id, Name: info.Name, MitreHref: mitreTechniqueURL(id), Rules: summaries(res.Rules)}
	if info.Parent != "" {
		parent := info.Parent
		if p, err := st.TechniqueInfo(parent); err == nil && p.Name != "" {
			parent += " " + p.Name
		}
		v.Parent = &link{parent, techniqueHref(info.Parent)}
	}
	if m, err := st.Matrix(); err == nil {
		v.Subs = subTechniques(m, id)
	}
	base := techniqueHref(id)
	v.Pager = newPager(res.Total, res.Page, res.PerPage, func(n int) string { return pageHref(base, n) })
	s.render(w, http.StatusOK, "technique", layout{Title: id + " " + info.Name, Nav: "attack", Content: v})
}

// subTechniques finds a technique's sub-techniques and their counts in the matrix.
func subTechniques(m []store.MatrixTactic, id string) []techniqueCell {
	for _, t := range m {
		for _, tech := range t.Techniques {
			if tech.ID != id {
				continue
			}
			var out []techniqueCell
			for _, sub := range tech.Subs {
				out = append(out, techniqueCell{ID: sub.ID, Name: strings.TrimPrefix(sub.Name, tech.Name+": "), Href: techniqueHref(sub.ID), Rules: sub.Rules})
			}
			return out
		}
	}
	return nil
}

func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	st := s.Store()
	provider, event := r.PathValue("provider"), r.PathValue("event")
	title, err := st.EventTitle(provider, event)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := st.RulesForEvent(provider, event, pageParam(r), store.DefaultPerPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &eventView{Provider: provider, Event: event, Title: title, Rules: summaries(res.Rules)}
	base := eventHref(provider, event)
	v.Pager = newPager(res.Total, res.Page, res.PerPage, func(n int) string { return pageHref(base, n) })
	heading := provider + " / " + event
	s.render(w, http.StatusOK, "event", layout{Title: heading, Content: v})
}

func pageParam(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	return max(1, min(n, 100_000))
}

func pageHref(base string, n int) string {
	if n <= 1 {
		return base
	}
	return base + "?" + url.Values{"page": {strconv.Itoa(n)}}.Encode()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	st, err := s.Store().Stats()
	if err != nil {
		s.writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "error", "error": err.Error()})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
		Rules  int    `json:"rules"`
		Built  string `json:"built,omitempty"`
	}{"ok", st.Rules, builtString(st)})
}

func builtString(st *store.Stats) string {
	if st.Built.IsZero() {
		return ""
	}
	return st.Built.UTC().Format("2006-01-02T15:04:05Z")
}

// apiRule returns the stored document as is: it is the model's JSON, the API contract.
func (s *Server) apiRule(w http.ResponseWriter, r *http.Request) {
	doc, err := s.Store().RuleJSON(r.PathValue("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.writeJSON(w, http.StatusNotFound, map[string]string{"error": "no rule with this id"})
			return
		}
		s.log.Error("api rule", "err", err)
		s.writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "catalog read failed"})
		return
	}
	writeBody(w, http.StatusOK, "application/json; charset=utf-8", json.RawMessage(doc))
}

func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	q := parseListQuery(r.URL.Query())
	res, err := s.Store().Search(q.Query)
	if err != nil {
		s.log.Error("api search", "err", err)
		s.writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "search failed"})
		return
	}
	s.writeJSON(w, http.StatusOK, res)
}
