package orchestrator

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
)

// compiled is a script with its compiled program. The program belongs to one
// version and is shared read-only by every execution of it.
type compiled struct {
	script *picloud.Script
	prog   *executor.Program
	// checked is when the store last confirmed this entry (or last failed to
	// answer: an entry is served stale until the store answers again).
	checked    atomic.Int64 // unix nanoseconds
	refreshing atomic.Bool  // one request refreshes; the others serve the entry meanwhile
	stale      atomic.Bool  // the last refresh failed: served without confirmation
}

// cache keeps compiled scripts by id, with a name index. The manager
// invalidates an entry when it changes a script; the TTL bounds staleness
// when another process changed the database. An entry is never dropped
// because the store cannot be read: while the store is down, invocations are
// served from the cache (stale), and only names never seen fail.
type cache struct {
	store          picloud.ScriptStore
	compile        func(name, source string) *executor.Program
	ttl            time.Duration
	refreshTimeout time.Duration
	log            *slog.Logger
	onStale        func() // counts a request served from a stale entry

	mu     sync.RWMutex
	byID   map[string]*compiled
	byName map[string]string // name -> id
	// gen counts invalidations (invalidate, expireAll; changed under mu). A
	// load that began before one may have read the very version it was
	// about (a node fetching from its manager while the change feed
	// announces an update): its entry is cached unconfirmed, refreshed on
	// next use, rather than trusted for a TTL.
	gen atomic.Uint64
}

func newCache(store picloud.ScriptStore, compile func(string, string) *executor.Program, ttl, refreshTimeout time.Duration, logger *slog.Logger, onStale func()) *cache {
	return &cache{store: store, compile: compile, ttl: ttl, refreshTimeout: refreshTimeout, log: logger, onStale: onStale,
		byID: map[string]*compiled{}, byName: map[string]string{}}
}

func (c *cache) fresh(e *compiled) bool {
	return time.Duration(time.Now().UnixNano()-e.checked.Load()) < c.ttl
}

// get returns the compiled current version of script id.
func (c *cache) get(ctx context.Context, id string) (*compiled, error) {
	c.mu.RLock()
	e := c.byID[id]
	c.mu.RUnlock()
	return c.load(ctx, e, func(ctx context.Context) (*picloud.Script, error) { return c.store.Script(ctx, id) })
}

// getByName is get for a script name.
func (c *cache) getByName(ctx context.Context, name string) (*compiled, error) {
	c.mu.RLock()
	e := c.byID[c.byName[name]]
	c.mu.RUnlock()
	if e != nil && e.script.Name != name {
		e = nil
	}
	return c.load(ctx, e, func(ctx context.Context) (*picloud.Script, error) { return c.store.ScriptByName(ctx, name) })
}

// program is getByName's program, for `import "name"` (executor.Options.Resolver).
func (c *cache) program(ctx context.Context, name string) (*executor.Program, *picloud.Script, error) {
	e, err := c.getByName(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	return e.prog, e.script, nil
}

// load returns e while it is fresh, else reloads it with fetch. A known entry
// is refreshed by one request at a time, within refreshTimeout; when the
// store fails (other than not_found), the entry is kept and served stale.
func (c *cache) load(ctx context.Context, e *compiled, fetch func(context.Context) (*picloud.Script, error)) (*compiled, error) {
	gen := c.gen.Load()
	if e == nil {
		sc, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		return c.put(sc, gen), nil
	}
	if c.fresh(e) || !e.refreshing.CompareAndSwap(false, true) {
		return c.served(e), nil
	}
	defer e.refreshing.Store(false)
	rctx, cancel := context.WithTimeout(ctx, c.refreshTimeout)
	sc, err := fetch(rctx)
	cancel()
	switch {
	case err == nil:
		return c.put(sc, gen), nil
	case picloud.ErrorCode(err) == picloud.ENotFound:
		c.drop(e)
		return nil, err
	case ctx.Err() != nil:
		return c.served(e), nil // the caller left; the entry is as good as before
	}
	if !e.stale.Swap(true) {
		c.log.Warn("orchestrator: the script store cannot be read; serving the cached version",
			"script", e.script.Name, "script_id", e.script.ID, "version", e.script.Version, "err", err)
	}
	e.checked.Store(time.Now().UnixNano()) // try the store again after a TTL, not on every request
	return c.served(e), nil
}

// served counts e being served without the store's confirmation.
func (c *cache) served(e *compiled) *compiled {
	if e.stale.Load() && c.onStale != nil {
		c.onStale()
	}
	return e
}

// put caches sc, compiling it unless the cache already holds its version;
// gen is c.gen from before sc was read.
func (c *cache) put(sc *picloud.Script, gen uint64) *compiled {
	c.mu.RLock()
	old := c.byID[sc.ID]
	c.mu.RUnlock()
	e := &compiled{script: sc}
	e.checked.Store(time.Now().UnixNano())
	if old != nil && old.script.Version == sc.Version && old.script.Source == sc.Source {
		e.prog = old.prog
	} else {
		e.prog = c.compile(sc.Name, sc.Source)
	}
	if old != nil && old.stale.Load() {
		c.log.Info("orchestrator: the script store answers again", "script", sc.Name, "script_id", sc.ID)
	}
	c.mu.Lock()
	if c.gen.Load() != gen {
		e.checked.Store(0) // invalidated while sc was read: confirm it on next use
	}
	if old := c.byID[sc.ID]; old != nil && old.script.Name != sc.Name && c.byName[old.script.Name] == sc.ID {
		delete(c.byName, old.script.Name)
	}
	c.byID[sc.ID] = e
	c.byName[sc.Name] = sc.ID
	c.mu.Unlock()
	return e
}

// drop forgets e if it is still the cached entry of its script.
func (c *cache) drop(e *compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID[e.script.ID] == e {
		delete(c.byID, e.script.ID)
		if c.byName[e.script.Name] == e.script.ID {
			delete(c.byName, e.script.Name)
		}
	}
}

// invalidate forgets script id, so that the next request reloads it.
func (c *cache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	if e := c.byID[id]; e != nil {
		if c.byName[e.script.Name] == id {
			delete(c.byName, e.script.Name)
		}
		delete(c.byID, id)
	}
}

// expireAll marks every entry as unconfirmed since long ago, so that its
// next use refreshes it (load keeps serving an entry the store cannot
// confirm).
func (c *cache) expireAll() {
	c.mu.RLock() // excludes put's check of gen
	defer c.mu.RUnlock()
	c.gen.Add(1)
	for _, e := range c.byID {
		e.checked.Store(0)
	}
}
