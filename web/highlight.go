package web

import (
	"path"
	"strings"

	"github.com/ruleatlas/ruleatlas/rule"
)

// token is a run of source text with a highlighting class ("" for plain text). The template
// renders each as a span; concatenating the texts gives back the input exactly.
type token struct {
	Class string
	Text  string
}

// Token classes, used as CSS classes "t-<class>".
const (
	tKey     = "k"  // a mapping key, a TOML key
	tString  = "s"  // a quoted or block string
	tNumber  = "n"  // a number or date
	tBool    = "b"  // true, false, null
	tComment = "c"  // a comment
	tPunct   = "p"  // punctuation and operators
	tKeyword = "kw" // a query-language keyword
	tFunc    = "f"  // a function call name
	tHeader  = "h"  // a TOML table header
)

// bodyLanguage names the file format of a rule's body, as the page labels it.
func bodyLanguage(r *rule.Rule) string {
	switch strings.ToLower(path.Ext(r.Source.Path)) {
	case ".yml", ".yaml":
		return "yaml"
	case ".toml":
		return "toml"
	case ".py":
		return "python"
	case ".json":
		return "json"
	case ".kql", ".csl":
		return "kusto"
	case ".spl":
		return "spl"
	}
	switch r.Platform {
	case rule.PlatformElastic:
		return "toml"
	case rule.PlatformPanther:
		return "python"
	}
	return "yaml"
}

// highlight splits text into tokens for a language: yaml, toml, json, python, or a query
// language (sigma conditions, kql, eql, esql, lucene, kusto, spl). Unknown languages give one
// plain token. Blanks join the token before them (they look the same in any colour), so the
// page has fewer spans: each costs the template several escaping calls, and a long rule body
// has thousands.
func highlight(lang, text string) []token {
	return join(text, lex(lang, text), true)
}

// tokenize is highlight without moving blanks: the lexers' classification, for tests.
func tokenize(lang, text string) []token {
	return join(text, lex(lang, text), false)
}

func lex(lang, text string) []token {
	switch lang {
	case "yaml":
		return yamlTokens(text)
	case "toml":
		return tomlTokens(text)
	}
	if cfg, ok := codeLangs[lang]; ok {
		return codeTokens(cfg, text)
	}
	return []token{{Text: text}}
}

// join merges neighbouring tokens of one class and, with blanks set, plain blanks into the
// token before them. Tokens are consecutive pieces of text, so a merged token is a slice of
// it: no copying, however long the run.
func join(text string, toks []token, blanks bool) []token {
	out := toks[:0]
	start, pos := 0, 0 // where the last output token starts, and where the next input one does
	for _, t := range toks {
		if t.Text == "" {
			continue
		}
		end := pos + len(t.Text)
		n := len(out)
		if n > 0 && (out[n-1].Class == t.Class || (blanks && t.Class == "" && isBlank(t.Text))) {
			out[n-1].Text = text[start:end]
		} else {
			start = pos
			out = append(out, token{t.Class, text[start:end]})
		}
		pos = end
	}
	return out
}

func isBlank(s string) bool {
	return strings.Trim(s, " \t\r\n") == ""
}

// yamlTokens reads YAML line by line: it knows keys, scalars, comments, list markers, flow
// punctuation and block scalars (whose indented lines are one string). It never fails: text it
// does not recognise stays plain.
func yamlTokens(text string) []token {
	var toks []token
	emit := func(class, s string) { toks = append(toks, token{class, s}) }
	block := -1 // indentation of the line that opened a block scalar, -1 outside one
	for len(text) > 0 {
		line, rest, nl := strings.Cut(text, "\n")
		text = rest
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if block >= 0 {
			if strings.TrimSpace(line) == "" || indent > block {
				if nl {
					line += "\n" // one span for the whole block
				}
				emit(tString, line)
				continue
			}
			block = -1
		}
		emit("", line[:indent])
		if yamlLine(line[indent:], indent, emit) {
			block = indent
		}
		if nl {
			emit("", "\n")
		}
	}
	return toks
}

