package manager

import (
	"net/netip"
	"time"
)

// failureLimiter counts failed authentications per client with a token
// bucket: each client starts with burst failures to spend, gets them back at
// burst per window, and is refused unchecked while it has less than one.
// Successes spend nothing. It remembers at most maxClients clients.
type failureLimiter struct {
	bucketSet[netip.Addr]
	window time.Duration
}

func newFailureLimiter(burst int, window time.Duration, maxClients int) *failureLimiter {
	return &failureLimiter{bucketSet: newBucketSet[netip.Addr](burst, window, maxClients), window: window}
}

// clientKey is what a client is counted as: its address, or for IPv6 its /64,
// which is what one host is usually given (counting single IPv6 addresses
// would let one attacker rotate through 2^64 budgets).
func clientKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// reserve takes one failure from client's budget before its credentials are
// checked, and returns 0; or, when the budget is spent, how long client must
// wait. Taking it before the check (and refunding it when the credentials
// were right) means that guesses sent in parallel cannot all pass while one
// failure is left.
func (l *failureLimiter) reserve(client netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(clientKey(client), now)
}

// refund gives back the failure reserve took: the credentials were right
// (or could not be checked), so nothing was guessed.
func (l *failureLimiter) refund(client netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[clientKey(client)]; b != nil {
		l.refill(b, now)
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// fail records that the failure reserve took was spent. It returns whether
// to log this failure (at most once per window per client) and how many were
// not logged since the last line.
func (l *failureLimiter) fail(client netip.Addr, now time.Time) (log bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[clientKey(client)]
	if b == nil { // swept since reserve: the failure is already spent
		return true, 0
	}
	if b.logged.IsZero() || now.Sub(b.logged) >= l.window {
		suppressed, b.logged, b.suppressed = b.suppressed, now, 0
		return true, suppressed
	}
	b.suppressed++
	return false, 0
}
