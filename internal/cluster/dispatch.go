package cluster

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud"
)

// The results OnDispatch reports, one per RunJob (and one DispatchRetried
// for every node tried after the first).
const (
	DispatchOK          = "ok"          // a node ran the attempt (whatever the script's outcome)
	DispatchError       = "error"       // a node refused it for good (not_found, ...) or answered nonsense
	DispatchUnavailable = "unavailable" // no node could take it: the queue snoozes the job
	DispatchRetried     = "retried"     // a node failed or was busy, and the next was tried
)

// DefaultNodeListEvery is how long the dispatcher reuses the node list it
// read: jobs start far more often than nodes come and go.
const DefaultNodeListEvery = time.Second

// maxRunAnswerBytes bounds the execution log a node answers with: its
// request and response bodies and logs are already cut by the node's
// limits; more is a broken peer.
const maxRunAnswerBytes = 64 << 20

// DispatcherConfig configures a Dispatcher. Token and Nodes are required.
type DispatcherConfig struct {
	Token string
	Nodes picloud.NodeStore
	// HTTPClient carries the attempts to the nodes (its TLS configuration
	// trusts their certificates); nil: http.DefaultClient. It should have
	// no Timeout: an attempt lasts as long as its script (the job's context
	// bounds it).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// OnDispatch is called with each result (the constants above).
	OnDispatch func(result string)
	// ListEvery is how long a node list is reused (DefaultNodeListEvery).
	ListEvery time.Duration
}

// Dispatcher is the manager's picloud.JobRunner: it runs each attempt of a
// job on a node, never on the manager. Nodes are taken round-robin among
// the healthy ones (reported ok or degraded, not lost); a node that cannot
// be reached is suspect for picloud.NodeLostAfter (no attempt goes to it)
// and the next node is tried in the same call, as is the next after a
// node answering that it is busy. When no node can take the attempt,
// RunJob answers EUnavailable and the queue tries again later without
// spending an attempt.
//
// A node that dies while it runs an attempt may have run part of it, and
// the next node runs it again: attempts are at least once, as on one
// server whose process dies mid-run.
type Dispatcher struct {
	cfg  DispatcherConfig
	log  *slog.Logger
	http *http.Client
	next atomic.Uint64 // round-robin position

	mu       sync.Mutex
	nodes    []*picloud.Node
	listedAt time.Time
	suspect  map[string]time.Time // node name → until when
}

var _ picloud.JobRunner = (*Dispatcher)(nil)

// NewDispatcher makes a dispatcher from cfg.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.ListEvery <= 0 {
		cfg.ListEvery = DefaultNodeListEvery
	}
	return &Dispatcher{cfg: cfg, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		http: cmp.Or(cfg.HTTPClient, http.DefaultClient), suspect: map[string]time.Time{}}
}

// RunJob runs one attempt of a job on a node (picloud.JobRunner).
func (d *Dispatcher) RunJob(ctx context.Context, run *picloud.JobRun) (*picloud.ExecutionLog, error) {
	body, err := json.Marshal(run)
	if err != nil {
		return nil, fmt.Errorf("cluster: encoding job %s: %w", run.JobID, err)
	}
	nodes, err := d.candidates(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.report(DispatchUnavailable)
		}
		return nil, err
	}
	var tried []string
	for i, n := range nodes {
		if i > 0 {
			d.report(DispatchRetried)
		}
		log, moveOn, err := d.try(ctx, n, run, body)
		if !moveOn {
			if err != nil {
				if ctx.Err() == nil {
					d.report(DispatchError)
				}
				return nil, err
			}
			d.report(DispatchOK)
			return log, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %s", n.Name, picloud.ErrorMessage(err)))
	}
	d.report(DispatchUnavailable)
	if len(tried) == 0 {
		return nil, picloud.Errorf(picloud.EUnavailable, "no node can run jobs: none is registered and healthy")
	}
	return nil, picloud.Errorf(picloud.EUnavailable, "no node can run jobs (%s)", strings.Join(tried, "; "))
}

