package syntax

// parseStmtExpr parses the statement-like expressions: if, switch, loops and
// blocks.
func (p *parser) parseStmtExpr() (Expr, *Error) {
	// No depth is counted here: the statement and the block below count.
	switch p.tok.kind {
	case KwIf:
		return p.parseIf()
	case KwSwitch:
		return p.parseSwitch()
	case KwWhile, KwLoop:
		return p.parseWhile()
	case KwDo:
		return p.parseDo()
	case KwFor:
		return p.parseFor()
	}
	return p.parseBlock()
}

// parseCond parses the condition of if/while/do and rejects the usual slips.
func (p *parser) parseCond() (Expr, *Error) {
	if p.tok.kind == LBrace {
		// A block cannot be a condition: `if {x} {…}` is refused.
		return nil, p.errAt("ExprExpected", "Expecting a boolean expression", p.tok.pos)
	}
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if what := literalKind(cond, false); what != "" {
		return nil, p.errAt("MismatchedType", "Expecting a boolean expression, not "+what, cond.Position())
	}
	if p.tok.kind == Assign {
		return nil, p.badInput("ImproperSymbol", "Possibly a typo of '=='?", p.tok.pos)
	}
	return cond, nil
}

// literalKind names the type of a literal for MismatchedType messages; it is
// "" when the expression is not a literal of a type that is wrong there.
func literalKind(x Expr, iterable bool) string {
	switch x.(type) {
	case *UnitLit:
		return "()"
	case *IntLit, *FloatLit:
		return "a number"
	case *CharLit:
		return "a character"
	case *MapLit:
		return "an object map"
	case *BoolLit:
		if iterable {
			return "a boolean"
		}
	case *StringLit, *InterpString:
		if !iterable {
			return "a string"
		}
	case *ArrayLit:
		if !iterable {
			return "an array"
		}
	}
	return ""
}

// parseIf parses an if/else-if/else chain. The chain is built in a loop, so
// a long `else if` ladder costs no nesting depth.
func (p *parser) parseIf() (Expr, *Error) {
	first, err := p.parseIfHead()
	if err != nil {
		return nil, err
	}
	for cur := first; p.tok.kind == KwElse; {
		p.next()
		if p.tok.kind != KwIf {
			if cur.Else, err = p.parseBlock(); err != nil {
				return nil, err
			}
			break
		}
		next, err := p.parseIfHead()
		if err != nil {
			return nil, err
		}
		cur.Else, cur = next, next
	}
	return first, nil
}

// parseIfHead parses `if cond { then }`.
func (p *parser) parseIfHead() (*IfExpr, *Error) {
	e := &IfExpr{Pos: p.tok.pos}
	p.next()
	var err *Error
	if e.Cond, err = p.parseCond(); err != nil {
		return nil, err
	}
	if e.Then, err = p.parseBlock(); err != nil {
		return nil, err
	}
	return e, nil
}

// loopBody parses a loop body, where break and continue are allowed.
func (p *parser) loopBody() (*BlockExpr, *Error) {
	p.loops++
	b, err := p.parseBlock()
	p.loops--
	return b, err
}

func (p *parser) parseWhile() (Expr, *Error) {
	e := &WhileExpr{Pos: p.tok.pos}
	isLoop := p.tok.kind == KwLoop
	p.next()
	var err *Error
	if !isLoop {
		if e.Cond, err = p.parseCond(); err != nil {
			return nil, err
		}
	}
	if e.Body, err = p.loopBody(); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *parser) parseDo() (Expr, *Error) {
	e := &DoExpr{Pos: p.tok.pos}
	p.next()
	var err *Error
	if e.Body, err = p.loopBody(); err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case KwWhile:
	case KwUntil:
		e.Until = true
	default:
		return nil, p.missing("while", "or 'until' to complete this do loop")
	}
	p.next()
	if e.Cond, err = p.parseCond(); err != nil {
		return nil, err
	}
	return e, nil
}

func (p *parser) parseFor() (Expr, *Error) {
	e := &ForExpr{Pos: p.tok.pos}
	p.next()
	var err *Error
	paren := p.tok.kind == LParen
	if paren {
		p.next()
	}
	if e.Var, e.VarPos, err = p.parseVarName(); err != nil {
		return nil, err
	}
	if paren {
		if p.tok.kind != Comma {
			return nil, p.missing(",", "after the iteration variable name")
		}
		p.next()
		if e.Counter, e.CounterPos, err = p.parseVarName(); err != nil {
			return nil, err
		}
		if p.tok.kind != RParen {
			return nil, p.missing(")", "to close the iteration variable list")
		}
		p.next()
	}
	if p.tok.kind != KwIn {
		return nil, p.missing("in", "after the iteration variable")
	}
	p.next()
	if e.Iter, err = p.parseExpr(); err != nil {
		return nil, err
	}
	if what := literalKind(e.Iter, true); what != "" {
		return nil, p.errAt("MismatchedType", "Expecting an iterable value, not "+what, e.Iter.Position())
	}
	mark := len(p.scope)
	p.declare(e.Var, false)
	if e.Counter != "" {
		p.declare(e.Counter, false)
	}
	e.Body, err = p.loopBody()
	p.scope = p.scope[:mark]
	if err != nil {
		return nil, err
	}
	return e, nil
}

