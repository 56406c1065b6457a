package manager

import (
	"sync"
	"time"
)

// bucketSet is a token bucket per key, the mechanism behind the manager's
// limits (failed authentications per client, sign-ins per token): each key
// starts with burst tokens, gets burst back per window, and is refused
// while it has less than one. It remembers at most max keys.
type bucketSet[K comparable] struct {
	burst     float64
	perSecond float64
	max       int

	mu      sync.Mutex
	buckets map[K]*bucket
}

// bucket is one key's tokens; logged and suppressed serve the limits that
// sample their log lines (failureLimiter.fail).
type bucket struct {
	tokens     float64   // left, as of at
	at         time.Time // when tokens was computed
	logged     time.Time // the last log line about this key
	suppressed int       // events not logged since then
}

func newBucketSet[K comparable](burst int, window time.Duration, maxKeys int) bucketSet[K] {
	return bucketSet[K]{burst: float64(burst), perSecond: float64(burst) / window.Seconds(), max: maxKeys,
		buckets: map[K]*bucket{}}
}

// refill brings b up to now.
func (s *bucketSet[K]) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(s.burst, b.tokens+d.Seconds()*s.perSecond)
		b.at = now
	}
}

// take spends one of key's tokens and returns 0; or, when it has none
// left, how long key must wait for the next. The caller holds s.mu.
func (s *bucketSet[K]) take(key K, now time.Time) time.Duration {
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= s.max {
			s.sweep(now)
		}
		b = &bucket{tokens: s.burst, at: now}
		s.buckets[key] = b
	}
	s.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / s.perSecond * float64(time.Second))
}

// sweep makes room, forgetting first what matters least: every key whose
// bucket is full again (it carries nothing a fresh one would not), then,
// until a tenth is free, those that have spent less than half of it, then
// any (Go's map order is random). A flood of keys then costs the flood, not
// memory, and a key that keeps spending is the last one forgotten. The
// caller holds s.mu.
func (s *bucketSet[K]) sweep(now time.Time) {
	for k, b := range s.buckets {
		if s.refill(b, now); b.tokens >= s.burst {
			delete(s.buckets, k)
		}
	}
	target := s.max - max(1, s.max/10)
	for _, keep := range []float64{s.burst / 2, -1} {
		for k, b := range s.buckets {
			if len(s.buckets) <= target {
				return
			}
			if b.tokens > keep || keep < 0 {
				delete(s.buckets, k)
			}
		}
	}
}

// size is how many keys are remembered (tests).
func (s *bucketSet[K]) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}
