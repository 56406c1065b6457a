package syntax

import "strconv"

// parseStmtList parses the top-level statements of a script up to EOF.
func (p *parser) parseStmtList(top bool) ([]Stmt, *Error) {
	var stmts []Stmt
	for p.tok.kind != EOF {
		if p.tok.kind == Semicolon {
			p.next()
			continue
		}
		s, selfTerm, err := p.parseStmt()
		if err != nil {
			return nil, err
		}
		if s != nil {
			stmts = append(stmts, s)
		}
		switch p.tok.kind {
		case Semicolon:
			p.next()
		case EOF:
		default:
			if !selfTerm {
				return nil, p.missing(";", "to terminate this statement")
			}
		}
	}
	return stmts, nil
}

// parseBlock parses `{ stmts }`.
func (p *parser) parseBlock() (*BlockExpr, *Error) {
	if p.tok.kind != LBrace {
		return nil, p.missing("{", "to start a statement block")
	}
	b := &BlockExpr{Pos: p.tok.pos}
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.next()
	mark := len(p.scope)
	p.blockDepth++
	stmts, end, err := p.parseStmtsUntil(func(t tok) bool { return t.kind == RBrace }, "}", "to terminate this block")
	p.blockDepth--
	p.scope = p.scope[:mark]
	p.leave()
	if err != nil {
		return nil, err
	}
	b.Stmts, b.End = stmts, end
	p.next() // the closing brace
	return b, nil
}

// parseStmtsUntil parses statements up to (not including) a token for which
// isEnd holds; it returns the position of that token.
func (p *parser) parseStmtsUntil(isEnd func(tok) bool, endTok, endDesc string) ([]Stmt, Pos, *Error) {
	var stmts []Stmt
	for {
		if isEnd(p.tok) {
			return stmts, p.tok.pos, nil
		}
		switch p.tok.kind {
		case EOF:
			return nil, Pos{}, p.missing(endTok, endDesc)
		case Semicolon:
			p.next()
			continue
		}
		s, selfTerm, err := p.parseStmt()
		if err != nil {
			return nil, Pos{}, err
		}
		if s != nil {
			stmts = append(stmts, s)
		}
		if isEnd(p.tok) {
			continue
		}
		if p.tok.kind == Semicolon {
			p.next()
		} else if !selfTerm {
			return nil, Pos{}, p.missing(";", "to terminate this statement")
		}
	}
}

// parseStmt parses one statement. selfTerm reports a statement that needs no
// `;` after it (blocks, if, switch, loops, try, fn definitions).
func (p *parser) parseStmt() (s Stmt, selfTerm bool, err *Error) {
	if err := p.enter(); err != nil {
		return nil, false, err
	}
	defer p.leave()
	t := p.tok
	switch t.kind {
	case KwLet, KwConst:
		s, err := p.parseLet(false)
		return s, false, err
	case KwIf, KwSwitch, KwWhile, KwLoop, KwDo, KwFor, LBrace:
		x, err := p.parseStmtExpr()
		if err != nil {
			return nil, false, err
		}
		return &ExprStmt{X: x}, true, nil
	case KwBreak, KwContinue:
		if p.loops == 0 {
			return nil, false, p.errAt("LoopBreak", "Break statement should only be used inside a loop", t.pos)
		}
		p.next()
		if t.kind == KwContinue {
			return &ContinueStmt{Pos: t.pos}, false, nil
		}
		v, err := p.optionalValue()
		return &BreakStmt{Pos: t.pos, Value: v}, false, err
	case KwReturn:
		p.next()
		v, err := p.optionalValue()
		return &ReturnStmt{Pos: t.pos, Value: v}, false, err
	case KwThrow:
		p.next()
		v, err := p.optionalValue()
		return &ThrowStmt{Pos: t.pos, Value: v}, false, err
	case KwTry:
		s, err := p.parseTry()
		return s, true, err
	case KwFn, KwPrivate:
		if p.inFn || p.blockDepth > 0 {
			pos := t.pos
			if t.kind == KwPrivate && p.peek().kind == KwFn {
				pos = p.peek().pos
			}
			return nil, false, p.errAt("WrongFnDefinition", "Function definitions must be at global level and cannot be inside a block or another function", pos)
		}
		err := p.parseFnDef()
		return nil, true, err
	case KwImport:
		s, err := p.parseImport()
		return s, false, err
	case KwExport:
		if p.inFn || p.blockDepth > 0 {
			return nil, false, p.errAt("WrongExport", "Export statement can only appear at global level", t.pos)
		}
		s, err := p.parseExport()
		return s, false, err
	}
	return p.parseExprStmt()
}

