package orchestrator

import (
	"bytes"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
)

// redacted replaces a secret in the captured request.
const redacted = "[REDACTED]"

// secretHeaders are redacted in the captured request whatever they hold:
// the standard credential headers and PiCloud's key header.
var secretHeaders = map[string]bool{
	"authorization": true, "cookie": true, "proxy-authorization": true, "x-api-key": true, "x-picloud-key": true,
}

// hasCredential reports whether s holds a PiCloud credential
// (executor.IsPiCloudCredential) at its start or after a character that
// cannot be part of one, so that "token=pct_..." is found and "50pct_off" is
// not.
func hasCredential(s string) bool {
	for i := 0; i < len(s); i++ {
		j := strings.IndexAny(s[i:], "pP")
		if j < 0 {
			return false
		}
		i += j
		if (i == 0 || !isCredentialByte(s[i-1])) && executor.IsPiCloudCredential(s[i:]) {
			return true
		}
	}
	return false
}

func isCredentialByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// captureLimits are the sizes the captured request and response are cut at.
type captureLimits struct {
	body, header, headers, query, path int
	// tokens are the extra credentials to redact (Config.RedactTokens).
	tokens []string
}

// minRedactToken is the shortest extra credential redacted: a shorter one
// would match ordinary text (the cluster token has at least 16 bytes).
const minRedactToken = 8

// redactTokens keeps the tokens long enough to redact.
func redactTokens(tokens []string) []string {
	var out []string
	for _, t := range tokens {
		if len(t) >= minRedactToken {
			out = append(out, t)
		}
	}
	return out
}

