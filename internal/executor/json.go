package executor

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// maxJSONDepth bounds the nesting of values converted to and from JSON.
const maxJSONDepth = 256

var errTooDeep = errors.New("JSON nested too deeply")

// marshalJSON writes v as JSON by the platform's rules: characters become
// one-character strings, BLOBs base64 strings, NaN and infinities null,
// timestamps, ranges, function pointers and custom values their display text.
// Map keys come out sorted, as Rhai iterates them.
func marshalJSON(v rhai.Value) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, v, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v rhai.Value, depth int) error {
	if depth > maxJSONDepth {
		return errTooDeep
	}
	switch v.Type() {
	case rhai.TypeUnit:
		b.WriteString("null")
	case rhai.TypeBool:
		b.WriteString(strconv.FormatBool(v.AsBool()))
	case rhai.TypeInt:
		b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case rhai.TypeU8:
		b.WriteString(strconv.FormatUint(uint64(v.AsInt()&0xff), 10))
	case rhai.TypeFloat:
		writeFloat(b, v.AsFloat())
	case rhai.TypeChar:
		writeString(b, string(v.AsChar()))
	case rhai.TypeString:
		writeString(b, v.AsString())
	case rhai.TypeBlob:
		writeString(b, base64.StdEncoding.EncodeToString(v.AsBlob().B))
	case rhai.TypeArray:
		b.WriteByte('[')
		for i, e := range v.AsArray().Items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case rhai.TypeMap:
		m := v.AsMap()
		b.WriteByte('{')
		for i, k := range m.SortedKeys() {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := writeJSON(b, m.M[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default: // timestamps, ranges, function pointers, custom values
		writeString(b, v.String())
	}
	return nil
}

func writeFloat(b *bytes.Buffer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b.WriteString("null")
		return
	}
	// encoding/json's float format, keeping a ".0" on whole numbers so that a
	// float stays a float for the reader, as Rhai's serializer does.
	s, _ := json.Marshal(f)
	b.Write(s)
	if bytes.IndexAny(s, ".eE") < 0 {
		b.WriteString(".0")
	}
}

func writeString(b *bytes.Buffer, s string) {
	b.Write(picloud.AppendJSONString(b.AvailableBuffer(), s))
}

// parseJSON turns a JSON document into a Rhai value: objects become maps,
// arrays arrays, integers that fit stay i64, other numbers f64, null ().
func parseJSON(data []byte) (rhai.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return rhai.Unit, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return rhai.Unit, errors.New("trailing data after JSON value")
	}
	return v, nil
}

func readJSON(dec *json.Decoder, depth int) (rhai.Value, error) {
	if depth > maxJSONDepth {
		return rhai.Unit, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return rhai.Unit, err
	}
	switch t := tok.(type) {
	case nil:
		return rhai.Unit, nil
	case bool:
		return rhai.Bool(t), nil
	case string:
		return rhai.String(t), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return rhai.Int(i), nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return rhai.Unit, err
		}
		return rhai.Float(f), nil
	case json.Delim:
		if t == '[' {
			items := []rhai.Value{}
			for dec.More() {
				e, err := readJSON(dec, depth+1)
				if err != nil {
					return rhai.Unit, err
				}
				items = append(items, e)
			}
			_, err := dec.Token()
			return rhai.NewArray(items), err
		}
		m := map[string]rhai.Value{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return rhai.Unit, err
			}
			e, err := readJSON(dec, depth+1)
			if err != nil {
				return rhai.Unit, err
			}
			m[kt.(string)] = e
		}
		_, err := dec.Token()
		return rhai.NewMap(m), err
	}
	return rhai.Unit, errors.New("unexpected JSON token")
}
