package manager

import (
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/sqlite"
)

// guess is one wrong credential from c at now: reserve, then fail when
// admitted. It returns reserve's wait (0: the guess was checked).
func guess(l *failureLimiter, c netip.Addr, now time.Time) time.Duration {
	w := l.reserve(c, now)
	if w == 0 {
		l.fail(c, now)
	}
	return w
}

func TestFailureLimiterRefills(t *testing.T) {
	l := newFailureLimiter(10, time.Minute, 100)
	c := netip.MustParseAddr("198.51.100.1")
	t0 := time.Unix(1_000_000, 0)
	for i := range 10 {
		if w := guess(l, c, t0); w != 0 {
			t.Fatalf("failure %d: wait %v", i, w)
		}
	}
	// Spent: the next check waits for one failure's worth (6 s).
	if w := l.reserve(c, t0); w != 6*time.Second {
		t.Fatalf("wait after 10 failures = %v, want 6s", w)
	}
	if w := l.reserve(c, t0.Add(4*time.Second)); w != 2*time.Second {
		t.Fatalf("wait 4 s later = %v, want 2s", w)
	}
	// One failure refilled and spent: blocked again.
	if w := guess(l, c, t0.Add(6*time.Second)); w != 0 {
		t.Fatalf("wait 6 s later = %v, want 0", w)
	}
	if w := l.reserve(c, t0.Add(6*time.Second)); w <= 0 {
		t.Fatal("not blocked after spending the refilled failure")
	}
	// A full window later the whole budget is back, and no more.
	later := t0.Add(time.Hour)
	for range 10 {
		guess(l, c, later)
	}
	if w := l.reserve(c, later); w <= 0 {
		t.Fatal("the budget grew beyond its size")
	}
}

// TestFailureLimiterParallelGuesses: guesses checked at the same time cannot
// all pass while one failure is left: each takes its failure before the
// check, and only right credentials give it back.
func TestFailureLimiterParallelGuesses(t *testing.T) {
	l := newFailureLimiter(10, time.Minute, 100)
	c := netip.MustParseAddr("198.51.100.1")
	t0 := time.Unix(1_000_000, 0)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.reserve(c, t0) == 0 { // all reserved before any check ends
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := admitted.Load(); n != 10 {
		t.Fatalf("%d of 100 parallel guesses admitted, want the budget's 10", n)
	}
	// Right credentials give their reservation back.
	l2 := newFailureLimiter(10, time.Minute, 100)
	for range 100 {
		if l2.reserve(c, t0) != 0 {
			t.Fatal("a client whose credentials are right was blocked")
		}
		l2.refund(c, t0)
	}
}

func TestFailureLimiterLogsOncePerWindow(t *testing.T) {
	l := newFailureLimiter(100, time.Minute, 100)
	c := netip.MustParseAddr("198.51.100.1")
	t0 := time.Unix(1_000_000, 0)
	fail := func(c netip.Addr, now time.Time) (bool, int) {
		if l.reserve(c, now) != 0 {
			t.Fatal("blocked")
		}
		return l.fail(c, now)
	}
	if log, _ := fail(c, t0); !log {
		t.Fatal("the first failure is not logged")
	}
	for i := range 5 {
		if log, _ := fail(c, t0.Add(time.Duration(i)*time.Second)); log {
			t.Fatalf("failure %d within the window logged", i+2)
		}
	}
	if log, suppressed := fail(c, t0.Add(time.Minute)); !log || suppressed != 5 {
		t.Fatalf("next window: log %v, suppressed %d; want true, 5", log, suppressed)
	}
	// Another client has its own log budget.
	if log, _ := fail(netip.MustParseAddr("198.51.100.2"), t0); !log {
		t.Fatal("another client's first failure is not logged")
	}
}

func TestFailureLimiterIPv6Prefix(t *testing.T) {
	l := newFailureLimiter(2, time.Minute, 100)
	t0 := time.Unix(1_000_000, 0)
	guess(l, netip.MustParseAddr("2001:db8:1:2::1"), t0)
	guess(l, netip.MustParseAddr("2001:db8:1:2:ffff::9"), t0)
	// The same /64: one budget, spent.
	if w := l.reserve(netip.MustParseAddr("2001:db8:1:2::77"), t0); w <= 0 {
		t.Fatal("addresses of one /64 have separate budgets")
	}
	if w := l.reserve(netip.MustParseAddr("2001:db8:1:3::1"), t0); w != 0 {
		t.Fatal("another /64 is blocked")
	}
}

func TestFailureLimiterBoundedMemory(t *testing.T) {
	l := newFailureLimiter(10, time.Minute, 1000)
	t0 := time.Unix(1_000_000, 0)
	addr := netip.MustParseAddr("10.0.0.0")
	// An attacker with 100,000 addresses, one failure each.
	for range 100_000 {
		addr = addr.Next()
		guess(l, addr, t0)
		if n := l.size(); n > 1000 {
			t.Fatalf("%d clients remembered, limit 1000", n)
		}
	}
	// A client that keeps failing is remembered while it is blocked when
	// the others have refilled: sweeping drops full budgets first.
	hot := netip.MustParseAddr("192.0.2.1")
	for range 10 {
		guess(l, hot, t0)
	}
	later := t0.Add(20 * time.Second) // the one-failure clients are full again; hot has 3 of 10
	for range 2000 {
		addr = addr.Next()
		guess(l, addr, later)
	}
	// Remembered, hot has 3 failures left: 4 more block it (forgotten, it
	// would have 10).
	for range 4 {
		guess(l, hot, later)
	}
	if w := l.reserve(hot, later); w <= 0 {
		t.Fatal("sweeping forgot a client that keeps failing before idle ones")
	}
}

// TestTokenRotatedElsewhere: another process (picloud token rotate) changes
// the hash in the store; this process picks it up at its next refresh,
// dropping its cached sessions.
func TestTokenRotatedElsewhere(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetAdminTokenHash(ctx, HashToken("old-token-0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	a := newAuthState(nil, AuthConfig{}, slog.New(slog.DiscardHandler)) // no background read: this test does them
	a.store = s
	if ok, err := a.tokenMatches(ctx, "old-token-0123456789abcdef"); !ok || err != nil {
		t.Fatalf("old token: %v %v", ok, err)
	}
	a.sessions["sha256:x"] = cachedSession{expires: time.Now().Add(time.Hour), checked: time.Now(), gen: tokenGeneration.Load()}
	// Written by "another process": this process's generation is unchanged.
	if err := s.SetAdminTokenHash(ctx, HashToken("new-token-0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	// Within TokenRefresh the cached hash still answers (no database read).
	if ok, _ := a.tokenMatches(ctx, "old-token-0123456789abcdef"); !ok {
		t.Fatal("the cached hash was not used")
	}
	a.refreshToken(tokenGeneration.Load()) // what the next request after TokenRefresh starts
	if ok, _ := a.tokenMatches(ctx, "old-token-0123456789abcdef"); ok {
		t.Fatal("old token accepted after the refresh")
	}
	if ok, _ := a.tokenMatches(ctx, "new-token-0123456789abcdef"); !ok {
		t.Fatal("new token refused after the refresh")
	}
	if len(a.sessions) != 0 {
		t.Fatal("cached sessions survived a token change")
	}
}
