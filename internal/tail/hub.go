// Package tail is the live tail of executions: a hub that fans the rows out
// to subscribers as they are stored, and the server-sent-events handler of
// GET /api/tail and GET /api/scripts/{id}/tail.
//
// The hub never slows the code that publishes (the audit sink's writer, the
// cluster ingestion): each subscriber has a bounded buffer, and one whose
// buffer is full when a row arrives is dropped and told (its stream ends
// with a "dropped" event; the client may resume with Last-Event-ID).
package tail

import (
	"sync"

	"github.com/picloud/picloud"
)

// DefaultBuffer is a subscriber's buffer when Config.Buffer is 0: rows held
// for a consumer that is momentarily behind.
const DefaultBuffer = 256

// Config configures a Hub; the zero value is usable.
type Config struct {
	Buffer int // rows each subscriber may have waiting (DefaultBuffer)
	// OnSubscribers is called with the number of subscribers after each
	// change (a gauge); OnDropped once for each subscriber dropped. Both
	// are called with the hub's lock held: they must be quick.
	OnSubscribers func(n int)
	OnDropped     func()
}

// Filter selects the rows a subscriber gets: those of one script, or of
// every script when ScriptID is "".
type Filter struct {
	ScriptID string
}

func (f Filter) match(l *picloud.ExecutionLog) bool {
	return f.ScriptID == "" || f.ScriptID == l.ScriptID
}

// Hub fans stored rows out to its subscribers.
type Hub struct {
	cfg  Config
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewHub makes a hub.
func NewHub(cfg Config) *Hub {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	return &Hub{cfg: cfg, subs: map[*Subscription]struct{}{}}
}

// Subscription is one subscriber's rows. C delivers them in the order they
// were published; Dropped is closed when the hub dropped the subscriber for
// falling behind (C then gets nothing more). Close unsubscribes.
type Subscription struct {
	C       <-chan *picloud.ExecutionLog
	Dropped <-chan struct{}

	c       chan *picloud.ExecutionLog
	dropped chan struct{}
	filter  Filter
	hub     *Hub
}

// Subscribe adds a subscriber for the rows f selects.
func (h *Hub) Subscribe(f Filter) *Subscription {
	c, d := make(chan *picloud.ExecutionLog, h.cfg.Buffer), make(chan struct{})
	s := &Subscription{C: c, Dropped: d, c: c, dropped: d, filter: f, hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.changed()
	h.mu.Unlock()
	return s
}

// Close unsubscribes s; it may be called more than once, and after a drop.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		h.changed()
	}
}

// Subscribers is the number of subscribers.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *Hub) changed() {
	if h.cfg.OnSubscribers != nil {
		h.cfg.OnSubscribers(len(h.subs))
	}
}

// Publish hands rows to every subscriber whose filter selects them, without
// waiting: a subscriber with no room for a row is dropped. rows is not kept
// (the rows are, and must not be changed afterwards).
func (h *Hub) Publish(rows []*picloud.ExecutionLog) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, l := range rows {
			if l == nil || !s.filter.match(l) {
				continue
			}
			select {
			case s.c <- l:
				continue
			default:
			}
			delete(h.subs, s)
			close(s.dropped)
			if h.cfg.OnDropped != nil {
				h.cfg.OnDropped()
			}
			h.changed()
			break
		}
	}
}