// yamlLine tokenizes one line after its indentation and reports whether it opens a block scalar.
func yamlLine(s string, indent int, emit func(class, text string)) (blockOpened bool) {
	if s == "---" || s == "..." {
		emit(tPunct, s)
		return false
	}
	for {
		if strings.HasPrefix(s, "#") {
			emit(tComment, s)
			return false
		}
		// List markers, possibly several ("- - x").
		if s == "-" || strings.HasPrefix(s, "- ") {
			emit(tPunct, "-")
			n := 1 + len(s[1:]) - len(strings.TrimLeft(s[1:], " "))
			emit("", s[1:n])
			s = s[n:]
			continue
		}
		break
	}
	if k := yamlKeyEnd(s); k > 0 {
		emit(tKey, s[:k])
		emit(tPunct, ":")
		s = s[k+1:]
		sp := len(s) - len(strings.TrimLeft(s, " \t"))
		emit("", s[:sp])
		s = s[sp:]
	}
	return yamlValue(s, emit)
}

// yamlKeyEnd returns the index of the colon ending a mapping key at the start of s, or -1.
func yamlKeyEnd(s string) int {
	if s == "" {
		return -1
	}
	if s[0] == '"' || s[0] == '\'' {
		end := quoteEnd(s, s[0])
		if end < len(s) && s[end] == ':' && (end+1 == len(s) || s[end+1] == ' ' || s[end+1] == '\t') {
			return end
		}
		return -1
	}
	switch s[0] {
	case '[', '{', '#', '|', '>', '&', '*', '!', '%', '@', '`':
		return -1
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			if i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t' {
				return i
			}
		case '#':
			if i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
				return -1
			}
		}
	}
	return -1
}

// quoteEnd returns the index just past the closing quote of the string starting at s[0], or
// len(s) when it does not close on this line. YAML single quotes escape by doubling.
func quoteEnd(s string, q byte) int {
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q:
			if q == '\'' && i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

func yamlValue(s string, emit func(class, text string)) (blockOpened bool) {
	if s == "" {
		return false
	}
	if s[0] == '|' || s[0] == '>' {
		// A block scalar header: indicator, chomping and indentation digits, maybe a comment.
		n := 1
		for n < len(s) && strings.IndexByte("+-0123456789", s[n]) >= 0 {
			n++
		}
		emit(tPunct, s[:n])
		yamlFlow(s[n:], emit)
		return true
	}
	yamlFlow(s, emit)
	return false
}

// yamlFlow tokenizes scalars, flow collections and trailing comments.
func yamlFlow(s string, emit func(class, text string)) {
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == ' ' || c == '\t':
			n := len(s) - len(strings.TrimLeft(s, " \t"))
			emit("", s[:n])
			s = s[n:]
		case c == '#':
			emit(tComment, s)
			return
		case c == '"' || c == '\'':
			n := quoteEnd(s, c)
			emit(tString, s[:n])
			s = s[n:]
		case strings.IndexByte("[]{},", c) >= 0:
			emit(tPunct, s[:1])
			s = s[1:]
		case c == ':' && (len(s) == 1 || s[1] == ' '):
			emit(tPunct, s[:1])
			s = s[1:]
		default:
			// A plain scalar runs to a comment, or to flow punctuation.
			n := 0
			for n < len(s) {
				if s[n] == '#' && n > 0 && (s[n-1] == ' ' || s[n-1] == '\t') {
					break
				}
				if strings.IndexByte("[]{},", s[n]) >= 0 {
					break
				}
				n++
			}
			word := strings.TrimRight(s[:n], " \t")
			if word == "" { // only a stray character; keep moving
				word = s[:1]
			}
			emit(scalarClass(word), word)
			s = s[len(word):]
		}
	}
}

// scalarClass tells numbers and booleans from other plain scalars, which stay unstyled.
func scalarClass(w string) string {
	switch strings.ToLower(w) {
	case "true", "false", "null", "~", "yes", "no":
		return tBool
	}
	if isNumber(w) {
		return tNumber
	}
	return ""
}

func isNumber(w string) bool {
	if w == "" {
		return false
	}
	digits := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' || c == '-' || c == '+' || c == '_' || c == ':' || c == 'e' || c == 'E' || c == 'x' || c == 'T' || c == 'Z':
		default:
			return false
		}
	}
	return digits > 0 && (w[0] >= '0' && w[0] <= '9' || (len(w) > 1 && (w[0] == '-' || w[0] == '+')))
}

