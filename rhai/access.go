package rhai

import (
	"strconv"
	"unicode/utf8"

	"github.com/picloud/picloud/rhai/syntax"
)

// Reading and writing through indexes and properties, and assignment.

// chainHasSafe reports whether a ?. or ?[ appears further down a chain: when
// it short-circuits, the rest of the chain yields () too.
func chainHasSafe(e syntax.Expr) bool {
	for {
		switch x := e.(type) {
		case *syntax.IndexExpr:
			if x.Safe {
				return true
			}
			e = x.X
		case *syntax.PropExpr:
			if x.Safe {
				return true
			}
			e = x.X
		case *syntax.MethodCallExpr:
			if x.Safe {
				return true
			}
			e = x.X
		default:
			return false
		}
	}
}

func (c *compiler) index(e *syntax.IndexExpr) evalFn {
	x, i := c.expr(e.X), c.expr(e.Index)
	pos, bracket, safe := e.Index.Position(), e.Pos, e.Safe || chainHasSafe(e.X)
	return func(fr *frame) Value {
		v := x(fr)
		if safe && v.t == TypeUnit {
			return Unit
		}
		k := i(fr)
		if v.t == TypeArray && k.t == TypeInt {
			if e, ok := v.p.(*Array).get(int64(k.n)); ok { // packed or not
				return e
			}
		}
		return fr.th.indexGet(v, k, pos, bracket)
	}
}

