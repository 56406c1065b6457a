package syntax

import (
	"fmt"
	"strings"
)

// dump renders a node as a compact S-expression for tests.
func dump(n Node) string {
	if n == nil || isNilNode(n) {
		return "nil"
	}
	switch v := n.(type) {
	case *UnitLit:
		return "()"
	case *BoolLit:
		return fmt.Sprint(v.Value)
	case *IntLit:
		return fmt.Sprint(v.Value)
	case *FloatLit:
		return fmt.Sprintf("%gf", v.Value)
	case *StringLit:
		return fmt.Sprintf("%q", v.Value)
	case *CharLit:
		return fmt.Sprintf("%q", v.Value)
	case *InterpString:
		return "(interp" + dumpList(v.Parts) + ")"
	case *Ident:
		return v.Name
	case *PathExpr:
		return strings.Join(v.Namespace, "::") + "::" + v.Name
	case *ArrayLit:
		return "[" + strings.TrimPrefix(dumpList(v.Elems), " ") + "]"
	case *MapLit:
		var parts []string
		for i, k := range v.Keys {
			parts = append(parts, k+": "+dump(v.Values[i]))
		}
		return "#{" + strings.Join(parts, ", ") + "}"
	case *UnaryExpr:
		return "(" + v.Op.String() + " " + dump(v.X) + ")"
	case *BinaryExpr:
		return "(" + v.Op.String() + " " + dump(v.L) + " " + dump(v.R) + ")"
	case *IndexExpr:
		op := "[]"
		if v.Safe {
			op = "?[]"
		}
		return "(" + op + " " + dump(v.X) + " " + dump(v.Index) + ")"
	case *PropExpr:
		op := "."
		if v.Safe {
			op = "?."
		}
		return "(" + op + " " + dump(v.X) + " " + v.Name + ")"
	case *MethodCallExpr:
		return "(." + v.Name + " " + dump(v.X) + dumpList(v.Args) + ")"
	case *CallExpr:
		name := v.Name
		if len(v.Namespace) > 0 {
			name = strings.Join(v.Namespace, "::") + "::" + name
		}
		if v.Bang {
			name += "!"
		}
		return "(call " + name + dumpList(v.Args) + ")"
	case *ClosureExpr:
		return "(fn |" + strings.Join(v.Params, ",") + "| " + dump(v.Body) + ")"
	case *BlockExpr:
		var parts []string
		for _, s := range v.Stmts {
			parts = append(parts, dump(s))
		}
		return "{" + strings.Join(parts, "; ") + "}"
	case *IfExpr:
		return "(if " + dump(v.Cond) + " " + dump(v.Then) + " " + dump(v.Else) + ")"
	case *SwitchExpr:
		var parts []string
		for _, c := range v.Cases {
			s := strings.TrimPrefix(dumpList(c.Values), " ")
			if c.Cond != nil {
				s += " if " + dump(c.Cond)
			}
			parts = append(parts, s+" => "+dump(c.Body))
		}
		if v.Default != nil {
			parts = append(parts, "_ => "+dump(v.Default))
		}
		return "(switch " + dump(v.X) + " " + strings.Join(parts, ", ") + ")"
	case *WhileExpr:
		if v.Cond == nil {
			return "(loop " + dump(v.Body) + ")"
		}
		return "(while " + dump(v.Cond) + " " + dump(v.Body) + ")"
	case *DoExpr:
		kw := "while"
		if v.Until {
			kw = "until"
		}
		return "(do " + dump(v.Body) + " " + kw + " " + dump(v.Cond) + ")"
	case *ForExpr:
		vars := v.Var
		if v.Counter != "" {
			vars += "," + v.Counter
		}
		return "(for " + vars + " " + dump(v.Iter) + " " + dump(v.Body) + ")"
	case *LetStmt:
		kw := "let"
		if v.Const {
			kw = "const"
		}
		if v.Export {
			kw = "export " + kw
		}
		return "(" + kw + " " + v.Name + " " + dump(v.Value) + ")"
	case *AssignStmt:
		return "(" + v.Op.String() + " " + dump(v.LHS) + " " + dump(v.RHS) + ")"
	case *ExprStmt:
		return dump(v.X)
	case *ReturnStmt:
		return "(return " + dump(v.Value) + ")"
	case *ThrowStmt:
		return "(throw " + dump(v.Value) + ")"
	case *BreakStmt:
		return "(break " + dump(v.Value) + ")"
	case *ContinueStmt:
		return "(continue)"
	case *TryStmt:
		return "(try " + dump(v.Body) + " " + v.ErrVar + " " + dump(v.Catch) + ")"
	case *ImportStmt:
		return "(import " + dump(v.Path) + " " + v.Alias + ")"
	case *ExportStmt:
		return "(export " + v.Name + " " + v.Alias + ")"
	case *EmptyStmt:
		return "(;)"
	case *FnDef:
		name := v.Name
		if v.ThisType != "" {
			name = v.ThisType + "." + name
		}
		if v.Private {
			name = "private " + name
		}
		return "(fn " + name + "(" + strings.Join(v.Params, ",") + ") " + dump(v.Body) + ")"
	}
	return fmt.Sprintf("?%T", n)
}

func dumpList(xs []Expr) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteString(" ")
		b.WriteString(dump(x))
	}
	return b.String()
}

// dumpScript renders all statements, then the functions.
func dumpScript(s *Script) string {
	var parts []string
	for _, f := range s.Fns {
		parts = append(parts, dump(f))
	}
	for _, st := range s.Stmts {
		parts = append(parts, dump(st))
	}
	return strings.Join(parts, "; ")
}
