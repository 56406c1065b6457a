package orchestrator

import (
	"context"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// compiled is a script with its compiled AST. The AST belongs to one version
// and is shared read-only by every execution of it.
type compiled struct {
	script   *picloud.Script
	ast      *rhai.AST
	err      error // the compile error, when the stored source no longer compiles
	loadedAt time.Time
}

// cache keeps compiled scripts by id, with a name index. The manager
// invalidates an entry when it changes a script; the TTL bounds staleness
// when another process changed the database.
type cache struct {
	store   picloud.ScriptStore
	compile func(name, source string) (*rhai.AST, error)
	ttl     time.Duration

	mu     sync.RWMutex
	byID   map[string]*compiled
	byName map[string]string // name -> id
}

func newCache(store picloud.ScriptStore, compile func(string, string) (*rhai.AST, error), ttl time.Duration) *cache {
	return &cache{store: store, compile: compile, ttl: ttl, byID: map[string]*compiled{}, byName: map[string]string{}}
}

func (c *cache) fresh(e *compiled) bool { return e != nil && time.Since(e.loadedAt) < c.ttl }

// byIDGet returns the compiled current version of script id.
func (c *cache) get(ctx context.Context, id string) (*compiled, error) {
	c.mu.RLock()
	e := c.byID[id]
	c.mu.RUnlock()
	if c.fresh(e) {
		return e, nil
	}
	sc, err := c.store.Script(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.put(sc, e), nil
}

// getByName is get for a script name.
func (c *cache) getByName(ctx context.Context, name string) (*compiled, error) {
	c.mu.RLock()
	e := c.byID[c.byName[name]]
	c.mu.RUnlock()
	if c.fresh(e) && e.script.Name == name {
		return e, nil
	}
	sc, err := c.store.ScriptByName(ctx, name)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	old := c.byID[sc.ID]
	c.mu.RUnlock()
	return c.put(sc, old), nil
}

// put caches sc, compiling it unless old already holds its version.
func (c *cache) put(sc *picloud.Script, old *compiled) *compiled {
	e := &compiled{script: sc, loadedAt: time.Now()}
	if old != nil && old.script.Version == sc.Version && old.script.Source == sc.Source {
		e.ast, e.err = old.ast, old.err
	} else {
		e.ast, e.err = c.compile(sc.Name, sc.Source)
	}
	c.mu.Lock()
	if old != nil && old.script.Name != sc.Name && c.byName[old.script.Name] == sc.ID {
		delete(c.byName, old.script.Name)
	}
	c.byID[sc.ID] = e
	c.byName[sc.Name] = sc.ID
	c.mu.Unlock()
	return e
}

// invalidate forgets script id, so that the next request reloads it.
func (c *cache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byID[id]; e != nil {
		delete(c.byName, e.script.Name)
		delete(c.byID, id)
	}
}
