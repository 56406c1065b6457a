package rhai

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/picloud/picloud/rhai/syntax"
)

// binaryOp applies a built-in binary operator. ok is false when Rhai has no
// built-in operator for these operand types (the caller then looks for a
// registered function and reports ErrorFunctionNotFound).
func binaryOp(op syntax.Token, a, b Value) (v Value, ok bool, err *Error) {
	if a.t == b.t {
		switch a.t {
		case TypeInt:
			return arithInt(op, int64(a.n), int64(b.n))
		case TypeFloat:
			return arithFloat(op, a.AsFloat(), b.AsFloat())
		case TypeString:
			return arithString(op, a.AsString(), b.AsString(), true)
		case TypeChar:
			if op == syntax.Plus {
				var buf [8]byte
				s := utf8.AppendRune(buf[:0], rune(a.n))
				s = utf8.AppendRune(s, rune(b.n))
				return String(string(s)), true, nil
			}
			if r, ok := cmpOp(op, cmpInt64(int64(a.n), int64(b.n))); ok {
				return Bool(r), true, nil
			}
			return Unit, false, nil
		case TypeBool:
			x, y := a.n != 0, b.n != 0
			switch op {
			case syntax.Amp, syntax.AndAnd:
				return Bool(x && y), true, nil
			case syntax.Pipe, syntax.OrOr:
				return Bool(x || y), true, nil
			case syntax.Caret:
				return Bool(x != y), true, nil
			}
			if r, ok := cmpOp(op, cmpInt64(int64(a.n), int64(b.n))); ok {
				return Bool(r), true, nil
			}
			return Unit, false, nil
		case TypeUnit:
			switch op {
			case syntax.EqEq, syntax.Le, syntax.Ge:
				return Bool(true), true, nil
			case syntax.NotEq, syntax.Lt, syntax.Gt:
				return Bool(false), true, nil
			}
			return Unit, false, nil
		case TypeArray, TypeMap, TypeBlob, TypeRange, TypeRangeInclusive:
			switch op {
			case syntax.EqEq:
				return Bool(opEqual(a, b)), true, nil
			case syntax.NotEq:
				return Bool(!opEqual(a, b)), true, nil
			}
			return Unit, false, nil
		}
		return Unit, false, nil
	}

	// Different types.
	switch {
	case a.t == TypeInt && b.t == TypeFloat:
		return arithFloat(op, float64(int64(a.n)), b.AsFloat())
	case a.t == TypeFloat && b.t == TypeInt:
		return arithFloat(op, a.AsFloat(), float64(int64(b.n)))
	case a.t == TypeString && b.t == TypeChar:
		return arithString(op, a.AsString(), string(rune(b.n)), false)
	case a.t == TypeChar && b.t == TypeString:
		if op == syntax.Minus {
			return Unit, false, nil
		}
		return arithString(op, string(rune(a.n)), b.AsString(), false)
	case a.t == TypeCustom || b.t == TypeCustom:
		return Unit, false, nil
	}
	if op == syntax.Plus {
		if a.t == TypeString {
			if b.t == TypeBlob {
				return String(a.AsString() + strings.ToValidUTF8(string(b.AsBlob().B), "\uFFFD")), true, nil
			}
			return String(a.AsString() + toDisplay(b)), true, nil
		}
		if b.t == TypeString {
			if a.t == TypeBlob {
				return String(strings.ToValidUTF8(string(a.AsBlob().B), "\uFFFD") + b.AsString()), true, nil
			}
			return String(toDisplay(a) + b.AsString()), true, nil
		}
	}
	// Values of different types are never equal, nor ordered.
	switch op {
	case syntax.NotEq:
		return Bool(true), true, nil
	case syntax.EqEq, syntax.Lt, syntax.Le, syntax.Gt, syntax.Ge:
		return Bool(false), true, nil
	}
	return Unit, false, nil
}

