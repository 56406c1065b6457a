package syntax

import "math"

// binPrec is Rhai's binding power of binary operators (the Book's precedence
// table); 0 means "not a binary operator". Note that `|`, `^` and `&` bind
// looser than comparisons, and `<<`/`>>` tighter than `**`.
func binPrec(k Token) int {
	switch k {
	case OrOr, Pipe, Caret:
		return 30
	case AndAnd, Amp:
		return 60
	case EqEq, NotEq:
		return 90
	case KwIn, tokNotIn:
		return 110
	case Lt, Le, Gt, Ge:
		return 130
	case QuestionQuestion:
		return 135
	case DotDot, DotDotEq:
		return 140
	case Plus, Minus:
		return 150
	case Star, Slash, Percent:
		return 180
	case StarStar:
		return 190
	case Shl, Shr:
		return 210
	}
	return 0
}

// canStartRangeEnd reports whether t may begin the end of a range; when it
// cannot, the range is open (`a..`, `..`). A `{` is a block, not an operand:
// `for x in 1.. { }`.
func canStartRangeEnd(t tok) bool {
	switch t.kind {
	case INT, FLOAT, STRING, CHAR, IDENT, KwTrue, KwFalse, KwThis, KwGlobal, LParen,
		LBracket, HashBrace, KwIf, KwSwitch, KwWhile, KwLoop, KwDo, KwFor, Minus, Plus,
		Bang, Pipe, OrOr, tokReserved, tokError:
		return true
	case BACKTICK:
		return t.interp&interpCont == 0
	}
	return false
}

// parseExpr parses a full expression.
func (p *parser) parseExpr() (Expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseBinary(1)
}

// parseBinary is precedence climbing over operators binding at least minPrec.
func (p *parser) parseBinary(minPrec int) (Expr, *Error) {
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.tok
		prec := binPrec(op.kind)
		if prec == 0 {
			if op.kind == tokReserved && !isIdentStart(op.text[0]) {
				return nil, p.errAt("UnknownOperator", "Unknown operator: '"+op.text+"'", op.pos)
			}
			return lhs, nil
		}
		if prec < minPrec {
			return lhs, nil
		}
		p.next()
		next := prec + 1
		if op.kind == StarStar {
			next = prec // right-associative
		}
		if (op.kind == DotDot || op.kind == DotDotEq) && !canStartRangeEnd(p.tok) {
			// An open range `a..` runs to the largest integer.
			lhs = &BinaryExpr{Pos: op.pos, Op: op.kind, L: lhs, R: &IntLit{Pos: op.pos, Value: math.MaxInt64}}
			continue
		}
		if op.kind == QuestionQuestion {
			switch p.tok.kind {
			case KwBreak, KwContinue, KwReturn, KwThrow:
				// `x ?? break` / `x ?? return v`: a jump as the fallback.
				pos := p.tok.pos
				st, _, err := p.parseStmt()
				if err != nil {
					return nil, err
				}
				jump := &BlockExpr{Pos: pos, Stmts: []Stmt{st}, End: pos}
				lhs = &BinaryExpr{Pos: op.pos, Op: op.kind, L: lhs, R: jump}
				continue
			}
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		rhs, err := p.parseBinary(next)
		p.leave()
		if err != nil {
			return nil, err
		}
		if op.kind == tokNotIn {
			// `a !in b` is `!(a in b)`.
			lhs = &UnaryExpr{Pos: op.pos, Op: Bang, X: &BinaryExpr{Pos: op.pos, Op: KwIn, L: lhs, R: rhs}}
			continue
		}
		if op.kind == AndAnd || op.kind == OrOr {
			// A literal that can never be a bool is refused at parse time,
			// the right operand first, as Rhai does.
			for _, x := range [2]Expr{rhs, lhs} {
				if what := literalKind(x, false); what != "" {
					return nil, p.errAt("MismatchedType", "Expecting a boolean expression, not "+what, x.Position())
				}
			}
		}
		lhs = &BinaryExpr{Pos: op.pos, Op: op.kind, L: lhs, R: rhs}
	}
}

// parseUnary parses prefix operators, which bind tighter than any binary one
// (`-2 ** 2` is 4).
func (p *parser) parseUnary() (Expr, *Error) {
	t := p.tok
	switch t.kind {
	case Minus, Plus, Bang:
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		p.leave()
		if err != nil {
			return nil, err
		}
		if t.kind == Minus {
			switch v := x.(type) {
			case *IntLit:
				if v.Value != math.MinInt64 {
					return &IntLit{Pos: t.pos, Value: -v.Value}, nil
				}
			case *FloatLit:
				return &FloatLit{Pos: t.pos, Value: -v.Value}, nil
			}
		}
		return &UnaryExpr{Pos: t.pos, Op: t.kind, X: x}, nil
	case DotDot, DotDotEq:
		// A range without a start counts from zero: `..5` is `0..5`.
		p.next()
		if !canStartRangeEnd(p.tok) {
			return &BinaryExpr{Pos: t.pos, Op: t.kind, L: &IntLit{Pos: t.pos}, R: &IntLit{Pos: t.pos, Value: math.MaxInt64}}, nil
		}
		if err := p.enter(); err != nil {
			return nil, err
		}
		r, err := p.parseBinary(binPrec(DotDot) + 1)
		p.leave()
		if err != nil {
			return nil, err
		}
		return &BinaryExpr{Pos: t.pos, Op: t.kind, L: &IntLit{Pos: t.pos}, R: r}, nil
	}
	return p.parsePrimary()
}