// optionalValue parses the value after return/throw/break, if there is one.
func (p *parser) optionalValue() (Expr, *Error) {
	switch p.tok.kind {
	case Semicolon, RBrace, EOF:
		return nil, nil
	}
	if p.tok.kind == BACKTICK && p.tok.interp&interpCont != 0 {
		return nil, nil
	}
	return p.parseExpr()
}

// parseExprStmt parses an expression statement or an assignment.
func (p *parser) parseExprStmt() (Stmt, bool, *Error) {
	x, err := p.parseExpr()
	if err != nil {
		return nil, false, err
	}
	op := p.tok
	switch op.kind {
	case Assign, PlusAssign, MinusAssign, StarAssign, SlashAssign, PercentAssign,
		StarStarAssign, ShlAssign, ShrAssign, AmpAssign, PipeAssign, CaretAssign:
	default:
		return &ExprStmt{X: x}, false, nil
	}
	if err := p.checkLHS(x); err != nil {
		return nil, false, err
	}
	p.next()
	rhs, err := p.parseExpr()
	if err != nil {
		return nil, false, err
	}
	return &AssignStmt{Pos: op.pos, Op: op.kind, LHS: x, RHS: rhs}, false, nil
}

// checkLHS enforces Rhai's l-values: a variable, or an index/property chain
// rooted at a variable (or `this`) with no method call in it.
func (p *parser) checkLHS(x Expr) *Error {
	switch v := x.(type) {
	case *Ident:
		if p.isConst(v.Name) {
			return p.errAt("AssignmentToConstant", "Cannot assign to constant "+v.Name, v.Pos)
		}
		return nil
	case *IntLit, *FloatLit, *StringLit, *CharLit, *BoolLit, *UnitLit, *InterpString:
		return p.errAt("AssignmentToConstant", "Cannot assign to a constant value", x.Position())
	case *PathExpr:
		return nil // module variables are constants, but Rhai finds out at run time
	case *IndexExpr, *PropExpr:
		for e := x; ; {
			switch v := e.(type) {
			case *IndexExpr:
				e = v.X
				continue
			case *PropExpr:
				e = v.X
				continue
			case *Ident, *PathExpr:
				return nil
			}
			break
		}
	}
	return p.errAt("AssignmentToInvalidLHS", "Expression cannot be assigned to", lhsStart(x))
}

// lhsStart finds the leftmost position of an expression, where Rhai reports
// an invalid assignment target.
func lhsStart(x Expr) Pos {
	for {
		switch v := x.(type) {
		case *IndexExpr:
			x = v.X
		case *PropExpr:
			x = v.X
		case *MethodCallExpr:
			x = v.X
		case *BinaryExpr:
			x = v.L
		default:
			return x.Position()
		}
	}
}

// parseVarName parses the name after let/const/for/catch.
func (p *parser) parseVarName() (string, Pos, *Error) {
	t := p.tok
	switch t.kind {
	case IDENT:
		p.next()
		return t.text, t.pos, nil
	case tokReserved:
		return "", t.pos, p.reserved(t)
	case tokError:
		return "", t.pos, t.err
	}
	return "", t.pos, p.errAt("VariableExpected", "Expecting name of a variable", t.pos)
}

// parseLet parses `let x [= e]` / `const x [= e]`.
func (p *parser) parseLet(export bool) (Stmt, *Error) {
	s := &LetStmt{Pos: p.tok.pos, Const: p.tok.kind == KwConst, Export: export}
	p.next()
	name, npos, err := p.parseVarName()
	if err != nil {
		return nil, err
	}
	s.Name, s.NamePos = name, npos
	if p.tok.kind == Assign {
		p.next()
		if s.Value, err = p.parseExpr(); err != nil {
			return nil, err
		}
	}
	p.declare(name, s.Const)
	return s, nil
}

func (p *parser) parseImport() (Stmt, *Error) {
	s := &ImportStmt{Pos: p.tok.pos}
	p.next()
	path, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	s.Path = path
	if p.tok.kind == KwAs {
		p.next()
		if p.tok.kind == KwGlobal {
			s.Alias = "global"
			p.next()
			return s, nil
		}
		name, _, err := p.parseVarName()
		if err != nil {
			return nil, err
		}
		s.Alias = name
	}
	return s, nil
}

