package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ruleatlas/ruleatlas/store"
	"github.com/ruleatlas/ruleatlas/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var b buildFlags
	b.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", rest[0])}
	}
	if _, err := os.Stat(b.db); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "no catalog at %s yet: building it\n", b.db)
		rep, err := build(ctx, b, stderr)
		if rep != nil {
			rep.Print(stderr)
		}
		if err != nil {
			return err
		}
	}
	st, err := store.Open(b.db)
	if err != nil {
		return fmt.Errorf("open catalog %s: %w", b.db, err)
	}
	if err := st.Warm(); err != nil {
		return fmt.Errorf("read catalog %s: %w", b.db, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	site := web.New(st, web.Options{Logger: log})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           site,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "serving %s on http://%s\n", b.db, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
