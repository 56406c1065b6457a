package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/picloud/picloud"
)

// Replay runs one execution in replay mode (Options.Replay): the execution
// sees the platform as it is now but changes nothing outside itself.
//   - kv:: reads and writes go through KV, an overlay whose reads fall
//     through to the live store and whose writes stay in memory (discarded
//     with the overlay). Give each run its own overlay, each built on the
//     live store, so two runs start from the same data.
//   - time::now() returns Now (the captured request's start), so two runs
//     of one request see the same clock whenever they run.
//   - http:: calls never leave the machine: HTTP answers them (nil:
//     RefuseOutbound, a 503 with a fixed body). Each call is still
//     validated, counted against http_max_requests and recorded in
//     Result.Outbound; the egress allowlist, checked when dialing, is not
//     reached (nothing is dialed).
//   - events::emit calls are recorded in Result.Events as always; a replay's
//     caller simply does not publish them.
type Replay struct {
	Now  time.Time
	KV   picloud.KVStore
	HTTP http.RoundTripper
}

// ReplayOutboundBody is the body RefuseOutbound answers every http:: call
// of a replay with.
const ReplayOutboundBody = `{"error":"replay: outbound calls are not made"}`

// RefuseOutbound is the http:: stub of a replay: every call gets the same
// 503 with ReplayOutboundBody, whatever the run, so two runs of one request
// see identical responses and no request leaves the machine. (The captured
// executions record their outbound calls' method, host, path and status but
// not their bodies, so answering from them could not be faithful.)
var RefuseOutbound http.RoundTripper = refuseOutbound{}

type refuseOutbound struct{}

func (refuseOutbound) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{
		Status:        "503 Service Unavailable",
		StatusCode:    http.StatusServiceUnavailable,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}, "X-Picloud-Replay": {"1"}},
		Body:          io.NopCloser(strings.NewReader(ReplayOutboundBody)),
		ContentLength: int64(len(ReplayOutboundBody)),
		Request:       req,
	}, nil
}

// KVOverlay is a picloud.KVStore for replays: reads fall through to the live
// store, writes (set, delete, incr, cas) stay in the overlay's memory and
// never reach the live store. It does not enforce quotas (nothing it holds
// is kept) and refuses the administrative calls (usage, namespace deletion,
// purge), which no script makes. Safe for concurrent use.
type KVOverlay struct {
	live picloud.KVStore
	mu   sync.Mutex
	// keys holds the overlay's writes by namespace and key; a nil entry is
	// a deletion that hides the live key.
	keys map[string]map[string]*picloud.KVEntry
}

// NewKVOverlay returns an empty overlay on live.
func NewKVOverlay(live picloud.KVStore) *KVOverlay {
	return &KVOverlay{live: live, keys: map[string]map[string]*picloud.KVEntry{}}
}

var errOverlay = errors.New("kv: not available during a replay")

func notFound(key string) error { return picloud.Errorf(picloud.ENotFound, "kv: no key %q", key) }

// lookup is key's overlay entry: (entry, true) when the overlay decides
// (entry nil: deleted or expired), else (nil, false). o.mu is held.
func (o *KVOverlay) lookup(ns, key string) (*picloud.KVEntry, bool) {
	e, ok := o.keys[ns][key]
	if !ok {
		return nil, false
	}
	if e != nil && e.ExpiresAt != nil && !e.ExpiresAt.After(time.Now()) {
		return nil, true
	}
	return e, true
}

// current is key's value as the script sees it: the overlay's, else the
// live store's. o.mu is held (the live read is done under it, so a write
// decided on it is atomic within the overlay).
func (o *KVOverlay) current(ctx context.Context, ns, key string) (*picloud.KVEntry, error) {
	if e, ok := o.lookup(ns, key); ok {
		if e == nil {
			return nil, notFound(key)
		}
		return e, nil
	}
	return o.live.KVGet(ctx, ns, key)
}

// put records a write in the overlay. o.mu is held.
func (o *KVOverlay) put(ns, key string, e *picloud.KVEntry) {
	m := o.keys[ns]
	if m == nil {
		m = map[string]*picloud.KVEntry{}
		o.keys[ns] = m
	}
	m[key] = e
}

func entry(key string, value json.RawMessage, expires time.Time) *picloud.KVEntry {
	e := &picloud.KVEntry{Key: key, Value: bytes.Clone(value), UpdatedAt: picloud.Time{Time: time.Now()}}
	if !expires.IsZero() {
		t := picloud.Time{Time: expires}
		e.ExpiresAt = &t
	}
	return e
}