// parsePrimary parses an operand and its postfix chain (calls, `.`, `[]`).
func (p *parser) parsePrimary() (Expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.tok
	var x Expr
	switch t.kind {
	case INT:
		p.next()
		x = &IntLit{Pos: t.pos, Value: t.ival}
	case FLOAT:
		p.next()
		x = &FloatLit{Pos: t.pos, Value: t.fval}
	case STRING:
		p.next()
		x = &StringLit{Pos: t.pos, Value: t.text}
	case CHAR:
		p.next()
		x = &CharLit{Pos: t.pos, Value: rune(t.ival)}
	case BACKTICK:
		if t.interp&interpCont != 0 {
			return nil, p.unexpected(t)
		}
		var err *Error
		if x, err = p.parseInterp(); err != nil {
			return nil, err
		}
	case KwTrue, KwFalse:
		p.next()
		x = &BoolLit{Pos: t.pos, Value: t.kind == KwTrue}
	case LParen:
		p.next()
		if p.tok.kind == RParen && p.tok.pos.Line == t.pos.Line && p.tok.pos.Col == t.pos.Col+1 {
			// Only `()` written together is the unit; `( )` is an empty
			// parenthesised expression, an error.
			p.next()
			x = &UnitLit{Pos: t.pos}
			break
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != RParen {
			return nil, p.missing(")", "for a matching ( in this expression")
		}
		p.next()
		x = e
	case LBracket:
		var err *Error
		if x, err = p.parseArray(); err != nil {
			return nil, err
		}
	case HashBrace:
		var err *Error
		if x, err = p.parseMap(); err != nil {
			return nil, err
		}
	case KwIf, KwSwitch, KwWhile, KwLoop, KwDo, KwFor, LBrace:
		// Statement-like expressions take no postfix operators.
		return p.parseStmtExpr()
	case Pipe, OrOr:
		return p.parseClosure()
	case KwThis:
		if !p.inFn {
			return nil, p.badInput("ImproperSymbol", "'this' can only be used in functions", t.pos)
		}
		p.next()
		x = &Ident{Pos: t.pos, Name: "this"}
	case IDENT, KwGlobal:
		var err *Error
		if x, err = p.parseName(); err != nil {
			return nil, err
		}
	case tokReserved:
		// Reserved words may still name functions (`exit(1)`).
		if isIdentStart(t.text[0]) && p.peek().kind == LParen {
			var err *Error
			if x, err = p.parseCall(t, nil); err != nil {
				return nil, err
			}
			break
		}
		return nil, p.reserved(t)
	default:
		return nil, p.unexpected(t)
	}
	return p.parsePostfix(x)
}

// parseName parses a variable, a namespaced path or a function call.
func (p *parser) parseName() (Expr, *Error) {
	t := p.tok
	if t.kind == IDENT {
		switch p.peek().kind {
		case LParen:
			return p.parseCall(t, nil)
		case Bang:
			if p.peek2().kind == LParen {
				return p.parseCall(t, nil)
			}
		}
		if p.peek().kind != DoubleColon {
			p.next()
			return &Ident{Pos: t.pos, Name: t.text}, nil
		}
	} else if p.peek().kind != DoubleColon {
		// `global` alone.
		return nil, p.errAt("MissingToken", "Expecting '::' after 'global'", p.peek().pos)
	}
	// A path: ns::ns::name
	var ns []string
	for {
		ns = append(ns, p.tok.text)
		p.next() // the name
		p.next() // ::
		nt := p.tok
		if nt.kind != IDENT {
			if nt.kind == tokError {
				return nil, nt.err
			}
			if nt.kind == tokReserved {
				return nil, p.reserved(nt)
			}
			return nil, p.errAt("VariableExpected", "Expecting name of a variable", nt.pos)
		}
		if p.peek().kind != DoubleColon {
			break
		}
	}
	nt := p.tok
	switch p.peek().kind {
	case LParen:
		x, err := p.parseCall(nt, ns)
		if err != nil {
			return nil, err
		}
		x.(*CallExpr).NsPos = t.pos
		return x, nil
	case Bang:
		if p.peek2().kind == LParen {
			return nil, p.errAt("MalformedCapture", "namespace-qualified function calls do not support running within the caller's scope", nt.pos)
		}
	}
	p.next()
	return &PathExpr{Pos: t.pos, Namespace: ns, Name: nt.text, NamePos: nt.pos}, nil
}

// parseCall parses `name(args)` or `name!(args)`; the current token is name.
func (p *parser) parseCall(name tok, ns []string) (Expr, *Error) {
	c := &CallExpr{Pos: name.pos, Namespace: ns, Name: name.text}
	p.next()
	if p.tok.kind == Bang {
		c.Bang = true
		p.next()
	}
	args, err := p.parseArgs(name.text)
	if err != nil {
		return nil, err
	}
	c.Args = args
	return c, nil
}

// parseArgs parses `(a, b, )` for a call of fn.
func (p *parser) parseArgs(fn string) ([]Expr, *Error) {
	p.next() // (
	var args []Expr
	for p.tok.kind != RParen {
		a, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.tok.kind == Comma {
			p.next()
		} else if p.tok.kind != RParen {
			return nil, p.missing(")", "to close the arguments list of this function call")
		}
	}
	p.next()
	return args, nil
}

// parsePostfix parses `.prop`, `.method(args)`, `[index]` and their `?` forms.
func (p *parser) parsePostfix(x Expr) (Expr, *Error) {
	for {
		t := p.tok
		switch t.kind {
		case Dot, QuestionDot:
			p.next()
			nt := p.tok
			if nt.kind != IDENT {
				if nt.kind == tokReserved && isIdentStart(nt.text[0]) {
					return nil, p.reserved(nt)
				}
				return nil, p.errAt("PropertyExpected", "Expecting name of a property", nt.pos)
			}
			switch p.peek().kind {
			case LParen:
				if methodReserved[nt.text] {
					return nil, p.errAt("Reserved", "'"+nt.text+"' is a reserved keyword", nt.pos)
				}
				p.next()
				args, err := p.parseArgs(nt.text)
				if err != nil {
					return nil, err
				}
				x = &MethodCallExpr{Pos: nt.pos, X: x, Name: nt.text, Args: args, Safe: t.kind == QuestionDot}
				continue
			case Bang:
				if p.peek2().kind == LParen {
					return nil, p.errAt("MalformedCapture", "method-call style does not support running within the caller's scope", nt.pos)
				}
			case DoubleColon:
				pt := p.peek()
				return nil, p.badInput("ImproperSymbol", "Invalid symbol encountered: '::'", pt.pos)
			}
			if keywordFns[nt.text] {
				return nil, p.errAt("Reserved", "'"+nt.text+"' is a reserved keyword", nt.pos)
			}
			p.next()
			x = &PropExpr{Pos: nt.pos, X: x, Name: nt.text, Safe: t.kind == QuestionDot}
		case LBracket, QuestionBracket:
			p.next()
			if err := p.enter(); err != nil {
				return nil, err
			}
			idx, err := p.parseExpr()
			p.leave()
			if err != nil {
				return nil, err
			}
			if err := p.checkIndex(x, idx); err != nil {
				return nil, err
			}
			if p.tok.kind != RBracket {
				return nil, p.missing("]", "for a matching [ in this index expression")
			}
			p.next()
			x = &IndexExpr{Pos: t.pos, X: x, Index: idx, Safe: t.kind == QuestionBracket}
		default:
			return x, nil
		}
	}
}

// methodReserved are keyword functions that cannot be called in method style.
var methodReserved = map[string]bool{
	"Fn": true, "eval": true, "print": true, "debug": true, "is_def_fn": true, "is_def_var": true,
}

// parseArray parses `[a, b, ]`.
func (p *parser) parseArray() (Expr, *Error) {
	a := &ArrayLit{Pos: p.tok.pos}
	p.next()
	for p.tok.kind != RBracket {
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		a.Elems = append(a.Elems, e)
		if p.tok.kind == Comma {
			p.next()
		} else if p.tok.kind != RBracket {
			return nil, p.missing(",", "to separate the items of this array literal")
		}
	}
	p.next()
	return a, nil
}

// parseMap parses `#{key: value, ...}`.
func (p *parser) parseMap() (Expr, *Error) {
	m := &MapLit{Pos: p.tok.pos}
	p.next()
	seen := map[string]bool{}
	for p.tok.kind != RBrace {
		kt := p.tok
		switch {
		case kt.kind == IDENT && keywordFns[kt.text]:
			return nil, p.errAt("Reserved", "'"+kt.text+"' is a reserved keyword", kt.pos)
		case kt.kind == IDENT || kt.kind == STRING:
		case kt.kind == BACKTICK && kt.interp == 0:
		case kt.kind == tokReserved && isIdentStart(kt.text[0]):
			return nil, p.reserved(kt)
		case kt.kind == tokError:
			return nil, kt.err
		case kt.kind == EOF:
			return nil, p.missing("}", "to end this object map literal")
		default:
			return nil, p.errAt("PropertyExpected", "Expecting name of a property", kt.pos)
		}
		if seen[kt.text] {
			return nil, p.errAt("DuplicatedProperty", "Duplicated property for object map literal: "+kt.text, kt.pos)
		}
		seen[kt.text] = true
		p.next()
		if p.tok.kind != Colon {
			return nil, p.missing(":", "to follow the property '"+kt.text+"' in this object map literal")
		}
		p.next()
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		m.Keys = append(m.Keys, kt.text)
		m.KeyPos = append(m.KeyPos, kt.pos)
		m.Values = append(m.Values, v)
		if p.tok.kind == Comma {
			p.next()
		} else if p.tok.kind != RBrace {
			return nil, p.missing(",", "to separate the items of this object map literal")
		}
	}
	p.next()
	return m, nil
}

// parseInterp parses a back-tick string; `${...}` parts hold statements.
func (p *parser) parseInterp() (Expr, *Error) {
	t := p.tok
	p.next()
	if t.interp&interpOpen == 0 {
		return &StringLit{Pos: t.pos, Value: t.text}, nil
	}
	s := &InterpString{Pos: t.pos}
	if t.text != "" {
		s.Parts = append(s.Parts, &StringLit{Pos: t.pos, Value: t.text})
	}
	for {
		if err := p.enter(); err != nil {
			return nil, err
		}
		ipos := p.tok.pos
		mark := len(p.scope)
		p.blockDepth++
		stmts, _, err := p.parseStmtsUntil(func(t tok) bool {
			return t.kind == BACKTICK && t.interp&interpCont != 0
		}, "}", "to end this string interpolation")
		p.blockDepth--
		p.scope = p.scope[:mark]
		p.leave()
		if err != nil {
			return nil, err
		}
		switch {
		case len(stmts) == 0:
			s.Parts = append(s.Parts, &UnitLit{Pos: ipos})
		case len(stmts) == 1:
			if es, ok := stmts[0].(*ExprStmt); ok {
				s.Parts = append(s.Parts, es.X)
				break
			}
			s.Parts = append(s.Parts, &BlockExpr{Pos: ipos, Stmts: stmts})
		default:
			s.Parts = append(s.Parts, &BlockExpr{Pos: ipos, Stmts: stmts})
		}
		seg := p.tok
		p.next()
		if seg.text != "" {
			s.Parts = append(s.Parts, &StringLit{Pos: seg.pos, Value: seg.text})
		}
		if seg.interp&interpOpen == 0 {
			return s, nil
		}
	}
}

// parseClosure parses `|a, b| body` or `|| body`.
func (p *parser) parseClosure() (Expr, *Error) {
	c := &ClosureExpr{Pos: p.tok.pos}
	if p.tok.kind == Pipe {
		p.next()
		seen := map[string]bool{}
		for p.tok.kind != Pipe {
			pt := p.tok
			switch pt.kind {
			case IDENT:
			case tokError:
				return nil, pt.err
			case tokReserved:
				return nil, p.reserved(pt)
			default:
				return nil, p.missing("|", "to close the parameters list of anonymous function")
			}
			if seen[pt.text] {
				return nil, p.errAt("FnDuplicatedParam", "Duplicated parameter "+pt.text+" for function anonymous", pt.pos)
			}
			seen[pt.text] = true
			c.Params = append(c.Params, pt.text)
			p.next()
			if p.tok.kind == Comma {
				p.next()
			} else if p.tok.kind != Pipe {
				return nil, p.missing("|", "to close the parameters list of anonymous function")
			}
		}
	}
	p.next() // the closing | (or ||)

	// The body may capture enclosing variables, but loops and blocks of the
	// enclosing code do not extend into it.
	mark := len(p.scope)
	for _, name := range c.Params {
		p.declare(name, false)
	}
	savedFn, savedLoops, savedBlocks := p.inFn, p.loops, p.blockDepth
	p.inFn, p.loops, p.blockDepth = true, 0, 1
	var body *BlockExpr
	var err *Error
	if p.tok.kind == LBrace {
		body, err = p.parseBlock()
	} else {
		// The body is one statement: `|x| total += x` is allowed.
		var s Stmt
		pos := p.tok.pos
		s, _, err = p.parseStmt()
		if err == nil {
			body = &BlockExpr{Pos: pos, Stmts: []Stmt{s}, End: pos}
		}
	}
	p.inFn, p.loops, p.blockDepth = savedFn, savedLoops, savedBlocks
	p.scope = p.scope[:mark]
	if err != nil {
		return nil, err
	}
	c.Body = body
	return c, nil
}
