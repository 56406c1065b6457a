package storetest

import (
	"context"
	"testing"

	"github.com/picloud/picloud"
)

// testConfinedScripts covers Script.ConfinedTo: stored on create, read by
// every read path, kept by an update that does not name it, replaced and
// cleared by one that does, and validated.
func testConfinedScripts(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	plain := mustCreate(t, s, "plain", "1")
	if plain.ConfinedTo != "" {
		t.Fatalf("an unconfined script reads %q", plain.ConfinedTo)
	}
	sc := &picloud.Script{Name: "orders-in", Source: "1", ConfinedTo: "orders-*", Subscriptions: []string{"order.new"}}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	check := func(want string) {
		t.Helper()
		byID, err := s.Script(ctx, sc.ID)
		if err != nil || byID.ConfinedTo != want {
			t.Fatalf("Script = %+v, %v; want confined_to %q", byID, err, want)
		}
		byName, err := s.ScriptByName(ctx, byID.Name)
		if err != nil || byName.ConfinedTo != want {
			t.Fatalf("ScriptByName = %+v, %v", byName, err)
		}
		list, err := s.ListScripts(ctx, picloud.ScriptFilter{Name: byID.Name})
		if err != nil || len(list) != 1 || list[0].ConfinedTo != want {
			t.Fatalf("ListScripts = %+v, %v", list, err)
		}
		subs, err := s.SubscribedScripts(ctx, "order.new")
		if err != nil || len(subs) != 1 || subs[0].ConfinedTo != want {
			t.Fatalf("SubscribedScripts = %+v, %v", subs, err)
		}
	}
	check("orders-*")
	// An update that does not name it (a token for every script changing the
	// source or renaming) leaves it.
	if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: ptr("2"), Name: ptr("orders-2")}); err != nil {
		t.Fatal(err)
	}
	check("orders-*")
	if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{ConfinedTo: ptr("orders-[0-9]")}); err != nil {
		t.Fatal(err)
	}
	check("orders-[0-9]")
	got, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{ConfinedTo: ptr("")})
	if err != nil || got.ConfinedTo != "" {
		t.Fatalf("clear = %+v, %v", got, err)
	}
	check("")
	if p, _ := s.Script(ctx, plain.ID); p.ConfinedTo != "" {
		t.Fatalf("another script's confinement changed: %q", p.ConfinedTo)
	}
	for _, bad := range []string{"[", string(make([]byte, 129))} {
		if code := picloud.ErrorCode(picloud.ScriptUpdate{ConfinedTo: &bad}.Validate()); code != picloud.EInvalidRequest {
			t.Errorf("Validate(confined_to %q) = %q, want invalid_request", bad, code)
		}
	}
}
