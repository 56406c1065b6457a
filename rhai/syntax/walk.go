package syntax

// Inspect walks the tree rooted at n in source order, calling f for each node
// (expressions, statements, function definitions); when f returns false the
// node's children are skipped. Nil children are not visited. Switch cases are
// visited through their values, conditions and bodies.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	visit := func(children ...Node) {
		for _, c := range children {
			if c != nil && !isNilNode(c) {
				Inspect(c, f)
			}
		}
	}
	switch v := n.(type) {
	case *InterpString:
		for _, e := range v.Parts {
			visit(e)
		}
	case *ArrayLit:
		for _, e := range v.Elems {
			visit(e)
		}
	case *MapLit:
		for _, e := range v.Values {
			visit(e)
		}
	case *UnaryExpr:
		visit(v.X)
	case *BinaryExpr:
		visit(v.L, v.R)
	case *IndexExpr:
		visit(v.X, v.Index)
	case *PropExpr:
		visit(v.X)
	case *MethodCallExpr:
		visit(v.X)
		for _, e := range v.Args {
			visit(e)
		}
	case *CallExpr:
		for _, e := range v.Args {
			visit(e)
		}
	case *ClosureExpr:
		visit(v.Body)
	case *BlockExpr:
		for _, s := range v.Stmts {
			visit(s)
		}
	case *IfExpr:
		visit(v.Cond, v.Then, v.Else)
	case *SwitchExpr:
		visit(v.X)
		for _, c := range v.Cases {
			for _, e := range c.Values {
				visit(e)
			}
			visit(c.Cond, c.Body)
		}
		visit(v.Default)
	case *WhileExpr:
		visit(v.Cond, v.Body)
	case *DoExpr:
		visit(v.Body, v.Cond)
	case *ForExpr:
		visit(v.Iter, v.Body)
	case *LetStmt:
		visit(v.Value)
	case *AssignStmt:
		visit(v.LHS, v.RHS)
	case *ExprStmt:
		visit(v.X)
	case *ReturnStmt:
		visit(v.Value)
	case *ThrowStmt:
		visit(v.Value)
	case *BreakStmt:
		visit(v.Value)
	case *TryStmt:
		visit(v.Body, v.Catch)
	case *ImportStmt:
		visit(v.Path)
	case *FnDef:
		visit(v.Body)
	}
}

// isNilNode catches typed nil pointers stored in interfaces (an absent Else,
// Cond or Value), which must not be visited.
func isNilNode(n Node) bool {
	switch v := n.(type) {
	case *BlockExpr:
		return v == nil
	case *IfExpr:
		return v == nil
	}
	return false
}
