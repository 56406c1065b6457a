package app_test

import (
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// A live tail stream lasts only as long as the credential it was opened
// with: revoking the token, or signing the session out, ends it (instead of
// streaming every execution to a caller who may no longer read them).
func TestTailEndsWithItsCredential(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		e.create("echo", `#{n: 1}`)
		invoke := func() {
			t.Helper()
			if resp, b := e.request("GET", "/fn/echo", nil); resp.StatusCode != 200 {
				t.Fatalf("invoke: %d %s", resp.StatusCode, b)
			}
		}
		// ended invokes the script until the stream ends: it must within
		// converge (the stream re-checks its credential every second).
		ended := func(name string, ch <-chan sseEvent) {
			t.Helper()
			deadline := time.After(converge)
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case _, ok := <-ch:
					if !ok {
						return
					}
				case <-tick.C:
					invoke()
				case <-deadline:
					t.Fatalf("%s: the stream still runs after its credential ended", name)
				}
			}
		}

		// A named token, revoked.
		viewer := e.newToken("viewer", []string{"read"}, "")
		stream := e.openTail("/api/tail", "Authorization", "Bearer "+viewer)
		invoke()
		nextEvent(t, stream)
		if code, out := e.admin("DELETE", "/api/tokens/viewer", nil); code != 204 {
			t.Fatalf("revoke: %d %v", code, out)
		}
		ended("revoked token", stream)

		// A session, signed out.
		cookie, _ := e.signInWith(testToken)
		stream = e.openTail("/api/scripts/echo/tail", "Authorization", "", "Cookie", cookie)
		invoke()
		nextEvent(t, stream)
		if resp, b := e.request("DELETE", "/api/session", nil, "Cookie", cookie); resp.StatusCode != 204 {
			t.Fatalf("sign out: %d %s", resp.StatusCode, b)
		}
		ended("signed-out session", stream)
	})
}