// tomlTokens reads TOML: table headers, keys, basic, literal and multi-line strings, numbers,
// dates, booleans, comments and punctuation (https://toml.io/en/v1.0.0).
func tomlTokens(s string) []token {
	var toks []token
	emit := func(class, t string) { toks = append(toks, token{class, t}) }
	lineStart := true
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '\n':
			emit("", "\n")
			s = s[1:]
			lineStart = true
			continue
		case c == ' ' || c == '\t' || c == '\r':
			n := len(s) - len(strings.TrimLeft(s, " \t\r"))
			emit("", s[:n])
			s = s[n:]
			continue
		case c == '#':
			n := strings.IndexByte(s, '\n')
			if n < 0 {
				n = len(s)
			}
			emit(tComment, s[:n])
			s = s[n:]
		case strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, `'''`):
			end := strings.Index(s[3:], s[:3])
			n := len(s)
			if end >= 0 {
				n = 3 + end + 3
				// A closing delimiter may be followed by up to two more quotes of the content.
				for k := 0; k < 2 && n < len(s) && s[n] == s[0]; k++ {
					n++
				}
			}
			emit(tString, s[:n])
			s = s[n:]
		case c == '"' || c == '\'':
			n := tomlStringEnd(s)
			class := tString
			if isKeyFollows(s[n:]) {
				class = tKey
			}
			emit(class, s[:n])
			s = s[n:]
		case c == '[' && lineStart:
			n := strings.IndexByte(s, '\n')
			if n < 0 {
				n = len(s)
			}
			h := s[:n]
			if i := strings.LastIndexByte(h, ']'); i >= 0 {
				h = h[:i+1]
			}
			emit(tHeader, h)
			s = s[len(h):]
		case strings.IndexByte("[]{},=.", c) >= 0:
			emit(tPunct, s[:1])
			s = s[1:]
		default:
			n := 0
			for n < len(s) && (isWordByte(s[n]) || s[n] == '-' || s[n] == ':' || s[n] == '+' || (s[n] == '.' && n > 0 && isDigit(s[0]))) {
				n++
			}
			if n == 0 {
				n = 1
			}
			w := s[:n]
			class := ""
			switch {
			case isKeyFollows(s[n:]) || (n < len(s) && s[n] == '.' && !isDigit(w[0])):
				class = tKey
			case w == "true" || w == "false" || w == "inf" || w == "nan":
				class = tBool
			case isDigit(w[0]) || ((w[0] == '-' || w[0] == '+') && len(w) > 1):
				class = tNumber
			}
			emit(class, w)
			s = s[n:]
		}
		lineStart = false
	}
	return toks
}

func tomlStringEnd(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\n':
			return i
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return len(s)
}

// isKeyFollows reports whether the rest of the line begins with optional blanks and "=".
func isKeyFollows(s string) bool {
	s = strings.TrimLeft(s, " \t")
	return strings.HasPrefix(s, "=") && !strings.HasPrefix(s, "==")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || c >= 0x80
}

// codeLang configures the generic tokenizer for a query or programming language.
type codeLang struct {
	lineComments []string
	blockComment [2]string
	tripleQuotes bool // Python """ and '''
	backticks    bool // SPL and ES|QL quote identifiers, SPL comments, with backticks
	jsonKeys     bool // a string followed by ':' is a key
	keywords     map[string]bool
}

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// codeLangs holds the languages the generic tokenizer knows; keywords are lower case and
// matched case-insensitively, as the query languages themselves do.
var codeLangs = map[string]codeLang{
	"sigma":  {keywords: words("and or not of all them 1 near by")},
	"kql":    {keywords: words("and or not")},
	"lucene": {keywords: words("and or not to")},
	"eql": {lineComments: []string{"//"}, blockComment: [2]string{"/*", "*/"},
		keywords: words("sequence sample by with maxspan where and or not any until in like regex runs true false null of join")},
	"esql": {lineComments: []string{"//"}, blockComment: [2]string{"/*", "*/"}, backticks: true,
		keywords: words("from where eval stats keep drop rename sort limit by and or not like rlike in is null metadata as asc desc nulls first last dissect grok enrich mv_expand lookup join on with true false")},
	"kusto": {lineComments: []string{"//"},
		keywords: words("let where project extend summarize by join kind on union mv-expand mv_expand parse parse-where evaluate and or not has has_any has_all has_cs contains contains_cs startswith endswith matches regex in between ago bin count dcount distinct top sort order asc desc limit take render lookup inner leftouter rightouter fullouter leftanti leftsemi innerunique project-away project-rename project-reorder make-series range datatable materialize invoke as with isnotempty isempty isnull isnotnull iff case true false null tostring toint todynamic now dynamic")},
	"spl": {backticks: true,
		keywords: words("search where eval stats tstats by as table fields rename rex from datamodel count dc values and or not in like lookup inputlookup outputlookup join sort head tail dedup bin bucket span fillnull transaction streamstats eventstats makemv mvexpand spath earliest latest summariesonly nodename index sourcetype source host true false null")},
	"python": {lineComments: []string{"#"}, tripleQuotes: true,
		keywords: words("def return if elif else for while in not and or import from class true false none is lambda with as try except finally raise pass break continue yield global nonlocal assert del async await")},
	"json": {jsonKeys: true, keywords: words("true false null")},
}

