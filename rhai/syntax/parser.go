package syntax

import (
	"fmt"
	"strconv"
)

// Options bounds the parser. Zero values mean Rhai's defaults.
type Options struct {
	MaxExprDepth   int // expression nesting at global level (default 64)
	MaxFnExprDepth int // expression nesting inside function bodies (default 32)
}

// hardDepthCap bounds nesting whatever the options say, so that a huge limit
// can never overflow the Go stack.
const hardDepthCap = 20000

func (o Options) limits() (int, int) {
	g, f := o.MaxExprDepth, o.MaxFnExprDepth
	if g <= 0 {
		g = 64
	}
	if f <= 0 {
		f = 32
	}
	return min(g, hardDepthCap), min(f, hardDepthCap)
}

// scopeVar is a name visible at parse time; only constants matter (assigning
// to one is a parse error in Rhai).
type scopeVar struct {
	name    string
	isConst bool
}

type parser struct {
	lx   *lexer
	tok  tok    // current token
	la   [2]tok // look-ahead tokens, la[:nla] are valid
	nla  int
	name string

	maxDepth, maxFnDepth int
	limit                int // the limit in force (global or function)
	depth                int

	inFn       bool // inside a function or closure body: `this` is allowed
	inFnDef    bool // inside a `fn` body (not merely a closure)
	loops      int  // enclosing loops within the current function
	blockDepth int  // enclosing blocks within the current function (0: global level)
	scope      []scopeVar

	fns    map[string]bool // "name/arity" of defined functions
	script *Script
}

func newParser(name, src string, opts Options) *parser {
	p := &parser{lx: newLexer(name, src), name: name, fns: map[string]bool{}}
	p.maxDepth, p.maxFnDepth = opts.limits()
	p.limit = p.maxDepth
	p.tok = p.lx.next()
	return p
}

// Parse parses a whole script. The error, if any, is an *Error.
func Parse(name, src string, opts Options) (s *Script, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &Error{Kind: "InternalError", Message: fmt.Sprint("internal parser error: ", r), Source: name}
		}
	}()
	p := newParser(name, src, opts)
	p.script = &Script{Name: name}
	stmts, perr := p.parseStmtList(true)
	if perr != nil {
		return nil, perr
	}
	p.script.Stmts = stmts
	return p.script, nil
}

// ParseExpression parses a single expression (Rhai's compile_expression):
// statements, `let` and trailing `;` are not allowed.
func ParseExpression(name, src string, opts Options) (x Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			x, err = nil, &Error{Kind: "InternalError", Message: fmt.Sprint("internal parser error: ", r), Source: name}
		}
	}()
	p := newParser(name, src, opts)
	p.script = &Script{Name: name}
	e, perr := p.parseExpr()
	if perr != nil {
		return nil, perr
	}
	if p.tok.kind != EOF {
		return nil, p.unexpected(p.tok)
	}
	return e, nil
}

// ---- tokens ----

func (p *parser) next() {
	switch p.nla {
	case 0:
		p.tok = p.lx.next()
	case 1:
		p.tok, p.nla = p.la[0], 0
	default:
		p.tok, p.la[0], p.nla = p.la[0], p.la[1], 1
	}
}

// peek returns the token after the current one.
func (p *parser) peek() *tok {
	if p.nla == 0 {
		p.la[0], p.nla = p.lx.next(), 1
	}
	return &p.la[0]
}

// peek2 returns the token two after the current one.
func (p *parser) peek2() *tok {
	p.peek()
	if p.nla == 1 {
		p.la[1], p.nla = p.lx.next(), 2
	}
	return &p.la[1]
}

// ---- errors ----

func (p *parser) errAt(kind, msg string, pos Pos) *Error {
	return &Error{Kind: kind, Message: msg, Source: p.name, Pos: pos}
}

func (p *parser) badInput(sub, msg string, pos Pos) *Error {
	return &Error{Kind: "BadInput", Sub: sub, Message: msg, Source: p.name, Pos: pos}
}

// missing reports that tok was expected at the current token. A lexical error
// at that place wins, as it explains the problem better.
func (p *parser) missing(token, desc string) *Error {
	if p.tok.kind == tokError {
		return p.tok.err
	}
	return p.errAt("MissingToken", "Expecting '"+token+"' "+desc, p.tok.pos)
}

// unexpected reports a token that cannot start or continue what is parsed.
func (p *parser) unexpected(t tok) *Error {
	switch t.kind {
	case tokError:
		return t.err
	case EOF:
		return p.errAt("UnexpectedEOF", "Script is incomplete", t.pos)
	case tokReserved:
		return p.reserved(t)
	}
	return p.badInput("UnexpectedInput", "Unexpected '"+tokText(t)+"'", t.pos)
}

func (p *parser) reserved(t tok) *Error {
	if t.text != "" && isIdentStart(t.text[0]) {
		return p.errAt("Reserved", "'"+t.text+"' is a reserved keyword", t.pos)
	}
	return p.errAt("Reserved", "'"+t.text+"' is a reserved symbol", t.pos)
}

// tokText is the source form of a token for messages.
func tokText(t tok) string {
	switch t.kind {
	case IDENT, tokReserved, tokNotIn:
		return t.text
	case INT:
		return strconv.FormatInt(t.ival, 10)
	case FLOAT:
		return t.text
	case STRING, BACKTICK:
		return t.text
	case CHAR:
		return string(rune(t.ival))
	}
	return t.kind.String()
}

// ---- depth ----

// enter counts one level of nesting and fails past the limit: every recursive
// path of the parser goes through it, so the Go stack stays bounded.
func (p *parser) enter() *Error {
	p.depth++
	if p.depth > p.limit {
		return p.errAt("ExprTooDeep", "Expression exceeds maximum complexity", p.tok.pos)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// ---- scope ----

func (p *parser) declare(name string, isConst bool) {
	p.scope = append(p.scope, scopeVar{name, isConst})
}

func (p *parser) isConst(name string) bool {
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].name == name {
			return p.scope[i].isConst
		}
	}
	return false
}