func (p *parser) parseExport() (Stmt, *Error) {
	pos := p.tok.pos
	p.next()
	if p.tok.kind == KwLet || p.tok.kind == KwConst {
		return p.parseLet(true)
	}
	name, _, err := p.parseVarName()
	if err != nil {
		return nil, err
	}
	s := &ExportStmt{Pos: pos, Name: name}
	if p.tok.kind == KwAs {
		p.next()
		alias, _, err := p.parseVarName()
		if err != nil {
			return nil, err
		}
		s.Alias = alias
	}
	return s, nil
}

// parseTry parses `try { } catch [(e)] { }`.
func (p *parser) parseTry() (Stmt, *Error) {
	s := &TryStmt{Pos: p.tok.pos}
	p.next()
	body, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	s.Body = body
	if p.tok.kind != KwCatch {
		return nil, p.missing("catch", "for the 'try' statement")
	}
	p.next()
	mark := len(p.scope)
	if p.tok.kind == LParen {
		p.next()
		name, npos, err := p.parseVarName()
		if err != nil {
			return nil, err
		}
		s.ErrVar, s.ErrPos = name, npos
		if p.tok.kind != RParen {
			return nil, p.missing(")", "to enclose the catch variable")
		}
		p.next()
		p.declare(name, false)
	}
	s.Catch, err = p.parseBlock()
	p.scope = p.scope[:mark]
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parseFnDef parses `[private] fn name(params) { body }` at global level.
func (p *parser) parseFnDef() *Error {
	f := &FnDef{Pos: p.tok.pos, Doc: p.tok.doc}
	if p.tok.kind == KwPrivate {
		f.Private = true
		p.next()
		if p.tok.kind != KwFn {
			return p.missing("fn", "to start a function definition")
		}
		if f.Doc == "" {
			f.Doc = p.tok.doc
		}
	}
	p.next()
	t := p.tok
	if (t.kind == IDENT || t.kind == STRING) && p.peek().kind == Dot {
		// A typed method: fn Type.name(...)
		f.ThisType = t.text
		p.next()
		p.next()
		t = p.tok
	}
	switch {
	case t.kind == IDENT && keywordFns[t.text]:
		return p.errAt("Reserved", "'"+t.text+"' is a reserved keyword", t.pos)
	case t.kind == IDENT:
	case t.kind == tokReserved:
		return p.reserved(t)
	case t.kind == tokError:
		return t.err
	default:
		return p.errAt("FnMissingName", "Expecting function name in function declaration", t.pos)
	}
	f.Name = t.text
	p.next()
	if p.tok.kind != LParen {
		return p.errAt("FnMissingParams", "Expecting parameters for function '"+f.Name+"'", p.tok.pos)
	}
	p.next()
	seen := map[string]bool{}
	for p.tok.kind != RParen {
		pt := p.tok
		if pt.kind != IDENT {
			if pt.kind == tokError {
				return pt.err
			}
			if pt.kind == tokReserved {
				return p.reserved(pt)
			}
			return p.errAt("MissingToken", "Expecting ')' to close the parameters list of function '"+f.Name+"'", pt.pos)
		}
		if seen[pt.text] {
			return p.errAt("FnDuplicatedParam", "Duplicated parameter "+pt.text+" for function "+f.Name, pt.pos)
		}
		seen[pt.text] = true
		f.Params = append(f.Params, pt.text)
		p.next()
		if p.tok.kind == Comma {
			p.next()
		} else if p.tok.kind != RParen {
			return p.missing(")", "to close the parameters list of function '"+f.Name+"'")
		}
	}
	p.next()
	key := f.ThisType + "." + f.Name + "/" + strconv.Itoa(len(f.Params))
	if p.fns[key] {
		return p.errAt("FnDuplicatedDefinition", "Function "+f.Name+" with "+paramCount(len(f.Params))+" already exists", f.Pos)
	}
	p.fns[key] = true

	// A function body is its own world: fresh scope, depth and loop context.
	saved := *p
	p.scope = nil
	for _, name := range f.Params {
		p.declare(name, false)
	}
	p.inFn, p.inFnDef, p.loops, p.blockDepth = true, true, 0, 0
	p.depth, p.limit = 0, p.maxFnDepth
	body, err := p.parseBlock()
	p.scope, p.inFn, p.inFnDef, p.loops, p.blockDepth = saved.scope, saved.inFn, saved.inFnDef, saved.loops, saved.blockDepth
	p.depth, p.limit = saved.depth, saved.limit
	if err != nil {
		return err
	}
	f.Body = body
	p.script.Fns = append(p.script.Fns, f)
	return nil
}

func paramCount(n int) string {
	switch n {
	case 0:
		return "no parameters"
	case 1:
		return "1 parameter"
	}
	return strconv.Itoa(n) + " parameters"
}
