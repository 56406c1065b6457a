package executor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/egress"
	"github.com/picloud/picloud/rhai"
)

// HTTPConfig configures http::, the only way out of the machine.
type HTTPConfig struct {
	// The defaults of a script that sets none (0: picloud.DefaultHTTP*).
	MaxRequests      int64
	MaxResponseBytes int64
	Timeout          time.Duration
	// Allow is the server's egress allowlist (comma-separated hosts,
	// host:port, addresses, CIDRs), added to each script's egress_allow.
	Allow string

	// Connections and hooks, not settings (Config reports none of them).
	// Resolver and OnDial are the egress guard's (tests inject a resolver
	// and refuse non-loopback dials); OnRequest is told each call's result
	// (one of HTTPResults), for metrics.
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
	OnDial    func(netip.AddrPort) error
	OnRequest func(script, result string)
}

// HTTPResults are the results OnRequest reports: a response came (ok), the
// guard refused the destination (refused), the call timed out (timeout), a
// limit refused it (limit: the request budget, the body size), or it failed
// otherwise (error).
var HTTPResults = []string{"ok", "refused", "timeout", "limit", "error"}

// httpCallOps is what one http:: call costs beyond its bytes.
const httpCallOps = 1000

// maxHTTPRequestBytes bounds a request body a script sends.
const maxHTTPRequestBytes = 16 << 20

// httpCalls is one execution's outbound state: its limits, its client and
// the calls made.
type httpCalls struct {
	ready    bool // begin has run
	max      int64
	maxBytes int64
	timeout  time.Duration
	client   *http.Client
	err      error // a bad allowlist: every call fails with it

	mu    sync.Mutex
	calls []picloud.OutboundCall
}

func (h *httpCalls) record(c picloud.OutboundCall) {
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
}

func (h *httpCalls) finish() []picloud.OutboundCall {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

type httpModule struct {
	cfg HTTPConfig
	mu  sync.Mutex
	// clients holds one client per allowlist (the server's plus a
	// script's), so connections are reused across executions.
	clients map[string]*http.Client
}

func newHTTPModule(cfg HTTPConfig) *httpModule {
	cfg.MaxRequests = cmp.Or(cfg.MaxRequests, picloud.DefaultHTTPMaxRequests)
	cfg.MaxResponseBytes = cmp.Or(cfg.MaxResponseBytes, picloud.DefaultHTTPMaxResponseBytes)
	cfg.Timeout = cmp.Or(cfg.Timeout, time.Duration(picloud.DefaultHTTPTimeoutMS)*time.Millisecond)
	return &httpModule{cfg: cfg, clients: map[string]*http.Client{}}
}

func (h *httpModule) client(scriptAllow string) (*http.Client, error) {
	key := h.cfg.Allow + "\x00" + scriptAllow
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.clients[key]; ok {
		return c, nil
	}
	allow, err := egress.ParseAllowlist(h.cfg.Allow, scriptAllow)
	if err != nil {
		return nil, err
	}
	if len(h.clients) >= 1000 {
		for _, old := range h.clients {
			old.CloseIdleConnections()
		}
		clear(h.clients)
	}
	c := egress.NewClient(egress.Options{Allow: allow, Resolver: h.cfg.Resolver, OnDial: h.cfg.OnDial})
	h.clients[key] = c
	return c, nil
}

// begin sets up an execution's outbound state from the script's settings,
// on its first http:: call (an execution that makes none pays nothing). st.mu
// is held.
func (h *httpModule) begin(st *httpCalls, sc *picloud.Script, replay *Replay) {
	if st.ready {
		return
	}
	st.ready = true
	var s picloud.Script
	if sc != nil {
		s = *sc
	}
	st.max = cmp.Or(s.HTTPMaxRequests, h.cfg.MaxRequests)
	st.maxBytes = cmp.Or(s.HTTPMaxResponseBytes, h.cfg.MaxResponseBytes)
	st.timeout = cmp.Or(time.Duration(s.HTTPTimeoutMS)*time.Millisecond, h.cfg.Timeout)
	st.client, st.err = h.client(s.EgressAllow)
	if replay != nil && st.err == nil {
		// No connection is ever made in a replay: the stub answers every
		// call (the allowlist, checked when dialing, is not reached).
		t := replay.HTTP
		if t == nil {
			t = RefuseOutbound
		}
		st.client = &http.Client{Transport: t}
	}
}

// count reports one call's result for the script c runs ("" outside the
// platform's store).
func (h *httpModule) count(c *rhai.Context, result string) {
	if h.cfg.OnRequest == nil {
		return
	}
	script := ""
	if st := state(c); st != nil && st.script != nil {
		script = st.script.Name
	}
	h.cfg.OnRequest(script, result)
}

func (h *httpModule) register(eng *rhai.Engine) {
	m := rhai.NewModule()
	str, anyT, mapT := rhai.TypeString, rhai.TypeAny, rhai.TypeMap
	m.SetFn("get", []rhai.Type{str}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
		return h.do(c, "get", httpRequest{method: "GET", url: args[0].AsString()})
	})
	m.SetFn("post", []rhai.Type{str, anyT}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
		return h.do(c, "post", httpRequest{method: "POST", url: args[0].AsString(), body: args[1]})
	})
	m.SetFn("request", []rhai.Type{mapT}, func(c *rhai.Context, args []rhai.Value) (rhai.Value, error) {
		r, err := requestOptions(args[0].AsMap().M)
		if err != nil {
			return rhai.Unit, err
		}
		return h.do(c, "request", r)
	})
	eng.RegisterStaticModule("http", m)
}

