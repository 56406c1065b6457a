package manager

import (
	"net/netip"
	"sync"
	"time"
)

// failureLimiter counts failed authentications per client with a token
// bucket: each client starts with burst failures to spend, gets them back at
// burst per window, and is refused unchecked while it has less than one.
// Successes spend nothing. It remembers at most maxClients clients.
type failureLimiter struct {
	burst      float64
	perSecond  float64
	window     time.Duration
	maxClients int

	mu      sync.Mutex
	clients map[netip.Addr]*failureBudget
}

type failureBudget struct {
	tokens     float64   // failures left, as of at
	at         time.Time // when tokens was computed
	logged     time.Time // the last log line about this client
	suppressed int       // failures not logged since then
}

func newFailureLimiter(burst int, window time.Duration, maxClients int) *failureLimiter {
	return &failureLimiter{burst: float64(burst), perSecond: float64(burst) / window.Seconds(), window: window,
		maxClients: maxClients, clients: map[netip.Addr]*failureBudget{}}
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

// refill brings b up to now.
func (l *failureLimiter) refill(b *failureBudget, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.perSecond)
		b.at = now
	}
}

// reserve takes one failure from client's budget before its credentials are
// checked, and returns 0; or, when the budget is spent, how long client must
// wait. Taking it before the check (and refunding it when the credentials
// were right) means that guesses sent in parallel cannot all pass while one
// failure is left.
func (l *failureLimiter) reserve(client netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := clientKey(client)
	b := l.clients[key]
	if b == nil {
		if len(l.clients) >= l.maxClients {
			l.sweep(now)
		}
		b = &failureBudget{tokens: l.burst, at: now}
		l.clients[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
}

// refund gives back the failure reserve took: the credentials were right
// (or could not be checked), so nothing was guessed.
func (l *failureLimiter) refund(client netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.clients[clientKey(client)]; b != nil {
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
	b := l.clients[clientKey(client)]
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

// sweep makes room, forgetting first what matters least: the clients whose
// budget is full again (they carry nothing a fresh budget would not), then
// those that have spent less than half of it, then any (Go's map order is
// random) until a tenth is free. A flood of addresses then costs the flood,
// not memory, and a client that keeps failing is the last one forgotten.
func (l *failureLimiter) sweep(now time.Time) {
	target := l.maxClients - max(1, l.maxClients/10)
	for _, keep := range []float64{l.burst, l.burst / 2, -1} {
		for k, b := range l.clients {
			if len(l.clients) <= target {
				return
			}
			l.refill(b, now)
			if b.tokens > keep || keep < 0 || b.tokens >= l.burst {
				delete(l.clients, k)
			}
		}
	}
}

// size is how many clients are remembered (tests).
func (l *failureLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
