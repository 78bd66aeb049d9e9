// Package attack reads the MITRE ATT&CK Enterprise STIX bundle into a matrix of tactics and
// techniques, and resolves rule tags (attack.persistence, attack.t1136.003) to rows of it.
package attack

import (
	"fmt"
	"sort"
	"strings"
)

// Matrix is the Enterprise ATT&CK matrix. It is immutable after Load and safe for concurrent use.
type Matrix struct {
	tactics    []*Tactic
	tacticBy   map[string]*Tactic // by ID ("TA0003") and by folded short name ("persistence")
	order      map[string]int     // tactic ID → position in the matrix
	techniques map[string]*Technique
}

// Tactic is a column of the matrix. Techniques lists its current techniques and
// sub-techniques (neither revoked nor deprecated), sorted by ID.
type Tactic struct {
	ID         string // "TA0003"
	ShortName  string // "persistence"
	Name       string // "Persistence"
	Techniques []*Technique
}

// Technique is a technique or sub-technique.
type Technique struct {
	ID   string // "T1136.003"
	Name string // "Cloud Account"
	// FullName prefixes a sub-technique's name with its parent's: "Create Account: Cloud Account".
	FullName string
	ParentID string   // "T1136" for a sub-technique, else ""
	Tactics  []string // tactic IDs, in matrix order
	Revoked  bool
	// Deprecated techniques are kept so old rules still resolve, but are not listed under tactics.
	Deprecated bool
	// ReplacedBy is the ID of the technique a revoked one was revoked by.
	ReplacedBy string
	URL        string // https://attack.mitre.org/techniques/T1136/003/
}

// Tactics returns the tactics in matrix order.
func (m *Matrix) Tactics() []*Tactic { return m.tactics }

// Techniques returns every technique of the bundle, revoked and deprecated ones included, sorted
// by ID: the rows Resolve gives can name techniques no tactic lists.
func (m *Matrix) Techniques() []*Technique {
	out := make([]*Technique, 0, len(m.techniques))
	for _, t := range m.techniques {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Technique returns the technique with the given ID, case-insensitively, or nil.
func (m *Matrix) Technique(id string) *Technique {
	return m.techniques[strings.ToUpper(strings.TrimSpace(id))]
}

// Tactic returns the tactic with the given ID ("TA0005") or short name, which may be written
// with dashes, underscores, spaces or in CamelCase ("defense-evasion", "defense_evasion",
// "DefenseEvasion", "Defense Evasion"), or nil.
func (m *Matrix) Tactic(idOrShortName string) *Tactic {
	s := strings.TrimSpace(idOrShortName)
	if t := m.tacticBy[strings.ToUpper(s)]; t != nil {
		return t
	}
	return m.tacticBy[foldTactic(s)]
}

// foldTactic reduces a tactic name to lower-case letters only, so the spellings used by Sigma
// tags, Sentinel (CamelCase) and display names compare equal.
func foldTactic(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func techniqueURL(id string) string {
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(id, ".", "/") + "/"
}

// build links the decoded objects into a Matrix.
func build(objs *objects) (*Matrix, error) {
	if len(objs.matrixTactics) == 0 {
		return nil, fmt.Errorf("attack: bundle has no x-mitre-matrix with tactic_refs")
	}
	m := &Matrix{
		tacticBy:   map[string]*Tactic{},
		order:      map[string]int{},
		techniques: map[string]*Technique{},
	}
	byShort := map[string]*Tactic{}
	for _, ref := range objs.matrixTactics {
		t := objs.tactics[ref]
		if t == nil {
			return nil, fmt.Errorf("attack: matrix names unknown tactic %s", ref)
		}
		m.order[t.ID] = len(m.tactics)
		m.tactics = append(m.tactics, t)
		m.tacticBy[t.ID] = t
		m.tacticBy[foldTactic(t.ShortName)] = t
		byShort[t.ShortName] = t
	}

	// STIX IDs of techniques, to follow revoked-by relationships.
	byStix := map[string]*Technique{}
	for _, p := range objs.patterns {
		t := &Technique{
			ID:         p.id,
			Name:       p.name,
			FullName:   p.name,
			Revoked:    p.revoked,
			Deprecated: p.deprecated,
			URL:        techniqueURL(p.id),
		}
		if i := strings.IndexByte(p.id, '.'); i > 0 {
			t.ParentID = p.id[:i]
		}
		for _, phase := range p.phases {
			if tac := byShort[phase]; tac != nil {
				t.Tactics = append(t.Tactics, tac.ID)
			}
		}
		sort.Slice(t.Tactics, func(i, j int) bool { return m.order[t.Tactics[i]] < m.order[t.Tactics[j]] })
		byStix[p.stixID] = t
		// The bundle can hold a revoked object and a current one under the same ID; the
		// current one wins.
		if old := m.techniques[t.ID]; old == nil || (old.Revoked || old.Deprecated) && !t.Revoked {
			m.techniques[t.ID] = t
		}
	}
	for src, dst := range objs.revokedBy {
		from, to := byStix[src], byStix[dst]
		if from != nil && to != nil {
			from.ReplacedBy = to.ID
		}
	}
	for _, t := range m.techniques {
		if p := m.techniques[t.ParentID]; t.ParentID != "" && p != nil {
			t.FullName = p.Name + ": " + t.Name
		}
		if t.Revoked || t.Deprecated {
			continue
		}
		for _, id := range t.Tactics {
			tac := m.tacticBy[id]
			tac.Techniques = append(tac.Techniques, t)
		}
	}
	for _, tac := range m.tactics {
		sort.Slice(tac.Techniques, func(i, j int) bool { return tac.Techniques[i].ID < tac.Techniques[j].ID })
	}
	return m, nil
}
