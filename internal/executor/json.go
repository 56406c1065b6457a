package executor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/picloud/picloud/rhai"
)

// maxJSONDepth bounds the nesting of request bodies parsed into values.
const maxJSONDepth = 256

// maxEncodeDepth bounds the nesting of values encoded as JSON (the engine
// lets data nest deeper than a request body may).
const maxEncodeDepth = 1000

// bytesPerOp is how many bytes of response encoding count as one operation,
// as the engine charges string and BLOB work (rhai/memory.go).
const bytesPerOp = 32

// chunkSize is the size of the chunks a large JSON body is written in, and
// how many bytes an encoder produces between two checks of the context and
// the operation budget. Writing in chunks keeps the memory a capped
// response costs near the cap: a growing slice would reallocate its way to
// several times its size.
const chunkSize = 64 << 10

var errTooDeep = errors.New("JSON nested too deeply")

// limitError is the error of an encoder that stopped on a limit (the
// response cap, the operation budget, the context): err is the engine's
// error for that limit, so that Execute reports it as the evaluation's own.
type limitError struct{ err *rhai.Error }

func (e *limitError) Error() string { return e.err.Error() }

// encoder turns a script's value into the bytes of a response, bounded:
// it stops as soon as the response crosses max bytes (never building the
// whole body first), charges one operation per bytesPerOp bytes against
// maxOps, and checks ctx every chunkSize bytes, so that encoding a huge
// value respects the script's budget and timeout.
type encoder struct {
	ctx    context.Context
	max    int64  // bytes the response may hold (headers and body); <= 0: no cap
	used   int64  // bytes of the response before the JSON being written (headers)
	ops    uint64 // operations used so far (the evaluation's, then ours)
	maxOps uint64 // 0: no budget

	// The JSON being written: full chunks, then the current one.
	chunks    [][]byte
	done      int64 // bytes in chunks
	b         []byte
	charged   int64 // bytes of the JSON already charged
	uncharged int64 // bytes charged but not yet a whole operation
	stoppedAt int64 // bytes of the response produced when the cap stopped it (for tests)
}

// size is the bytes of the response so far.
func (e *encoder) size() int64 { return e.used + e.done + int64(len(e.b)) }

// spend accounts n bytes written outside the encoder (a header, a string
// body copied as it is). It fails when the response would cross the cap.
func (e *encoder) spend(n int) error {
	return e.guard(func() {
		e.reserve(n)
		e.used += int64(n)
		e.charge(int64(n))
	})
}

// json returns v in the platform's JSON encoding: () is null, maps are
// objects with keys in byte order, characters one-character strings, BLOBs
// base64 strings, timestamps, ranges and function pointers their display
// text, NaN and infinities null; integral floats keep a ".0". Strings are
// escaped as encoding/json does, HTML characters included, so a body is safe
// to embed in a page. The bytes count toward the response.
func (e *encoder) json(v rhai.Value) ([]byte, error) {
	var out []byte
	err := e.guard(func() {
		if e.b == nil {
			// Room for a small body at once, not grown 8, 16, 32, ... bytes.
			e.b = make([]byte, 0, smallBody)
		}
		e.value(v, 0)
		e.check()
		e.charge(0)
		out = e.b
		if len(e.chunks) > 0 {
			out = make([]byte, 0, e.done+int64(len(e.b)))
			for _, c := range e.chunks {
				out = append(out, c...)
			}
			out = append(out, e.b...)
		}
		e.used += int64(len(out))
	})
	e.chunks, e.done, e.b, e.charged = nil, 0, nil, 0
	if err != nil {
		return nil, err
	}
	return out, nil
}

// smallBody is the encoder's first buffer: most JSON responses fit in it.
const smallBody = 256

// guard runs f, turning the encoder's aborts (panics with an error) into
// errors; any other panic goes on.
func (e *encoder) guard(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	f()
	return nil
}

// abort carries an encoder's error up through the recursive writers.
type abort struct{ err error }

func (e *encoder) fail(kind, format string, args ...any) {
	panic(abort{&limitError{&rhai.Error{Kind: kind, Message: fmt.Sprintf(format, args...)}}})
}

// reserve fails when n more bytes would take the response over the cap.
func (e *encoder) reserve(n int) {
	if e.max > 0 && e.size()+int64(n) > e.max {
		e.tooLarge()
	}
}

func (e *encoder) tooLarge() {
	e.stoppedAt = e.size()
	e.fail(rhai.ErrDataTooLarge, "response body over %d bytes", e.max)
}

// limit is the length the current chunk may reach before the response
// crosses the cap.
func (e *encoder) limit() int {
	if e.max <= 0 {
		return math.MaxInt / 2 // room for arithmetic on it without overflow
	}
	return int(max(e.max-e.used-e.done, 0))
}

// check fails when the response crossed the cap; when the current chunk is
// full it starts a new one, charges the work done and checks the context.
func (e *encoder) check() {
	if len(e.b) > e.limit() {
		e.tooLarge()
	}
	if len(e.b) >= chunkSize {
		e.chunks = append(e.chunks, e.b)
		e.done += int64(len(e.b))
		e.b = make([]byte, 0, chunkSize+chunkSize/8)
		e.charge(0)
	}
}

