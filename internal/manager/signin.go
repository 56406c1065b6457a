package manager

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud"
)

// ReasonSessionLimit is the reason (AuthConfig.OnFailure) of a sign-in
// refused because its token, or its single sign-on user, opened
// AuthConfig.MaxSignIns sessions within AuthConfig.SignInWindow.
const ReasonSessionLimit = "session_limit"

// signInKey is what a sign-in is counted against: the token's id (the admin
// token's is picloud.AdminTokenID), or a single sign-on user's name.
func signInKey(p Principal) string {
	if p.SSO {
		return "sso:" + p.Name
	}
	return "token:" + p.TokenID
}

// signInLimiter bounds the sessions one token (or single sign-on user) may
// open with a token bucket: each starts with burst sign-ins, gets burst back
// per window, and is refused while it has less than one. A right token does
// not spend the client's failed-authentication allowance, so without this
// one token could open sessions (each a row and an audit event) as fast as
// it can ask. It remembers at most maxKeys tokens and users.
type signInLimiter struct {
	bucketSet[string]
}

func newSignInLimiter(burst int, window time.Duration, maxKeys int) *signInLimiter {
	return &signInLimiter{newBucketSet[string](burst, window, maxKeys)}
}

// take spends one of key's sign-ins and returns 0; or, when it has none
// left, how long key must wait for the next.
func (l *signInLimiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucketSet.take(key, now)
}

// admitSignIn spends one of p's sign-ins. When p has none left it answers
// 429 rate_limited with Retry-After through fail (the token sign-in's JSON,
// or the single sign-on's page), counts the refusal (ReasonSessionLimit),
// records it as a failed sign-in (session.failed naming p, sampled as the
// other failed sign-ins are: at most one per client a minute) and returns
// false.
func (m *Manager) admitSignIn(w http.ResponseWriter, r *http.Request, p Principal,
	fail func(http.ResponseWriter, *http.Request, error)) bool {
	now := time.Now()
	wait := m.auth.signIns.take(signInKey(p), now)
	if wait <= 0 {
		return true
	}
	m.auth.count(ReasonSessionLimit)
	client := m.auth.client(r)
	secs := retryAfter(wait)
	m.log.Warn("sign-in refused: too many sessions opened", "client", client.String(), "token", p.Name, "retry_after_s", secs)
	if m.sampleFailedSignIn(client, now) {
		signedIn := p
		if p.SSO {
			signedIn.Via = ActionSignInVia
		}
		m.recordAudit(r, ActionSignInFailed, &auditNote{signedIn: &signedIn,
			detail: map[string]any{"reason": ReasonSessionLimit, "retry_after_s": secs}})
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	fail(w, r, &picloud.Error{Code: picloud.ERateLimited,
		Message: fmt.Sprintf("%s opened %d sessions within %s, the most one token or user may; sign in again in %d s",
			p.Name, m.auth.cfg.MaxSignIns, windowText(m.auth.cfg.SignInWindow), secs),
		Details: map[string]any{"retry_after_s": secs}})
	return false
}

// windowText is a window as a sentence says it: "a minute", "1h30m", "10s".
func windowText(d time.Duration) string {
	if d == time.Minute {
		return "a minute"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
