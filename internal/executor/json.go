package executor

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/picloud/picloud/rhai"
)

// maxJSONDepth bounds the nesting of values converted to and from JSON.
const maxJSONDepth = 256

var errTooDeep = errors.New("JSON nested too deeply")

// marshalJSON writes v as JSON by the platform's rules (rhai.MarshalJSON):
// characters become one-character strings, BLOBs base64 strings, NaN and
// infinities null, timestamps, ranges, function pointers and custom values
// their display text; map keys come out sorted, as Rhai iterates them.
func marshalJSON(v rhai.Value) ([]byte, error) { return rhai.MarshalJSON(v) }

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