type httpRequest struct {
	method  string
	url     string
	headers map[string]rhai.Value
	body    rhai.Value
	timeout time.Duration
}

func requestOptions(m map[string]rhai.Value) (httpRequest, error) {
	r := httpRequest{method: "GET"}
	for name, v := range m {
		switch name {
		case "method":
			if v.Type() != rhai.TypeString {
				return r, rhai.NewError(rhai.ErrRuntime, "http::request: method is a string, not %s", v.TypeName())
			}
			r.method = strings.ToUpper(v.AsString())
		case "url":
			if v.Type() != rhai.TypeString {
				return r, rhai.NewError(rhai.ErrRuntime, "http::request: url is a string, not %s", v.TypeName())
			}
			r.url = v.AsString()
		case "headers":
			if v.IsUnit() {
				continue
			}
			if v.Type() != rhai.TypeMap {
				return r, rhai.NewError(rhai.ErrRuntime, "http::request: headers is a map, not %s", v.TypeName())
			}
			r.headers = v.AsMap().M
		case "body":
			r.body = v
		case "timeout_ms":
			if v.IsUnit() {
				continue
			}
			if v.Type() != rhai.TypeInt || v.AsInt() <= 0 {
				return r, rhai.NewError(rhai.ErrRuntime, "http::request: timeout_ms is a positive integer")
			}
			r.timeout = time.Duration(min(v.AsInt(), picloud.MaxHTTPTimeoutMSLimit)) * time.Millisecond
		default:
			return r, rhai.NewError(rhai.ErrRuntime, "http::request: unknown option %q (options: method, url, headers, body, timeout_ms)", name)
		}
	}
	if r.url == "" {
		return r, rhai.NewError(rhai.ErrRuntime, "http::request: url is required")
	}
	return r, nil
}