// unaryOp applies a built-in unary operator (-, +, !).
func unaryOp(op syntax.Token, a Value) (v Value, ok bool, err *Error) {
	switch op {
	case syntax.Minus:
		switch a.t {
		case TypeInt:
			x := int64(a.n)
			if x == math.MinInt64 {
				return Unit, true, &Error{Kind: ErrArithmetic, Message: "Negation overflow: -" + strconv.FormatInt(x, 10)}
			}
			return Int(-x), true, nil
		case TypeFloat:
			return Float(-a.AsFloat()), true, nil
		}
	case syntax.Plus:
		switch a.t {
		case TypeInt, TypeFloat:
			return a, true, nil
		}
	case syntax.Bang:
		if a.t == TypeBool {
			return Bool(a.n == 0), true, nil
		}
	}
	return Unit, false, nil
}

// switchEqual is the strict equality switch uses: same type and same value
// (1 does not match 1.0).
func switchEqual(a, b Value) bool {
	if a.t != b.t {
		return false
	}
	switch a.t {
	case TypeUnit:
		return true
	case TypeBool, TypeInt, TypeChar, TypeU8, TypeFloat:
		return a.n == b.n
	case TypeString:
		return a.AsString() == b.AsString()
	}
	return opEqual(a, b)
}

// opEqual is Rhai's == on two values (false where == is not defined), with
// no thread to charge (see thread.equal for the evaluator's charged form).
func opEqual(a, b Value) bool {
	var q equaler
	return q.equal(a, b, 0)
}

// equaler compares values with ==. With a thread, comparing arrays and maps
// counts one operation per element and strings and BLOBs one per
// bytesPerOp bytes, charged as it goes; data nested deeper than
// maxDataDepth is refused (a panic with ErrorDataTooLarge, which the
// evaluation reports as its error).
type equaler struct {
	th *thread // nil: nothing is charged
	n  int     // elements compared since the last charge
}

func (q *equaler) step(k int) {
	if q.th == nil {
		return
	}
	q.n += k
	if q.n >= copyStep {
		q.th.work(q.n * bytesPerOp)
		q.n = 0
	}
}

func (q *equaler) equal(a, b Value, depth int) bool {
	if depth >= maxDataDepth {
		panic(fmtTooDeep())
	}
	if a.t == b.t {
		switch a.t {
		case TypeInt, TypeBool, TypeChar, TypeU8:
			return a.n == b.n
		case TypeString:
			if q.th != nil {
				q.th.work(min(len(a.AsString()), len(b.AsString())))
			}
			return a.AsString() == b.AsString()
		case TypeUnit:
			return true
		case TypeArray:
			x, y := a.AsArray().Items, b.AsArray().Items
			if len(x) != len(y) {
				return false
			}
			for i := range x {
				q.step(1)
				if !q.equal(x[i], y[i], depth+1) {
					return false
				}
			}
			return true
		case TypeMap:
			x, y := a.AsMap().M, b.AsMap().M
			if len(x) != len(y) {
				return false
			}
			for k, e := range x {
				q.step(1)
				f, ok := y[k]
				if !ok || !q.equal(e, f, depth+1) {
					return false
				}
			}
			return true
		case TypeBlob:
			if q.th != nil {
				q.th.work(min(len(a.AsBlob().B), len(b.AsBlob().B)))
			}
			return string(a.AsBlob().B) == string(b.AsBlob().B)
		case TypeRange, TypeRangeInclusive:
			return *a.AsRange() == *b.AsRange()
		case TypeTimestamp:
			return a.AsTimestamp().Equal(b.AsTimestamp())
		}
	}
	r, ok, err := binaryOp(syntax.EqEq, a, b)
	if !ok || err != nil || r.t != TypeBool {
		return false
	}
	return r.n != 0
}

