package cluster

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// feedDrain reads what ch holds now, and whether it is closed.
func feedDrain(ch <-chan picloud.ScriptChange) (got []picloud.ScriptChange, closed bool) {
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				return got, true
			}
			got = append(got, c)
		default:
			return got, false
		}
	}
}

func TestFeedInProcess(t *testing.T) {
	f := NewFeed(nil, nil)
	a, stopA := f.Subscribe()
	b, stopB := f.Subscribe()
	if n := f.Subscribers(); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	c1 := picloud.ScriptChange{ID: "s1", Name: "one", Version: 2}
	if err := f.Publish(context.Background(), c1); err != nil {
		t.Fatal(err)
	}
	stopB()
	stopB() // idempotent
	c2 := picloud.ScriptChange{ID: "s2", Deleted: true}
	if err := f.Publish(context.Background(), c2); err != nil {
		t.Fatal(err)
	}
	if got, closed := feedDrain(a); len(got) != 2 || got[0] != c1 || got[1] != c2 || closed {
		t.Fatalf("a got %+v (closed %v)", got, closed)
	}
	if got, closed := feedDrain(b); len(got) != 1 || got[0] != c1 || !closed {
		t.Fatalf("b got %+v (closed %v), want c1 and closed", got, closed)
	}
	f.Stop()
	f.Stop()
	if _, closed := feedDrain(a); !closed {
		t.Fatal("Stop left a subscriber open")
	}
	stopA() // after Stop: no double close
	late, _ := f.Subscribe()
	if _, closed := feedDrain(late); !closed {
		t.Fatal("a subscription after Stop is open")
	}
}

func TestFeedDropsSlowSubscriber(t *testing.T) {
	f := NewFeed(nil, nil)
	defer f.Stop()
	f.buffer = 2
	slow, _ := f.Subscribe()
	fast, _ := f.Subscribe()
	var fastGot []picloud.ScriptChange
	for i := 1; i <= 3; i++ {
		if err := f.Publish(context.Background(), picloud.ScriptChange{ID: "s", Version: i}); err != nil {
			t.Fatal(err)
		}
		got, closed := feedDrain(fast)
		if closed {
			t.Fatal("the subscriber that keeps up was dropped")
		}
		fastGot = append(fastGot, got...)
	}
	if len(fastGot) != 3 {
		t.Fatalf("fast got %+v", fastGot)
	}
	// The slow one keeps what it had, then its channel is closed.
	got, closed := feedDrain(slow)
	if len(got) != 2 || got[0].Version != 1 || got[1].Version != 2 || !closed {
		t.Fatalf("slow got %+v (closed %v), want versions 1, 2 then closed", got, closed)
	}
	if n := f.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers, want 1", n)
	}
}

// feedNotifier is a picloud.ChangeNotifier in memory: NotifyScriptChange
// calls the listener (as PostgreSQL does, this process's listener too),
// and the test can report a reconnection.
type feedNotifier struct {
	mu        sync.Mutex
	fn        func(picloud.ScriptChange, bool)
	listening chan struct{}
	notifyErr error
}

func (n *feedNotifier) NotifyScriptChange(ctx context.Context, c picloud.ScriptChange) error {
	n.mu.Lock()
	fn, err := n.fn, n.notifyErr
	n.mu.Unlock()
	if err != nil {
		return err
	}
	if fn != nil {
		fn(c, true)
	}
	return nil
}

func (n *feedNotifier) ListenScriptChanges(ctx context.Context, fn func(picloud.ScriptChange, bool)) error {
	n.mu.Lock()
	n.fn = fn
	n.mu.Unlock()
	close(n.listening)
	<-ctx.Done()
	n.mu.Lock()
	n.fn = nil
	n.mu.Unlock()
	return nil
}

func (n *feedNotifier) report(c picloud.ScriptChange, ok bool) {
	n.mu.Lock()
	fn := n.fn
	n.mu.Unlock()
	fn(c, ok)
}

func TestFeedWithNotifier(t *testing.T) {
	n := &feedNotifier{listening: make(chan struct{})}
	f := NewFeed(n, nil)
	f.Start(context.Background())
	f.Start(context.Background()) // idempotent
	<-n.listening
	ch, _ := f.Subscribe()

	// A change published here goes through the notifier and comes back.
	c := picloud.ScriptChange{ID: "s1", Version: 4}
	if err := f.Publish(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// One heard from another manager.
	other := picloud.ScriptChange{ID: "s2", Version: 1}
	n.report(other, true)
	if got, closed := feedDrain(ch); len(got) != 2 || got[0] != c || got[1] != other || closed {
		t.Fatalf("got %+v (closed %v)", got, closed)
	}

	// Changes may have been missed: every stream ends, so that its node
	// reconnects and, on the new hello, expires its whole cache.
	ch2, _ := f.Subscribe()
	n.report(picloud.ScriptChange{}, false)
	if _, closed := feedDrain(ch); !closed {
		t.Fatal("a stream stays open after the listener missed changes")
	}
	if _, closed := feedDrain(ch2); !closed {
		t.Fatal("a stream stays open after the listener missed changes")
	}

	// A notifier that fails still reaches this manager's streams.
	ch3, _ := f.Subscribe()
	n.mu.Lock()
	n.notifyErr = errors.New("database away")
	n.mu.Unlock()
	if err := f.Publish(context.Background(), picloud.ScriptChange{ID: "s3"}); err == nil {
		t.Fatal("Publish hid the notifier's error")
	}
	if got, _ := feedDrain(ch3); len(got) != 1 || got[0].ID != "s3" {
		t.Fatalf("local streams got %+v", got)
	}

	f.Stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fn != nil {
		t.Fatal("Stop left the listener running")
	}
}

// A change published through one manager's store reaches the streams of a
// manager on another store of the same database.
func TestFeedAcrossPostgresStores(t *testing.T) {
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set: the feed across PostgreSQL stores is not tested")
	}
	url := pgtest.URL(t, dbURL)
	ctx := context.Background()
	open := func() *postgres.Store {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	here, there := NewFeed(open(), nil), NewFeed(open(), nil)
	here.Start(ctx)
	defer here.Stop()
	ch, _ := here.Subscribe()

	// The listener connects in the background: publish until it hears one
	// (a generous bound, for convergence only).
	resubscribed := false
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for v := 1; ; v++ {
		if err := there.Publish(ctx, picloud.ScriptChange{ID: "s-remote", Name: "remote", Version: v}); err != nil {
			t.Fatal(err)
		}
		select {
		case c, ok := <-ch:
			if !ok {
				// Subscribed before the listener listened: the feed closes
				// such a stream once it listens (what was announced before
				// could have been missed), and the node subscribes again.
				if resubscribed {
					t.Fatal("the stream closed again")
				}
				resubscribed = true
				ch, _ = here.Subscribe()
				continue
			}
			if c.ID != "s-remote" || c.Name != "remote" || c.Version < 1 {
				t.Fatalf("heard %+v", c)
			}
			return
		case <-tick.C:
		case <-deadline:
			t.Fatal("no change published through the other store arrived")
		}
	}
}
