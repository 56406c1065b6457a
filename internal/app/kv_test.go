package app_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestKVCounterConcurrent is the correctness bar of kv::: a counter script
// called 1,000 times from 32 concurrent clients ends at exactly 1,000, with
// kv::incr and with a get/cas retry loop, on both stores.
func TestKVCounterConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		s := open(t)
		e := newEnv(t, s, app.Config{})
		scripts := map[string]string{
			"incr": `kv::incr("n", 1)`,
			"cas": `loop {
				let v = kv::get("n");
				let next = if v == () { 1 } else { v + 1 };
				if kv::cas("n", v, next) { break next; }
			}`,
		}
		for name, src := range scripts {
			id := e.create(name, src)
			const calls, clients = 1000, 32
			var next, failed atomic.Int64
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= calls {
						resp, body := e.request("POST", "/fn/"+name, nil)
						if resp.StatusCode != 200 {
							if failed.Add(1) == 1 {
								t.Errorf("%s: %d %s", name, resp.StatusCode, body)
							}
						}
					}
				}()
			}
			wg.Wait()
			got, err := s.KVGet(context.Background(), picloud.ScriptNamespace(id), "n")
			if err != nil || string(got.Value) != "1000" || failed.Load() != 0 {
				t.Fatalf("%s: counter after %d calls from %d clients = %+v, %v (%d failed)", name, calls, clients, got, err, failed.Load())
			}
		}
	})
}
