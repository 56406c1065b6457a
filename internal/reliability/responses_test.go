package reliability

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// evilHeadersSource tries to act as the dashboard: drop the sandbox with its
// own CSP, set PiCloud's cookies, and allow credentialed cross-origin reads.
const evilHeadersSource = `#{
    status: 200,
    headers: #{
        "content-type": "text/html",
        "content-security-policy": "default-src *",
        "set-cookie": ["picloud_session=evil; Path=/", "picloud_csrf=1; Path=/", "theirs=1; Path=/"],
        "access-control-allow-credentials": "true",
        "access-control-allow-origin": "https://evil.example"
    },
    body: "<script>fetch('/api/scripts', {credentials: 'include'})</script>"
}`

// unsandboxSource sends a sandbox of its own that allows what the platform's
// forbids.
const unsandboxSource = `#{
    headers: #{"content-type": "text/html", "content-security-policy": "sandbox allow-same-origin allow-scripts"},
    body: "<p>hi</p>"
}`

// echoHeadersSource shows the script everything it was given.
const echoHeadersSource = `request.headers`

// TestScriptResponses checks that a script's response cannot act as the
// dashboard (the platform's CSP sandbox stays, PiCloud's cookies are not set,
// credentialed CORS is dropped) and that PiCloud's credentials never reach a
// script or the execution log, on both invocation routes.
func TestScriptResponses(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *backend) {
		ctx := scenario(t)
		s := startServer(ctx, t, "server", nil, b.args()...)
		c := newClient(s.base, 2)
		evilID, err := c.deploy(ctx, "evil-headers", evilHeadersSource, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.deploy(ctx, "unsandbox", unsandboxSource, nil); err != nil {
			t.Fatal(err)
		}
		echoID, err := c.deploy(ctx, "echo", echoHeadersSource, nil)
		if err != nil {
			t.Fatal(err)
		}
		failures := 0
		fail := func(format string, args ...any) {
			t.Helper()
			failures++
			t.Errorf(format, args...)
		}

		for _, path := range []string{"/fn/evil-headers", "/api/execute/" + evilID} {
			r, err := c.get(ctx, path, nil)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("GET %s: %v %v", path, r, err)
			}
			h := r.header
			if !sandboxed(h) {
				fail("%s: no Content-Security-Policy keeps a bare sandbox: %q", path, h.Values("Content-Security-Policy"))
			}
			if !hasPolicy(h, "default-src *") {
				fail("%s: the script's own CSP was not kept beside the sandbox: %q", path, h.Values("Content-Security-Policy"))
			}
			for _, sc := range h.Values("Set-Cookie") {
				name, _, _ := strings.Cut(sc, "=")
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(name)), "picloud") {
					fail("%s: the script set PiCloud's cookie: Set-Cookie: %s", path, sc)
				}
			}
			if !hasCookie(h, "theirs") {
				fail("%s: the script's own cookie was dropped: %q", path, h.Values("Set-Cookie"))
			}
			if v := h.Values("Access-Control-Allow-Credentials"); len(v) > 0 {
				fail("%s: Access-Control-Allow-Credentials reached the caller: %q", path, v)
			}
			if v := h.Get("Access-Control-Allow-Origin"); v != "https://evil.example" {
				fail("%s: the script's other CORS headers are its own; Access-Control-Allow-Origin is %q", path, v)
			}
			if v := h.Get("X-Content-Type-Options"); v != "nosniff" {
				fail("%s: X-Content-Type-Options is %q, want nosniff", path, v)
			}
		}
		if r, err := c.get(ctx, "/fn/unsandbox", nil); err != nil || r.status != http.StatusOK {
			t.Fatalf("GET /fn/unsandbox: %v %v", r, err)
		} else if !sandboxed(r.header) {
			fail("/fn/unsandbox: its own sandbox replaced the platform's: %q", r.header.Values("Content-Security-Policy"))
		}

		// PiCloud's credentials, sent to a script every way a caller could.
		r, err := c.do(ctx, http.MethodPost, "/api/session", nil, mustJSON(map[string]string{"token": adminToken}))
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("POST /api/session: %v %v", r, err)
		}
		var session string
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			if ck.Name == "picloud_session" {
				session = ck.Value
			}
		}
		if session == "" {
			t.Fatalf("POST /api/session set no picloud_session cookie")
		}
		invokeKey := "pck_" + strings.Repeat("ab", 32)
		basic := base64.StdEncoding.EncodeToString([]byte("admin:" + adminToken))
		secrets := []string{adminToken, session, invokeKey, basic}
		cookie := "picloud_session=" + session + "; theirs=1; picloud_csrf=1"
		calls := []struct {
			path    string
			hdr     http.Header
			theirs  bool   // the cookie "theirs" must reach the script
			ownAuth string // a foreign Authorization the script must see as sent
		}{
			{"/fn/echo?k=bearer", http.Header{"Authorization": {"Bearer " + adminToken}, "Cookie": {cookie}, "X-Picloud-Key": {invokeKey}}, true, ""},
			{"/fn/echo?k=lower", http.Header{"Authorization": {"bearer " + adminToken}, "Proxy-Authorization": {"Bearer " + adminToken}}, false, ""},
			{"/fn/echo?k=basic", http.Header{"Authorization": {"Basic " + basic}}, false, ""},
			{"/api/execute/" + echoID + "?k=execute", http.Header{"Authorization": {"Bearer " + adminToken}, "Cookie": {cookie}, "X-Picloud-Key": {invokeKey}}, true, ""},
			{"/fn/echo?k=foreign", http.Header{"Authorization": {"Bearer not-a-picloud-credential"}}, false, "Bearer not-a-picloud-credential"},
		}
		for _, call := range calls {
			r, err := c.get(ctx, call.path, call.hdr)
			if err != nil || r.status != http.StatusOK {
				t.Fatalf("GET %s: %v %v", call.path, r, err)
			}
			for _, sec := range secrets {
				if strings.Contains(string(r.body), sec) {
					fail("%s: the script saw a PiCloud credential %q in request.headers: %s", call.path, clip(sec), r.body)
				}
			}
			var seen map[string]string
			if err := json.Unmarshal(r.body, &seen); err != nil {
				t.Fatalf("%s: %v: %s", call.path, err, r.body)
			}
			if _, ok := seen["x-picloud-key"]; ok {
				fail("%s: the script saw X-PiCloud-Key", call.path)
			}
			if strings.Contains(seen["cookie"], "picloud") {
				fail("%s: the script saw PiCloud's cookies: %q", call.path, seen["cookie"])
			}
			if call.theirs && !strings.Contains(seen["cookie"], "theirs=1") {
				fail("%s: the caller's own cookie did not reach the script: %q", call.path, seen["cookie"])
			}
			if call.ownAuth != "" && seen["authorization"] != call.ownAuth {
				fail("%s: an Authorization that is not PiCloud's must reach the script; it saw %q", call.path, seen["authorization"])
			}
		}

		// The execution log: redacted, never the credentials.
		rows, err := awaitLogs(ctx, c, echoID, len(calls))
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, sec := range secrets {
				if strings.Contains(string(row.raw), sec) {
					fail("execution %s (k=%s) holds a PiCloud credential %q: %s", row.ID, row.Request.Query["k"], clip(sec), row.raw)
				}
			}
			if k := row.Request.Query["k"]; k != "foreign" {
				if a, ok := row.Request.Headers["authorization"]; !ok || !strings.Contains(strings.ToLower(a), "redacted") {
					fail("execution %s (k=%s): the captured authorization is %q, want it redacted", row.ID, k, a)
				}
			}
		}
		t.Logf("RESULT scenario=responses store=%s checks_failed=%d", b.kind, failures)
	})
}

// policies splits the Content-Security-Policy headers into policies (a header
// may carry several, comma-separated); browsers enforce every one.
func policies(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Content-Security-Policy") {
		for _, p := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// sandboxed reports whether some policy applies a bare sandbox: its first
// sandbox directive (browsers ignore repeated directives) allows nothing.
func sandboxed(h http.Header) bool {
	for _, p := range policies(h) {
		for _, d := range strings.Split(p, ";") {
			f := strings.Fields(strings.ToLower(d))
			if len(f) > 0 && f[0] == "sandbox" {
				if len(f) == 1 {
					return true
				}
				break
			}
		}
	}
	return false
}

// hasPolicy reports whether some policy has the directive d.
func hasPolicy(h http.Header, d string) bool {
	for _, p := range policies(h) {
		for _, x := range strings.Split(p, ";") {
			if strings.EqualFold(strings.Join(strings.Fields(x), " "), d) {
				return true
			}
		}
	}
	return false
}

func hasCookie(h http.Header, name string) bool {
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == name {
			return true
		}
	}
	return false
}
