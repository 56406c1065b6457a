package executor

import (
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/picloud/picloud/rhai"
)

// requestValue builds the script's `request` map. Its headers are r's
// without PiCloud's credentials (see stripValues).
func requestValue(r *Request) rhai.Value {
	query := make(map[string]rhai.Value, len(r.Query))
	for k, vs := range r.Query {
		if len(vs) > 0 {
			query[k] = rhai.String(vs[0]) // a repeated key keeps its first value
		}
	}
	headers := make(map[string]rhai.Value, len(r.Header))
	for k, vs := range r.Header {
		// PiCloud's credentials never reach a script.
		if vs = stripValues(k, vs); len(vs) > 0 {
			headers[LowerHeader(k)] = rhai.String(JoinHeader(vs))
		}
	}
	raw := rhai.String(string(r.Body))
	if !utf8.Valid(r.Body) {
		raw = rhai.NewBlob(append([]byte(nil), r.Body...))
	}
	body := raw
	switch {
	case len(r.Body) == 0:
		body = rhai.Unit
	case raw.Type() == rhai.TypeString && isJSON(r.Header.Get("Content-Type")):
		if v, err := parseJSON(r.Body); err == nil {
			body = v
		}
	case raw.Type() == rhai.TypeBlob:
		body = rhai.NewBlob(append([]byte(nil), r.Body...)) // not shared with raw_body
	}
	return rhai.NewMap(map[string]rhai.Value{
		"method":   rhai.String(r.Method),
		"path":     rhai.String(r.Path),
		"subpath":  rhai.String(r.Subpath),
		"query":    rhai.NewMap(query),
		"headers":  rhai.NewMap(headers),
		"body":     body,
		"raw_body": raw,
	})
}

// isJSON reports whether a Content-Type names JSON: application/json or any
// type with a +json suffix.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
