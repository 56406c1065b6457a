package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/manager"
)

func TestAuthorize(t *testing.T) { eachStore(t, testAuthorize) }

// A node asks the manager about an invocation's credential by hash: the
// manager's answer (InvokeAuth on its store) comes back as the error the
// caller gets, is remembered for the TTL, and an allowed answer outlives a
// manager outage.
func testAuthorize(t *testing.T, e *managerEnv) {
	ctx := context.Background()
	// The manager asks its store every time: the nodes remember.
	e.configure = func(c *ServerConfig) { c.Authorize = manager.NewInvokeAuth(e.store, -1, nil).Authorize }
	e.stop()
	e.start(t, "127.0.0.1:0")
	e.client = e.newClient(t, testToken)

	a, b := e.script(t, "orders"), e.script(t, "billing")
	secret := manager.NewToken()
	secret = "pck_" + secret[4:]
	key := &picloud.InvokeKey{ScriptID: a.ID, Prefix: secret[:12], Hash: manager.HashToken(secret)}
	if err := e.store.CreateInvokeKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	tok := &picloud.APIToken{Name: "caller", Scopes: []string{"invoke:billing"}}
	tokSecret := manager.NewToken()
	tok.Prefix, tok.Hash = tokSecret[:12], manager.HashToken(tokSecret)
	if err := e.store.CreateAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}

	id, err := e.client.Authorize(ctx, a.ID, "key", key.Hash)
	if err != nil || id != key.ID {
		t.Fatalf("the script's key: %q %v", id, err)
	}
	_, err = e.client.Authorize(ctx, b.ID, "key", key.Hash)
	wantCode(t, "another script's key", err, picloud.EForbidden)
	_, err = e.client.Authorize(ctx, a.ID, "key", manager.HashToken("pck_unknown"))
	wantCode(t, "an unknown key", err, picloud.EUnauthorized)
	var pe *picloud.Error
	if !errors.As(err, &pe) || pe.Details["reason"] != "unknown" || Refused(err) {
		t.Errorf("an unknown key: %#v (refused %v)", err, Refused(err))
	}
	if _, err := e.client.Authorize(ctx, b.ID, "token", tok.Hash); err != nil {
		t.Errorf("a token with invoke:billing: %v", err)
	}
	_, err = e.client.Authorize(ctx, a.ID, "token", tok.Hash)
	wantCode(t, "a token without invoke:orders", err, picloud.EForbidden)
	_, err = e.client.Authorize(ctx, "0b3a3c1e-0000-4000-8000-000000000000", "key", key.Hash)
	wantCode(t, "a missing script", err, picloud.ENotFound)
	_, err = e.client.Authorize(ctx, a.ID, "", key.Hash)
	wantCode(t, "no kind", err, picloud.EInvalidRequest)

	// The node remembers answers for its TTL: a key revoked on the manager
	// still opens the script until then, and not after.
	na := NewNodeAuthorizer(e.client, 200*time.Millisecond)
	if id, err := na.Authorize(ctx, a, "key", key.Hash); err != nil || id != key.ID {
		t.Fatalf("node: %q %v", id, err)
	}
	if _, err := na.Authorize(ctx, b, "key", key.Hash); picloud.ErrorCode(err) != picloud.EForbidden {
		t.Fatalf("node, another script: %v", err)
	}
	if err := e.store.DeleteInvokeKey(ctx, a.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := na.Authorize(ctx, a, "key", key.Hash); err != nil {
		t.Errorf("within the TTL: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := na.Authorize(ctx, a, "key", key.Hash); picloud.ErrorCode(err) != picloud.EUnauthorized {
		t.Errorf("revoked, after the TTL: %v", err)
	}

	// The manager away: an allowed answer is used past its TTL, nothing
	// new is allowed.
	if _, err := na.Authorize(ctx, b, "token", tok.Hash); err != nil {
		t.Fatal(err)
	}
	e.stop()
	time.Sleep(250 * time.Millisecond)
	if _, err := na.Authorize(ctx, b, "token", tok.Hash); err != nil {
		t.Errorf("manager away, answer stale: %v", err)
	}
	if _, err := na.Authorize(ctx, b, "token", manager.HashToken("pct_never_seen")); picloud.ErrorCode(err) != picloud.EUnavailable {
		t.Errorf("manager away, a new credential: %v", err)
	}
}

// A manager without an Authorize answers unavailable.
func TestAuthorizeUnconfigured(t *testing.T) {
	e := newManagerEnv(t)
	sc := e.script(t, "orders")
	_, err := e.client.Authorize(context.Background(), sc.ID, "key", manager.HashToken("pck_x"))
	wantCode(t, "no Authorize", err, picloud.EUnavailable)
	if Refused(err) {
		t.Error("taken for a refused cluster token")
	}
}
