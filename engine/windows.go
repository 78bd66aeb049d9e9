package engine

import (
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Windows event logs exported to JSON (evtx_dump, Hayabusa, Chainsaw) have the shape
// {"Event": {"System": {...}, "EventData": {...}}}: System fields as elements, some with XML
// attributes under "#attributes" and text under "#text", and EventData fields by name, or, from
// exports that keep the XML's shape, as Data elements named by an attribute
// ("Data": [{"#attributes": {"Name": "Image"}, "#text": ...}]). Sigma rules name them flat:
// EventID, Channel, Provider_Name, Image, CommandLine.

func isWindows(ls rule.LogSource) bool {
	return strings.EqualFold(ls.Product, "windows")
}

// systemAttrs are System elements whose fields Sigma names Element_Attribute.
var systemAttrs = map[string]bool{
	"Provider": true, "TimeCreated": true, "Execution": true, "Security": true, "Correlation": true,
}

// windowsPaths returns where a Sigma field of a Windows rule is found.
func windowsPaths(name string) [][]string {
	var out [][]string
	if el, attr, ok := strings.Cut(name, "_"); ok && systemAttrs[el] {
		out = append(out, []string{"Event", "System", el, "#attributes", attr})
	}
	out = append(out,
		[]string{"Event", "System", name},
		[]string{"Event", "System", name, "#text"},
		[]string{"Event", "EventData", name},
		[]string{"Event", "EventData", "Data", byName, name},
		[]string{"Event", "UserData", "*", name},
	)
	// The field as a dotted path: flattened exports, or a rule naming the full path.
	out = append(out, strings.Split(name, "."))
	return out
}
