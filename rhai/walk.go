package rhai

import "github.com/picloud/picloud/rhai/syntax"

// walkExpr calls f for e and every node below it, depth first, skipping the
// children of nodes for which f returns false.
func walkExpr(e syntax.Expr, f func(syntax.Node) bool) {
	if e == nil || !f(e) {
		return
	}
	switch e := e.(type) {
	case *syntax.InterpString:
		walkExprs(e.Parts, f)
	case *syntax.ArrayLit:
		walkExprs(e.Elems, f)
	case *syntax.MapLit:
		walkExprs(e.Values, f)
	case *syntax.UnaryExpr:
		walkExpr(e.X, f)
	case *syntax.BinaryExpr:
		walkExpr(e.L, f)
		walkExpr(e.R, f)
	case *syntax.IndexExpr:
		walkExpr(e.X, f)
		walkExpr(e.Index, f)
	case *syntax.PropExpr:
		walkExpr(e.X, f)
	case *syntax.MethodCallExpr:
		walkExpr(e.X, f)
		walkExprs(e.Args, f)
	case *syntax.CallExpr:
		walkExprs(e.Args, f)
	case *syntax.ClosureExpr:
		walkExpr(e.Body, f)
	case *syntax.BlockExpr:
		for _, s := range e.Stmts {
			walkStmt(s, f)
		}
	case *syntax.IfExpr:
		walkExpr(e.Cond, f)
		walkExpr(e.Then, f)
		walkExpr(e.Else, f)
	case *syntax.SwitchExpr:
		walkExpr(e.X, f)
		for _, c := range e.Cases {
			walkExprs(c.Values, f)
			walkExpr(c.Cond, f)
			walkExpr(c.Body, f)
		}
		walkExpr(e.Default, f)
	case *syntax.WhileExpr:
		walkExpr(e.Cond, f)
		walkExpr(e.Body, f)
	case *syntax.DoExpr:
		walkExpr(e.Body, f)
		walkExpr(e.Cond, f)
	case *syntax.ForExpr:
		walkExpr(e.Iter, f)
		walkExpr(e.Body, f)
	}
}

func walkExprs(list []syntax.Expr, f func(syntax.Node) bool) {
	for _, e := range list {
		walkExpr(e, f)
	}
}

func walkStmt(s syntax.Stmt, f func(syntax.Node) bool) {
	if s == nil || !f(s) {
		return
	}
	switch s := s.(type) {
	case *syntax.LetStmt:
		walkExpr(s.Value, f)
	case *syntax.AssignStmt:
		walkExpr(s.LHS, f)
		walkExpr(s.RHS, f)
	case *syntax.ExprStmt:
		walkExpr(s.X, f)
	case *syntax.ReturnStmt:
		walkExpr(s.Value, f)
	case *syntax.ThrowStmt:
		walkExpr(s.Value, f)
	case *syntax.BreakStmt:
		walkExpr(s.Value, f)
	case *syntax.TryStmt:
		walkExpr(s.Body, f)
		walkExpr(s.Catch, f)
	case *syntax.ImportStmt:
		walkExpr(s.Path, f)
	}
}
