package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/orchestrator"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/sqlite"
)

// invokeStores runs fn on SQLite, and on PostgreSQL when
// PICLOUD_TEST_DATABASE_URL is set; one after the other, since the
// generations that make every cache forget are the process's.
func invokeStores(t *testing.T, fn func(t *testing.T, store picloud.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		url := os.Getenv("PICLOUD_TEST_DATABASE_URL")
		if url == "" {
			t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
		}
		fn(t, pgtest.Open(t, url))
	})
}

// failingKeys is a store whose key lookups fail (the database is down).
type failingKeys struct {
	picloud.Store
	err error
}

func (f failingKeys) InvokeKeyByHash(context.Context, string) (*picloud.InvokeKey, error) {
	return nil, f.err
}

func TestInvokeAuth(t *testing.T) {
	invokeStores(t, func(t *testing.T, store picloud.Store) {
		ctx := context.Background()
		a, b := &picloud.Script{Name: "orders", Source: "1"}, &picloud.Script{Name: "billing", Source: "1"}
		for _, sc := range []*picloud.Script{a, b} {
			if err := store.CreateScript(ctx, sc); err != nil {
				t.Fatal(err)
			}
		}
		adminToken, err := EnsureAdminToken(ctx, store, "")
		if err != nil {
			t.Fatal(err)
		}
		keyA := "pck_" + randomHex()
		key := &picloud.InvokeKey{ScriptID: a.ID, Prefix: keyA[:12], Hash: HashToken(keyA)}
		if err := store.CreateInvokeKey(ctx, key); err != nil {
			t.Fatal(err)
		}
		past := picloud.Time{Time: time.Now().Add(-time.Hour)}
		tokens := map[string]*picloud.APIToken{
			"invoke-orders": {Scopes: []string{"invoke:orders"}},
			"invoke-all":    {Scopes: []string{"invoke:*"}},
			"reader":        {Scopes: []string{"read"}},
			"deployer-b":    {Scopes: []string{"deploy"}, Scripts: "bill*"},
			"old":           {Scopes: []string{"admin"}, ExpiresAt: &past},
		}
		secrets := map[string]string{}
		for name, tok := range tokens {
			secrets[name] = NewToken()
			tok.Name, tok.Prefix, tok.Hash = name, secrets[name][:12], HashToken(secrets[name])
			if err := store.CreateAPIToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		ia := NewInvokeAuth(store, time.Hour, nil)
		check := func(sc *picloud.Script, kind, secret, wantCode, wantReason string) string {
			t.Helper()
			id, err := ia.Authorize(ctx, sc, kind, HashToken(secret))
			if picloud.ErrorCode(err) != wantCode && !(wantCode == "" && err == nil) {
				t.Errorf("%s %s on %s: %v, want %q", kind, secret[:12], sc.Name, err, wantCode)
			}
			var pe *picloud.Error
			if wantReason != "" && (!errors.As(err, &pe) || pe.Details["reason"] != wantReason) {
				t.Errorf("%s %s on %s: %v, want reason %q", kind, secret[:12], sc.Name, err, wantReason)
			}
			return id
		}
		if id := check(a, InvokeKindKey, keyA, "", ""); id != key.ID {
			t.Errorf("key id %q, want %q", id, key.ID)
		}
		check(b, InvokeKindKey, keyA, picloud.EForbidden, "")
		check(a, InvokeKindKey, "pck_"+randomHex(), picloud.EUnauthorized, "unknown")
		check(a, InvokeKindToken, adminToken, "", "")
		check(b, InvokeKindToken, adminToken, "", "")
		check(a, InvokeKindToken, secrets["invoke-orders"], "", "")
		check(b, InvokeKindToken, secrets["invoke-orders"], picloud.EForbidden, "")
		check(b, InvokeKindToken, secrets["invoke-all"], "", "")
		check(a, InvokeKindToken, secrets["reader"], picloud.EForbidden, "")
		check(b, InvokeKindToken, secrets["deployer-b"], "", "")
		check(a, InvokeKindToken, secrets["deployer-b"], picloud.EForbidden, "")
		check(a, InvokeKindToken, secrets["old"], picloud.EUnauthorized, "expired")
		check(a, InvokeKindToken, keyA, picloud.EUnauthorized, "unknown") // a key is not a token
		check(a, InvokeKindToken, "pct_"+randomHex(), picloud.EUnauthorized, "unknown")

		// The last use is written (in the background).
		deadline := time.Now().Add(10 * time.Second)
		for {
			keys, err := store.InvokeKeys(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := store.APIToken(ctx, tokens["invoke-orders"].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) == 1 && keys[0].LastUsedAt != nil && tok.LastUsedAt != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("last use not written: key %v, token %v", keys[0].LastUsedAt, tok.LastUsedAt)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// Revoked in the store: believed for the TTL, forgotten at once
		// when this process says so.
		if err := store.DeleteInvokeKey(ctx, a.ID, key.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteAPIToken(ctx, tokens["invoke-orders"].ID); err != nil {
			t.Fatal(err)
		}
		check(a, InvokeKindKey, keyA, "", "")
		invokeKeyGeneration.Add(1) // what revoking through the API does
		check(a, InvokeKindKey, keyA, picloud.EUnauthorized, "unknown")
		check(a, InvokeKindToken, secrets["invoke-orders"], picloud.EUnauthorized, "unknown")

		// A short TTL: a revocation elsewhere takes effect within it.
		short := NewInvokeAuth(store, 50*time.Millisecond, nil)
		if _, err := short.Authorize(ctx, b, InvokeKindToken, HashToken(secrets["invoke-all"])); err != nil {
			t.Fatal(err)
		}
		if err := store.DeleteAPIToken(ctx, tokens["invoke-all"].ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
		if _, err := short.Authorize(ctx, b, InvokeKindToken, HashToken(secrets["invoke-all"])); picloud.ErrorCode(err) != picloud.EUnauthorized {
			t.Errorf("revoked token after the TTL: %v", err)
		}

		// A rotated admin token: the old one stops at once in this process.
		newAdmin, err := RotateToken(ctx, store)
		if err != nil {
			t.Fatal(err)
		}
		check(a, InvokeKindToken, adminToken, picloud.EUnauthorized, "unknown")
		check(a, InvokeKindToken, newAdmin, "", "")

		// The store down: unavailable, saying nothing of the cause.
		down := NewInvokeAuth(failingKeys{store, errors.New("disk on fire")}, 0, nil)
		if _, err := down.Authorize(ctx, a, InvokeKindKey, HashToken(keyA)); picloud.ErrorCode(err) != picloud.EUnavailable || picloud.ErrorMessage(err) == "disk on fire" {
			t.Errorf("store down: %v", err)
		}
	})
}

// The orchestrator hashes credentials as the store keeps them.
func TestInvokeHashesAgree(t *testing.T) {
	for _, s := range []string{"pck_abc", "pct_" + randomHex(), "an operator's admin token"} {
		if HashToken(s) != orchestrator.HashCredential(s) {
			t.Errorf("%q: %s != %s", s, HashToken(s), orchestrator.HashCredential(s))
		}
	}
}
