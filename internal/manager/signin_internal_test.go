package manager

import (
	"strconv"
	"testing"
	"time"
)

// Each token has its own bucket of sign-ins: burst at once, then one per
// window/burst; the wait it is told is the time to its next sign-in.
func TestSignInLimiter(t *testing.T) {
	l := newSignInLimiter(3, time.Minute, 100)
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if wait := l.take("token:a", t0); wait != 0 {
			t.Fatalf("sign-in %d refused (wait %v)", i+1, wait)
		}
	}
	if wait := l.take("token:a", t0); wait != 20*time.Second {
		t.Fatalf("the fourth: wait %v, want 20s (3 a minute)", wait)
	}
	if wait := l.take("token:b", t0); wait != 0 {
		t.Fatalf("another token shares the bucket (wait %v)", wait)
	}
	if wait := l.take("token:a", t0.Add(15*time.Second)); wait != 5*time.Second {
		t.Fatalf("15 s later: wait %v, want 5s", wait)
	}
	if wait := l.take("token:a", t0.Add(20*time.Second)); wait != 0 {
		t.Fatalf("20 s later: refused (wait %v)", wait)
	}
	if wait := l.take("token:a", t0.Add(20*time.Second)); wait != 20*time.Second {
		t.Fatalf("right after: wait %v, want 20s", wait)
	}
	// A refused sign-in spends nothing: an hour later the bucket is full
	// (3), not more.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if wait := l.take("token:a", later); wait != 0 {
			t.Fatalf("an hour later, sign-in %d refused (wait %v)", i+1, wait)
		}
	}
	if wait := l.take("token:a", later); wait == 0 {
		t.Fatal("the bucket grew beyond its burst")
	}
}

// The limiter remembers at most maxKeys tokens: the buckets that are full
// again are forgotten first (a fresh one is the same), tokens that used
// their sign-ins are kept; a flood of keys stays bounded.
func TestSignInLimiterBounded(t *testing.T) {
	l := newSignInLimiter(2, time.Hour, 10)
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		l.take("fresh"+strconv.Itoa(i), t0.Add(-2*time.Hour)) // full again by t0
		l.take("spent"+strconv.Itoa(i), t0)
		l.take("spent"+strconv.Itoa(i), t0)
	}
	if wait := l.take("new", t0); wait != 0 {
		t.Fatalf("new refused (wait %v)", wait)
	}
	for i := range 5 {
		if _, ok := l.buckets["fresh"+strconv.Itoa(i)]; ok {
			t.Errorf("fresh%d (full again) kept", i)
		}
		if _, ok := l.buckets["spent"+strconv.Itoa(i)]; !ok {
			t.Errorf("spent%d forgotten while full buckets could go", i)
		}
	}
	if wait := l.take("spent0", t0); wait == 0 {
		t.Error("spent0 got its sign-ins back")
	}
	for i := range 100 {
		l.take("flood"+strconv.Itoa(i), t0)
		l.take("flood"+strconv.Itoa(i), t0)
		if n := len(l.buckets); n > 10 {
			t.Fatalf("%d buckets after %d keys, want at most 10", n, i+1)
		}
	}
}

func TestWindowText(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "a minute", 10 * time.Second: "10s",
		2 * time.Minute: "2m", 90 * time.Second: "1m30s", time.Hour: "1h", 90 * time.Minute: "1h30m"} {
		if got := windowText(d); got != want {
			t.Errorf("windowText(%v) = %q, want %q", d, got, want)
		}
	}
}
