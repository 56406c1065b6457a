package jobs

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// TestHealth: the queue reports a failure to start River's client (here:
// the count of unfinished jobs failing, as it does while the database is
// away) until a start succeeds again.
func TestHealth(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) picloud.Store) {
		s := open(t)
		q, err := New(Config{PollInterval: 50 * time.Millisecond}, s, &runner{store: s})
		if err != nil {
			t.Fatal(err)
		}
		var down atomic.Bool
		count := q.river.unfinished
		q.river.unfinished = func(ctx context.Context, scriptID string, limit int) (int, error) {
			if down.Load() {
				return 0, errors.New("database away")
			}
			return count(ctx, scriptID, limit)
		}
		ctx := context.Background()
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q.Stop(ctx)
		})
		eventually(t, 5*time.Second, "healthy at start", func() bool { return q.Health(ctx) == nil })

		down.Store(true)
		q.wakeUp()
		eventually(t, 5*time.Second, "the failed start reported", func() bool {
			err := q.Health(ctx)
			return err != nil && strings.Contains(err.Error(), "database away")
		})

		down.Store(false)
		q.wakeUp()
		eventually(t, 5*time.Second, "healthy again", func() bool { return q.Health(ctx) == nil })
	})
}