// charge bills the bytes produced since the last charge (plus n written
// elsewhere) against the operation budget and checks the context.
func (e *encoder) charge(n int64) {
	produced := e.done + int64(len(e.b))
	e.uncharged += n + produced - e.charged
	e.charged = produced
	e.ops += uint64(e.uncharged / bytesPerOp)
	e.uncharged %= bytesPerOp
	if e.maxOps > 0 && e.ops > e.maxOps {
		e.fail(rhai.ErrTooManyOperations, "Too many operations")
	}
	if e.ctx != nil && e.ctx.Err() != nil {
		e.fail(rhai.ErrTerminated, "Script terminated")
	}
}

// write appends p in chunk-sized pieces, checking after each.
func (e *encoder) write(p []byte) {
	e.reserve(len(p))
	for len(p) > 0 {
		n := min(len(p), max(chunkSize-len(e.b), 1))
		e.b = append(e.b, p[:n]...)
		p = p[n:]
		e.check()
	}
}

// base64 appends data as a base64 JSON string, in chunk-sized pieces.
func (e *encoder) base64(data []byte) {
	e.reserve(base64.StdEncoding.EncodedLen(len(data)) + 2)
	e.b = append(e.b, '"')
	for len(data) > 0 {
		// What fits in the current chunk, in whole groups of 3 bytes (no
		// padding between pieces).
		n := min(len(data), max((chunkSize-len(e.b))/4*3, 3))
		e.b = base64.StdEncoding.AppendEncode(e.b, data[:n])
		data = data[n:]
		e.check()
	}
	e.b = append(e.b, '"')
}

func (e *encoder) value(v rhai.Value, depth int) {
	if depth > maxEncodeDepth {
		panic(abort{fmt.Errorf("value nested too deeply for JSON (over %d levels)", maxEncodeDepth)})
	}
	switch v.Type() {
	case rhai.TypeUnit:
		e.b = append(e.b, "null"...)
	case rhai.TypeBool:
		e.b = strconv.AppendBool(e.b, v.AsBool())
	case rhai.TypeInt, rhai.TypeU8:
		e.b = strconv.AppendInt(e.b, v.AsInt(), 10)
	case rhai.TypeFloat:
		e.b = appendJSONFloat(e.b, v.AsFloat())
	case rhai.TypeChar:
		e.string(string(v.AsChar()))
	case rhai.TypeString:
		e.string(v.AsString())
	case rhai.TypeArray:
		e.b = append(e.b, '[')
		for i, x := range v.AsArray().Items {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.value(x, depth+1)
			e.check()
		}
		e.b = append(e.b, ']')
	case rhai.TypeMap:
		m := v.AsMap()
		e.b = append(e.b, '{')
		// The keys of a small map are sorted on the stack.
		var buf [8]string
		keys := buf[:0]
		if len(m.M) > len(buf) {
			keys = make([]string, 0, len(m.M))
		}
		for k := range m.M {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.string(k)
			e.b = append(e.b, ':')
			e.value(m.M[k], depth+1)
			e.check()
		}
		e.b = append(e.b, '}')
	case rhai.TypeBlob:
		e.base64(v.AsBlob().B)
	case rhai.TypeCustom:
		if m, ok := v.AsCustom().V.(json.Marshaler); ok {
			data, err := m.MarshalJSON()
			if err != nil {
				panic(abort{err})
			}
			e.write(data)
			return
		}
		e.string(v.String())
	default:
		// Timestamps, ranges, function pointers: their display text, as the
		// platform's contract says.
		e.string(v.String())
	}
}

// string writes s as a JSON string the way encoding/json does, including
// its HTML-safe escapes (<, >, & as \u003c...). It refuses up front a string
// that cannot fit, and stops within a few bytes of the cap when escaping
// makes one grow past it.
func (e *encoder) string(s string) {
	const hex = "0123456789abcdef"
	e.reserve(len(s) + 2)
	limit := e.limit()
	b := append(e.b, '"')
	for i := 0; i < len(s); {
		if len(b) > limit || len(b) >= chunkSize {
			e.b = b
			e.check()
			b, limit = e.b, e.limit()
		}
		// A run of bytes that need no escaping goes in one append, as far
		// as the chunk and the cap allow.
		if j, end := i, min(len(s), i+min(chunkSize-len(b), limit-len(b)+1)); plainJSON[s[i]] {
			for j < end && plainJSON[s[j]] {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	e.b = append(b, '"')
	e.check()
}

// plainJSON marks the bytes a JSON string holds as they are: printable
// ASCII but the quote, the backslash and the HTML characters.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONFloat writes f as encoding/json does (plain notation from 1e-6
// to 1e21, exponent notation outside), keeping a ".0" on whole numbers so a
// float reads back as a float; NaN and infinities are null.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	if !bytes.ContainsAny(b[start:], ".eE") {
		b = append(b, ".0"...)
	}
	return b
}

// marshalJSON is the platform's JSON encoding of v with no cap or budget
// but maxBytes (0: none), for log data.
func marshalJSON(v rhai.Value, maxBytes int) ([]byte, error) {
	e := &encoder{max: int64(maxBytes)}
	return e.json(v)
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