// KVGet implements picloud.KVStore.
func (o *KVOverlay) KVGet(ctx context.Context, ns, key string) (*picloud.KVEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.current(ctx, ns, key)
	if err != nil {
		return nil, err
	}
	c := *e
	c.Value = bytes.Clone(e.Value)
	return &c, nil
}

// KVSet implements picloud.KVStore: in the overlay only.
func (o *KVOverlay) KVSet(ctx context.Context, ns, key string, w picloud.KVWrite) error {
	if err := picloud.ValidKVKey(key); err != nil {
		return err
	}
	if err := picloud.ValidKVValue(w.Value); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.put(ns, key, entry(key, w.Value, w.ExpiresAt))
	return nil
}

// KVDelete implements picloud.KVStore: the live key is hidden, not deleted.
func (o *KVOverlay) KVDelete(ctx context.Context, ns, key string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err := o.current(ctx, ns, key)
	switch {
	case picloud.ErrorCode(err) == picloud.ENotFound:
		return false, nil
	case err != nil:
		return false, err
	}
	o.put(ns, key, nil)
	return true, nil
}

// KVIncr implements picloud.KVStore: in the overlay only.
func (o *KVOverlay) KVIncr(ctx context.Context, ns, key string, by int64, w picloud.KVWrite) (int64, error) {
	if err := picloud.ValidKVKey(key); err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var value json.RawMessage
	var expires time.Time
	cur, err := o.current(ctx, ns, key)
	switch {
	case err == nil:
		value = cur.Value
		if cur.ExpiresAt != nil {
			expires = cur.ExpiresAt.Time
		}
	case picloud.ErrorCode(err) != picloud.ENotFound:
		return 0, err
	}
	n, next, err := picloud.KVIncrement(key, value, by)
	if err != nil {
		return 0, err
	}
	o.put(ns, key, entry(key, next, expires))
	return n, nil
}

// KVCompareAndSet implements picloud.KVStore: in the overlay only.
func (o *KVOverlay) KVCompareAndSet(ctx context.Context, ns, key string, expected json.RawMessage, w picloud.KVWrite) (bool, error) {
	if err := picloud.ValidKVKey(key); err != nil {
		return false, err
	}
	if err := picloud.ValidKVValue(w.Value); err != nil {
		return false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var value json.RawMessage
	cur, err := o.current(ctx, ns, key)
	switch {
	case err == nil:
		value = cur.Value
	case picloud.ErrorCode(err) != picloud.ENotFound:
		return false, err
	}
	if !picloud.KVMatches(value, expected) {
		return false, nil
	}
	o.put(ns, key, entry(key, w.Value, w.ExpiresAt))
	return true, nil
}

// KVList implements picloud.KVStore: the live keys under prefix merged with
// the overlay's (its deletions removed), in byte order. It reads every live
// key under prefix: a replay is an operator's tool, not a hot path.
func (o *KVOverlay) KVList(ctx context.Context, ns, prefix, cursor string, limit int) (*picloud.KVPage, error) {
	limit = picloud.KVListSize(limit)
	o.mu.Lock()
	defer o.mu.Unlock()
	set := map[string]bool{}
	for c := ""; ; {
		p, err := o.live.KVList(ctx, ns, prefix, c, picloud.MaxKVListLimit)
		if err != nil {
			return nil, err
		}
		for _, k := range p.Keys {
			set[k] = true
		}
		if p.Cursor == "" {
			break
		}
		c = p.Cursor
	}
	for k := range o.keys[ns] {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e, _ := o.lookup(ns, k)
		set[k] = e != nil
	}
	keys := []string{}
	for k, ok := range set {
		if ok && (cursor == "" || cursor < prefix || k > cursor) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > limit+1 {
		keys = keys[:limit+1]
	}
	return picloud.NewKVPage(keys, limit), nil
}

// KVUsage implements picloud.KVStore: refused.
func (o *KVOverlay) KVUsage(ctx context.Context, ns string) (picloud.KVUsage, error) {
	return picloud.KVUsage{}, errOverlay
}

// DeleteKVNamespace implements picloud.KVStore: refused.
func (o *KVOverlay) DeleteKVNamespace(ctx context.Context, ns string) error { return errOverlay }

// PurgeKV implements picloud.KVStore: nothing to purge.
func (o *KVOverlay) PurgeKV(ctx context.Context, now time.Time) (int64, error) { return 0, nil }

// Writes reports how many keys the overlay holds writes or deletions for
// (tests, and a replay's report).
func (o *KVOverlay) Writes() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, m := range o.keys {
		n += len(m)
	}
	return n
}
