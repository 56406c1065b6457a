package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// testAPITokens covers picloud.APITokenStore: create (name taken, bad
// scopes), list by name, lookups by id and hash, expiry, touch, and rotation
// and revocation ending exactly the token's own sessions.
func testAPITokens(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	exp := &picloud.Time{Time: now.Add(-time.Second)}
	ci := &picloud.APIToken{Name: "ci", Prefix: "pct_aaaaaaaa", Hash: "sha256:ci", Scopes: []string{"deploy", "invoke:hello"}, Scripts: "orders-*"}
	old := &picloud.APIToken{Name: "b-old", Prefix: "pct_bbbbbbbb", Hash: "sha256:old", Scopes: []string{"read"}, ExpiresAt: exp}
	for _, tk := range []*picloud.APIToken{ci, old} {
		if err := s.CreateAPIToken(ctx, tk); err != nil {
			t.Fatalf("create %s: %v", tk.Name, err)
		}
		if tk.ID == "" || tk.CreatedAt.IsZero() {
			t.Fatalf("create did not fill id and created_at: %+v", tk)
		}
	}
	wantCode(t, s.CreateAPIToken(ctx, &picloud.APIToken{Name: "ci", Hash: "sha256:other", Scopes: []string{"read"}}), picloud.ENameTaken)
	wantCode(t, s.CreateAPIToken(ctx, &picloud.APIToken{Name: "x", Hash: "sha256:x", Scopes: []string{"root"}}), picloud.EInvalidRequest)
	wantCode(t, s.CreateAPIToken(ctx, &picloud.APIToken{Name: "x", Hash: "sha256:x"}), picloud.EInvalidRequest)
	wantCode(t, s.CreateAPIToken(ctx, &picloud.APIToken{Name: "Not A Slug", Hash: "sha256:x", Scopes: []string{"read"}}), picloud.EInvalidRequest)

	list, err := s.APITokens(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "b-old" || list[1].Name != "ci" {
		t.Fatalf("tokens = %v, %v; want b-old, ci", list, err)
	}
	got, err := s.APITokenByHash(ctx, "sha256:ci")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ci.ID || got.Prefix != ci.Prefix || !reflect.DeepEqual(got.Scopes, ci.Scopes) || got.Scripts != "orders-*" ||
		!got.CreatedAt.Equal(ci.CreatedAt.Time) || got.LastUsedAt != nil || got.ExpiresAt != nil || got.Expired(now) {
		t.Fatalf("by hash = %+v, want %+v", got, ci)
	}
	o, err := s.APIToken(ctx, old.ID)
	if err != nil || o.ExpiresAt == nil || !o.ExpiresAt.Equal(exp.Time) || !o.Expired(now) || o.Expired(now.Add(-time.Hour)) {
		t.Fatalf("expired token = %+v, %v", o, err)
	}
	_, err = s.APITokenByHash(ctx, "sha256:nope")
	wantCode(t, err, picloud.ENotFound)
	_, err = s.APIToken(ctx, "nope")
	wantCode(t, err, picloud.ENotFound)

	if err := s.TouchAPIToken(ctx, ci.ID, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APIToken(ctx, ci.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
		t.Fatalf("last_used_at = %v, want %v", got.LastUsedAt, now)
	}

	// Sessions remember their token.
	mkSession := func(hash, tokenID string) {
		t.Helper()
		if err := s.CreateSession(ctx, &picloud.Session{Hash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour), TokenID: tokenID}); err != nil {
			t.Fatal(err)
		}
	}
	live := func(hash string) bool {
		t.Helper()
		_, err := s.SessionByHash(ctx, hash)
		if picloud.ErrorCode(err) == picloud.ENotFound {
			return false
		} else if err != nil {
			t.Fatal(err)
		}
		return true
	}
	mkSession("sha256:s-admin", "")
	mkSession("sha256:s-ci-1", ci.ID)
	mkSession("sha256:s-ci-2", ci.ID)
	mkSession("sha256:s-old", old.ID)
	if ss, err := s.SessionByHash(ctx, "sha256:s-ci-1"); err != nil || ss.TokenID != ci.ID {
		t.Fatalf("session = %+v, %v; want token %s", ss, err, ci.ID)
	}
	if ss, err := s.SessionByHash(ctx, "sha256:s-admin"); err != nil || ss.TokenID != "" {
		t.Fatalf("admin session = %+v, %v", ss, err)
	}

	rot, err := s.RotateAPIToken(ctx, ci.ID, "sha256:ci2", "pct_cccccccc")
	if err != nil || rot.ID != ci.ID || rot.Prefix != "pct_cccccccc" || rot.Name != "ci" || !reflect.DeepEqual(rot.Scopes, ci.Scopes) {
		t.Fatalf("rotate = %+v, %v", rot, err)
	}
	if _, err := s.APITokenByHash(ctx, "sha256:ci"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("the old hash still works: %v", err)
	}
	if got, err := s.APITokenByHash(ctx, "sha256:ci2"); err != nil || got.ID != ci.ID {
		t.Fatalf("new hash = %+v, %v", got, err)
	}
	if live("sha256:s-ci-1") || live("sha256:s-ci-2") {
		t.Fatal("rotation left the token's sessions")
	}
	if !live("sha256:s-admin") || !live("sha256:s-old") {
		t.Fatal("rotation ended other tokens' sessions")
	}
	_, err = s.RotateAPIToken(ctx, "nope", "sha256:z", "pct_zzzzzzzz")
	wantCode(t, err, picloud.ENotFound)

	if err := s.DeleteAPIToken(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	if live("sha256:s-old") || !live("sha256:s-admin") {
		t.Fatal("revocation: wrong sessions ended")
	}
	wantCode(t, s.DeleteAPIToken(ctx, old.ID), picloud.ENotFound)
	if _, err := s.APITokenByHash(ctx, "sha256:old"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("a revoked token is found: %v", err)
	}
	// The name is free again.
	if err := s.CreateAPIToken(ctx, &picloud.APIToken{Name: "b-old", Prefix: "pct_dddddddd", Hash: "sha256:d", Scopes: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.APITokens(ctx); len(list) != 2 {
		t.Fatalf("tokens = %d, want 2", len(list))
	}
	// Rotating the admin token still signs everyone out.
	mkSession("sha256:s-d", list[0].ID)
	if err := s.SetAdminTokenHash(ctx, "sha256:admin"); err != nil {
		t.Fatal(err)
	}
	if live("sha256:s-admin") || live("sha256:s-d") {
		t.Fatal("admin rotation left sessions")
	}
}

// testInvokeKeys covers picloud.InvokeKeyStore: create (unknown script,
// long name), list per script by creation, lookup by hash, touch, delete
// only through the key's own script, and keys going with their script.
func testInvokeKeys(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b := mustCreate(t, s, "keyed-a", "1"), mustCreate(t, s, "keyed-b", "1")
	var keys []*picloud.InvokeKey
	for i, sc := range []*picloud.Script{a, a, b} {
		k := &picloud.InvokeKey{ScriptID: sc.ID, Name: fmt.Sprintf("k%d", i), Prefix: fmt.Sprintf("pck_%08d", i), Hash: fmt.Sprintf("sha256:k%d", i)}
		if err := s.CreateInvokeKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if k.ID == "" || k.CreatedAt.IsZero() {
			t.Fatalf("create did not fill id and created_at: %+v", k)
		}
		keys = append(keys, k)
		time.Sleep(2 * time.Millisecond)
	}
	wantCode(t, s.CreateInvokeKey(ctx, &picloud.InvokeKey{ScriptID: "00000000-0000-0000-0000-000000000000", Hash: "sha256:x"}), picloud.ENotFound)
	long := make([]byte, picloud.MaxInvokeKeyName+1)
	for i := range long {
		long[i] = 'x'
	}
	wantCode(t, s.CreateInvokeKey(ctx, &picloud.InvokeKey{ScriptID: a.ID, Name: string(long), Hash: "sha256:y"}), picloud.EInvalidRequest)
	if err := s.CreateInvokeKey(ctx, &picloud.InvokeKey{ScriptID: b.ID, Hash: "sha256:k0"}); err == nil {
		t.Fatal("a duplicate hash was stored")
	}

	list, err := s.InvokeKeys(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].ID != keys[0].ID || list[1].ID != keys[1].ID {
		t.Fatalf("keys of a = %v, %v", list, err)
	}
	if list[0].Name != "k0" || list[0].Prefix != "pck_00000000" || list[0].ScriptID != a.ID || list[0].LastUsedAt != nil ||
		!list[0].CreatedAt.Equal(keys[0].CreatedAt.Time) {
		t.Fatalf("key = %+v, want %+v", list[0], keys[0])
	}
	if list, err := s.InvokeKeys(ctx, "nope"); err != nil || len(list) != 0 {
		t.Fatalf("keys of a missing script = %v, %v; want none", list, err)
	}
	k, err := s.InvokeKeyByHash(ctx, "sha256:k2")
	if err != nil || k.ID != keys[2].ID || k.ScriptID != b.ID {
		t.Fatalf("by hash = %+v, %v", k, err)
	}
	_, err = s.InvokeKeyByHash(ctx, "sha256:nope")
	wantCode(t, err, picloud.ENotFound)

	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.TouchInvokeKey(ctx, keys[0].ID, at); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.InvokeKeyByHash(ctx, "sha256:k0"); k.LastUsedAt == nil || !k.LastUsedAt.Equal(at) {
		t.Fatalf("last_used_at = %v, want %v", k.LastUsedAt, at)
	}

	wantCode(t, s.DeleteInvokeKey(ctx, b.ID, keys[0].ID), picloud.ENotFound) // not b's key
	if err := s.DeleteInvokeKey(ctx, a.ID, keys[0].ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteInvokeKey(ctx, a.ID, keys[0].ID), picloud.ENotFound)
	if _, err := s.InvokeKeyByHash(ctx, "sha256:k0"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("a deleted key is found: %v", err)
	}

	if err := s.DeleteScript(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InvokeKeyByHash(ctx, "sha256:k1"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("a deleted script's key is found: %v", err)
	}
	if _, err := s.InvokeKeyByHash(ctx, "sha256:k2"); err != nil {
		t.Fatalf("another script's key went too: %v", err)
	}
}

// testAudit covers picloud.AuditStore: filling id and time, the detail
// round trip, every filter, newest-first pagination with Before, the limit,
// and pruning.
func testAudit(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	type ev struct {
		action, actor, target string
		at                    time.Duration
	}
	evs := []ev{
		{"session.failed", "", "", 0},
		{"session.create", "admin", "", time.Minute},
		{"script.create", "admin", "hello", 2 * time.Minute},
		{"script.update", "ci", "hello", 3 * time.Minute},
		{"script.updated", "ci", "other", 4 * time.Minute}, // "script.update" must not match it
		{"token.create", "admin", "ci", 5 * time.Minute},
		{"script.delete", "ci", "other", 6 * time.Minute},
	}
	var ids []string
	for i, e := range evs {
		ae := &picloud.AuditEvent{At: picloud.Time{Time: base.Add(e.at)}, Actor: e.actor, Via: "bearer", IP: "192.0.2.1",
			Action: e.action, Target: e.target}
		if i == 3 {
			ae.TokenID, ae.TargetID, ae.Via = "tok-1", "script-1", "session"
			ae.Detail = json.RawMessage(`{"before": {"timeout_ms": 100}, "after": {"timeout_ms": 200}}`)
		}
		if err := s.RecordAudit(ctx, ae); err != nil {
			t.Fatal(err)
		}
		if ae.ID == "" {
			t.Fatal("RecordAudit filled no id")
		}
		ids = append(ids, ae.ID)
		time.Sleep(time.Millisecond) // UUIDv7 order within one millisecond is not guaranteed
	}
	now := &picloud.AuditEvent{Action: "kv.set", Actor: "admin"}
	if err := s.RecordAudit(ctx, now); err != nil {
		t.Fatal(err)
	}
	if now.At.IsZero() || time.Since(now.At.Time) > time.Minute {
		t.Fatalf("RecordAudit filled at = %v", now.At)
	}
	if err := s.RecordAudit(ctx, &picloud.AuditEvent{Action: "x", Detail: json.RawMessage(`{not json`)}); err == nil {
		t.Fatal("a detail that is not JSON was stored")
	}

	actions := func(q picloud.AuditQuery) []string {
		t.Helper()
		list, err := s.AuditEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, e := range list {
			out = append(out, e.Action)
		}
		return out
	}
	check := func(q picloud.AuditQuery, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if got := actions(q); !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v: %v, want %v", q, got, want)
		}
	}
	check(picloud.AuditQuery{}, "kv.set", "script.delete", "token.create", "script.updated", "script.update", "script.create", "session.create", "session.failed")
	check(picloud.AuditQuery{Action: "script.update"}, "script.update")
	check(picloud.AuditQuery{Action: "script."}, "script.delete", "script.updated", "script.update", "script.create")
	check(picloud.AuditQuery{Action: "script"}) // neither exact nor a prefix ending in "."
	check(picloud.AuditQuery{Actor: "ci"}, "script.delete", "script.updated", "script.update")
	check(picloud.AuditQuery{Target: "hello"}, "script.update", "script.create")
	check(picloud.AuditQuery{Actor: "ci", Target: "other", Action: "script."}, "script.delete", "script.updated")
	check(picloud.AuditQuery{Since: base.Add(2 * time.Minute), Until: base.Add(5 * time.Minute)}, "script.updated", "script.update", "script.create")
	check(picloud.AuditQuery{Until: base.Add(time.Minute)}, "session.failed")
	check(picloud.AuditQuery{Limit: 2}, "kv.set", "script.delete")
	check(picloud.AuditQuery{Limit: 2, Before: ids[5]}, "script.updated", "script.update")
	check(picloud.AuditQuery{Before: ids[1]}, "session.failed")
	check(picloud.AuditQuery{Before: ids[0]})

	// Pagination walks everything once.
	var seen []string
	for q := (picloud.AuditQuery{Limit: 3}); ; {
		list, err := s.AuditEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		for _, e := range list {
			seen = append(seen, e.Action)
		}
		q.Before = list[len(list)-1].ID
	}
	if len(seen) != 8 {
		t.Fatalf("pagination saw %v", seen)
	}

	list, err := s.AuditEvents(ctx, picloud.AuditQuery{Action: "script.update"})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	e := list[0]
	if e.ID != ids[3] || !e.At.Equal(base.Add(3*time.Minute)) || e.Actor != "ci" || e.TokenID != "tok-1" || e.Via != "session" ||
		e.IP != "192.0.2.1" || e.Target != "hello" || e.TargetID != "script-1" {
		t.Fatalf("event = %+v", e)
	}
	var detail, want any
	_ = json.Unmarshal([]byte(`{"before": {"timeout_ms": 100}, "after": {"timeout_ms": 200}}`), &want)
	if err := json.Unmarshal(e.Detail, &detail); err != nil || !reflect.DeepEqual(detail, want) {
		t.Fatalf("detail = %s, %v", e.Detail, err)
	}
	if list, _ := s.AuditEvents(ctx, picloud.AuditQuery{Action: "script.create"}); len(list[0].Detail) != 0 {
		t.Fatalf("an event without detail reads back %q", list[0].Detail)
	}

	if n, err := s.PruneAudit(ctx, base.Add(2*time.Minute)); err != nil || n != 2 {
		t.Fatalf("prune = %d, %v; want 2", n, err)
	}
	check(picloud.AuditQuery{Action: "session."})
	if n, err := s.PruneAudit(ctx, base.Add(2*time.Minute)); err != nil || n != 0 {
		t.Fatalf("second prune = %d, %v", n, err)
	}
}

// testScriptAccess covers the Step 12 script settings: the defaults, an
// update, validation, and a rename leaving them alone.
func testScriptAccess(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "guarded", "1")
	if sc.Access != picloud.AccessPublic || sc.RateLimitBy != picloud.RateLimitByClient || sc.RateLimitRPS != 0 || sc.RateLimitBurst != 0 {
		t.Fatalf("created = access %q, by %q, rps %v, burst %d", sc.Access, sc.RateLimitBy, sc.RateLimitRPS, sc.RateLimitBurst)
	}
	got, err := s.Script(ctx, sc.ID)
	if err != nil || got.Access != picloud.AccessPublic || got.RateLimitBy != picloud.RateLimitByClient || got.ScriptAccess() != picloud.AccessPublic {
		t.Fatalf("read back = %+v, %v", got, err)
	}
	u := picloud.ScriptUpdate{Access: ptr("key"), RateLimitRPS: ptr(2.5), RateLimitBurst: ptr(int64(10)), RateLimitBy: ptr("key")}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateScript(ctx, sc.ID, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Name: ptr("guarded-2")}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ScriptByName(ctx, "guarded-2")
	if err != nil || got.Access != "key" || got.RateLimitRPS != 2.5 || got.RateLimitBurst != 10 || got.RateLimitBy != "key" {
		t.Fatalf("after update = %+v, %v", got, err)
	}
	list, _ := s.ListScripts(ctx, picloud.ScriptFilter{Name: "guarded-2"})
	if len(list) != 1 || list[0].Access != "key" || list[0].RateLimitRPS != 2.5 {
		t.Fatalf("listed = %+v", list)
	}
	for _, bad := range []picloud.ScriptUpdate{
		{Access: ptr("private")},
		{RateLimitRPS: ptr(-1.0)},
		{RateLimitRPS: ptr(2e6)},
		{RateLimitBurst: ptr(int64(-1))},
		{RateLimitBurst: ptr(int64(2e6))},
		{RateLimitBy: ptr("ip")},
	} {
		if code := picloud.ErrorCode(bad.Validate()); code != picloud.EInvalidRequest {
			t.Errorf("Validate(%+v) = %q, want invalid_request", bad, code)
		}
	}
}
