package orchestrator

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// An invalidation that arrives while a load of the script is in flight (a
// node's cache fetching from its manager when the change feed announces an
// update) wins: the version that load read may be the old one, and it must
// not be trusted for a whole TTL.
func TestInvalidateDuringLoad(t *testing.T) {
	for _, tc := range []struct {
		name       string
		invalidate func(o *Orchestrator)
	}{
		{"Invalidate", func(o *Orchestrator) { o.Invalidate("id-v") }},
		{"ExpireAll", func(o *Orchestrator) { o.ExpireAll() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newFakeStore(&picloud.Script{Name: "v", Source: `"one"`})
			reading, release := make(chan struct{}), make(chan struct{})
			var blocked bool
			store.byName = func(ctx context.Context, name string) (*picloud.Script, error) {
				store.mu.Lock()
				sc := *store.scripts["id-v"] // what the store holds now
				block := !blocked
				blocked = true
				store.mu.Unlock()
				if block {
					close(reading)
					<-release
				}
				return &sc, nil
			}
			e := newEnv(t, Config{CacheTTL: time.Hour}, store)
			if tc.name == "ExpireAll" {
				// ExpireAll is about cached entries: load one first (the
				// blocked read is its refresh).
				store.mu.Lock()
				blocked = true
				store.mu.Unlock()
				if w := e.get("/fn/v"); w.Body.String() != "one" {
					t.Fatalf("first: %d %s", w.Code, w.Body)
				}
				store.mu.Lock()
				blocked = false
				store.mu.Unlock()
				e.o.ExpireAll()
			}
			done := make(chan string)
			go func() { done <- e.get("/fn/v").Body.String() }()
			select {
			case <-reading:
			case <-time.After(10 * time.Second):
				t.Fatal("the load never reached the store")
			}
			// The script changes, and the change is announced, while the
			// load that read "one" has not finished.
			store.put(&picloud.Script{ID: "id-v", Name: "v", Source: `"two"`, Version: 2})
			tc.invalidate(e.o)
			close(release)
			if got := <-done; got != "one" {
				t.Fatalf("the in-flight request answered %q", got)
			}
			if w := e.get("/fn/v"); w.Code != 200 || w.Body.String() != "two" {
				t.Fatalf("after the invalidation: %d %s, want two", w.Code, w.Body)
			}
		})
	}
}
