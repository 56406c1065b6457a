package executor

import (
	"context"
	"sync"
	"time"
)

// runCtx is the context an execution runs in: the caller's, ended at the
// script's deadline, answering stateKey with the execution's state. It
// lives in Execute's one allocation and, unlike context.WithTimeout, arms
// no timer and joins no parent's list of children unless something waits
// on Done (a native's HTTP call, a store query): the engine itself only
// asks Err between slices of operations, which reads the clock. A one-line
// script therefore pays for none of it.
type runCtx struct {
	parent   context.Context
	deadline time.Time
	own      bool // the deadline is the timeout's, not the parent's
	st       *execState

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	err   error         // set once: the deadline, the parent's end or cancel
	timer *time.Timer   // armed by the first Done
	stop  func() bool   // the parent's AfterFunc, set by the first Done
}

// start sets c up for an execution of at most timeout under parent. When
// the parent's deadline comes first, c ends when the parent does (not by
// the clock, a little sooner than the parent's timer), as
// context.WithTimeout's child would: the caller then sees its own context
// ended too.
func (c *runCtx) start(parent context.Context, timeout time.Duration, st *execState) {
	c.parent, c.st = parent, st
	c.deadline, c.own = time.Now().Add(timeout), true
	if d, ok := parent.Deadline(); ok && !c.deadline.Before(d) {
		c.deadline, c.own = d, false
	}
}

func (c *runCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *runCtx) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return c.st
	}
	return c.parent.Value(key)
}

// Err is non-nil once the deadline has passed, the parent has ended or the
// execution is over; from then on Done (made or not yet) is closed.
func (c *runCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.parent.Err(); err != nil {
		return c.cancel(err)
	}
	if c.own && !time.Now().Before(c.deadline) {
		return c.cancel(context.DeadlineExceeded)
	}
	return nil
}

// Done arms the deadline's timer and the parent's watch the first time.
func (c *runCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
			return c.done
		}
		if c.own {
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
		}
		c.stop = context.AfterFunc(c.parent, func() { c.cancel(c.parent.Err()) })
	}
	return c.done
}

// cancel ends c with err unless it has ended already, and returns the error
// it ended with.
func (c *runCtx) cancel(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.err = err
	if c.done != nil {
		close(c.done)
		if c.timer != nil {
			c.timer.Stop()
		}
		c.stop()
	}
	return err
}
