package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/picloud/picloud"
)

// testSecrets covers picloud.SecretStore: set and replace (bytes kept
// exactly, updated_at moving), scopes kept apart, lists by name without
// values, delete, not_found, rollback leaving secrets alone, and deleting a
// script deleting its secrets (and no other scope's).
func testSecrets(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, "alpha", "1")
	b := mustCreate(t, s, "beta", "2")
	sa, sb := picloud.ScriptScope(a.ID), picloud.ScriptScope(b.ID)
	set := func(scope, name string, v []byte) {
		t.Helper()
		if err := s.SetSecret(ctx, scope, name, v); err != nil {
			t.Fatalf("set %s %s: %v", scope, name, err)
		}
	}
	get := func(scope, name string) []byte {
		t.Helper()
		v, err := s.SecretValue(ctx, scope, name)
		if err != nil {
			t.Fatalf("get %s %s: %v", scope, name, err)
		}
		return v
	}
	binary := []byte{0, 1, 2, 0xff, 0xfe, 'x'}
	set(sa, "TOKEN", binary)
	set(sa, "API_KEY", []byte("a-key"))
	set(sb, "TOKEN", []byte("b-token"))
	set(picloud.GlobalScope, "TOKEN", []byte("global-token"))
	if got := get(sa, "TOKEN"); !bytes.Equal(got, binary) {
		t.Fatalf("alpha TOKEN = %x, want %x", got, binary)
	}
	if got := get(sb, "TOKEN"); string(got) != "b-token" {
		t.Fatalf("beta TOKEN = %q", got)
	}
	if got := get(picloud.GlobalScope, "TOKEN"); string(got) != "global-token" {
		t.Fatalf("global TOKEN = %q", got)
	}
	_, err := s.SecretValue(ctx, sb, "API_KEY")
	wantCode(t, err, picloud.ENotFound)

	list, err := s.ListSecrets(ctx, sa)
	if err != nil || len(list) != 2 || list[0].Name != "API_KEY" || list[1].Name != "TOKEN" || list[0].UpdatedAt.IsZero() {
		t.Fatalf("list alpha = %v, %v", list, err)
	}
	before := list[1].UpdatedAt
	set(sa, "TOKEN", []byte("replaced"))
	if got := get(sa, "TOKEN"); string(got) != "replaced" {
		t.Fatalf("replaced TOKEN = %q", got)
	}
	list, _ = s.ListSecrets(ctx, sa)
	if len(list) != 2 || list[1].UpdatedAt.Before(before.Time) {
		t.Fatalf("after replace: %v (was updated %v)", list, before)
	}
	if empty, err := s.ListSecrets(ctx, picloud.ScriptScope("nobody")); err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("empty list = %#v, %v", empty, err)
	}

	// A new version and a rollback leave secrets alone.
	if _, err := s.UpdateScript(ctx, a.ID, picloud.ScriptUpdate{Source: ptr("3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateScript(ctx, a.ID, picloud.ScriptUpdate{Source: ptr("1"), NewVersion: true}); err != nil {
		t.Fatal(err)
	}
	if got := get(sa, "TOKEN"); string(got) != "replaced" {
		t.Fatalf("after rollback TOKEN = %q", got)
	}

	if err := s.DeleteSecret(ctx, sa, "API_KEY"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteSecret(ctx, sa, "API_KEY"), picloud.ENotFound)
	_, err = s.SecretValue(ctx, sa, "API_KEY")
	wantCode(t, err, picloud.ENotFound)

	// Deleting a script deletes its secrets, and only its.
	if err := s.DeleteScript(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListSecrets(ctx, sa); err != nil || len(list) != 0 {
		t.Fatalf("deleted script's secrets = %v, %v", list, err)
	}
	_, err = s.SecretValue(ctx, sa, "TOKEN")
	wantCode(t, err, picloud.ENotFound)
	if got := get(sb, "TOKEN"); string(got) != "b-token" {
		t.Fatalf("beta TOKEN after deleting alpha = %q", got)
	}
	if got := get(picloud.GlobalScope, "TOKEN"); string(got) != "global-token" {
		t.Fatalf("global TOKEN after deleting alpha = %q", got)
	}
}