// parseSwitch parses `switch x { v1 | v2 if c => e, lo..hi => e, _ => e }`.
func (p *parser) parseSwitch() (Expr, *Error) {
	sw := &SwitchExpr{Pos: p.tok.pos}
	p.next()
	var err *Error
	if sw.X, err = p.parseExpr(); err != nil {
		return nil, err
	}
	if p.tok.kind != LBrace {
		return nil, p.missing("{", "to start a switch block")
	}
	p.next()
	var defaultPos Pos
	sawRange := false
	for p.tok.kind != RBrace {
		if p.tok.kind == EOF {
			return nil, p.missing("}", "to end this switch block")
		}
		if defaultPos.IsValid() {
			return nil, p.errAt("WrongSwitchDefaultCase", "Default switch case must be the last", defaultPos)
		}
		c := &SwitchCase{Pos: p.tok.pos}
		isDefault := p.tok.kind == Underscore
		if isDefault {
			defaultPos = p.tok.pos
			p.next()
			if p.tok.kind == KwIf {
				return nil, p.errAt("WrongSwitchCaseCondition", "This switch case cannot have a condition", p.tok.pos)
			}
		} else {
			for {
				v, err := p.parseCaseValue()
				if err != nil {
					return nil, err
				}
				if b, ok := v.(*BinaryExpr); ok && (b.Op == DotDot || b.Op == DotDotEq) {
					// An empty range is dropped, so it does not count.
					sawRange = sawRange || !emptyRangeLit(b)
				} else if sawRange && isNumberLit(v) {
					return nil, p.errAt("WrongSwitchIntegerCase", "Numeric switch case cannot follow a range case", v.Position())
				}
				c.Values = append(c.Values, v)
				if p.tok.kind != Pipe {
					break
				}
				p.next()
			}
			if p.tok.kind == KwIf {
				p.next()
				if c.Cond, err = p.parseCond(); err != nil {
					return nil, err
				}
			}
		}
		if p.tok.kind != Arrow {
			return nil, p.missing("=>", "in this switch case")
		}
		p.next()
		// An arm is a statement: `1 => x[0] = 2,` and `_ => break v,` are allowed.
		armPos := p.tok.pos
		st, selfTerm, err := p.parseStmt()
		if err != nil {
			return nil, err
		}
		if es, ok := st.(*ExprStmt); ok {
			c.Body = es.X
		} else {
			c.Body = &BlockExpr{Pos: armPos, Stmts: []Stmt{st}, End: armPos}
		}
		if isDefault {
			sw.Default = c.Body
		} else {
			sw.Cases = append(sw.Cases, c)
		}
		switch p.tok.kind {
		case Comma:
			p.next()
		case RBrace:
		default:
			if !selfTerm {
				return nil, p.missing(",", "to separate the items of this switch block")
			}
		}
	}
	p.next()
	return sw, nil
}

// isNumberLit reports whether x is an integer or float literal.
func isNumberLit(x Expr) bool {
	switch x.(type) {
	case *IntLit, *FloatLit:
		return true
	}
	return false
}

// emptyRangeLit reports whether a range of integer literals is empty.
func emptyRangeLit(b *BinaryExpr) bool {
	lo, lok := b.L.(*IntLit)
	hi, hok := b.R.(*IntLit)
	if !lok || !hok {
		return false
	}
	if b.Op == DotDotEq {
		return lo.Value > hi.Value
	}
	return lo.Value >= hi.Value
}

// parseCaseValue parses one switch case value, which must be a literal or an
// integer range of literals.
func (p *parser) parseCaseValue() (Expr, *Error) {
	v, err := p.parseBinary(binPrec(Pipe) + 1)
	if err != nil {
		return nil, err
	}
	if isCaseLiteral(v) {
		return v, nil
	}
	if b, ok := v.(*BinaryExpr); ok && (b.Op == DotDot || b.Op == DotDotEq) {
		_, lok := b.L.(*IntLit)
		_, rok := b.R.(*IntLit)
		if lok && rok {
			return v, nil
		}
	}
	return nil, p.errAt("ExprExpected", "Expecting a literal expression", lhsStart(v))
}

// isCaseLiteral reports a constant: a literal, or an array or map of them.
func isCaseLiteral(x Expr) bool {
	switch v := x.(type) {
	case *IntLit, *FloatLit, *StringLit, *CharLit, *BoolLit, *UnitLit:
		return true
	case *ArrayLit:
		for _, e := range v.Elems {
			if !isCaseLiteral(e) {
				return false
			}
		}
		return true
	case *MapLit:
		for _, e := range v.Values {
			if !isCaseLiteral(e) {
				return false
			}
		}
		return true
	}
	return false
}

// checkIndex rejects, as Rhai does at compile time, literal indices of the
// wrong type on literal arrays, strings and maps.
func (p *parser) checkIndex(x, idx Expr) *Error {
	what := ""
	switch v := idx.(type) {
	case *IntLit:
		what = "a number"
	case *FloatLit:
		what = "a float"
	case *StringLit, *InterpString:
		what = "a string"
	case *CharLit:
		what = "a character"
	case *UnitLit:
		what = "()"
	case *BoolLit:
		what = "a boolean"
	case *BinaryExpr:
		if v.Op == AndAnd || v.Op == OrOr {
			what = "a boolean"
		}
	case *UnaryExpr:
		if v.Op == Bang {
			what = "a boolean"
		}
	}
	switch x.(type) {
	case *MapLit:
		if what != "" && what != "a string" {
			return p.errAt("MalformedIndexExpr", "Object map expects string index, not "+what, idx.Position())
		}
	case *ArrayLit, *StringLit, *InterpString:
		switch what {
		case "a string":
			return p.errAt("MalformedIndexExpr", "Array, string or bit-field expects numeric index, not "+what, idx.Position())
		case "a number", "":
		default:
			return p.errAt("MalformedIndexExpr", "Array, string or bit-field expects integer index, not "+what, idx.Position())
		}
	}
	return nil
}
