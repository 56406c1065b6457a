package app_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/manager"
)

// One token opens at most 10 dashboard sessions a minute: the eleventh
// sign-in is refused 429 rate_limited with Retry-After, opens no session,
// is counted (picloud_auth_failures_total{reason="session_limit"}) and
// recorded as a failed sign-in naming the token (sampled: one per client a
// minute). Other tokens, and the token's bearer use, are not affected, and
// the client's failed-authentication allowance is not spent.
func TestSignInsLimitedPerToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{})
		var viewer manager.TokenSecret
		e.do("POST", "/api/tokens", map[string]any{"name": "viewer", "scopes": []string{"read"}}, 201, &viewer)
		other := e.invokeToken("other", "read")

		signIn := func(token string) (*http.Response, []byte) {
			t.Helper()
			body, _ := json.Marshal(map[string]string{"token": token})
			return e.request("POST", "/api/session", body)
		}
		var cookies []*http.Cookie
		for i := range 10 {
			resp, b := signIn(viewer.Token)
			if resp.StatusCode != 200 {
				t.Fatalf("sign-in %d: %d %s", i+1, resp.StatusCode, b)
			}
			cookies = append(cookies, resp.Cookies()...)
		}
		for i := range 2 {
			resp, b := signIn(viewer.Token)
			var eb struct {
				Error struct {
					Code       string `json:"code"`
					Message    string `json:"message"`
					RetryAfter int    `json:"retry_after_s"`
				} `json:"error"`
			}
			json.Unmarshal(b, &eb)
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != 429 || eb.Error.Code != "rate_limited" || secs < 1 || secs > 60 || eb.Error.RetryAfter != secs ||
				!contains(eb.Error.Message, "viewer opened 10 sessions within a minute") || len(resp.Cookies()) != 0 {
				t.Fatalf("sign-in %d past the limit: %d Retry-After %q %s", 11+i, resp.StatusCode, resp.Header.Get("Retry-After"), b)
			}
		}
		// The sessions it opened work; the token still works as a bearer;
		// another token and the admin token still sign in.
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/session", nil)
		req.AddCookie(cookies[len(cookies)-1])
		if resp, err := e.srv.Client().Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("the tenth session: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		if resp, b := e.request("GET", "/api/scripts", nil, "Authorization", "Bearer "+viewer.Token); resp.StatusCode != 200 {
			t.Errorf("the token as a bearer: %d %s", resp.StatusCode, b)
		}
		for _, tok := range []string{other, testToken} {
			if resp, b := signIn(tok); resp.StatusCode != 200 {
				t.Errorf("another token's sign-in: %d %s", resp.StatusCode, b)
			}
		}
		if v := e.metric(`picloud_auth_failures_total{reason="session_limit"}`); v != "2" {
			t.Errorf("session_limit refusals counted %q, want 2", v)
		}

		acts := byAction(e.auditAll("limit=50"))
		if n := len(acts["session.create"]); n != 12 {
			t.Errorf("%d session.create events, want 12", n)
		}
		failed := acts["session.failed"]
		if len(failed) != 1 { // sampled: one per client a minute
			t.Fatalf("%d session.failed events, want 1: %+v", len(failed), failed)
		}
		ev := failed[0]
		d := detailOf(t, ev)
		if ev.Actor != "viewer" || ev.TokenID != viewer.ID || ev.Target != "viewer" || ev.IP != "127.0.0.1" ||
			d["reason"] != "session_limit" || d["retry_after_s"] == nil {
			t.Errorf("the refused sign-in's event: %+v %s", ev, ev.Detail)
		}
		// Refused because of the limit, not as a guess: the client still has
		// its ten failures (the eleventh wrong token is the one refused
		// unchecked).
		for i := range 11 {
			want := 401
			if i == 10 {
				want = 429
			}
			if resp, b := signIn("pct_wrong-wrong-wrong-wrong-wrong"); resp.StatusCode != want {
				t.Fatalf("wrong sign-in %d: %d %s, want %d", i+1, resp.StatusCode, b, want)
			}
		}
	})
}