func arrayBoundsError(idx int64, n int) *Error {
	if n == 0 {
		return &Error{Kind: ErrArrayBounds, Message: "Array index " + strconv.FormatInt(idx, 10) + " out of bounds: array is empty"}
	}
	return &Error{Kind: ErrArrayBounds, Message: "Array index " + strconv.FormatInt(idx, 10) +
		" out of bounds: only " + strconv.Itoa(n) + " element" + plural(n) + " in array"}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// normIndex turns a possibly negative index into a position in [0, n), or -1.
func normIndex(idx int64, n int) int {
	if idx < 0 {
		idx += int64(n)
	}
	if idx < 0 || idx >= int64(n) {
		return -1
	}
	return int(idx)
}

// indexGet is v[k]: an array element, a map entry, a string's character or a
// custom indexer's result. pos is the index expression's position, bracket
// the [ (where a value without an indexer is reported).
func (th *thread) indexGet(v, k Value, pos, bracket syntax.Pos) Value {
	switch v.t {
	case TypeArray:
		if k.t == TypeInt {
			a := v.array() // packed or not
			i := normIndex(k.AsInt(), a.Len())
			if i < 0 {
				raise(arrayBoundsError(k.AsInt(), a.Len()), pos)
			}
			return a.at(i)
		}
		if k.IsRange() {
			raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: core::ops::range::" + signatureTypeName(k) + " (expecting i64)"}, pos)
		}
		raise(&Error{Kind: ErrIndexingType, Message: "Array, string or bit-field expects numeric index, not " + indexTypeWord(k)}, pos)
	case TypeMap:
		if k.t == TypeString || k.t == TypeChar {
			key := k.AsString()
			if k.t == TypeChar {
				key = string(k.AsChar())
			}
			return v.AsMap().M[key]
		}
		raise(&Error{Kind: ErrIndexingType, Message: "Object map expects string index, not " + indexTypeWord(k)}, pos)
	case TypeString:
		if k.t == TypeInt {
			s := v.AsString()
			r, ok := charAt(s, k.AsInt())
			if !ok {
				raise(stringBoundsError(k.AsInt(), utf8.RuneCountInString(s)), pos)
			}
			return Char(r)
		}
	case TypeUnit:
		// fallthrough to natives / error
	}
	args := [2]Value{v, k}
	if f := th.eng.findNative("index$get", args[:]); f != nil {
		return th.callNativeFn(f, args[:], pos)
	}
	raise(indexerUnavailable(v, k), bracket)
	return Unit
}

// indexerUnavailable is Rhai's error for indexing a value that has no indexer.
func indexerUnavailable(v, k Value) *Error {
	return &Error{Kind: ErrIndexingType, Message: "Indexer unavailable: " + v.TypeName() + " [" + k.TypeName() + "]"}
}

func indexTypeWord(k Value) string {
	switch k.t {
	case TypeString:
		return "a string"
	case TypeFloat, TypeInt:
		return "a number"
	case TypeChar:
		return "a character"
	case TypeBool:
		return "a boolean"
	}
	return k.TypeName()
}

func stringBoundsError(idx int64, n int) *Error {
	if n == 0 {
		return &Error{Kind: ErrStringBounds, Message: "String index " + strconv.FormatInt(idx, 10) + " out of bounds: string is empty"}
	}
	return &Error{Kind: ErrStringBounds, Message: "String index " + strconv.FormatInt(idx, 10) +
		" out of bounds: only " + strconv.Itoa(n) + " character" + plural(n) + " in string"}
}

// charAt returns the character at a (possibly negative) character position.
func charAt(s string, idx int64) (rune, bool) {
	if idx >= 0 {
		i := int64(0)
		for _, r := range s {
			if i == idx {
				return r, true
			}
			i++
		}
		return 0, false
	}
	n := int64(utf8.RuneCountInString(s))
	idx += n
	if idx < 0 {
		return 0, false
	}
	return charAt(s, idx)
}

func (c *compiler) prop(e *syntax.PropExpr) evalFn {
	x := c.expr(e.X)
	name, pos, safe := e.Name, e.Pos, e.Safe || chainHasSafe(e.X)
	return func(fr *frame) Value {
		v := x(fr)
		if safe && v.t == TypeUnit {
			return Unit
		}
		return fr.th.propGet(v, name, pos)
	}
}

func (th *thread) propGet(v Value, name string, pos syntax.Pos) Value {
	if v.t == TypeMap {
		return v.AsMap().M[name]
	}
	args := [1]Value{v}
	if f := th.eng.findNative("get$"+name, args[:]); f != nil {
		return th.callNativeFn(f, args[:], pos)
	}
	raise(&Error{Kind: ErrDotExpr, Message: "Unknown property '" + name + "' - a getter is not registered for type '" + v.TypeName() + "'"}, pos)
	return Unit
}

// ---- References: assignable places ----

type refKind uint8

const (
	refPtr    refKind = iota // p points at the value
	refMapKey                // m.M[key]
	refParent                // a value inside a parent that must be rebuilt: string char, bit, blob byte, setter
)

// ref is a resolved assignable place.
type ref struct {
	kind    refKind
	p       *Value
	m       *Map
	key     string
	parent  *ref
	pv      Value // the parent's value (refParent)
	idx     Value // index (refParent via index) ...
	prop    string
	isConst bool
	pos     syntax.Pos // the [ or . of an element or property
	ipos    syntax.Pos // the index expression of an element
	opPos   syntax.Pos // the assignment operator setting this place
}

func (r *ref) get(th *thread) Value {
	switch r.kind {
	case refPtr:
		return *r.p
	case refMapKey:
		return r.m.M[r.key]
	}
	if r.prop != "" {
		return th.propGet(r.pv, r.prop, r.pos)
	}
	ipos := r.ipos
	if !ipos.IsValid() {
		ipos = r.pos
	}
	return th.indexGet(r.pv, r.idx, ipos, r.pos)
}

func (r *ref) set(th *thread, v Value) {
	switch r.kind {
	case refPtr:
		*r.p = v
		return
	case refMapKey:
		th.checkMapGrow(r.m, r.key, r.pos)
		r.m.M[r.key] = v
		return
	}
	// Rebuild the parent with the new part, then store the parent.
	pv := r.pv
	if r.prop != "" {
		args := [2]Value{pv, v}
		f := th.eng.findNative("set$"+r.prop, args[:])
		if f == nil {
			raise(&Error{Kind: ErrDotExpr, Message: "No writable property '" + r.prop + "' - a setter is not registered for type '" +
				pv.TypeName() + "' to handle '" + v.TypeName() + "'"}, r.pos)
		}
		th.callNativeFn(f, args[:], r.pos)
		pv = args[0]
	} else {
		pv = th.indexSetValue(pv, r.idx, v, r)
	}
	r.parent.set(th, pv)
}

func (th *thread) checkMapGrow(m *Map, key string, pos syntax.Pos) {
	if th.eng.limits.MaxMapSize > 0 || th.memLimit > 0 {
		if _, ok := m.M[key]; !ok {
			th.checkSizeOrRaise(sizeMap, len(m.M)+1, pos)
			th.grow(mapEntryBytes + len(key))
		}
	}
}

// indexSetValue returns container pv with element idx replaced by v, for the
// containers that are plain values (strings, integers as bit-fields, BLOBs) or
// have custom indexers.
//
// As in Rhai, a bad index is reported at the index expression and a value of
// the wrong type at the assignment operator.
func (th *thread) indexSetValue(pv, idx, v Value, r *ref) Value {
	pos, ipos, opPos := r.pos, r.ipos, r.opPos
	if !ipos.IsValid() {
		ipos = pos
	}
	if !opPos.IsValid() {
		opPos = pos
	}
	if pv.t == TypeInt && idx.t == TypeInt {
		if _, err := bitIndex(idx.AsInt()); err != nil {
			raise(err, ipos)
		}
		if v.t != TypeBool {
			raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting bool)"}, opPos)
		}
	}
	if pv.t == TypeString && idx.t == TypeInt {
		s := pv.AsString()
		n := utf8.RuneCountInString(s)
		i := normIndex(idx.AsInt(), n)
		if i < 0 {
			raise(stringBoundsError(idx.AsInt(), n), ipos)
		}
		if v.t != TypeChar {
			raise(&Error{Kind: ErrMismatchDataType, Message: "Data type incorrect: " + v.TypeName() + " (expecting char)"}, opPos)
		}
		if k := idx.AsInt(); k < 0 {
			// Rhai 1.25 reads s[-k] from the end but writes the character
			// at position k from the start (nothing when k is the length).
			i = int(-k)
			if i >= n {
				return pv
			}
		}
		rs := []rune(s)
		rs[i] = v.AsChar()
		return String(string(rs))
	}
	args := [3]Value{pv, idx, v}
	if f := th.eng.findNative("index$set", args[:]); f != nil {
		th.callNativeFn(f, args[:], pos)
		return args[0]
	}
	raise(indexerUnavailable(pv, idx), pos)
	return Unit
}

