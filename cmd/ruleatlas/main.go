// Command ruleatlas builds and serves an analysed catalog of public detection rules, and runs
// rules over logs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

const usage = `ruleatlas: a catalog of detection rules, and a hunter that runs them over logs.

Usage:
  ruleatlas build --source [NAME=]PATH_OR_URL ... [--attack FILE_OR_URL] [--db FILE] [--report FILE.json]
  ruleatlas serve [--db FILE] [--source ...] [--attack FILE_OR_URL] [--addr 127.0.0.1:8080]
  ruleatlas show ID|PATH [--db FILE] [--json]
  ruleatlas hunt --rules PATH... [--output table|csv|jsonl] LOG...

Run "ruleatlas COMMAND -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "ruleatlas:", err)
	}
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	os.Exit(1)
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "build":
		return runBuild(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "show":
		return runShow(ctx, rest, stdout, stderr)
	case "hunt":
		return runHunt(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// defaultDB is where the catalog lives when --db is not given: it can always be rebuilt from
// its sources, so it belongs in the user cache.
func defaultDB() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "ruleatlas.db"
	}
	return filepath.Join(dir, "ruleatlas", "catalog.db")
}

// newFlagSet returns a flag set that reports errors instead of exiting, so tests can drive it.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ruleatlas "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseInterspersed parses flags that may come after positional arguments, as in
// "show ID --json", which package flag alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
