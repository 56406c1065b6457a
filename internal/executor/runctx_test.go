package executor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// wait fails the test if ch is not closed within a generous bound (a hang
// guard, not a timing assertion).
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Done not closed", what)
	}
}

func TestRunCtx(t *testing.T) {
	st := &execState{}

	t.Run("deadline seen by Err without Done", func(t *testing.T) {
		var c runCtx
		c.start(context.Background(), time.Millisecond, st)
		for c.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v", c.Err())
		}
		if c.timer != nil {
			t.Fatal("a timer was armed without Done")
		}
		wait(t, c.Done(), "after the deadline") // made closed
		c.cancel(context.Canceled)
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err changed to %v", c.Err())
		}
	})

	t.Run("deadline closes Done", func(t *testing.T) {
		var c runCtx
		c.start(context.Background(), 5*time.Millisecond, st)
		done := c.Done()
		if c.Err() != nil {
			t.Fatalf("Err %v before the deadline", c.Err())
		}
		wait(t, done, "deadline")
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v", c.Err())
		}
		// A context derived from it (what net/http does with a native's
		// request) ends with it.
		child, cancel := context.WithCancel(&c)
		defer cancel()
		wait(t, child.Done(), "child")
	})

	t.Run("parent's end", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		var c runCtx
		c.start(parent, time.Hour, st)
		done := c.Done()
		child, cancelChild := context.WithCancel(&c)
		defer cancelChild()
		cancel()
		wait(t, done, "parent cancelled")
		wait(t, child.Done(), "child of a cancelled parent")
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v", c.Err())
		}

		// Without Done, Err sees it too.
		parent, cancel = context.WithCancel(context.Background())
		var d runCtx
		d.start(parent, time.Hour, st)
		cancel()
		if !errors.Is(d.Err(), context.Canceled) {
			t.Fatalf("Err %v", d.Err())
		}
	})

	t.Run("the parent's earlier deadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pd, _ := parent.Deadline()
		var c runCtx
		c.start(parent, time.Hour, st)
		if d, ok := c.Deadline(); !ok || !d.Equal(pd) {
			t.Fatalf("Deadline %v, want the parent's %v", d, pd)
		}
		c.start(parent, time.Second, st)
		if d, _ := c.Deadline(); !d.Before(pd) {
			t.Fatalf("Deadline %v, want before %v", d, pd)
		}

		// Past the parent's deadline, c ends only with the parent: whoever
		// holds the parent sees it ended whenever c has.
		parent, cancel = context.WithTimeout(context.Background(), 2*time.Millisecond)
		defer cancel()
		var p runCtx
		p.start(parent, time.Hour, st)
		for p.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		if parent.Err() == nil || !errors.Is(p.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err %v with the parent's %v", p.Err(), parent.Err())
		}
		// The timeout before a later parent deadline: c's own timer.
		later, cancelLater := context.WithTimeout(context.Background(), time.Hour)
		defer cancelLater()
		var q runCtx
		q.start(later, time.Millisecond, st)
		wait(t, q.Done(), "own deadline")
		if !errors.Is(q.Err(), context.DeadlineExceeded) || later.Err() != nil {
			t.Fatalf("Err %v, parent's %v", q.Err(), later.Err())
		}
	})

	t.Run("value and cancel", func(t *testing.T) {
		type key struct{}
		parent := context.WithValue(context.Background(), key{}, "v")
		var c runCtx
		c.start(parent, time.Hour, st)
		if c.Value(stateKey{}) != st || c.Value(key{}) != "v" {
			t.Fatal("Value")
		}
		done := c.Done()
		c.cancel(context.Canceled)
		wait(t, done, "cancel")
		if !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("Err %v", c.Err())
		}
		if c.timer.Stop() {
			t.Fatal("the timer still armed after cancel")
		}
	})
}

// A script that loops past its timeout ends as a timeout: the engine reads
// the deadline from Err, no timer involved. (A script blocked in a native
// that waits on Done, an HTTP call, is TestHTTPScriptTimeout.)
func TestExecuteTimeoutPaths(t *testing.T) {
	x := newTestExecutor(t, Config{})
	res := run(t, x, `loop {}`, Limits{Timeout: 20 * time.Millisecond, MaxOperations: 1 << 60}, Options{})
	wantStatus(t, res, picloud.StatusTimeout, picloud.ETimeout, "")
}