// compileRef compiles an assignable expression to a function resolving it.
func (c *compiler) compileRef(e syntax.Expr) func(fr *frame) ref {
	switch e := e.(type) {
	case *syntax.Ident:
		if c.res.dynFirst[e] {
			e2 := *e
			static := c.compileRefIdent(&e2, c.binding(e))
			name := e.Name
			return func(fr *frame) ref {
				if p := fr.th.lookupEvalVar(name); p != nil {
					return ref{p: p, pos: e.Pos}
				}
				return static(fr)
			}
		}
		return c.compileRefIdent(e, c.binding(e))
	case *syntax.IndexExpr:
		parent := c.compileRef(e.X)
		idx := c.expr(e.Index)
		pos, ipos := e.Pos, e.Index.Position()
		safe := e.Safe || chainHasSafe(e.X)
		return func(fr *frame) ref {
			pr := parent(fr)
			th := fr.th
			k := idx(fr)
			pv := pr.get(th)
			if safe && pv.t == TypeUnit {
				var sink Value
				return ref{p: &sink}
			}
			switch pv.t {
			case TypeArray:
				if k.t == TypeInt {
					items := pv.AsArray().Items
					i := normIndex(k.AsInt(), len(items))
					if i < 0 {
						raise(arrayBoundsError(k.AsInt(), len(items)), ipos)
					}
					return ref{p: &items[i], isConst: pr.isConst, pos: pos}
				}
				raise(&Error{Kind: ErrIndexingType, Message: "Array, string or bit-field expects numeric index, not " + indexTypeWord(k)}, pos)
			case TypeMap:
				if k.t == TypeString || k.t == TypeChar {
					key := k.AsString()
					if k.t == TypeChar {
						key = string(k.AsChar())
					}
					return ref{kind: refMapKey, m: pv.AsMap(), key: key, isConst: pr.isConst, pos: pos}
				}
				raise(&Error{Kind: ErrIndexingType, Message: "Object map expects string index, not " + indexTypeWord(k)}, pos)
			}
			p := pr
			return ref{kind: refParent, parent: &p, pv: pv, idx: k, isConst: pr.isConst, pos: pos, ipos: ipos}
		}
	case *syntax.PropExpr:
		parent := c.compileRef(e.X)
		name, pos := e.Name, e.Pos
		safe := e.Safe || chainHasSafe(e.X)
		return func(fr *frame) ref {
			pr := parent(fr)
			pv := pr.get(fr.th)
			if safe && pv.t == TypeUnit {
				var sink Value
				return ref{p: &sink}
			}
			if pv.t == TypeMap {
				return ref{kind: refMapKey, m: pv.AsMap(), key: name, isConst: pr.isConst, pos: pos}
			}
			p := pr
			return ref{kind: refParent, parent: &p, pv: pv, prop: name, isConst: pr.isConst, pos: pos}
		}
	}
	if p, ok := e.(*syntax.PathExpr); ok {
		// Module variables (and global:: constants) are constants: a read-only
		// place, so assigning to it is ErrorAssignmentToConstant and a
		// non-pure method on it ErrorNonPureMethodCallOnConstant, as in Rhai.
		pos := p.NamePos
		x := c.expr(e)
		return func(fr *frame) ref {
			v := x(fr)
			return ref{p: &v, isConst: true, pos: pos}
		}
	}
	// Not a place: a temporary.
	x := c.expr(e)
	return func(fr *frame) ref {
		v := x(fr)
		return ref{p: &v}
	}
}

