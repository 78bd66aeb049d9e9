package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ruleatlas/ruleatlas/format"
	"github.com/ruleatlas/ruleatlas/rule"
	"github.com/ruleatlas/ruleatlas/store"
	"github.com/ruleatlas/ruleatlas/taxonomy"
)

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("show", stderr)
	db := fs.String("db", defaultDB(), "the catalog `FILE`")
	asJSON := fs.Bool("json", false, "print the rule as the API's JSON")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"show takes one rule id or rule file path"}
	}
	rules, err := lookup(rest[0], *db)
	if err != nil {
		return err
	}
	for i, r := range rules {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout, strings.Repeat("─", 72))
		}
		writeRuleText(stdout, r)
	}
	return nil
}

// lookup finds a rule by id in the catalog, or reads a rule file given by path (every rule of
// a multi-document file). A file's rules are shown as the catalog has them when it holds their
// ids, with ATT&CK names, corpus counts and related rules; otherwise as parsed, and a note
// says what only a catalog build adds.
func lookup(arg, db string) ([]*rule.Rule, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		return lookupFile(arg, db)
	}
	st, err := store.Open(db)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w (build it with `ruleatlas build`)", db, err)
	}
	defer st.Close()
	r, err := st.Rule(arg)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("no rule %q in %s", arg, db)
		}
		return nil, err
	}
	return []*rule.Rule{r}, nil
}

func lookupFile(path, db string) ([]*rule.Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rules, errs := format.Parse(path, data)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("%s: not a rule file of a known format", path)
	}
	var st *store.Store
	if _, err := os.Stat(db); err == nil {
		if st, err = store.Open(db); err == nil {
			defer st.Close()
		}
	}
	for i, r := range rules {
		if st != nil && r.ID != "" {
			if built, err := st.Rule(r.ID); err == nil && built.Body == r.Body {
				rules[i] = built
				continue
			}
		}
		r.Source.Path = path
		taxonomy.Annotate(r)
		r.Notes = append(r.Notes, rule.Note{Stage: -1, Message: "read from the file, not from a catalog: ATT&CK names, indicators with corpus counts and related rules come with `ruleatlas build`"})
	}
	return rules, nil
}

// writeRuleText prints a rule with the sections of its page, for a terminal.
func writeRuleText(w io.Writer, r *rule.Rule) {
	fmt.Fprintf(w, "Detection rules › %s\n\n%s\n\n", r.Platform.DisplayName(), r.Title)
	fact := func(label, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-11s %s\n", label, value)
		}
	}
	fact("Id", r.ID)
	fact("Status", r.Status)
	fact("Severity", r.Severity)
	fact("Log source", logSourceText(r.LogSource))
	fact("Author", r.Author)
	fact("Source", strings.TrimSpace(r.Source.Repo+" "+r.Source.Path))
	for _, d := range r.Details {
		fact(d.Label, d.Value)
	}
	if r.Description != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(r.Description))
	}
	section := func(title string) { fmt.Fprintf(w, "\n%s\n", title) }
	section("MITRE ATT&CK coverage")
	for _, a := range r.Attack {
		fmt.Fprintf(w, "  %-22s %s %s\n", a.Tactic, a.TechniqueID, a.Technique)
	}
	section("Event coverage")
	for _, e := range r.Events {
		fmt.Fprintf(w, "  %s | %s", e.Provider, e.Event)
		if e.Title != "" {
			fmt.Fprintf(w, " | %s", e.Title)
		}
		fmt.Fprintln(w)
	}
	section("Rules detecting the same action")
	for _, s := range r.SameAction {
		fmt.Fprintf(w, "  %s (%s)\n", s.Title, s.Platform.DisplayName())
	}
	section("Rule body " + string(r.Language))
	for _, line := range strings.Split(strings.TrimRight(r.Body, "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	section("Stages and Predicates")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "  Stage %d: %s (%s)\n", s.Index, s.Name, s.Kind)
		if s.Reason != "" {
			fmt.Fprintf(w, "    not understood: %s\n", s.Reason)
		}
		for _, line := range strings.Split(s.Text, "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
	section("Indicators")
	for _, ind := range r.Indicators {
		vals := make([]string, len(ind.Values))
		for i, v := range ind.Values {
			vals[i] = fmt.Sprintf("%s (%d)", v.Value, v.Corpus)
		}
		fmt.Fprintf(w, "  %-24s %-10s %s\n", ind.Field, ind.Kind, strings.Join(vals, ", "))
	}
	if len(r.Notes) > 0 {
		section("Notes")
		for _, n := range r.Notes {
			if n.Line > 0 {
				fmt.Fprintf(w, "  line %d: %s\n", n.Line, n.Message)
			} else {
				fmt.Fprintf(w, "  %s\n", n.Message)
			}
		}
	}
}

func logSourceText(ls rule.LogSource) string {
	var parts []string
	for _, kv := range [][2]string{{"product", ls.Product}, {"category", ls.Category}, {"service", ls.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	parts = append(parts, ls.Native...)
	return strings.Join(parts, ", ")
}
