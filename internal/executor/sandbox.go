package executor

import (
	"net/http"
	"strings"
)

// Scripts are served from the dashboard's origin, so a script's response
// must not be able to act as the dashboard: finalHeaders applies the rules
// every script response obeys, whatever the script set.

// The sandboxing headers' values, shared by every response: net/http only
// reads them, and adding a value to a header appends to a copy.
var (
	cspSandbox = []string{"sandbox"}
	noSniff    = []string{"nosniff"}
)

// finalHeaders applies the platform's rules to a script's response headers:
//   - `Content-Security-Policy: sandbox` comes first; a CSP of the script's
//     stays as a further value (browsers enforce every policy, so it can
//     tighten but never loosen the sandbox). Unsandboxed (functions on their
//     own origin, per script) leaves the script's CSP alone.
//   - `X-Content-Type-Options: nosniff`, so a text body is never run as a page.
//   - Set-Cookie values naming one of PiCloud's cookies are removed.
//   - Access-Control-Allow-Credentials is removed: no PiCloud credential is
//     valid on a function route, and a script must not let another origin
//     send the dashboard's.
//   - Clear-Site-Data is removed unless unsandboxed: on the dashboard's
//     origin it would wipe the dashboard's cookies and storage (sign everyone
//     out who opens the script's page).
func finalHeaders(h http.Header, unsandboxed bool) {
	if !unsandboxed {
		if own := h["Content-Security-Policy"]; len(own) > 0 {
			h["Content-Security-Policy"] = append([]string{"sandbox"}, own...)
		} else {
			h["Content-Security-Policy"] = cspSandbox
		}
	}
	h["X-Content-Type-Options"] = noSniff
	if cookies, ok := h["Set-Cookie"]; ok {
		kept := cookies[:0:0]
		for _, c := range cookies {
			if !IsPiCloudCookie(setCookieName(c)) {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 {
			delete(h, "Set-Cookie")
		} else {
			h["Set-Cookie"] = kept
		}
	}
	delete(h, "Access-Control-Allow-Credentials")
	if !unsandboxed {
		delete(h, "Clear-Site-Data")
	}
}

// setCookieName is the cookie a Set-Cookie value sets. A value without "="
// is treated as naming the whole pair: browsers store it as a nameless
// cookie that they send back as "NAME", which servers read as a cookie
// called NAME.
func setCookieName(v string) string {
	pair, _, _ := strings.Cut(v, ";")
	name, _, _ := strings.Cut(pair, "=")
	return strings.TrimSpace(name)
}

// IsPiCloudCookie reports whether a cookie name is PiCloud's: any name
// starting with "picloud", in any case, also behind the __Host- and __Secure-
// prefixes. Scripts may neither set nor read these.
func IsPiCloudCookie(name string) bool {
	const p = "picloud"
	for _, prefix := range []string{"", "__host-", "__secure-"} {
		if len(name) >= len(prefix)+len(p) && strings.EqualFold(name[:len(prefix)+len(p)], prefix+p) {
			return true
		}
	}
	return false
}

// WriteResponse writes a script's response as Execute made it (the final
// headers already in resp.Header). A body is sent only for statuses that
// have one.
func WriteResponse(w http.ResponseWriter, resp *Response) {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	w.WriteHeader(resp.Status)
	if len(resp.Body) > 0 && resp.Status >= 200 && resp.Status != http.StatusNoContent && resp.Status != http.StatusNotModified {
		w.Write(resp.Body)
	}
}