// codeTokens is a small hand-written lexer shared by the query languages: comments, strings,
// numbers, keywords, function names and operator punctuation.
func codeTokens(cfg codeLang, s string) []token {
	var toks []token
	emit := func(class, t string) { toks = append(toks, token{class, t}) }
	for len(s) > 0 {
		c := s[0]
		if n := commentLen(cfg, s); n > 0 {
			emit(tComment, s[:n])
			s = s[n:]
			continue
		}
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			n := len(s) - len(strings.TrimLeft(s, " \t\n\r"))
			emit("", s[:n])
			s = s[n:]
		case cfg.tripleQuotes && (strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, `'''`)):
			n := len(s)
			if end := strings.Index(s[3:], s[:3]); end >= 0 {
				n = 3 + end + 3
			}
			emit(tString, s[:n])
			s = s[n:]
		case c == '"' || c == '\'' || (c == '`' && cfg.backticks) || (c == '@' && len(s) > 1 && (s[1] == '"' || s[1] == '\'')):
			start := 0
			if c == '@' { // Kusto verbatim string: no escapes
				start = 1
			}
			n := codeStringEnd(s[start:], c != '@') + start
			class := tString
			if cfg.jsonKeys && strings.HasPrefix(strings.TrimLeft(s[n:], " \t"), ":") {
				class = tKey
			}
			emit(class, s[:n])
			s = s[n:]
		case isDigit(c):
			n := 0
			for n < len(s) && (isWordByte(s[n]) || s[n] == '.') {
				n++
			}
			emit(tNumber, s[:n])
			s = s[n:]
		case isWordByte(c):
			n := 0
			for n < len(s) && (isWordByte(s[n]) || (s[n] == '-' && n+1 < len(s) && isWordByte(s[n+1]) && cfg.keywords[strings.ToLower(s[:n])+"-"+leadingWord(s[n+1:])])) {
				n++
			}
			w := s[:n]
			class := ""
			switch {
			case cfg.keywords[strings.ToLower(w)]:
				class = tKeyword
			case strings.HasPrefix(strings.TrimLeft(s[n:], " "), "("):
				class = tFunc
			}
			emit(class, w)
			s = s[n:]
		case strings.IndexByte("|()[]{},;:=!<>~+-*/%.?&^$\\", c) >= 0:
			emit(tPunct, s[:1])
			s = s[1:]
		default:
			emit("", s[:1])
			s = s[1:]
		}
	}
	return toks
}

// leadingWord returns the run of word bytes at the start of s, for hyphenated keywords
// such as Kusto's project-away.
func leadingWord(s string) string {
	n := 0
	for n < len(s) && isWordByte(s[n]) {
		n++
	}
	return strings.ToLower(s[:n])
}

func commentLen(cfg codeLang, s string) int {
	for _, p := range cfg.lineComments {
		if strings.HasPrefix(s, p) {
			if n := strings.IndexByte(s, '\n'); n >= 0 {
				return n
			}
			return len(s)
		}
	}
	if b := cfg.blockComment; b[0] != "" && strings.HasPrefix(s, b[0]) {
		if end := strings.Index(s[len(b[0]):], b[1]); end >= 0 {
			return len(b[0]) + end + len(b[1])
		}
		return len(s)
	}
	// SPL comments are ``` ... ```.
	if cfg.backticks && strings.HasPrefix(s, "```") {
		if end := strings.Index(s[3:], "```"); end >= 0 {
			return 3 + end + 3
		}
		return len(s)
	}
	return 0
}

func codeStringEnd(s string, escapes bool) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case escapes && s[i] == '\\':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return len(s)
}
