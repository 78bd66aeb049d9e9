// Package sigma parses Sigma rules (specification v2.1: detection rules, correlation rules and
// filters, plus the legacy v1 collections and aggregation conditions found in old corpora) into
// the normalised rule model.
package sigma

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/ruleatlas/ruleatlas/rule"
)

// Parse parses one Sigma YAML file (one or more documents) into rules. Errors are *rule.Error
// values naming file:line:col; a broken document does not hide the good ones.
func Parse(path string, data []byte) ([]*rule.Rule, []error) {
	f := &file{path: path, lines: splitLines(data)}
	var rules []*rule.Rule
	var errs []error
	var global *document // Sigma v1 `action: global`, merged into each following document
	var prev *document   // the last rule document, for `action: repeat`
	docs := 0
	for _, c := range splitDocuments(data) {
		d, err := f.decode(c)
		if d != nil || err != nil {
			docs++
		}
		if docs > maxDocuments {
			errs = append(errs, rule.Errorf(f.path, c.line, 1, "more than %d documents in one file: the rest are not read", maxDocuments))
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if d == nil { // only comments or blank lines
			continue
		}
		// Sigma v1 collections (rule specification v1, "Rule Collections"): a global document
		// is merged into every following document until a reset; repeat repeats the previous
		// document with this one's changes. None of the three is a rule of its own.
		repeated := false
		switch action := d.action(); action {
		case "":
		case "global":
			global = d.stripAction()
			continue
		case "reset":
			global = nil
			continue
		case "repeat":
			if prev == nil {
				errs = append(errs, f.errorf(d.root, `action: repeat without a previous document`))
				continue
			}
			// The body shows the global merged into the previous document, the previous
			// document's own text and this one's: the texts of the whole chain would make the
			// bodies of a long chain grow with the square of its length.
			own := d.stripAction()
			texts := append(append(slices.Clip(prev.global), prev.texts[len(prev.texts)-1]), own.texts...)
			d = merge(prev, own, texts)
			d.global = prev.global
			repeated = true
		default:
			errs = append(errs, f.errorf(d.root, "unknown action %q", action))
			continue
		}
		if global != nil && !repeated {
			d = merge(global, d, append(slices.Clip(global.texts), d.texts...))
			d.global = global.texts
		}
		prev = d
		r, derrs := f.rule(d)
		errs = append(errs, derrs...)
		if r != nil {
			rules = append(rules, r)
		}
	}
	return rules, errs
}

// file is the parsing state of one file.
type file struct {
	path  string
	lines []string // the file's lines without line terminators
}

// chunk is one YAML document's text and the 1-based line it starts at.
type chunk struct {
	text []byte
	line int
}

// document is a decoded YAML document: its root mapping and where its text came from. A merged
// document (v1 collections) keeps the texts a reader needs to see what it is made of, its own
// last; global holds those of them that come from a global document.
type document struct {
	root   *yaml.Node
	texts  []string
	global []string
	line   int
}

// maxDocuments bounds the documents read from one file: each repeat of a v1 collection is a
// rule built from a merged document, so a file of many short documents is a lot of work for
// its size, and no real collection comes near this.
const maxDocuments = 1000

// splitDocuments cuts a file at its `---` document separators (and `...` end markers) so that a
// syntax error in one document does not hide the others.
func splitDocuments(data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		l := data[i:next]
		if isMarker(l, "---") || isMarker(l, "...") {
			out = append(out, chunk{text: data[start:i], line: startLine})
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	out = append(out, chunk{text: data[start:], line: startLine})
	return out
}

// isMarker reports whether a line is a document marker, alone or followed by a comment.
func isMarker(l []byte, m string) bool {
	if !bytes.HasPrefix(l, []byte(m)) {
		return false
	}
	rest := bytes.TrimSpace(l[len(m):])
	return len(rest) == 0 || rest[0] == '#'
}

func splitLines(data []byte) []string {
	s := strings.Split(string(data), "\n")
	for i, l := range s {
		s[i] = strings.TrimSuffix(l, "\r")
	}
	return s
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblem reports whether a YAML error message comes from the library's parser,
// whose line marks it prints counted from 0, unlike its scanner's.
func yamlParserProblem(msg string) bool {
	for _, p := range []string{"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected '-' indicator", "did not find expected <document start>",
		"did not find expected key", "did not find expected node content",
		"found duplicate %TAG directive", "found duplicate %YAML directive",
		"found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// maxNodes bounds the size of a document with its aliases expanded: a few alias levels can
// otherwise stand for billions of nodes (the "billion laughs" attack).
const maxNodes = 200_000

// decode parses one document. It returns nil, nil for a document with no content.
func (f *file) decode(c chunk) (*document, error) {
	if !utf8.Valid(c.text) {
		off := 0
		for off < len(c.text) {
			r, n := utf8.DecodeRune(c.text[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		line := c.line + bytes.Count(c.text[:off], []byte("\n"))
		col := utf8.RuneCount(c.text[bytes.LastIndexByte(c.text[:off], '\n')+1:off]) + 1
		return nil, rule.Errorf(f.path, line, col, "invalid UTF-8")
	}
	if onlyDirectives(c.text) {
		// `%YAML 1.2` before the first `---` belongs to the next document and changes
		// nothing Sigma reads.
		return nil, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal(c.text, &n); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			l, _ := strconv.Atoi(m[1])
			if yamlParserProblem(m[2]) {
				l++ // the YAML library prints parser (not scanner) marks 0-based
			}
			return nil, rule.Errorf(f.path, c.line+l-1, 0, "yaml: %s", m[2])
		}
		return nil, rule.Errorf(f.path, c.line, 0, "%s", msg)
	}
	if n.Kind == 0 || len(n.Content) == 0 {
		return nil, nil
	}
	aliases := shift(&n, c.line-1)
	root := n.Content[0]
	if aliases && expandedSize(root, map[*yaml.Node]int{}, 0) > maxNodes {
		return nil, rule.Errorf(f.path, root.Line, root.Column, "yaml: document contains excessive aliasing")
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, rule.Errorf(f.path, root.Line, root.Column, "a Sigma document is a mapping, found %s", kindName(root))
	}
	return &document{root: root, texts: []string{string(c.text)}, line: c.line}, nil
}

// onlyDirectives reports whether text holds YAML directives and nothing but comments.
func onlyDirectives(text []byte) bool {
	directives := false
	for len(text) > 0 {
		l := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		l = bytes.TrimSpace(l)
		switch {
		case len(l) == 0 || l[0] == '#':
		case l[0] == '%':
			directives = true
		default:
			return false
		}
	}
	return directives
}

// shift moves node lines from the document's coordinates to the file's, and reports whether
// the document has aliases. Alias nodes point at nodes of the tree, which are shifted once.
func shift(n *yaml.Node, by int) bool {
	n.Line += by
	aliases := n.Kind == yaml.AliasNode
	for _, c := range n.Content {
		if shift(c, by) {
			aliases = true
		}
	}
	return aliases
}

// expandedSize counts the nodes of n with aliases expanded, memoised so the count itself is
// linear in the document, and stops counting past maxNodes.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		return v
	}
	if depth > 1000 {
		return maxNodes + 1
	}
	memo[n] = maxNodes + 1 // an alias cycle counts as too large
	size := 1
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		if size > maxNodes {
			break
		}
		size += expandedSize(c, memo, depth+1)
	}
	memo[n] = size
	return size
}

func (f *file) errorf(n *yaml.Node, format string, args ...any) *rule.Error {
	return rule.Errorf(f.path, n.Line, n.Column, format, args...)
}

// action returns the Sigma v1 collection action of the document, if any.
func (d *document) action() string {
	if v := lookup(d.root, "action"); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// stripAction returns the document without its action key.
func (d *document) stripAction() *document {
	root := *d.root
	root.Content = nil
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if d.root.Content[i].Value == "action" {
			continue
		}
		root.Content = append(root.Content, d.root.Content[i], d.root.Content[i+1])
	}
	return &document{root: &root, texts: d.texts, global: d.global, line: d.line}
}

// merge returns base with over merged in: mappings merge key by key, recursively; any other
// value of over replaces base's (Sigma v1 collections merge documents this way). The result
// shows texts as its body.
func merge(base, over *document, texts []string) *document {
	return &document{root: mergeNodes(base.root, over.root), texts: texts, line: over.line}
}

func mergeNodes(base, over *yaml.Node) *yaml.Node {
	base, over = deref(base), deref(over)
	if base == nil || base.Kind != yaml.MappingNode || over == nil || over.Kind != yaml.MappingNode {
		return over
	}
	out := *base
	out.Content = append([]*yaml.Node{}, base.Content...)
	out.Line, out.Column = over.Line, over.Column
	// Keys are found through an index: a search per key would cost the product of the two
	// mappings' sizes. A key written twice merges into its first occurrence.
	at := make(map[string]int, len(out.Content)/2)
	for j := 0; j+1 < len(out.Content); j += 2 {
		if _, ok := at[out.Content[j].Value]; !ok {
			at[out.Content[j].Value] = j
		}
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j, ok := at[k.Value]; ok {
			out.Content[j+1] = mergeNodes(out.Content[j+1], v)
			continue
		}
		at[k.Value] = len(out.Content)
		out.Content = append(out.Content, k, v)
	}
	return &out
}

// deref follows aliases. Sizes were bounded in decode, so following them is safe.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// lookup returns the value of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

// lookupKey returns the key node of key in mapping m, or nil.
func lookupKey(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

func pos(n *yaml.Node) rule.Pos {
	if n == nil {
		return rule.Pos{}
	}
	return rule.Pos{Line: n.Line, Col: n.Column}
}
