package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"testing"
)

func TestRulePageGzip(t *testing.T) {
	s, _ := newTestServer(t, fixtureRules(), Options{})
	get := func(accept, ifNoneMatch string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/rules/"+userCreationID, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	plain := get("", "")
	zipped := get("br, gzip;q=0.8", "")
	if plain.Code != 200 || zipped.Code != 200 {
		t.Fatalf("status %d, %d", plain.Code, zipped.Code)
	}
	if plain.Header().Get("Content-Encoding") != "" || zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("content encodings %q, %q", plain.Header().Get("Content-Encoding"), zipped.Header().Get("Content-Encoding"))
	}
	for _, rec := range []*httptest.ResponseRecorder{plain, zipped} {
		if rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Vary = %q", rec.Header().Get("Vary"))
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Error("the gzip page is not the plain page compressed")
	}
	if zipped.Body.Len() >= plain.Body.Len()/2 {
		t.Errorf("gzip page %d bytes for %d plain", zipped.Body.Len(), plain.Body.Len())
	}
	pe, ze := plain.Header().Get("Etag"), zipped.Header().Get("Etag")
	if pe == "" || pe == ze {
		t.Fatalf("entity tags %q and %q: each encoding needs its own", pe, ze)
	}
	if rec := get("gzip", ze); rec.Code != 304 {
		t.Errorf("revalidating the gzip page: status %d", rec.Code)
	}
	if rec := get("", ze); rec.Code != 200 {
		t.Errorf("the gzip tag matched a plain request: status %d", rec.Code)
	}
	if rec := get("gzip;q=0, identity", ""); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused with q=0")
	}
}
