package app_test

import (
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/picloud/picloud"
)

// A single sign-on user opens at most 10 sessions a minute, as a token
// does: the eleventh sign-in through the provider is refused 429 with
// Retry-After and no session, and recorded as a failed sign-in naming the
// user; another user still signs in; on both stores.
func TestOIDCSignInsLimitedPerUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newOIDCEnv(t, open(t), "email:*@example.com=read")
		user := &mockoidc.MockUser{Subject: "u-busy", Email: "busy@example.com", EmailVerified: true}
		for i := range 10 {
			b := browser(t)
			if resp, body := e.signIn(b, user); resp.Request.URL.Path != "/" {
				t.Fatalf("sign-in %d ended at %s (%d %s)", i+1, resp.Request.URL, resp.StatusCode, body)
			}
		}
		b := browser(t)
		resp, body := e.signIn(b, user)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !contains(body, "rate_limited") ||
			!contains(body, "busy@example.com opened 10 sessions") {
			t.Fatalf("the eleventh sign-in: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if s := e.session(b); s.Authenticated {
			t.Errorf("the refused sign-in opened a session: %+v", s)
		}
		if resp, body := e.signIn(browser(t), &mockoidc.MockUser{Subject: "u-calm", Email: "calm@example.com", EmailVerified: true}); resp.Request.URL.Path != "/" {
			t.Errorf("another user's sign-in ended at %s (%d %s)", resp.Request.URL, resp.StatusCode, body)
		}
		if n := len(e.audit("session.create")); n != 11 {
			t.Errorf("%d session.create events, want 11", n)
		}
		failed := e.audit("session.failed")
		if len(failed) != 1 || failed[0].Actor != "busy@example.com" || failed[0].Via != "oidc" || failed[0].Target != "busy@example.com" ||
			detailOf(t, failed[0])["reason"] != "session_limit" {
			for _, ev := range failed {
				t.Errorf("session.failed: %+v %s", *ev, ev.Detail)
			}
		}
	})
}