// cmpInt64 returns -1, 0 or 1.
func cmpInt64(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// cmpOp turns a three-way comparison into the result of a comparison
// operator; ok is false for other operators.
func cmpOp(op syntax.Token, c int) (r, ok bool) {
	switch op {
	case syntax.EqEq:
		return c == 0, true
	case syntax.NotEq:
		return c != 0, true
	case syntax.Lt:
		return c < 0, true
	case syntax.Le:
		return c <= 0, true
	case syntax.Gt:
		return c > 0, true
	case syntax.Ge:
		return c >= 0, true
	}
	return false, false
}

func overflowErr(what string, x int64, op string, y int64) *Error {
	return &Error{Kind: ErrArithmetic, Message: what + ": " + strconv.FormatInt(x, 10) + " " + op + " " + strconv.FormatInt(y, 10)}
}

// arithInt applies op to two integers with Rhai's checked arithmetic.
func arithInt(op syntax.Token, x, y int64) (Value, bool, *Error) {
	switch op {
	case syntax.Plus:
		r := x + y
		if (r > x) != (y > 0) {
			return Unit, true, overflowErr("Addition overflow", x, "+", y)
		}
		return Int(r), true, nil
	case syntax.Minus:
		r := x - y
		if (r < x) != (y > 0) {
			return Unit, true, overflowErr("Subtraction overflow", x, "-", y)
		}
		return Int(r), true, nil
	case syntax.Star:
		if x == 0 || y == 0 {
			return Int(0), true, nil
		}
		r := x * y
		if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
			return Unit, true, overflowErr("Multiplication overflow", x, "*", y)
		}
		return Int(r), true, nil
	case syntax.Slash:
		if y == 0 {
			return Unit, true, overflowErr("Division by zero", x, "/", y)
		}
		if y == -1 && x == math.MinInt64 {
			return Unit, true, overflowErr("Division overflow", x, "/", y)
		}
		return Int(x / y), true, nil
	case syntax.Percent:
		if y == 0 || (y == -1 && x == math.MinInt64) {
			return Unit, true, overflowErr("Modulo division by zero or overflow", x, "%", y)
		}
		return Int(x % y), true, nil
	case syntax.StarStar:
		r, err := powInt64(x, y)
		if err != nil {
			return Unit, true, err
		}
		return Int(r), true, nil
	case syntax.Shl:
		return Int(shlInt(x, y)), true, nil
	case syntax.Shr:
		return Int(shrInt(x, y)), true, nil
	case syntax.Amp:
		return Int(x & y), true, nil
	case syntax.Pipe:
		return Int(x | y), true, nil
	case syntax.Caret:
		return Int(x ^ y), true, nil
	}
	if r, ok := cmpOp(op, cmpInt64(x, y)); ok {
		return Bool(r), true, nil
	}
	return Unit, false, nil
}

// powInt64 is x ** y with Rhai's errors.
func powInt64(x, y int64) (int64, *Error) {
	if y < 0 {
		return 0, overflowErr("Integer raised to a negative power", x, "**", y)
	}
	if y > math.MaxUint32 {
		return 0, overflowErr("Exponential overflow", x, "**", y)
	}
	result := int64(1)
	base := x
	e := y
	overflow := false
	for e > 0 {
		if e&1 == 1 {
			r, ok := mulInt64Checked(result, base)
			if !ok {
				overflow = true
				break
			}
			result = r
		}
		e >>= 1
		if e > 0 {
			b, ok := mulInt64Checked(base, base)
			if !ok {
				overflow = true
				break
			}
			base = b
		}
	}
	if overflow {
		return 0, overflowErr("Exponential overflow", x, "**", y)
	}
	return result, nil
}

func mulInt64Checked(x, y int64) (int64, bool) {
	if x == 0 || y == 0 {
		return 0, true
	}
	r := x * y
	if r/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
		return 0, false
	}
	return r, true
}

