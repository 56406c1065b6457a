package app_test

import (
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
)

// Sign-in CSRF: another site's page must not sign a visitor's browser in to
// PiCloud with a token of the attacker's choosing (a text/plain form whose
// body is JSON: the last "token" wins), which would make the visitor's
// dashboard act, and be audited, as the attacker's token. A browser says
// where a request comes from (Sec-Fetch-Site); curl and the CLI say nothing
// and keep working.
func TestSignInFromAnotherSite(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		tok := e.newToken("insider", []string{"deploy"}, "")
		form := []byte(`{"token":"x=y","token":"` + tok + `"}`)
		for _, hdr := range [][]string{
			{"Content-Type", "text/plain", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
			// Another origin of the same site: the functions origin's pages.
			{"Content-Type", "text/plain", "Sec-Fetch-Site", "same-site", "Origin", "https://fn.example"},
		} {
			resp, b := e.request("POST", "/api/session", form, hdr...)
			for _, c := range resp.Cookies() {
				if c.Name == manager.SessionCookie && c.MaxAge > 0 {
					t.Fatalf("%v: a cross-site sign-in set the session cookie (%d %s)", hdr, resp.StatusCode, b)
				}
			}
			if resp.StatusCode != 403 || !strings.Contains(string(b), `"forbidden"`) {
				t.Fatalf("%v: cross-site sign-in = %d %s, want 403 forbidden", hdr, resp.StatusCode, b)
			}
		}
		// The dashboard (same origin) and curl (no browser headers) sign in.
		body := []byte(`{"token":"` + tok + `"}`)
		if resp, b := e.request("POST", "/api/session", body, "Content-Type", "application/json", "Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL); resp.StatusCode != 200 {
			t.Fatalf("same-origin sign-in = %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("POST", "/api/session", body); resp.StatusCode != 200 {
			t.Fatalf("curl sign-in = %d %s", resp.StatusCode, b)
		}
	})
}
