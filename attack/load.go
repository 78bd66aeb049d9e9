package attack

import (
	"bufio"
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

// decode streams the bundle's objects array, one object at a time.
func decode(r io.Reader) (*objects, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	out := &objects{tactics: map[string]*Tactic{}, revokedBy: map[string]string{}}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("attack: bundle: %w", err)
		}
		if key, _ := tok.(string); key != "objects" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("attack: bundle field %v: %w", tok, err)
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			return nil, err
		}
		for i := 0; dec.More(); i++ {
			var o stixObject
			if err := dec.Decode(&o); err != nil {
				return nil, fmt.Errorf("attack: object %d: %w", i, err)
			}
			out.add(&o)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
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

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("attack: bundle: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("attack: bundle: expected %q, found %v", want, tok)
	}
	return nil
}