// validMethod: an HTTP token.
func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for _, r := range m {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// requestBody turns a script's body into bytes and a default content type.
func requestBody(v rhai.Value) ([]byte, string, error) {
	switch v.Type() {
	case rhai.TypeUnit:
		return nil, "", nil
	case rhai.TypeString:
		return []byte(v.AsString()), "text/plain; charset=utf-8", nil
	case rhai.TypeBlob:
		return v.AsBlob().B, "application/octet-stream", nil
	case rhai.TypeMap, rhai.TypeArray:
		b, err := marshalJSON(v, maxHTTPRequestBytes)
		var le *limitError
		if errors.As(err, &le) {
			return nil, "", rhai.NewError(rhai.ErrRuntime, "request body over the limit of %d bytes", maxHTTPRequestBytes)
		} else if err != nil {
			return nil, "", rhai.NewError(rhai.ErrRuntime, "a body http cannot send as JSON: %v", err)
		}
		return b, "application/json", nil
	}
	return nil, "", rhai.NewError(rhai.ErrRuntime, "a body is a string, a BLOB, a map or an array, not %s", v.TypeName())
}

// do makes one request for the script, records it and returns its response.
func (h *httpModule) do(c *rhai.Context, fn string, r httpRequest) (rhai.Value, error) {
	fail := func(result, format string, args ...any) (rhai.Value, error) {
		h.count(c, result)
		return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "http::"+fn+": "+format, args...)
	}
	if err := c.Tick(httpCallOps); err != nil {
		return rhai.Unit, err
	}
	es := state(c)
	if es == nil {
		return fail("error", "http is not available here")
	}
	st := &es.http
	st.mu.Lock()
	h.begin(st, es.script, es.replay)
	st.mu.Unlock()
	if st.err != nil {
		return fail("error", "the egress allowlist is invalid: %v", st.err)
	}
	if !validMethod(r.method) {
		return fail("error", "method %q is not an HTTP method", r.method)
	}
	u, err := url.Parse(r.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("error", "%q is not an http or https URL", r.url)
	}
	if u.User != nil {
		return fail("error", "credentials in the URL are not supported (send an Authorization header)")
	}
	st.mu.Lock()
	n := int64(len(st.calls))
	st.mu.Unlock()
	if n >= st.max {
		return fail("limit", "too many requests: the limit is %d per execution (http_max_requests)", st.max)
	}
	body, ctype, err := requestBody(r.body)
	if err != nil {
		h.count(c, "error")
		return rhai.Unit, err
	}
	if err := c.Tick(len(body) / bytesPerOp); err != nil {
		return rhai.Unit, err
	}
	timeout := st.timeout
	if r.timeout > 0 {
		timeout = min(timeout, r.timeout)
	}
	ctx, cancel := context.WithTimeout(c.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), bytes.NewReader(body))
	if err != nil {
		return fail("error", "%v", err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("User-Agent", "PiCloud")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for name, v := range r.headers {
		var val string
		switch v.Type() {
		case rhai.TypeString:
			val = v.AsString()
		case rhai.TypeInt, rhai.TypeFloat, rhai.TypeBool:
			val = fmt.Sprint(v)
		default:
			return fail("error", "header %q is a %s, not a string", name, v.TypeName())
		}
		if !validHeader(name, val) {
			return fail("error", "header %q is not a valid header", name)
		}
		req.Header.Set(name, val)
	}

	call := picloud.OutboundCall{Method: r.method, Host: u.Host, Path: cmp.Or(u.EscapedPath(), "/")}
	start := time.Now()
	finish := func() { call.DurationMS = float64(time.Since(start).Microseconds()) / 1000; st.record(call) }

	resp, err := st.client.Do(req)
	if err != nil {
		call.Error, err = h.explain(c, ctx, err, timeout)
		finish()
		return rhai.Unit, err
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL != nil { // after redirects: the final URL
		call.Host, call.Path = resp.Request.URL.Host, cmp.Or(resp.Request.URL.EscapedPath(), "/")
	}
	call.Status = resp.StatusCode
	// Never read more than the script could hold as one string or BLOB,
	// whatever http_max_response_bytes allows, and refuse a declared length
	// over the cap before reading anything.
	maxBytes := st.maxBytes
	if l := c.Engine().Limits(); l.MaxStringSize > 0 && l.MaxArraySize > 0 {
		maxBytes = min(maxBytes, int64(max(l.MaxStringSize, l.MaxArraySize)))
	}
	if resp.ContentLength > maxBytes {
		call.Error = fmt.Sprintf("response body over the limit of %d bytes", maxBytes)
		finish()
		return fail("limit", "%s (http_max_response_bytes, or the string size limit)", call.Error)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	call.Bytes = int64(len(data))
	if err != nil {
		call.Error, err = h.explain(c, ctx, err, timeout)
		finish()
		return rhai.Unit, err
	}
	if int64(len(data)) > maxBytes {
		call.Error = fmt.Sprintf("response body over the limit of %d bytes", maxBytes)
		finish()
		return fail("limit", "%s (http_max_response_bytes, or the string size limit)", call.Error)
	}
	finish()
	h.count(c, "ok")
	if err := c.Tick(len(data) / bytesPerOp); err != nil {
		return rhai.Unit, err
	}
	return responseValue(c, resp, data)
}

// explain turns a failed request into the call's recorded error and the
// script's runtime error.
func (h *httpModule) explain(c *rhai.Context, ctx context.Context, err error, timeout time.Duration) (string, error) {
	var re *egress.RefusedError
	switch {
	case c.Context().Err() != nil:
		h.count(c, "timeout")
		return "script terminated", rhai.NewError(rhai.ErrTerminated, "Script terminated")
	case errors.As(err, &re):
		h.count(c, "refused")
		return re.Error(), rhai.NewError(rhai.ErrRuntime, "http: %s", re.Error())
	case ctx.Err() != nil:
		h.count(c, "timeout")
		msg := fmt.Sprintf("timed out after %d ms", timeout.Milliseconds())
		return msg, rhai.NewError(rhai.ErrRuntime, "http: request %s (http_timeout_ms)", msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	h.count(c, "error")
	return err.Error(), rhai.NewError(rhai.ErrRuntime, "http: request failed: %v", err)
}

func validHeader(name, val string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return !strings.ContainsAny(val, "\r\n\x00")
}

// responseValue is #{status, headers, body, json}: header names lowercase
// (repeated values joined with ", "), the body a string when it is UTF-8
// (else a BLOB), json the parsed body when the response says it is JSON and
// it parses (else ()).
func responseValue(c *rhai.Context, resp *http.Response, data []byte) (rhai.Value, error) {
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	headers := make(map[string]rhai.Value, len(names))
	for _, name := range names {
		headers[strings.ToLower(name)] = rhai.String(strings.Join(resp.Header[name], ", "))
	}
	var body rhai.Value
	if utf8.Valid(data) {
		if err := c.CheckStringSize(len(data)); err != nil {
			return rhai.Unit, err
		}
		body = rhai.String(string(data))
	} else {
		if err := c.CheckArraySize(len(data)); err != nil {
			return rhai.Unit, err
		}
		body = rhai.NewBlob(data)
	}
	js := rhai.Unit
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil &&
		(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		if v, err := parseJSON(data); err == nil {
			js = v
		}
	}
	out := rhai.NewMap(map[string]rhai.Value{
		"status":  rhai.Int(int64(resp.StatusCode)),
		"headers": rhai.NewMap(headers),
		"body":    body,
		"json":    js,
	})
	// The engine accounts the map; its headers, body and parsed JSON are new
	// too and count toward the memory budget.
	return out, c.HoldNested(out)
}