// shlInt is Rhai's <<: a negative amount shifts right, 64 or more gives 0.
func shlInt(x, n int64) int64 {
	if n < 0 {
		return shiftInt(x, uint64(-n), false)
	}
	return shiftInt(x, uint64(n), true)
}

// shrInt is Rhai's >> (arithmetic): a negative amount shifts left.
func shrInt(x, n int64) int64 {
	if n < 0 {
		return shiftInt(x, uint64(-n), true)
	}
	return shiftInt(x, uint64(n), false)
}

func shiftInt(x int64, n uint64, left bool) int64 {
	if left {
		if n >= 64 {
			return 0
		}
		return x << n
	}
	if n >= 64 {
		if x < 0 {
			return -1
		}
		return 0
	}
	return x >> n
}

// arithFloat applies op to two floats (ints already converted).
func arithFloat(op syntax.Token, x, y float64) (Value, bool, *Error) {
	switch op {
	case syntax.Plus:
		return Float(x + y), true, nil
	case syntax.Minus:
		return Float(x - y), true, nil
	case syntax.Star:
		return Float(x * y), true, nil
	case syntax.Slash:
		return Float(x / y), true, nil
	case syntax.Percent:
		return Float(math.Mod(x, y)), true, nil
	case syntax.StarStar:
		return Float(floatPow(x, y)), true, nil
	case syntax.EqEq, syntax.NotEq, syntax.Lt, syntax.Le, syntax.Gt, syntax.Ge:
		return Bool(floatCompare(op, x, y)), true, nil
	}
	return Unit, false, nil
}

const floatEpsilon = 2.220446049250313e-16 // f64::EPSILON

// floatCompare is Rhai's epsilon-tolerant float comparison: with a zero operand
// the tolerance is epsilon, otherwise max(|x|, |y|) * epsilon.
func floatCompare(op syntax.Token, x, y float64) bool {
	tol := floatEpsilon
	if x != 0 && y != 0 {
		tol = math.Max(math.Abs(x), math.Abs(y)) * floatEpsilon
	}
	switch op {
	case syntax.EqEq:
		return x == y || math.Abs(x-y) < tol
	case syntax.NotEq:
		return x != y && math.Abs(x-y) >= tol
	case syntax.Gt:
		return x-y >= tol
	case syntax.Ge:
		return x == y || x-y >= -tol
	case syntax.Lt:
		return y-x >= tol
	case syntax.Le:
		return x == y || y-x >= -tol
	}
	return false
}

// floatPow is x ** y for floats, correctly rounded for integral exponents (as the
// C library's pow is).
func floatPow(x, y float64) float64 {
	if y == 0.5 && x >= 0 && !math.IsInf(x, 0) {
		return math.Sqrt(x)
	}
	if y == math.Trunc(y) && math.Abs(y) <= 1<<16 && x != 0 && !math.IsInf(x, 0) && x == x &&
		x != 1 && x != -1 && y != 0 && y != 1 {
		return floatPowInt(x, int64(y))
	}
	if x > 0 && !math.IsInf(x, 0) && y == y && !math.IsInf(y, 0) && x != 1 {
		// exp(y * ln x) with 200-bit intermediates, so that the result is
		// correctly rounded as the C library's pow is (math.Pow is not).
		const prec = 200
		l := bigLn(new(big.Float).SetPrec(prec).SetFloat64(x), prec)
		l.Mul(l, new(big.Float).SetPrec(prec).SetFloat64(y))
		if f, _ := l.Float64(); f > 710 || f < -746 {
			return math.Pow(x, y) // certainly overflows or underflows
		}
		r, _ := bigExp(l, prec).Float64()
		return r
	}
	return math.Pow(x, y)
}