// holdsToken reports whether s contains one of tokens.
func holdsToken(s string, tokens []string) bool {
	for _, t := range tokens {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// replaceTokens replaces every occurrence of tokens in b; b itself is
// returned when it holds none.
func replaceTokens(b []byte, tokens []string) []byte {
	for _, t := range tokens {
		if bytes.Contains(b, []byte(t)) {
			b = bytes.ReplaceAll(b, []byte(t), []byte(redacted))
		}
	}
	return b
}

// executionLog builds the audit row of one execution.
func (o *Orchestrator) executionLog(sc *picloud.Script, trig picloud.Trigger, req *executor.Request, res *executor.Result) *picloud.ExecutionLog {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	// The request and response records are allocated with the log, in one go.
	recs := &struct {
		log  picloud.ExecutionLog
		req  picloud.RequestRecord
		resp picloud.ResponseRecord
	}{}
	l := &recs.log
	*l = picloud.ExecutionLog{
		ID: id.String(), ScriptID: sc.ID, ScriptVersion: sc.Version, Trigger: trig, Status: res.Status,
		StartedAt: picloud.Time{Time: res.Started.UTC()}, DurationMS: float64(res.Duration.Microseconds()) / 1000,
		Operations: res.Operations, Logs: res.Logs, Error: res.Err, Node: o.cfg.NodeName,
	}
	lim := o.capture
	// The secrets the execution read are replaced before anything is cut, so
	// that no prefix of one survives a cut (red is nil when none was read).
	red := res.Redactor
	rr := &recs.req
	rr.Method = req.Method
	path := red.String(req.Path)
	if holdsToken(path, lim.tokens) {
		path = redacted
	}
	rr.Path, _ = cut(path, lim.path)
	rr.Query, rr.QueryTruncated = captureQuery(red.Values(req.Query), lim.query, lim.tokens)
	rr.Headers, rr.HeadersTruncated = captureHeaders(red.Header(req.Header), lim.header, lim.headers, true, lim.tokens)
	reqBody := red.Bytes(req.Body)
	if lim.tokens != nil {
		// The body's size stays the one received; a replaced token changes
		// only what is shown.
		size := len(reqBody)
		rr.Body, rr.BodyEncoding, _, rr.BodyTruncated = capturedBody(replaceTokens(reqBody, lim.tokens), lim.body)
		rr.BodySize = size
	} else {
		rr.Body, rr.BodyEncoding, rr.BodySize, rr.BodyTruncated = capturedBody(reqBody, lim.body)
	}
	l.Request = rr
	resp := &recs.resp
	if res.Response != nil {
		resp.Status = res.Response.Status
		// The response's headers are the script's (bounded by its response
		// cap); they are cut like the request's but never redacted.
		resp.Headers = lim.responseHeaders(red.Header(res.Response.Header))
		resp.Body, resp.BodyEncoding, resp.BodySize, resp.BodyTruncated = capturedBody(red.Bytes(res.Response.Body), lim.body)
	} else {
		// A failed execution's caller gets the public error body (code, short
		// message, execution id); the log keeps that body as the response.
		pe := res.PublicError()
		pe.Details = map[string]any{"execution_id": l.ID}
		status, body := httpapi.ErrorJSON(pe)
		resp.Status, resp.Headers = status, map[string]string{"content-type": jsonContentType[0]}
		resp.Body, resp.BodySize = string(body), len(body)
	}
	l.Response = resp
	if res.Outbound != nil {
		// The outbound calls' paths and errors may carry a secret the script
		// read (a token in a URL's path): redacted and cut like the request's.
		l.Outbound = make([]picloud.OutboundCall, len(res.Outbound))
		for i, c := range res.Outbound {
			c.Host, _ = cut(red.String(c.Host), lim.path)
			c.Path, _ = cut(red.String(c.Path), lim.path)
			c.Error, _ = cut(red.String(c.Error), lim.path)
			l.Outbound[i] = c
		}
	}
	return l
}

// captureQuery keeps the query's first value of each key, PiCloud
// credentials redacted, within limit bytes of keys and values; when they do
// not fit, the keys are taken in order and the one that crosses the limit is
// cut (truncated true).
func captureQuery(q url.Values, limit int, tokens []string) (map[string]string, bool) {
	if len(q) == 0 {
		return noQuery, false
	}
	out := make(map[string]string, len(q))
	total := 0
	for k, vs := range q {
		if len(vs) > 0 {
			total += len(k) + len(vs[0])
		}
	}
	if total <= limit {
		for k, vs := range q {
			if len(vs) > 0 {
				out[k] = redactValue(vs[0], tokens)
			}
		}
		return out, false
	}
	left := limit
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := q[k]
		if len(vs) == 0 {
			continue
		}
		if left <= len(k) {
			break
		}
		left -= len(k)
		v, _ := cut(redactValue(vs[0], tokens), left)
		left -= len(v)
		out[k] = v
	}
	return out, true
}

// noQuery is the captured query of every request without one, shared: the
// captured maps of a log are only read once it is built.
var noQuery = map[string]string{}

// commonResponses are the headers of the responses the executor builds for
// a plain value (setBody's content type and finalHeaders' two sandboxing
// headers): most responses. Their capture is built once and shared, read
// only like every captured map.
var commonResponses = [][3]string{
	{"application/json", "sandbox", "nosniff"},
	{"text/plain; charset=utf-8", "sandbox", "nosniff"},
}

// commonResponseNames are the canonical names of commonResponses' values.
var commonResponseNames = [3]string{"Content-Type", "Content-Security-Policy", "X-Content-Type-Options"}

// commonCaptures holds commonResponses' captured maps.
var commonCaptures = func() []map[string]string {
	out := make([]map[string]string, len(commonResponses))
	for i, vs := range commonResponses {
		out[i] = map[string]string{}
		for j, name := range commonResponseNames {
			out[i][strings.ToLower(name)] = vs[j]
		}
	}
	return out
}()

// responseHeaders captures a response's headers (never redacted; see
// executionLog): a shared map when they are one of commonResponses and fit
// the limits uncut, else captureHeaders'.
func (lim captureLimits) responseHeaders(h http.Header) map[string]string {
	if len(h) == len(commonResponseNames) {
	common:
		for i, vs := range commonResponses {
			size := 0
			for j, name := range commonResponseNames {
				got := h[name]
				if len(got) != 1 || got[0] != vs[j] || len(vs[j]) > lim.header {
					continue common
				}
				size += len(name) + len(vs[j])
			}
			if size <= lim.headers {
				return commonCaptures[i]
			}
		}
	}
	out, _ := captureHeaders(h, lim.header, lim.headers, false, nil)
	return out
}

// captureHeaders keeps each header (lower-case name, values joined), every
// value cut at each bytes and all of them at total bytes (names and values),
// taken in name order once they do not all fit. With redact, secret headers
// and values holding a PiCloud credential or one of tokens read "[REDACTED]".
func captureHeaders(h http.Header, each, total int, redact bool, tokens []string) (map[string]string, bool) {
	out := make(map[string]string, len(h))
	truncated := false
	size := 0
	for k, vs := range h {
		lk := executor.LowerHeader(k)
		v := executor.JoinHeader(vs)
		if redact && (secretHeaders[lk] || hasCredential(v) || holdsToken(v, tokens)) {
			v = redacted
		}
		var cutOne bool
		if v, cutOne = cut(v, each); cutOne {
			truncated = true
		}
		out[lk] = v
		size += len(lk) + len(v)
	}
	if size <= total {
		return out, truncated
	}
	// Over the total: keep the names in order until it is reached.
	left := total
	for _, k := range slices.Sorted(maps.Keys(out)) {
		v := out[k]
		if left <= len(k) {
			delete(out, k)
			continue
		}
		left -= len(k)
		v, _ = cut(v, left)
		left -= len(v)
		out[k] = v
	}
	return out, true
}

// redactValue hides a value holding a PiCloud credential or one of tokens.
func redactValue(v string, tokens []string) string {
	if hasCredential(v) || holdsToken(v, tokens) {
		return redacted
	}
	return v
}

// cut shortens s to at most n bytes without splitting a UTF-8 character.
func cut(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	n = max(n, 0)
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// capturedBody cuts b to limit bytes; a body that is not UTF-8 is base64.
func capturedBody(b []byte, limit int) (body, encoding string, size int, truncated bool) {
	size = len(b)
	if len(b) > limit {
		b, truncated = b[:limit], true
		if utf8.Valid(b[:max(0, len(b)-utf8.UTFMax)]) {
			for len(b) > 0 && !utf8.Valid(b) { // do not split a character
				b = b[:len(b)-1]
			}
		}
	}
	if !utf8.Valid(b) {
		return base64.StdEncoding.EncodeToString(b), "base64", size, truncated
	}
	return string(b), "", size, truncated
}
