package executor

import (
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/picloud/picloud"
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
	trigger := r.Trigger
	if trigger == "" {
		trigger = picloud.TriggerHTTP
	}
	m := map[string]rhai.Value{
		"method":   rhai.String(r.Method),
		"path":     rhai.String(r.Path),
		"subpath":  rhai.String(r.Subpath),
		"query":    rhai.NewMap(query),
		"headers":  rhai.NewMap(headers),
		"body":     body,
		"raw_body": raw,
		"trigger":  rhai.String(string(trigger)),
	}
	// The job fields of triggered runs; a plain HTTP request pays for none
	// of them.
	if r.JobID != "" {
		m["job_id"] = rhai.String(r.JobID)
		m["attempt"] = rhai.Int(int64(r.Attempt))
	}
	if s := r.Schedule; s != nil {
		m["schedule"] = rhai.NewMap(map[string]rhai.Value{
			"id":           rhai.String(s.ID),
			"cron":         rhai.String(s.Cron),
			"scheduled_at": rhai.String(s.ScheduledAt.UTC().Format(picloud.TimeFormat)),
		})
	}
	if e := r.Event; e != nil {
		payload := rhai.Unit
		if len(e.Payload) > 0 {
			if v, err := parseJSON(e.Payload); err == nil {
				payload = v
			}
		}
		m["event"] = rhai.NewMap(map[string]rhai.Value{
			"topic":      rhai.String(e.Topic),
			"payload":    payload,
			"id":         rhai.String(e.ID),
			"emitted_by": rhai.String(e.EmittedBy),
		})
	}
	return rhai.NewMap(m)
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
