package rhai

// Conversions between Go values and Values for a host: FromGo (by type
// switch, then reflection) and ToGo. Rhai's own JSON (to_json, parse_json)
// and ParseJSON are in json.go.

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// FromGo converts a Go value into a Value: nil, bool, every integer and float
// type, string, []byte (a BLOB), time.Time (a timestamp), json.Number, Value,
// slices and arrays (arrays), maps with string keys (object maps), and pointers
// to those. Unsigned integers above the i64 range are an error.
func FromGo(x any) (Value, error) {
	switch x := x.(type) {
	case nil:
		return Unit, nil
	case Value:
		return x, nil
	case *Value:
		if x == nil {
			return Unit, nil
		}
		return *x, nil
	case bool:
		return Bool(x), nil
	case int:
		return Int(int64(x)), nil
	case int8:
		return Int(int64(x)), nil
	case int16:
		return Int(int64(x)), nil
	case int32:
		return Int(int64(x)), nil
	case int64:
		return Int(x), nil
	case uint:
		return fromUint(uint64(x))
	case uint8:
		return Int(int64(x)), nil
	case uint16:
		return Int(int64(x)), nil
	case uint32:
		return Int(int64(x)), nil
	case uint64:
		return fromUint(x)
	case uintptr:
		return fromUint(uint64(x))
	case float32:
		return Float(float64(x)), nil
	case float64:
		return Float(x), nil
	case string:
		return String(x), nil
	case []byte:
		return NewBlob(append([]byte{}, x...)), nil
	case time.Time:
		return NewTimestamp(x), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return Int(i), nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return Unit, fmt.Errorf("rhai: invalid json.Number %q", string(x))
		}
		return Float(f), nil
	case []Value:
		return NewArray(cloneValues(nil, x)), nil
	case []any:
		items := make([]Value, len(x))
		for i, e := range x {
			v, err := FromGo(e)
			if err != nil {
				return Unit, err
			}
			items[i] = v
		}
		return NewArray(items), nil
	case map[string]any:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			v, err := FromGo(e)
			if err != nil {
				return Unit, err
			}
			m[k] = v
		}
		return NewMap(m), nil
	case map[string]Value:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			m[k] = e.Clone()
		}
		return NewMap(m), nil
	}
	return fromReflect(reflect.ValueOf(x))
}

// fromUint converts an unsigned integer, refusing one above the i64 range.
func fromUint(u uint64) (Value, error) {
	if u > math.MaxInt64 {
		return Unit, fmt.Errorf("rhai: integer %d overflows i64", u)
	}
	return Int(int64(u)), nil
}

// fromReflect is FromGo for the types its type switch does not name: named
// types, pointers, slices, arrays and string-keyed maps of any element type.
func fromReflect(rv reflect.Value) (Value, error) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return Unit, nil
		}
		return FromGo(rv.Elem().Interface())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return NewArray([]Value{}), nil
		}
		items := make([]Value, rv.Len())
		for i := range items {
			v, err := FromGo(rv.Index(i).Interface())
			if err != nil {
				return Unit, err
			}
			items[i] = v
		}
		return NewArray(items), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		m := make(map[string]Value, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			v, err := FromGo(it.Value().Interface())
			if err != nil {
				return Unit, err
			}
			m[it.Key().String()] = v
		}
		return NewMap(m), nil
	case reflect.Bool:
		return Bool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Int(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fromUint(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return Float(rv.Float()), nil
	case reflect.String:
		return String(rv.String()), nil
	}
	if !rv.IsValid() {
		return Unit, nil
	}
	return Unit, fmt.Errorf("rhai: cannot convert %s to a Rhai value", rv.Type())
}

// ToGo converts a Value into plain Go values: () is nil, bool, int64, float64,
// string (characters too), []any for arrays, map[string]any for maps, []byte
// for BLOBs, int64 for bytes (u8), time.Time for timestamps, the display text
// for ranges and the function name for function pointers; a custom value
// gives its Go value.
func ToGo(v Value) any {
	switch v.t {
	case TypeUnit:
		return nil
	case TypeBool:
		return v.AsBool()
	case TypeInt, TypeU8:
		return int64(v.n)
	case TypeFloat:
		return v.AsFloat()
	case TypeChar:
		return string(v.AsChar())
	case TypeString:
		return v.AsString()
	case TypeArray:
		items := v.AsArray().Items
		out := make([]any, len(items))
		for i, e := range items {
			out[i] = ToGo(e)
		}
		return out
	case TypeMap:
		mp := v.AsMap().M
		out := make(map[string]any, len(mp))
		for k, e := range mp {
			out[k] = ToGo(e)
		}
		return out
	case TypeBlob:
		return append([]byte{}, v.AsBlob().B...)
	case TypeTimestamp:
		return v.AsTimestamp()
	case TypeRange, TypeRangeInclusive:
		return rangeText(v)
	case TypeFnPtr:
		return v.AsFnPtr().Name
	case TypeCustom:
		return v.AsCustom().V
	}
	return nil
}

// rangeText is a range's display text, 1..5 or 1..=5 (ToGo and to_json).
func rangeText(v Value) string {
	r := v.AsRange()
	op := ".."
	if v.t == TypeRangeInclusive {
		op = "..="
	}
	return strconv.FormatInt(r.Start, 10) + op + strconv.FormatInt(r.End, 10)
}
