package picloud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The audit sink stores every execution's request, response, log lines and
// error as JSON, on the hot path of every invocation. These appenders write
// the same JSON that encoding/json writes for the types (sorted map keys,
// HTML-safe string escapes, U+FFFD for invalid UTF-8), without reflection and
// into a buffer the caller reuses: the stores encode a whole batch into one
// buffer.

// AppendJSON appends r as JSON to b; a nil r is null.
func (r *RequestRecord) AppendJSON(b []byte) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendString(b, r.Path)
	b = append(b, `,"query":`...)
	b = appendStringMap(b, r.Query)
	b = append(b, `,"query_truncated":`...)
	b = strconv.AppendBool(b, r.QueryTruncated)
	b = append(b, `,"headers":`...)
	b = appendStringMap(b, r.Headers)
	b = append(b, `,"headers_truncated":`...)
	b = strconv.AppendBool(b, r.HeadersTruncated)
	return appendBody(b, r.Body, r.BodyEncoding, r.BodySize, r.BodyTruncated)
}

// AppendJSON appends r as JSON to b; a nil r is null.
func (r *ResponseRecord) AppendJSON(b []byte) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"headers":`...)
	b = appendStringMap(b, r.Headers)
	return appendBody(b, r.Body, r.BodyEncoding, r.BodySize, r.BodyTruncated)
}

// appendBody appends the body fields the two records share, and closes the object.
func appendBody(b []byte, body, encoding string, size int, truncated bool) []byte {
	b = append(b, `,"body":`...)
	b = appendString(b, body)
	if encoding != "" {
		b = append(b, `,"body_encoding":`...)
		b = appendString(b, encoding)
	}
	b = append(b, `,"body_size":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `,"body_truncated":`...)
	b = strconv.AppendBool(b, truncated)
	return append(b, '}')
}

// AppendJSON appends e as JSON to b; a nil e is null.
func (e *ExecError) AppendJSON(b []byte) []byte {
	if e == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"kind":`...)
	b = appendString(b, e.Kind)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(e.Line), 10)
	b = append(b, `,"column":`...)
	b = strconv.AppendInt(b, int64(e.Column), 10)
	return append(b, '}')
}

// AppendLogLinesJSON appends lines as a JSON array to b (null when nil). It
// fails only when a line's Data is not valid JSON.
func AppendLogLinesJSON(b []byte, lines []LogLine) ([]byte, error) {
	if lines == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range lines {
		l := &lines[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"level":`...)
		b = appendString(b, l.Level)
		b = append(b, `,"message":`...)
		b = appendString(b, l.Message)
		b = append(b, `,"data":`...)
		if len(l.Data) == 0 {
			b = append(b, "null"...)
		} else {
			var err error
			if b, err = appendCompact(b, l.Data); err != nil {
				return b, err
			}
		}
		b = append(b, `,"time":`...)
		b = l.Time.appendJSON(b)
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

func (t Time) appendJSON(b []byte) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeFormat)
	return append(b, '"')
}

// appendCompact appends the JSON document raw without insignificant space,
// as encoding/json does for a json.RawMessage.
func appendCompact(b []byte, raw []byte) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, fmt.Errorf("log line data: %w", err)
	}
	return buf.Bytes(), nil
}

// appendStringMap appends m as a JSON object with sorted keys (null when nil).
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// AppendJSONString appends s as a JSON string exactly as encoding/json writes
// it: HTML-safe, with U+FFFD for invalid UTF-8.
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }

func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // control characters and <, >, &
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendOutboundJSON appends calls as a JSON array to b (null when nil).
func AppendOutboundJSON(b []byte, calls []OutboundCall) []byte {
	if calls == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range calls {
		o := &calls[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"method":`...)
		b = appendString(b, o.Method)
		b = append(b, `,"host":`...)
		b = appendString(b, o.Host)
		b = append(b, `,"path":`...)
		b = appendString(b, o.Path)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(o.Status), 10)
		b = append(b, `,"duration_ms":`...)
		b = appendFloat(b, o.DurationMS)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, o.Bytes, 10)
		if o.Error != "" {
			b = append(b, `,"error":`...)
			b = appendString(b, o.Error)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendFloat writes f as encoding/json does (NaN and infinities, which it
// refuses, as 0).
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