func (c *compiler) assign(s *syntax.AssignStmt) execFn {
	at := s.Pos
	rhs := c.storeExpr(s.RHS)
	pos := s.Pos
	target := c.compileRef(s.LHS)
	if s.Op == syntax.Assign {
		// Fast path: an element of an array in a plain local variable (a[i] = v).
		if ix, ok := s.LHS.(*syntax.IndexExpr); ok && !ix.Safe {
			if id, ok := ix.X.(*syntax.Ident); ok {
				if b := c.binding(id); b.kind == bLocal && !b.boxed && !b.isConst && !c.res.dynFirst[id] {
					slot, idx := b.idx, c.expr(ix.Index)
					return func(fr *frame) ctrl {
						fr.tickAt(at)
						v := rhs(fr)
						if cont := fr.slots[slot]; cont.t == TypeArray {
							if k := idx(fr); k.t == TypeInt {
								if cont.p.(*Array).set(k.AsInt(), v) { // packed or not
									store(&fr.ret, Unit)
									return ctrlNone
								}
							}
						}
						r := target(fr)
						r.opPos = pos
						r.set(fr.th, v)
						store(&fr.ret, Unit)
						return ctrlNone
					}
				}
			}
		}
		// Fast path: a plain local variable.
		if id, ok := s.LHS.(*syntax.Ident); ok && !c.res.dynFirst[id] {
			if b := c.binding(id); b.kind == bLocal && !b.boxed && !b.isConst {
				idx := b.idx
				return func(fr *frame) ctrl {
					fr.tickAt(at)
					store(&fr.slots[idx], rhs(fr))
					store(&fr.ret, Unit)
					return ctrlNone
				}
			}
		}
		return func(fr *frame) ctrl {
			fr.tickAt(at)
			v := rhs(fr)
			r := target(fr)
			if r.isConst {
				raise(assignConstError(s.LHS), pos)
			}
			r.opPos = pos
			r.set(fr.th, v)
			store(&fr.ret, Unit)
			return ctrlNone
		}
	}
	op := syntax.BinaryOpOf(s.Op)
	opAssign := s.Op.String()
	// Fast path: integer compound assignment to a plain local variable.
	if id, ok := s.LHS.(*syntax.Ident); ok && !c.res.dynFirst[id] {
		if b := c.binding(id); b.kind == bLocal && !b.boxed && !b.isConst && (op == syntax.Plus || op == syntax.Minus) {
			idx := b.idx
			plus := op == syntax.Plus
			return func(fr *frame) ctrl {
				fr.tickAt(at)
				v := rhs(fr)
				cur := fr.slots[idx]
				if cur.t == TypeInt && v.t == TypeInt {
					x, y := int64(cur.n), int64(v.n)
					if plus {
						if s := x + y; (s > x) == (y > 0) {
							store(&fr.slots[idx], Value{t: TypeInt, n: uint64(s)})
							store(&fr.ret, Unit)
							return ctrlNone
						}
					} else if s := x - y; (s < x) == (y > 0) {
						store(&fr.slots[idx], Value{t: TypeInt, n: uint64(s)})
						store(&fr.ret, Unit)
						return ctrlNone
					}
				}
				r := ref{p: &fr.slots[idx], pos: pos}
				fr.th.compoundAssign(&r, op, opAssign, v, pos)
				store(&fr.ret, Unit)
				return ctrlNone
			}
		}
	}
	return func(fr *frame) ctrl {
		fr.tickAt(at)
		v := rhs(fr)
		r := target(fr)
		if r.isConst {
			raise(assignConstError(s.LHS), pos)
		}
		r.opPos = pos
		fr.th.compoundAssign(&r, op, opAssign, v, pos)
		store(&fr.ret, Unit)
		return ctrlNone
	}
}

