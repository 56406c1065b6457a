package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The kinds of Credential.
const (
	CredentialKey   = "key"   // an invoke key, "pck_..."
	CredentialToken = "token" // an API token (or the admin token)
)

// KeyPrefix starts every invoke key.
const KeyPrefix = "pck_"

// Credential is what an invocation of a script whose access is "key" or
// "token" presents: X-PiCloud-Key: pck_... or Authorization: Bearer pck_...
// (a key), Authorization: Bearer <anything else> (a token).
type Credential struct {
	Kind   string // CredentialKey or CredentialToken
	Secret string
}

// Authorizer decides whether a credential may invoke a script.
type Authorizer interface {
	// AuthorizeInvoke answers nil when cred may invoke sc (keyID is the
	// key's id when it is an invoke key); else a *picloud.Error:
	// EUnauthorized (unknown or expired; Details["reason"] "unknown" or
	// "expired") or EForbidden (a key of another script; a token whose
	// scopes or script pattern do not admit sc). Any other error is
	// answered 503 unavailable.
	AuthorizeInvoke(ctx context.Context, sc *picloud.Script, cred Credential) (keyID string, err error)
}

// HashAuthorizer is an Authorizer that sees only the credential's hash
// (HashCredential), as the store keeps it: the manager's
// (manager.InvokeAuth) and a node's (cluster.NodeAuthorizer), which sends
// the hash, never the credential, to its manager.
type HashAuthorizer func(ctx context.Context, sc *picloud.Script, kind, hash string) (keyID string, err error)

// AuthorizeInvoke implements Authorizer.
func (f HashAuthorizer) AuthorizeInvoke(ctx context.Context, sc *picloud.Script, cred Credential) (string, error) {
	return f(ctx, sc, cred.Kind, HashCredential(cred.Secret))
}

// HashCredential is the hash the store keeps of a token or key: the same as
// manager.HashToken ("sha256:" and the hex of its SHA-256).
func HashCredential(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// authorizerRef holds an Authorizer for atomic.Pointer.
type authorizerRef struct{ a Authorizer }

// SetAuthorizer sets who checks the credentials of invocations of scripts
// whose access is "key" or "token". Without one such invocations answer 503
// unavailable: they are never let through unchecked.
func (o *Orchestrator) SetAuthorizer(a Authorizer) {
	if a == nil {
		o.authorizer.Store(nil)
		return
	}
	o.authorizer.Store(&authorizerRef{a})
}

// The reasons of picloud_invoke_denied_total.
const (
	DeniedMissing     = "missing"      // no credential
	DeniedUnknown     = "unknown"      // a credential nobody issued, or revoked
	DeniedForbidden   = "forbidden"    // valid, but not for this script
	DeniedExpired     = "expired"      // an expired token
	DeniedRateLimited = "rate_limited" // the script's rate limit
)

// readCredential reads an invocation's credential: X-PiCloud-Key first,
// else an Authorization bearer (a key when it has the key prefix).
func readCredential(r *http.Request) (Credential, bool) {
	if k := strings.TrimSpace(r.Header.Get("X-PiCloud-Key")); k != "" {
		return Credential{Kind: CredentialKey, Secret: k}, true
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Credential{}, false
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "bearer") || tok == "" {
		return Credential{}, false
	}
	if strings.HasPrefix(tok, KeyPrefix) {
		return Credential{Kind: CredentialKey, Secret: tok}, true
	}
	return Credential{Kind: CredentialToken, Secret: tok}, true
}

// authorize applies sc's access to r: nil when r may invoke sc (keyID: the
// invoke key it presented, "" otherwise), else the error to answer. Only
// access "key" and "token" get here (serve checks the field first).
func (o *Orchestrator) authorize(r *http.Request, sc *picloud.Script) (keyID string, err error) {
	cred, ok := readCredential(r)
	if !ok {
		what := "an invoke key (X-PiCloud-Key or Authorization: Bearer pck_...) or an API token"
		if sc.Access == picloud.AccessToken {
			what = "an API token (Authorization: Bearer ...) with invoke:" + sc.Name
		}
		return "", o.deny(sc, DeniedMissing, &picloud.Error{Code: picloud.EUnauthorized,
			Message: fmt.Sprintf("script %q needs %s", sc.Name, what), Details: map[string]any{"reason": DeniedMissing}})
	}
	if sc.Access == picloud.AccessToken && cred.Kind == CredentialKey {
		return "", o.deny(sc, DeniedForbidden, picloud.Errorf(picloud.EForbidden,
			"script %q takes API tokens with invoke:%s, not invoke keys", sc.Name, sc.Name))
	}
	ref := o.authorizer.Load()
	if ref == nil {
		return "", picloud.Errorf(picloud.EUnavailable, "this server cannot check invoke credentials")
	}
	keyID, err = ref.a.AuthorizeInvoke(r.Context(), sc, cred)
	if err == nil {
		// The credential was PiCloud's to check, not the script's to read:
		// the admin token need not carry a prefix the executor strips by.
		if strings.TrimSpace(r.Header.Get("X-PiCloud-Key")) != "" { // as readCredential chose
			r.Header.Del("X-PiCloud-Key")
		} else {
			r.Header.Del("Authorization")
		}
		return keyID, nil
	}
	var pe *picloud.Error
	if !errors.As(err, &pe) {
		o.log.Warn("orchestrator: invoke credentials not checked", "script", sc.Name, "err", err)
		return "", picloud.Errorf(picloud.EUnavailable, "invoke credentials cannot be checked now; try again later")
	}
	switch pe.Code {
	case picloud.EUnauthorized:
		reason := DeniedUnknown
		if pe.Details["reason"] == DeniedExpired {
			reason = DeniedExpired
		}
		return "", o.deny(sc, reason, err)
	case picloud.EForbidden:
		return "", o.deny(sc, DeniedForbidden, err)
	case picloud.ENotFound, picloud.EUnavailable:
		return "", err
	}
	o.log.Warn("orchestrator: invoke credentials not checked", "script", sc.Name, "err", err)
	return "", picloud.Errorf(picloud.EUnavailable, "invoke credentials cannot be checked now; try again later")
}

// deny counts a refused invocation and logs a sample of them (at most one
// line per script per DenyLogEvery, with the number not logged since), and
// returns err. A refused invocation writes no execution row: a flood of
// them must not fill the execution log.
func (o *Orchestrator) deny(sc *picloud.Script, reason string, err error) error {
	if o.metrics != nil {
		o.metrics.InvokeDenied.WithLabelValues(reason).Inc()
	}
	o.denials.sample(sc, reason, err, o.log)
	return err
}

// DenyLogEvery is how often a script's refused invocations are logged: one
// line, then silence (counted) until this much time has passed.
const DenyLogEvery = time.Minute

// denialLog samples the log lines of refused invocations.
type denialLog struct {
	scripts sync.Map // script id -> *denialSample
}

type denialSample struct {
	last       atomic.Int64 // unix nanoseconds of the last line
	suppressed atomic.Int64
}

func (d *denialLog) sample(sc *picloud.Script, reason string, err error, log *slog.Logger) {
	v, ok := d.scripts.Load(sc.ID)
	if !ok {
		v, _ = d.scripts.LoadOrStore(sc.ID, &denialSample{})
	}
	s := v.(*denialSample)
	now := time.Now().UnixNano()
	last := s.last.Load()
	if last != 0 && time.Duration(now-last) < DenyLogEvery || !s.last.CompareAndSwap(last, now) {
		s.suppressed.Add(1)
		return
	}
	log.Info("orchestrator: invocation refused", "script", sc.Name, "script_id", sc.ID, "reason", reason,
		"err", picloud.ErrorMessage(err), "not_logged_since_last", s.suppressed.Swap(0))
}

// notFound is the answer for a script that cannot be invoked over HTTP
// (access "library"): the same as for a script that does not exist.
func notFound(r *http.Request, sc *picloud.Script) error {
	if name := r.PathValue("name"); name != "" {
		return picloud.Errorf(picloud.ENotFound, "script %q not found", name)
	}
	return picloud.Errorf(picloud.ENotFound, "script %q not found", r.PathValue("id"))
}

// guard applies sc's access and rate limit to r: ok false when it answered
// w (404 for a library, 401/403, 429). The common case, a public script
// without a rate limit, costs two field checks.
func (o *Orchestrator) guard(w http.ResponseWriter, r *http.Request, sc *picloud.Script) bool {
	access := sc.Access
	if (access == "" || access == picloud.AccessPublic) && sc.RateLimitRPS <= 0 {
		return true
	}
	var err error
	switch access {
	case picloud.AccessLibrary:
		err = notFound(r, sc)
	case picloud.AccessKey, picloud.AccessToken:
		if preflight(w, r) {
			return false
		}
		byKey := sc.RateLimitBy == picloud.RateLimitByKey
		if sc.RateLimitRPS > 0 && !byKey {
			// Counted by address before the credential is checked: a flood
			// of guesses is limited without reaching the store.
			err = o.limit(r, sc, "")
		}
		if err == nil {
			var keyID string
			keyID, err = o.authorize(r, sc)
			if err == nil && sc.RateLimitRPS > 0 && byKey {
				err = o.limit(r, sc, keyID)
			}
		}
	default:
		err = o.limit(r, sc, "")
	}
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return false
	}
	return true
}

