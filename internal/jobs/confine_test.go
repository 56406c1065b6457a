package jobs

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// TestPublishConfined: an event reaches a subscriber only when the emitter
// and the subscriber admit each other (confined scripts); unconfined pairs
// are unaffected.
func TestPublishConfined(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		ctx := context.Background()
		s := open(t)
		r := &runner{store: s}
		q := start(t, s, r, Config{})
		confined := createScript(t, s, &picloud.Script{Name: "orders-api", ConfinedTo: "orders-*"})
		plain := createScript(t, s, &picloud.Script{Name: "billing"})
		sink := createScript(t, s, &picloud.Script{Name: "orders-sink", ConfinedTo: "orders-*", Subscriptions: []string{"order.new"}})
		audit := createScript(t, s, &picloud.Script{Name: "audit", Subscriptions: []string{"order.new"}})
		free := createScript(t, s, &picloud.Script{Name: "orders-open", Subscriptions: []string{"order.new"}})
		for _, from := range []*picloud.Script{confined, plain, nil} {
			if err := q.Publish(ctx, from, []picloud.Event{{Topic: "order.new", Payload: json.RawMessage(`1`)}}); err != nil {
				t.Fatal(err)
			}
		}
		// orders-api (confined) reaches orders-sink and orders-open, not
		// audit (outside its pattern); billing reaches audit and
		// orders-open, not orders-sink (billing is outside its pattern);
		// an emitter that is no script reaches the unconfined ones.
		want := []string{
			"billing>audit", "billing>orders-open",
			"orders-api>orders-open", "orders-api>orders-sink",
			">audit", ">orders-open",
		}
		slices.Sort(want)
		eventually(t, 10*time.Second, "6 event runs", func() bool { return len(r.Runs()) >= len(want) })
		time.Sleep(200 * time.Millisecond) // a wrong run would show by now
		names := map[string]string{sink.ID: sink.Name, audit.ID: audit.Name, free.ID: free.Name}
		var got []string
		for _, run := range r.Runs() {
			got = append(got, run.Event.EmittedBy+">"+names[run.ScriptID])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("deliveries = %v, want %v", got, want)
		}
	})
}
