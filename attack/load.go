package attack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Load reads a STIX 2.0 bundle of the Enterprise domain.
func Load(r io.Reader) (*Matrix, error) {
	objs, err := decode(r)
	if err != nil {
		return nil, err
	}
	return build(objs)
}

// LoadFile reads a STIX bundle from a file.
func LoadFile(path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("attack: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// stixObject holds the few fields of a STIX object we read. Decoding into it, rather than into
// map[string]any, keeps Load fast: descriptions and references are scanned but not kept.
type stixObject struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Revoked      bool   `json:"revoked"`
	Deprecated   bool   `json:"x_mitre_deprecated"`
	ShortName    string `json:"x_mitre_shortname"`
	ExternalRefs []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
	KillChainPhases []struct {
		KillChainName string `json:"kill_chain_name"`
		PhaseName     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	TacticRefs       []string `json:"tactic_refs"`
	RelationshipType string   `json:"relationship_type"`
	SourceRef        string   `json:"source_ref"`
	TargetRef        string   `json:"target_ref"`
}

func (o *stixObject) attackID() string {
	for _, r := range o.ExternalRefs {
		if r.SourceName == "mitre-attack" {
			return r.ExternalID
		}
	}
	return ""
}

type pattern struct {
	stixID, id, name    string
	revoked, deprecated bool
	phases              []string
}

// objects is what decode keeps of a bundle.
type objects struct {
	matrixTactics []string           // tactic STIX IDs in matrix order
	tactics       map[string]*Tactic // by STIX ID
	patterns      []pattern
	revokedBy     map[string]string // STIX ID → STIX ID
}

// wanted are the quoted values that mark an object decode keeps: the types it reads and the
// relationship type it follows. Everything else (relationships of other kinds, which are 70% of
// the bundle, malware, analytics...) is stepped over without being decoded, which makes Load
// several times faster. The marker is only a filter: add checks the decoded type.
var wanted = [][]byte{[]byte(`"attack-pattern"`), []byte(`"x-mitre-tactic"`), []byte(`"x-mitre-matrix"`), []byte(`"revoked-by"`)}

// decode reads the bundle's objects array. Objects it keeps are fully decoded and checked;
// objects it skips are only checked for balanced brackets and strings.
func decode(r io.Reader) (*objects, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("attack: %w", err)
	}
	out := &objects{tactics: map[string]*Tactic{}, revokedBy: map[string]string{}}
	i, found := 0, false
	err = eachObject(data, func(obj []byte) error {
		found = true
		i++
		for _, w := range wanted {
			if bytes.Contains(obj, w) {
				var o stixObject
				if err := json.Unmarshal(obj, &o); err != nil {
					return fmt.Errorf("object %d: %w", i, err)
				}
				out.add(&o)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attack: bundle: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("attack: not a STIX bundle: no objects")
	}
	return out, nil
}

func (out *objects) add(o *stixObject) {
	switch o.Type {
	case "x-mitre-matrix":
		// Enterprise has one matrix; if a bundle had more, the first fixes the order.
		if out.matrixTactics == nil {
			out.matrixTactics = o.TacticRefs
		}
	case "x-mitre-tactic":
		out.tactics[o.ID] = &Tactic{ID: o.attackID(), ShortName: o.ShortName, Name: o.Name}
	case "attack-pattern":
		id := o.attackID()
		if id == "" {
			return
		}
		p := pattern{stixID: o.ID, id: id, name: o.Name, revoked: o.Revoked, deprecated: o.Deprecated}
		for _, k := range o.KillChainPhases {
			if k.KillChainName == "mitre-attack" {
				p.phases = append(p.phases, k.PhaseName)
			}
		}
		out.patterns = append(out.patterns, p)
	case "relationship":
		if o.RelationshipType == "revoked-by" {
			out.revokedBy[o.SourceRef] = o.TargetRef
		}
	}
}