// PreflightMaxAge is how long a browser may reuse the answer to a CORS
// preflight of a protected script (Access-Control-Max-Age, in seconds).
const PreflightMaxAge = 600

// maxPreflightHeaders bounds the Access-Control-Request-Headers a preflight
// may name (its bytes): a browser names the few headers it will send.
const maxPreflightHeaders = 2048

// preflight answers a browser's CORS preflight to a script whose access is
// "key" or "token", and reports whether it did. A browser sends one before a
// cross-origin request that carries X-PiCloud-Key or Authorization, and
// never with credentials, so checking it would refuse every browser caller.
// The answer lets the request be sent (from any origin, with the method and
// headers asked for) and nothing more: no execution, no credential checked,
// no rate limit counted, no Access-Control-Allow-Credentials (PiCloud's
// cookies are never valid on a function route). The request that follows
// is checked like any other, and whether the page may read its answer is
// the script's Access-Control-Allow-Origin, as for a public script. An
// OPTIONS request that carries a credential is not a browser's preflight:
// it is checked and run like any other method.
func preflight(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodOptions {
		return false
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if r.Header.Get("Origin") == "" || !isToken(method) {
		return false
	}
	if _, ok := readCredential(r); ok {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", method)
	if allow := preflightHeaders(r.Header.Values("Access-Control-Request-Headers")); allow != "" {
		h.Set("Access-Control-Allow-Headers", allow)
	}
	h.Set("Access-Control-Max-Age", strconv.Itoa(PreflightMaxAge))
	h.Set("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// preflightHeaders is the list of header names a preflight asked for
// (comma-separated, possibly over several lines), lower-cased, without the
// names that are not HTTP tokens; "" when it asked for none or for too many
// bytes of them.
func preflightHeaders(lines []string) string {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	if n == 0 || n > maxPreflightHeaders {
		return ""
	}
	names := make([]string, 0, 4)
	for _, l := range lines {
		for name := range strings.SplitSeq(l, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); isToken(name) {
				names = append(names, name)
			}
		}
	}
	return strings.Join(names, ", ")
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 5.6.2): a
// method or a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
