package orchestrator

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// MaxRateBuckets bounds how many callers (client addresses or invoke keys)
// one script's rate limiter remembers; past it, idle callers are forgotten
// first (see scriptLimiter.sweep).
const MaxRateBuckets = 10_000

// rateLimits holds the token buckets of the scripts that set a rate limit,
// each script's own (the limits are per process: in a cluster, per node).
// A script without one never reaches it.
type rateLimits struct {
	scripts sync.Map // script id -> *scriptLimiter
	max     int      // MaxRateBuckets; tests lower it
}

// scriptLimiter is one script's token buckets, one per caller, all with
// the script's rate and burst: a caller starts with burst requests, gets
// rps back per second up to burst, and is refused while it has less than one.
type scriptLimiter struct {
	rps, burst float64

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
}

// bucketKey is a caller: an invoke key's id, else an address (an IPv6
// address counted by its /64).
type bucketKey struct {
	addr netip.Addr
	key  string
}

type bucket struct {
	tokens float64 // requests left, as of at
	at     time.Duration
}

// clock is the limiters' time: monotonic, from when the process started.
var clockBase = time.Now()

func clock() time.Duration { return time.Since(clockBase) }

// scriptBurst is sc's burst: RateLimitBurst, or the rate rounded up (at
// least 1).
func scriptBurst(sc *picloud.Script) float64 {
	if sc.RateLimitBurst > 0 {
		return float64(sc.RateLimitBurst)
	}
	return max(1, math.Ceil(sc.RateLimitRPS))
}

// limiter is sc's limiter, a new one when sc's rate or burst changed.
func (l *rateLimits) limiter(sc *picloud.Script) *scriptLimiter {
	burst := scriptBurst(sc)
	if v, ok := l.scripts.Load(sc.ID); ok {
		if s := v.(*scriptLimiter); s.rps == sc.RateLimitRPS && s.burst == burst {
			return s
		}
	}
	s := &scriptLimiter{rps: sc.RateLimitRPS, burst: burst, buckets: map[bucketKey]*bucket{}}
	l.scripts.Store(sc.ID, s)
	return s
}

// take spends one request of k's bucket and returns 0, or how long k must
// wait for one.
func (s *scriptLimiter) take(k bucketKey, now time.Duration, maxBuckets int) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[k]
	if b == nil {
		if len(s.buckets) >= maxBuckets {
			s.sweep(now, maxBuckets)
		}
		b = &bucket{tokens: s.burst, at: now}
		s.buckets[k] = b
	}
	s.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / s.rps * float64(time.Second))
}

func (s *scriptLimiter) refill(b *bucket, now time.Duration) {
	if d := now - b.at; d > 0 {
		b.tokens = min(s.burst, b.tokens+d.Seconds()*s.rps)
		b.at = now
	}
}

// sweep makes room, forgetting first the callers whose bucket is full again
// (a fresh bucket is the same), then any (Go's map order is random) until a
// tenth is free. A flood of addresses costs the flood, not memory; a caller
// forgotten while limited starts again with a full burst.
func (s *scriptLimiter) sweep(now time.Duration, maxBuckets int) {
	target := maxBuckets - max(1, maxBuckets/10)
	for k, b := range s.buckets {
		if s.refill(b, now); b.tokens >= s.burst {
			delete(s.buckets, k)
		}
	}
	for k := range s.buckets {
		if len(s.buckets) <= target {
			return
		}
		delete(s.buckets, k)
	}
}

// size is how many callers s remembers (tests).
func (s *scriptLimiter) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}

// limit spends one request of sc's rate limit for r's caller: the invoke
// key keyID, else the client's address (honouring TrustedProxies). It
// answers nil, or rate_limited with retry_after (Retry-After).
func (o *Orchestrator) limit(r *http.Request, sc *picloud.Script, keyID string) error {
	if sc.RateLimitRPS <= 0 {
		return nil
	}
	var k bucketKey
	who := "client address"
	if keyID != "" {
		k.key, who = keyID, "invoke key"
	} else {
		k.addr = addrKey(httpapi.ClientAddr(r, o.cfg.TrustedProxies))
	}
	s := o.limits.limiter(sc)
	wait := s.take(k, clock(), o.limits.max)
	if wait <= 0 {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return o.deny(sc, DeniedRateLimited, &picloud.Error{Code: picloud.ERateLimited,
		Message: fmt.Sprintf("script %q takes at most %g requests per second (burst %g) per %s; try again in %d s",
			sc.Name, s.rps, s.burst, who, secs),
		Details: map[string]any{"retry_after": secs}})
}

// addrKey is what an address is counted as: itself, or for IPv6 its /64,
// which is what one host is usually given.
func addrKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
