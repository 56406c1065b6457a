package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// testSessions covers picloud.SessionStore: create, look up, expiry (an
// expired session is not found even before it is pruned), delete one, delete
// all, prune, token rotation deleting every session, and the subject and
// scopes of a single sign-on session.
func testSessions(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(hash string, expires time.Time) {
		t.Helper()
		if err := s.CreateSession(ctx, &picloud.Session{Hash: hash, CreatedAt: now.Add(-time.Minute), ExpiresAt: expires}); err != nil {
			t.Fatalf("create %s: %v", hash, err)
		}
	}
	found := func(hash string) bool {
		t.Helper()
		ss, err := s.SessionByHash(ctx, hash)
		if picloud.ErrorCode(err) == picloud.ENotFound {
			return false
		} else if err != nil {
			t.Fatalf("lookup %s: %v", hash, err)
		}
		if ss.Hash != hash || ss.ExpiresAt.Before(now) || !ss.CreatedAt.Equal(now.Add(-time.Minute)) {
			t.Fatalf("lookup %s = %+v", hash, ss)
		}
		return true
	}

	// A single sign-on session keeps its subject and scopes; a token's
	// session has none.
	sso := &picloud.Session{Hash: "sha256:sso", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		Subject: "jane@example.com", Scopes: []string{picloud.ScopeDeploy, "invoke:orders-*"}}
	if err := s.CreateSession(ctx, sso); err != nil {
		t.Fatal(err)
	}
	if ss, err := s.SessionByHash(ctx, sso.Hash); err != nil || ss.Subject != sso.Subject || ss.TokenID != "" ||
		len(ss.Scopes) != 2 || ss.Scopes[0] != picloud.ScopeDeploy || ss.Scopes[1] != "invoke:orders-*" {
		t.Fatalf("sso session = %+v, %v", ss, err)
	}
	mk("sha256:plain", now.Add(time.Hour))
	if ss, err := s.SessionByHash(ctx, "sha256:plain"); err != nil || ss.Subject != "" || ss.Scopes != nil {
		t.Fatalf("token session = %+v, %v; want no subject and nil scopes", ss, err)
	}
	if err := s.DeleteSessions(ctx); err != nil {
		t.Fatal(err)
	}

	mk("sha256:a", now.Add(time.Hour))
	mk("sha256:b", now.Add(time.Hour))
	mk("sha256:old", now.Add(-time.Second)) // validly stored, but stale
	if err := s.CreateSession(ctx, &picloud.Session{Hash: "sha256:a", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err == nil {
		t.Fatal("a duplicate hash was stored")
	}
	if !found("sha256:a") || !found("sha256:b") {
		t.Fatal("live sessions not found")
	}
	if found("sha256:old") {
		t.Fatal("an expired session was found")
	}
	if found("sha256:nope") || found("") {
		t.Fatal("a session that was never created was found")
	}
	ss, _ := s.SessionByHash(ctx, "sha256:a")
	if !ss.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("expires_at = %v, want %v", ss.ExpiresAt, now.Add(time.Hour))
	}

	if n, err := s.PruneSessions(ctx, now); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want the one expired session", n, err)
	}
	if n, err := s.PruneSessions(ctx, now); err != nil || n != 0 {
		t.Fatalf("second prune = %d, %v", n, err)
	}

	if err := s.DeleteSession(ctx, "sha256:a"); err != nil {
		t.Fatal(err)
	}
	if found("sha256:a") || !found("sha256:b") {
		t.Fatal("delete removed the wrong session")
	}
	if err := s.DeleteSession(ctx, "sha256:a"); err != nil {
		t.Fatalf("deleting a missing session: %v", err)
	}

	mk("sha256:c", now.Add(time.Hour))
	if err := s.DeleteSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if found("sha256:b") || found("sha256:c") {
		t.Fatal("delete all left a session")
	}

	// A new admin token signs everyone out, in the same transaction.
	mk("sha256:d", now.Add(time.Hour))
	if err := s.SetAdminTokenHash(ctx, "sha256:token"); err != nil {
		t.Fatal(err)
	}
	if found("sha256:d") {
		t.Fatal("a session survived token rotation")
	}
	if h, err := s.AdminTokenHash(ctx); err != nil || h != "sha256:token" {
		t.Fatalf("token hash = %q, %v", h, err)
	}
}
