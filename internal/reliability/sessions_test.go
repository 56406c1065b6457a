package reliability

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSessionsFromDatabase signs in, then reads every text value of every
// table, as anyone holding the database or a backup of it could, and tries
// each one (and values derived from it: with the pcs_ prefix, without a
// "sha256:" prefix, and a cookie MAC'd with it the way sessions were signed
// before sessions were stored) as the session cookie and as the bearer token:
// every attempt must get 401. Then it signs out and reuses the old cookie: 401.
func TestSessionsFromDatabase(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *backend) {
		ctx := scenario(t)
		s := startServer(ctx, t, "server", nil, b.args()...)
		c := newClient(s.base, 2)
		id, err := c.deploy(ctx, "hello", helloSource, nil)
		if err != nil {
			t.Fatal(err)
		}
		// An execution, so that the database holds a row of every kind.
		if r, err := c.get(ctx, "/fn/hello?k=one", nil); err != nil || r.status != http.StatusOK {
			t.Fatalf("invoking hello: %v %v", r, err)
		}
		if _, err := awaitLogs(ctx, c, id, 1); err != nil {
			t.Fatal(err)
		}

		// Failed authentications are rate-limited per client address. Each
		// attempt comes from an address of its own (anything in 127.0.0.0/8
		// is loopback), so that every attempt reaches the credential check
		// and must be refused by it: 401, not 429.
		attempt := 0
		next := func() *client {
			attempt++
			return clientFrom(s.base, net.IPv4(127, byte(attempt>>16), byte(attempt>>8), byte(attempt)))
		}
		adminStatus := func(h http.Header) int {
			r, err := next().get(ctx, "/api/scripts", h)
			if err != nil {
				t.Fatalf("GET /api/scripts: %v", err)
			}
			return r.status
		}
		withCookie := func(v string) http.Header { return http.Header{"Cookie": {"picloud_session=" + v}} }

		// Sign in.
		r, err := next().do(ctx, http.MethodPost, "/api/session", nil, mustJSON(map[string]string{"token": adminToken}))
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("POST /api/session: %v %v", r, err)
		}
		var session *http.Cookie
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			if ck.Name == "picloud_session" {
				session = ck
			}
		}
		if session == nil || session.Value == "" {
			t.Fatalf("POST /api/session set no picloud_session cookie: %v", r.header["Set-Cookie"])
		}
		if !strings.HasPrefix(session.Value, "pcs_") {
			t.Errorf("the session cookie is %q, want a random session id pcs_...", session.Value)
		}
		if session.Path != "/api" {
			t.Errorf("the session cookie's Path is %q, want /api", session.Path)
		}
		if st := adminStatus(withCookie(session.Value)); st != http.StatusOK {
			t.Fatalf("the genuine session cookie got %s on GET /api/scripts", statusText(st))
		}

		// Everything a database reader sees, and what can be made of it.
		texts, err := b.allText(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cands := sessionCandidates(texts)
		var accepted []string
		cookieTries, bearerTries := 0, 0
		for _, v := range cands {
			if validCookieValue(v) {
				cookieTries++
				if st := adminStatus(withCookie(v)); st != http.StatusUnauthorized {
					accepted = append(accepted, fmt.Sprintf("cookie %q: %s", clip(v), statusText(st)))
				}
			}
			if validHeaderValue(v) {
				bearerTries++
				if st := adminStatus(http.Header{"Authorization": {"Bearer " + v}}); st != http.StatusUnauthorized {
					accepted = append(accepted, fmt.Sprintf("bearer %q: %s", clip(v), statusText(st)))
				}
			}
		}
		for i, a := range accepted {
			if i == 10 {
				t.Errorf("... and %d more", len(accepted)-10)
				break
			}
			t.Errorf("a credential made from the database's contents was not refused with 401: %s", a)
		}

		// Sign out, then reuse the old cookie.
		out := withCookie(session.Value)
		out.Set("X-PiCloud-CSRF", "1")
		if r, err := next().do(ctx, http.MethodDelete, "/api/session", out, nil); err != nil || r.status/100 != 2 {
			t.Errorf("DELETE /api/session: %v %v", r, err)
		}
		reuse := adminStatus(withCookie(session.Value))
		if reuse != http.StatusUnauthorized {
			t.Errorf("the cookie still works after logout: GET /api/scripts got %s, want 401", statusText(reuse))
		}
		t.Logf("RESULT scenario=sessions store=%s db_values=%d cookie_attempts=%d bearer_attempts=%d accepted=%d after_logout=%d",
			b.kind, len(texts), cookieTries, bearerTries, len(accepted), reuse)
	})
}

// tokenRE finds the pieces of a text that could be a credential: long runs of
// the characters credentials, hashes and ids are made of.
var tokenRE = regexp.MustCompile(`[A-Za-z0-9_\-.:+/=]{16,}`)

// sessionCandidates derives every credential a database reader could try
// from the database's text values.
func sessionCandidates(texts []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	base := map[string]bool{}
	for _, t := range texts {
		base[strings.TrimSpace(t)] = true
		for _, m := range tokenRE.FindAllString(t, -1) {
			base[m] = true
			if _, after, ok := strings.Cut(m, ":"); ok {
				base[after] = true
			}
		}
	}
	for v := range base {
		if v == "" || len(v) > 4096 {
			continue
		}
		add(v)
		if !strings.HasPrefix(v, "pcs_") {
			add("pcs_" + v)
		}
		// A session "expiry.mac" keyed by the value: how sessions were
		// signed with the stored token hash, which anyone could redo.
		m := hmac.New(sha256.New, []byte(v))
		m.Write([]byte("picloud-session|" + exp))
		add(exp + "." + hex.EncodeToString(m.Sum(nil)))
	}
	return out
}

// validCookieValue reports whether a cookie could carry v unquoted.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		b := v[i]
		if b <= 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' || b == ',' {
			return false
		}
	}
	return v != ""
}

// validHeaderValue reports whether a header could carry v.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(v) != ""
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