// bigLn is the natural logarithm of x > 0 to about prec bits.
func bigLn(x *big.Float, prec uint) *big.Float {
	mant := new(big.Float).SetPrec(prec)
	e := x.MantExp(mant) // x = mant * 2^e, mant in [0.5, 1)
	r := bigAtanhLog(mant, prec)
	if e != 0 {
		two := new(big.Float).SetPrec(prec).SetFloat64(2)
		ln2 := bigAtanhLog(two, prec)
		r.Add(r, ln2.Mul(ln2, new(big.Float).SetPrec(prec).SetInt64(int64(e))))
	}
	return r
}

// bigAtanhLog computes ln(m) = 2 atanh((m-1)/(m+1)) for m near 1.
func bigAtanhLog(m *big.Float, prec uint) *big.Float {
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	num := new(big.Float).SetPrec(prec).Sub(m, one)
	den := new(big.Float).SetPrec(prec).Add(m, one)
	z := num.Quo(num, den)
	z2 := new(big.Float).SetPrec(prec).Mul(z, z)
	sum := new(big.Float).SetPrec(prec).Set(z)
	term := new(big.Float).SetPrec(prec).Set(z)
	t := new(big.Float).SetPrec(prec)
	for k := int64(3); k < 2000; k += 2 {
		term.Mul(term, z2)
		t.Quo(term, new(big.Float).SetPrec(prec).SetInt64(k))
		if t.Sign() == 0 || t.MantExp(nil)-sum.MantExp(nil) < -int(prec) {
			break
		}
		sum.Add(sum, t)
	}
	return sum.Mul(sum, new(big.Float).SetPrec(prec).SetInt64(2))
}

// bigExp is e**x to about prec bits (|x| < 750).
func bigExp(x *big.Float, prec uint) *big.Float {
	r := new(big.Float).SetPrec(prec + 64).Set(x)
	// Reduce: e**x = (e**(x/2^m))^(2^m) with |x/2^m| < 2^-8.
	m := 0
	if e := r.MantExp(nil); e > -8 {
		m = e + 8
		r.SetMantExp(r, -m)
	}
	sum := new(big.Float).SetPrec(prec + 64).SetInt64(1)
	term := new(big.Float).SetPrec(prec + 64).SetInt64(1)
	for k := int64(1); k < 200; k++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec+64).SetInt64(k))
		if term.Sign() == 0 || term.MantExp(nil) < -int(prec)-64 {
			break
		}
		sum.Add(sum, term)
	}
	for ; m > 0; m-- {
		sum.Mul(sum, sum)
	}
	return sum
}

// floatPowInt computes x ** n exactly enough (256-bit) to round correctly.
func floatPowInt(x float64, n int64) float64 {
	neg := n < 0
	if neg {
		n = -n
	}
	const prec = 320
	result := new(big.Float).SetPrec(prec).SetFloat64(1)
	base := new(big.Float).SetPrec(prec).SetFloat64(x)
	for n > 0 {
		if n&1 == 1 {
			result.Mul(result, base)
		}
		n >>= 1
		if n > 0 {
			base.Mul(base, base)
		}
		if result.MantExp(nil) > 5000 || result.MantExp(nil) < -5000 {
			break
		}
	}
	if neg {
		result.Quo(new(big.Float).SetPrec(prec).SetFloat64(1), result)
	}
	f, _ := result.Float64()
	return f
}

// arithString applies op to two strings; both reports whether both operands were
// strings (string - char removes the char).
func arithString(op syntax.Token, x, y string, both bool) (Value, bool, *Error) {
	switch op {
	case syntax.Plus:
		if x == "" {
			return String(y), true, nil
		}
		if y == "" {
			return String(x), true, nil
		}
		return String(x + y), true, nil
	case syntax.Minus:
		if y == "" {
			return String(x), true, nil
		}
		if x == "" {
			if both {
				return String(y), true, nil
			}
			return String(x), true, nil
		}
		return String(strings.ReplaceAll(x, y, "")), true, nil
	}
	if r, ok := cmpOp(op, strings.Compare(x, y)); ok {
		return Bool(r), true, nil
	}
	return Unit, false, nil
}
