package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/picloud/picloud"
)

// testDrafts: a draft is stored beside the script without changing it,
// replaced by the next save, promoted to exactly one new version, and goes
// with its script.
func testDrafts(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "drafted", `"v1"`)

	_, err := s.Draft(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)
	wantCode(t, s.DeleteDraft(ctx, sc.ID), picloud.ENotFound)
	_, err = s.PromoteDraft(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)
	_, err = s.PutDraft(ctx, "no-such-script", `"x"`)
	wantCode(t, err, picloud.ENotFound)

	d, err := s.PutDraft(ctx, sc.ID, `"draft 1"`)
	if err != nil {
		t.Fatal(err)
	}
	if d.ScriptID != sc.ID || d.Source != `"draft 1"` || d.BaseVersion != 1 || d.UpdatedAt.IsZero() {
		t.Fatalf("put draft = %+v", d)
	}
	// A second save replaces the first; the script itself is untouched.
	if _, err := s.PutDraft(ctx, sc.ID, `"draft 2"`); err != nil {
		t.Fatal(err)
	}
	got, err := s.Draft(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != `"draft 2"` || got.BaseVersion != 1 {
		t.Fatalf("draft = %+v, want the second save on version 1", got)
	}
	cur, err := s.Script(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Source != `"v1"` || cur.Version != 1 {
		t.Fatalf("script changed by a draft: version %d source %q", cur.Version, cur.Source)
	}

	// Promote: the next version has the draft's source, the draft is gone.
	out, err := s.PromoteDraft(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out.Version != 2 || out.Source != `"draft 2"` {
		t.Fatalf("promoted = version %d source %q", out.Version, out.Source)
	}
	if v, err := s.ScriptVersion(ctx, sc.ID, 2); err != nil || v.Source != `"draft 2"` {
		t.Fatalf("version 2 = %+v, %v", v, err)
	}
	_, err = s.Draft(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)
	_, err = s.PromoteDraft(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)

	// A draft equal to the live source still makes a version (an explicit
	// promote is a deploy); its base version follows the script.
	d, err = s.PutDraft(ctx, sc.ID, `"draft 2"`)
	if err != nil || d.BaseVersion != 2 {
		t.Fatalf("draft on version 2 = %+v, %v", d, err)
	}
	if out, err := s.PromoteDraft(ctx, sc.ID); err != nil || out.Version != 3 {
		t.Fatalf("promote of an unchanged source = %+v, %v; want version 3", out, err)
	}

	// Delete drops only the draft.
	if _, err := s.PutDraft(ctx, sc.ID, `"draft 3"`); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDraft(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Draft(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)
	if cur, _ := s.Script(ctx, sc.ID); cur.Version != 3 {
		t.Fatalf("delete draft changed the script: version %d", cur.Version)
	}

	// Drafts are per script, and go with their script.
	other := mustCreate(t, s, "other", `"o"`)
	if _, err := s.PutDraft(ctx, other.ID, `"od"`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDraft(ctx, sc.ID, `"draft 4"`); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteScript(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Draft(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)
	if d, err := s.Draft(ctx, other.ID); err != nil || d.Source != `"od"` {
		t.Fatalf("other script's draft = %+v, %v", d, err)
	}
}

// testDraftPromoteRace: of concurrent promotes of one draft, exactly one makes
// a version; the others find no draft.
func testDraftPromoteRace(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "raced", `"v1"`)
	if _, err := s.PutDraft(ctx, sc.ID, `"v2"`); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.PromoteDraft(ctx, sc.ID)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if picloud.ErrorCode(err) != picloud.ENotFound {
			t.Fatalf("a losing promote: %v, want not_found", err)
		}
	}
	cur, err := s.Script(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || cur.Version != 2 {
		t.Fatalf("%d promotes succeeded, version %d; want exactly one, version 2", ok, cur.Version)
	}
}
