package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/ruleatlas/ruleatlas/rule"
)

// ConditionError is a syntax error in a condition; Col is the 1-based column (in characters)
// within the condition text.
type ConditionError struct {
	Col int
	Msg string
}

func (e *ConditionError) Error() string { return fmt.Sprintf("col %d: %s", e.Col, e.Msg) }

// ParseCondition parses a Sigma condition (rules specification v2.1, "Condition") into an
// expression of Ref, Quantifier, And, Or and Not nodes. Positions are on line 1, columns in
// characters. Quantifier Refs are not resolved: that needs the rule's search identifiers.
// Legacy aggregations (`... | count() > 5`) are not conditions: split them off first.
//
//	or         = and { "or" and }
//	and        = not { "and" not }
//	not        = { "not" } quantifier
//	quantifier = ( "1" | "any" | "all" ) "of" ( pattern | "them" ) | primary
//	primary    = "(" or ")" | identifier
//
// Keywords are case-insensitive; identifiers are case-sensitive, as YAML keys are.
func ParseCondition(text string) (*rule.Expr, error) {
	p := &condParser{toks: lex(text)}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "expected \"and\", \"or\" or end of condition, found %s", t)
	}
	return e, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokLParen
	tokRParen
	tokOp    // a comparison of legacy aggregations: < <= > >= = == !=
	tokComma // legacy aggregation argument lists
	tokPipe
	tokBad
)

type token struct {
	kind tokKind
	text string
	col  int // 1-based, in characters
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of condition"
	}
	return strconv.Quote(t.text)
}

func (t token) is(word string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, word) }

// lex splits a condition into tokens. Identifiers are runs of anything but white space,
// parentheses, pipes, commas and comparison characters: search identifiers are YAML keys and
// may contain dots, dashes and, in patterns, `*`.
func lex(s string) []token {
	var toks []token
	col := 0
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		col = i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, token{tokLParen, "(", col})
			i++
		case r == ')':
			toks = append(toks, token{tokRParen, ")", col})
			i++
		case r == '|':
			toks = append(toks, token{tokPipe, "|", col})
			i++
		case r == ',':
			toks = append(toks, token{tokComma, ",", col})
			i++
		case r == '<' || r == '>' || r == '=' || r == '!':
			j := i + 1
			if j < len(rs) && rs[j] == '=' {
				j++
			}
			kind := tokOp
			if r == '!' && j == i+1 {
				kind = tokBad
			}
			toks = append(toks, token{kind, string(rs[i:j]), col})
			i = j
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune("()|,<>=!", rs[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, string(rs[i:j]), col})
			i = j
		}
	}
	return append(toks, token{kind: tokEOF, col: len(rs) + 1})
}

type condParser struct {
	toks  []token
	i     int
	depth int // open parentheses, bounded by maxDepth
}

func (p *condParser) peek() token { return p.toks[p.i] }

func (p *condParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *condParser) errorf(t token, format string, args ...any) error {
	return &ConditionError{Col: t.col, Msg: fmt.Sprintf(format, args...)}
}

func at(t token) rule.Pos { return rule.Pos{Line: 1, Col: t.col} }

// Precedence, least to most binding (rules specification v2.1, "Condition"): or, and, not,
// "x of", parentheses. Chains of one operator are flattened: both are associative.
func (p *condParser) or() (*rule.Expr, error) {
	first := p.peek()
	e, err := p.and()
	if err != nil {
		return nil, err
	}
	args := []*rule.Expr{e}
	for p.peek().is("or") {
		p.next()
		a, err := p.and()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if len(args) == 1 {
		return e, nil
	}
	return &rule.Expr{Op: rule.OpOr, Pos: at(first), Args: args}, nil
}

func (p *condParser) and() (*rule.Expr, error) {
	first := p.peek()
	e, err := p.not()
	if err != nil {
		return nil, err
	}
	args := []*rule.Expr{e}
	for p.peek().is("and") {
		p.next()
		a, err := p.not()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if len(args) == 1 {
		return e, nil
	}
	return &rule.Expr{Op: rule.OpAnd, Pos: at(first), Args: args}, nil
}

// maxDepth bounds nested negations and parentheses so that a hostile condition cannot exhaust
// the stack.
const maxDepth = 500

func (p *condParser) not() (*rule.Expr, error) {
	t := p.peek()
	if !t.is("not") {
		return p.quantifier()
	}
	depth := 0
	for p.peek().is("not") {
		p.next()
		if depth++; depth > maxDepth {
			return nil, p.errorf(t, "condition nested too deeply")
		}
	}
	e, err := p.quantifier()
	if err != nil {
		return nil, err
	}
	// Rebuild the chain of nots from the innermost out.
	for ; depth > 0; depth-- {
		e = &rule.Expr{Op: rule.OpNot, Pos: at(t), Args: []*rule.Expr{e}}
	}
	return e, nil
}

func (p *condParser) quantifier() (*rule.Expr, error) {
	t := p.peek()
	if t.kind == tokIdent && p.toks[p.i+1].is("of") {
		p.next()
		of := p.next()
		q := &rule.Expr{Op: rule.OpQuantifier, Pos: at(t)}
		switch {
		case t.is("all"):
			q.All = true
		case t.is("any") || t.text == "1":
			// "any of" is a synonym of "1 of" in rules and tools; the specification names 1 and all.
			q.Count = 1
		default:
			return nil, p.errorf(t, "expected \"1\", \"any\" or \"all\" before \"of\", found %s", t)
		}
		pat := p.peek()
		if pat.kind != tokIdent || isKeyword(pat.text) && !pat.is("them") {
			return nil, p.errorf(pat, "expected identifier after %q, found %s", t.text+" "+of.text, pat)
		}
		p.next()
		q.Pattern = pat.text
		return q, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*rule.Expr, error) {
	t := p.next()
	switch {
	case t.kind == tokLParen:
		if p.depth++; p.depth > maxDepth {
			return nil, p.errorf(t, "condition nested too deeply")
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		if c := p.next(); c.kind != tokRParen {
			return nil, p.errorf(c, "expected \")\" to close \"(\" at column %d, found %s", t.col, c)
		}
		return e, nil
	case t.kind == tokIdent && !isKeyword(t.text):
		if strings.Contains(t.text, "*") {
			return nil, p.errorf(t, "wildcard identifier %s outside \"1 of\" or \"all of\"", t)
		}
		return &rule.Expr{Op: rule.OpRef, Pos: at(t), Ref: t.text}, nil
	case t.kind == tokPipe:
		return nil, p.errorf(t, "unexpected \"|\": aggregations are only read after the whole condition")
	}
	return nil, p.errorf(t, "expected identifier, \"not\", \"1 of\", \"all of\" or \"(\", found %s", t)
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "of": true, "them": true}

// isKeyword reports whether a word is reserved by the condition grammar (case-insensitively).
func isKeyword(w string) bool { return keywords[strings.ToLower(w)] }
