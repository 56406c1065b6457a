package manager

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The dashboard's session cookie and the CSRF header its writes must carry.
const (
	SessionCookie = "picloud_session"
	CSRFHeader    = "X-PiCloud-CSRF"
	sessionTTL    = 12 * time.Hour
)

// NewToken returns a fresh admin token: 32 random bytes, hex, with a prefix
// that makes it easy to spot in a leaked file.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "pct_" + hex.EncodeToString(b)
}

// HashToken is what the store keeps instead of the token. The token is 256
// random bits, so one SHA-256 is enough: there is nothing to brute-force.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// EnsureAdminToken makes sure the store has an admin token. A non-empty token
// (PICLOUD_ADMIN_TOKEN) replaces the stored one; otherwise, when none is stored,
// a new one is made and returned so that the caller prints it once. It returns
// "" when nothing new was made.
func EnsureAdminToken(ctx context.Context, store picloud.TokenStore, token string) (string, error) {
	if token != "" {
		return "", store.SetAdminTokenHash(ctx, HashToken(token))
	}
	h, err := store.AdminTokenHash(ctx)
	if err != nil || h != "" {
		return "", err
	}
	token = NewToken()
	return token, store.SetAdminTokenHash(ctx, HashToken(token))
}

// RotateToken replaces the admin token with a new one and returns it. Every
// session cookie signed with the old one stops working.
func RotateToken(ctx context.Context, store picloud.TokenStore) (string, error) {
	token := NewToken()
	return token, store.SetAdminTokenHash(ctx, HashToken(token))
}

// sessionValue is "expiry.mac": the MAC is keyed by the token's hash, so a
// rotation signs everyone out and the server keeps no session state.
func sessionValue(tokenHash string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + sessionMAC(tokenHash, e)
}

func sessionMAC(tokenHash, exp string) string {
	m := hmac.New(sha256.New, []byte(tokenHash))
	m.Write([]byte("picloud-session|" + exp))
	return hex.EncodeToString(m.Sum(nil))
}

func validSession(tokenHash, value string) bool {
	exp, mac, ok := strings.Cut(value, ".")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || time.Now().Unix() > n {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(sessionMAC(tokenHash, exp)))
}

// authenticate reports how r is authenticated: "bearer", "session" or an error.
func (m *Manager) authenticate(r *http.Request) (string, error) {
	hash, err := m.store.AdminTokenHash(r.Context())
	if err != nil {
		return "", err
	}
	if hash == "" {
		return "", picloud.Errorf(picloud.EUnauthorized, "no admin token is set")
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(HashToken(strings.TrimSpace(tok))), []byte(hash)) == 1 {
			return "bearer", nil
		}
		return "", picloud.Errorf(picloud.EUnauthorized, "wrong token")
	}
	if c, err := r.Cookie(SessionCookie); err == nil && validSession(hash, c.Value) {
		return "session", nil
	}
	return "", picloud.Errorf(picloud.EUnauthorized, "an admin token is required (Authorization: Bearer <token>)")
}

// Admin wraps an admin route: a bearer token, or a session cookie plus the
// CSRF header on anything but GET and HEAD.
func (m *Manager) Admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		how, err := m.authenticate(r)
		if err != nil {
			httpapi.WriteError(w, r, m.log, err)
			return
		}
		if how == "session" && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(CSRFHeader) != "1" {
			httpapi.WriteError(w, r, m.log, picloud.Errorf(picloud.EUnauthorized, "cookie-authenticated writes need the header %s: 1", CSRFHeader))
			return
		}
		h(w, r)
	}
}

// HandleCreateSession is POST /api/session {"token": "..."}.
func (m *Manager) HandleCreateSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if err := httpapi.Decode(w, r, 64<<10, &in); err != nil {
		httpapi.WriteError(w, r, m.log, err)
		return
	}
	hash, err := m.store.AdminTokenHash(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, m.log, err)
		return
	}
	if hash == "" || subtle.ConstantTimeCompare([]byte(HashToken(in.Token)), []byte(hash)) != 1 {
		httpapi.WriteError(w, r, m.log, picloud.Errorf(picloud.EUnauthorized, "wrong token"))
		return
	}
	exp := time.Now().Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sessionValue(hash, exp), Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"authenticated": true, "expires_at": picloud.Time{Time: exp}})
}

// HandleDeleteSession is DELETE /api/session: it clears the cookie.
func (m *Manager) HandleDeleteSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	w.WriteHeader(http.StatusNoContent)
}

// HandleGetSession is GET /api/session: 200 {"authenticated": true, "method"}
// when signed in (cookie or bearer), and 200 {"authenticated": false} when
// not (no credentials, a wrong token, an expired cookie). Asking whether one
// is signed in is not an error, so the dashboard's first load does not log a
// refused request in the browser's console.
func (m *Manager) HandleGetSession(w http.ResponseWriter, r *http.Request) {
	how, err := m.authenticate(r)
	if picloud.ErrorCode(err) == picloud.EUnauthorized {
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"authenticated": false})
		return
	} else if err != nil {
		httpapi.WriteError(w, r, m.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"authenticated": true, "method": how})
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