// try posts the attempt to n. It returns the execution, or the error to
// answer, or moveOn when the next node should be tried because nothing ran
// on this one (it is unreachable, busy, or refused the token).
func (d *Dispatcher) try(ctx context.Context, n *picloud.Node, run *picloud.JobRun, body []byte) (_ *picloud.ExecutionLog, moveOn bool, _ error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(n.Address, "/")+PathRun, bytes.NewReader(body))
	if err != nil {
		// A stored address that is not a URL: the node cannot be reached.
		d.markSuspect(n, err)
		return nil, true, picloud.Errorf(picloud.EUnavailable, "address %q: %v", n.Address, err)
	}
	req.Header.Set("Authorization", "Bearer "+d.cfg.Token)
	req.Header.Set("Content-Type", "application/json")
	// Attempts are at least once anyway; saying so lets net/http send the
	// attempt again on a fresh connection when a pooled one turns out
	// closed (the node restarted) before the node could have read it,
	// rather than failing and making a live node suspect.
	req.Header.Set("Idempotency-Key", fmt.Sprintf("%s/%d", run.JobID, run.Attempt))
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err() // the queue is stopping: not the node's fault
		}
		d.markSuspect(n, err)
		return nil, true, picloud.Errorf(picloud.EUnavailable, "%v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRunAnswerBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		// The node went away while it ran the attempt.
		d.markSuspect(n, err)
		return nil, true, picloud.Errorf(picloud.EUnavailable, "reading the answer: %v", err)
	}
	if resp.StatusCode == http.StatusOK {
		var log picloud.ExecutionLog
		if len(data) > maxRunAnswerBytes {
			return nil, false, fmt.Errorf("cluster: node %s answered job %s with more than %d bytes", n.Name, run.JobID, maxRunAnswerBytes)
		}
		if err := json.Unmarshal(data, &log); err != nil {
			return nil, false, fmt.Errorf("cluster: node %s answered job %s with a malformed execution: %w", n.Name, run.JobID, err)
		}
		d.log.Debug("cluster: job attempt ran on a node", "node", n.Name, "job", run.JobID, "attempt", run.Attempt, "status", log.Status)
		return &log, false, nil
	}
	e, ok := apiError(data)
	switch {
	case !ok:
		// Not the node's answer (a proxy's 502, another service on the
		// port): nothing ran there.
		err := fmt.Errorf("HTTP %d without an error body", resp.StatusCode)
		d.markSuspect(n, err)
		return nil, true, picloud.Errorf(picloud.EUnavailable, "%v", err)
	case e.Code == picloud.EOverloaded || e.Code == picloud.EUnavailable:
		// Busy, stopping, or the script is disabled: nothing ran; another
		// node may take it (a disabled script is refused by all, and the
		// queue snoozes it).
		return nil, true, e
	case e.Code == picloud.EUnauthorized:
		d.log.Error("cluster: a node refused the cluster token: the manager and the nodes must share one --cluster-token", "node", n.Name)
		d.markSuspect(n, e)
		return nil, true, e
	}
	return nil, false, e
}

// candidates returns the nodes an attempt may go to, starting at the next
// round-robin position.
func (d *Dispatcher) candidates(ctx context.Context) ([]*picloud.Node, error) {
	all, err := d.list(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	d.mu.Lock()
	healthy := make([]*picloud.Node, 0, len(all))
	for _, n := range all {
		if until, ok := d.suspect[n.Name]; ok {
			if now.Before(until) {
				continue
			}
			delete(d.suspect, n.Name)
		}
		if n.Address != "" && !n.Lost(now) && (n.Status == picloud.NodeOK || n.Status == picloud.NodeDegraded) {
			healthy = append(healthy, n)
		}
	}
	d.mu.Unlock()
	if len(healthy) == 0 {
		return nil, nil
	}
	start := int(d.next.Add(1)-1) % len(healthy)
	return append(healthy[start:len(healthy):len(healthy)], healthy[:start]...), nil
}

// list returns the registered nodes, read again when the last read is
// older than ListEvery. When the store cannot answer the last list is used;
// without one, the error is EUnavailable (the queue tries again later).
func (d *Dispatcher) list(ctx context.Context) ([]*picloud.Node, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nodes != nil && time.Since(d.listedAt) < d.cfg.ListEvery {
		return d.nodes, nil
	}
	nodes, err := d.cfg.Nodes.ListNodes(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if d.nodes != nil {
			d.log.Warn("cluster: listing the nodes failed; dispatching to the last list", "err", err)
			return d.nodes, nil
		}
		return nil, picloud.Errorf(picloud.EUnavailable, "no node can run jobs: listing the nodes: %v", err)
	}
	if nodes == nil {
		nodes = []*picloud.Node{}
	}
	d.nodes, d.listedAt = nodes, time.Now()
	return nodes, nil
}

// markSuspect keeps attempts away from n for picloud.NodeLostAfter: by
// then its heartbeats have either proved it alive or made it lost.
func (d *Dispatcher) markSuspect(n *picloud.Node, err error) {
	d.log.Warn("cluster: a node could not take a job attempt; trying another", "node", n.Name, "address", n.Address, "err", err)
	d.mu.Lock()
	d.suspect[n.Name] = time.Now().Add(picloud.NodeLostAfter)
	d.mu.Unlock()
}

func (d *Dispatcher) report(result string) {
	if d.cfg.OnDispatch != nil {
		d.cfg.OnDispatch(result)
	}
}
