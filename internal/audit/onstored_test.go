package audit_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/audit"
)

// TestOnStored: the hook gets every row once, after the store holds it (a
// row read back inside the hook is found), and nothing while writes fail.
func TestOnStored(t *testing.T) {
	db := openStore(t)
	st := &tally{ExecutionStore: db}
	st.fail.Store(true)
	var mu sync.Mutex
	var got []string
	s := newSink(t, st, audit.Config{Dir: t.TempDir(), BatchSize: 8,
		RetryDelay: time.Millisecond, MaxRetryDelay: 2 * time.Millisecond,
		OnStored: func(rows []*picloud.ExecutionLog) {
			for _, l := range rows {
				if _, err := db.Execution(context.Background(), l.ID); err != nil {
					t.Errorf("announced row %s is not stored: %v", l.ID, err)
				}
				mu.Lock()
				got = append(got, l.ID)
				mu.Unlock()
			}
		}})
	start(t, s)
	ids := record(t, s, 0, 40)
	waitFor(t, func() bool { return st.calls.Load() >= 3 })
	mu.Lock()
	if len(got) != 0 {
		t.Errorf("%d rows announced while the store fails", len(got))
	}
	mu.Unlock()
	st.fail.Store(false)
	waitFor(t, func() bool { return s.Pending() == 0 })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, ids) {
		t.Fatalf("announced %v, want %v", got, ids)
	}
}
