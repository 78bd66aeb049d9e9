package attack

import (
	"sort"
	"strings"
)

// Row is one (tactic, technique) pair of a rule's ATT&CK coverage. A tactic named without any
// of its techniques gives a row with empty technique fields.
type Row struct {
	TacticID, Tactic, TechniqueID, Technique string
	// Note says how the row was resolved when it was not literal.
	Note string
}

// Resolve maps rule tags to rows of the matrix. It reads "attack.<x>" tags where x is a tactic
// short name (any of -, _ or CamelCase), a tactic ID or a technique ID, and bare tactic or
// technique IDs ("TA0003", "T1136.003") as Sentinel and Splunk write them. Group, software and
// campaign tags (attack.g0016, attack.s0002, attack.c0001) and all other tags give no rows.
//
// A technique is paired with the tactics named in the tags that it belongs to; when the tags
// name none of its tactics, with all of them. Revoked techniques are replaced by the technique
// they were revoked by. Rows are deduplicated and sorted by matrix order of tactic, then
// technique ID.
func (m *Matrix) Resolve(tags []string) []Row {
	var named []*Tactic
	var techs []string
	for _, tag := range tags {
		tactic, tech := m.parseTag(tag)
		switch {
		case tactic != nil:
			named = append(named, tactic)
		case tech != "":
			techs = append(techs, tech)
		}
	}

	var rows []Row
	used := map[string]bool{} // named tactics that got a technique
	for _, id := range techs {
		t, note := m.current(id)
		if t == nil {
			// Not in this release: keep the tag visible rather than drop it silently.
			rows = append(rows, Row{TechniqueID: id, Note: id + " is not in ATT&CK"})
			continue
		}
		if t.Deprecated && note == "" {
			note = "deprecated in ATT&CK"
		}
		var pick []string
		for _, tac := range named {
			if contains(t.Tactics, tac.ID) {
				pick = append(pick, tac.ID)
				used[tac.ID] = true
			}
		}
		if len(pick) == 0 {
			pick = t.Tactics
		}
		for _, tid := range pick {
			tac := m.tacticBy[tid]
			rows = append(rows, Row{TacticID: tac.ID, Tactic: tac.Name, TechniqueID: t.ID, Technique: t.FullName, Note: note})
		}
		if len(pick) == 0 { // a technique without tactics (some deprecated ones)
			rows = append(rows, Row{TechniqueID: t.ID, Technique: t.FullName, Note: note})
		}
	}
	for _, tac := range named {
		if !used[tac.ID] {
			rows = append(rows, Row{TacticID: tac.ID, Tactic: tac.Name})
		}
	}
	return m.sortRows(rows)
}

// parseTag returns the tactic or the upper-case technique ID a tag names, or neither.
func (m *Matrix) parseTag(tag string) (*Tactic, string) {
	s := strings.TrimSpace(tag)
	rest, prefixed := cutPrefixFold(s, "attack.")
	if isTechniqueID(rest) {
		return nil, strings.ToUpper(rest)
	}
	if isTacticID(rest) {
		return m.tacticBy[strings.ToUpper(rest)], ""
	}
	if prefixed {
		// Group, software and campaign IDs (g0016, s0002, c0001) fold to a short name no
		// tactic has, so they fall through to nil here.
		return m.tacticBy[foldTactic(rest)], ""
	}
	return nil, ""
}

// current follows revoked-by links to the technique in use, with a note when it moved.
func (m *Matrix) current(id string) (*Technique, string) {
	t := m.techniques[id]
	if t == nil || !t.Revoked {
		return t, ""
	}
	seen := map[string]bool{}
	for t.Revoked && t.ReplacedBy != "" && !seen[t.ID] {
		seen[t.ID] = true
		next := m.techniques[t.ReplacedBy]
		if next == nil {
			break
		}
		t = next
	}
	if t.Revoked {
		return t, id + " was revoked"
	}
	return t, id + " was revoked; replaced by " + t.ID
}

func (m *Matrix) sortRows(rows []Row) []Row {
	tacticPos := func(r Row) int {
		if p, ok := m.order[r.TacticID]; ok {
			return p
		}
		return len(m.order) // rows without a tactic go last
	}
	sort.SliceStable(rows, func(i, j int) bool {
		pi, pj := tacticPos(rows[i]), tacticPos(rows[j])
		if pi != pj {
			return pi < pj
		}
		return rows[i].TechniqueID < rows[j].TechniqueID
	})
	out := rows[:0]
	seen := map[[2]string]bool{}
	for _, r := range rows {
		k := [2]string{r.TacticID, r.TechniqueID}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// isTechniqueID reports whether s is T#### or T####.### in either case.
func isTechniqueID(s string) bool {
	if len(s) != 5 && len(s) != 9 || s[0] != 't' && s[0] != 'T' || !digits(s[1:5]) {
		return false
	}
	return len(s) == 5 || s[5] == '.' && digits(s[6:])
}

// isTacticID reports whether s is TA#### in either case.
func isTacticID(s string) bool {
	return len(s) == 6 && strings.EqualFold(s[:2], "ta") && digits(s[2:])
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