func assignConstError(lhs syntax.Expr) *Error {
	name := ""
	var pos syntax.Pos
	for {
		switch e := lhs.(type) {
		case *syntax.Ident:
			pos = e.Pos
			if e.Name != "this" {
				name = e.Name
			}
		case *syntax.IndexExpr:
			lhs = e.X
			continue
		case *syntax.PropExpr:
			lhs = e.X
			continue
		case *syntax.PathExpr:
			name, pos = e.Name, e.NamePos
		}
		break
	}
	return &Error{Kind: ErrAssignmentToConstant, Message: "Cannot modify constant " + name, Pos: pos}
}

// compoundAssign performs `place op= v`: an op-assign function registered for
// the types (array += array appends in place), else the binary operator.
func (th *thread) compoundAssign(r *ref, op syntax.Token, opAssign string, v Value, pos syntax.Pos) {
	cur := r.get(th)
	switch {
	case cur.IsNumber() && v.IsNumber():
		// Numbers first: no registered op-assign function applies to them.
		r.set(th, binaryArith(th, op, cur, v, pos))
		return
	case op == syntax.Plus && cur.t == TypeString && (v.t == TypeString || v.t == TypeChar):
		// s += text: the new string is the only allocation.
		s := cur.AsString()
		var add string
		if v.t == TypeString {
			add = v.AsString()
		} else {
			add = string(v.AsChar())
		}
		th.checkSizeOrRaise(sizeString, len(s)+len(add), pos)
		r.set(th, String(th.appendString(s, add)))
		return
	}
	th.compoundAssignSlow(r, cur, op, opAssign, v, pos)
}

// compoundAssignSlow tries an op-assign function registered for the types
// (array += array appends in place), then the binary operator.
func (th *thread) compoundAssignSlow(r *ref, cur Value, op syntax.Token, opAssign string, v Value, pos syntax.Pos) {
	args := [2]Value{cur, v}
	if f := th.eng.findNative(opAssign, args[:]); f != nil {
		th.callNativeFn(f, args[:], pos)
		r.set(th, args[0])
		return
	}
	if op == syntax.Plus && cur.t == TypeString {
		s := cur.AsString()
		add := th.display(v)
		th.checkSizeOrRaise(sizeString, len(s)+len(add), pos)
		r.set(th, String(th.appendString(s, add)))
		return
	}
	r.set(th, binaryArith(th, op, cur, v, pos))
}

// binaryArith is the operator of a compound assignment; unlike the binary
// operators, Rhai reports its arithmetic errors at the assignment operator.
func binaryArith(th *thread, op syntax.Token, a, b Value, pos syntax.Pos) Value {
	v, ok, err := binaryOp(op, a, b)
	if err != nil {
		raise(err, pos)
	}
	if ok {
		return v
	}
	args := [2]Value{a, b}
	return th.callNativeOp(op.String(), args[:], pos)
}

func (c *compiler) compileRefIdent(e *syntax.Ident, b *binding) func(fr *frame) ref {
	pos := e.Pos
	isConst := b.isConst
	switch b.kind {
	case bLocal:
		idx := b.idx
		if b.boxed {
			return func(fr *frame) ref {
				return ref{p: &fr.slots[idx].p.(*cell).v, isConst: isConst, pos: pos}
			}
		}
		return func(fr *frame) ref { return ref{p: &fr.slots[idx], isConst: isConst, pos: pos} }
	case bEnv:
		idx := b.idx
		return func(fr *frame) ref { return ref{p: &fr.env[idx].v, isConst: isConst, pos: pos} }
	case bThis:
		return func(fr *frame) ref {
			if fr.this == nil {
				raise(&Error{Kind: ErrUnboundThis, Message: "'this' not bound"}, pos)
			}
			return ref{p: fr.this, isConst: fr.thisConst, pos: pos}
		}
	}
	name := e.Name
	isFn := c.ast.hasFnNamed(name)
	return func(fr *frame) ref {
		if p := fr.th.lookupFree(fr, name); p != nil {
			i := fr.th.scope.index(name)
			return ref{p: p, isConst: i >= 0 && fr.th.scope.vars[i].isConst, pos: pos}
		}
		if isFn {
			fp := NewFnPtr(name)
			return ref{p: &fp, isConst: true, pos: pos}
		}
		raise(&Error{Kind: ErrVariableNotFound, Message: "Variable not found: " + name, Var: name}, pos)
		return ref{}
	}
}
