package executor

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
)

// credentialPrefixes start every credential PiCloud issues: admin and API
// tokens, invoke keys, sessions. They make a credential recognisable
// wherever it travels, so that it can be kept from scripts and logs.
var credentialPrefixes = []string{"pct_", "pck_", "pcs_"}

// IsPiCloudCredential reports whether s is (or starts as) a PiCloud credential.
func IsPiCloudCredential(s string) bool {
	for _, p := range credentialPrefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// stripValues is header k's values without PiCloud's credentials:
// Authorization and Proxy-Authorization values carrying one (a bearer or
// other token with a PiCloud prefix; Basic credentials whose user or password
// has one), the X-PiCloud-Key header, and PiCloud's cookies (IsPiCloudCookie)
// in Cookie headers, other cookies kept. It returns vs itself when it holds
// none, a new slice (possibly empty) otherwise; vs is not modified.
func stripValues(k string, vs []string) []string {
	switch {
	case strings.EqualFold(k, "X-PiCloud-Key"):
		return nil
	case strings.EqualFold(k, "Authorization"), strings.EqualFold(k, "Proxy-Authorization"):
		return keep(vs, func(v string) (string, bool) { return v, !authCarriesCredential(v) })
	case strings.EqualFold(k, "Cookie"):
		return keep(vs, stripCookies)
	}
	return vs
}

// keep maps each value through f, dropping those f refuses. It returns vs
// itself when f changed nothing, else a new slice.
func keep(vs []string, f func(string) (string, bool)) []string {
	for i, v := range vs {
		if nv, ok := f(v); !ok || nv != v {
			out := slices.Clone(vs[:i])
			for _, v := range vs[i:] {
				if v, ok := f(v); ok {
					out = append(out, v)
				}
			}
			return out
		}
	}
	return vs
}

// authCarriesCredential reports whether an Authorization value carries a
// PiCloud credential. Besides one credential per value, a header joined by a
// proxy ("Bearer a, Basic b") is checked part by part.
func authCarriesCredential(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		scheme, cred, _ := strings.Cut(strings.TrimSpace(part), " ")
		cred = strings.TrimSpace(cred)
		if cred == "" {
			// A bare token, with no scheme.
			cred = scheme
		}
		if IsPiCloudCredential(cred) {
			return true
		}
		if strings.EqualFold(scheme, "basic") && basicCarriesCredential(cred) {
			return true
		}
		lc := strings.ToLower(cred)
		for _, p := range credentialPrefixes {
			// A credential inside an auth parameter (token="pct_...").
			if strings.Contains(lc, "="+p) || strings.Contains(lc, `="`+p) {
				return true
			}
		}
	}
	return false
}

// basicCarriesCredential reports whether Basic credentials (base64 of
// user:password, padded or not) have a PiCloud credential as user or password.
func basicCarriesCredential(cred string) bool {
	dec, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		if dec, err = base64.RawStdEncoding.DecodeString(cred); err != nil {
			return false
		}
	}
	user, pass, _ := strings.Cut(string(dec), ":")
	return IsPiCloudCredential(user) || IsPiCloudCredential(pass)
}

// stripCookies removes PiCloud's cookies from a Cookie header value; the
// value is dropped when no cookie is left.
func stripCookies(v string) (string, bool) {
	var kept []string
	removed := false
	for c := range strings.SplitSeq(v, ";") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		name, _, _ := strings.Cut(c, "=")
		if IsPiCloudCookie(strings.TrimSpace(name)) {
			removed = true
			continue
		}
		kept = append(kept, c)
	}
	if !removed {
		return v, true
	}
	return strings.Join(kept, "; "), len(kept) > 0
}

// StripCredentials returns a copy of h without PiCloud's credentials, by the
// rules of the script's request.headers (stripValues): the headers an
// asynchronous run's request keeps when it is stored. h is not modified.
func StripCredentials(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if vs = stripValues(k, vs); len(vs) > 0 {
			out[k] = slices.Clone(vs)
		}
	}
	return out
}
