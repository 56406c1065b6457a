package picloud

import (
	"context"
	"time"
)

// Cluster mode (Step 10): `picloud manager` runs the control plane on the
// store; `picloud node` runs an orchestrator and executor that hold no
// database credentials and reach the store only through a manager's cluster
// API (internal/cluster), authenticated with the cluster token.

// Node states, as GET /api/nodes reports them. A node's own report (its
// health) is ok or degraded; the manager makes it NodeLost when no heartbeat
// came for NodeLostAfter.
const (
	NodeOK       = "ok"
	NodeDegraded = "degraded"
	NodeDown     = "down" // the node reported it cannot run scripts (its journal is full)
	NodeLost     = "lost" // no heartbeat for NodeLostAfter
)

// NodeHeartbeatEvery is how often a node reports to the manager, and
// NodeLostAfter how long the manager waits for a report before it counts the
// node lost (and dispatches no job to it).
const (
	NodeHeartbeatEvery = 5 * time.Second
	NodeLostAfter      = 3 * NodeHeartbeatEvery
)

// Node is one `picloud node` as it last reported itself (registration and
// every heartbeat carry the whole record).
type Node struct {
	// Name identifies the node: --name, by default the host name and the
	// listening port ("web-1:8001"). A node restarted with the same name is
	// the same node.
	Name string `json:"name"`
	// Address is the URL the manager reaches the node at, to dispatch jobs
	// (--advertise; http://host:port).
	Address string `json:"address"`
	Version string `json:"version"`
	// Capacity is the node's concurrency gate (--max-concurrency), Load its
	// executions running at the heartbeat.
	Capacity int `json:"capacity"`
	Load     int `json:"load"`
	// Status is NodeOK, NodeDegraded or NodeDown as the node reported it;
	// lists replace it with NodeLost when the heartbeat is too old.
	Status string `json:"status"`
	// Components is the node's own health (journal, manager).
	Components map[string]HealthComponent `json:"components,omitempty"`
	// JournalBytes is the size of the node's execution journal while it
	// holds rows not yet delivered to the manager; 0 once all are.
	JournalBytes  int64 `json:"journal_bytes"`
	StartedAt     Time  `json:"started_at"`
	LastHeartbeat Time  `json:"last_heartbeat"`
	// RegisteredAt is when the manager first heard of this name.
	RegisteredAt Time `json:"registered_at"`
}

// Lost reports whether no heartbeat came from n for NodeLostAfter before now.
func (n *Node) Lost(now time.Time) bool {
	return now.Sub(n.LastHeartbeat.Time) > NodeLostAfter
}

// NodeList is the body of GET /api/nodes.
type NodeList struct {
	Items []*Node `json:"items"`
}

// NodeStore keeps the nodes' last reports, so that every manager lists
// every node. Methods return an *Error with ENotFound where it applies.
type NodeStore interface {
	// SaveNode inserts or replaces the node named n.Name; RegisteredAt is
	// kept from the first save (and filled in on return).
	SaveNode(ctx context.Context, n *Node) error
	// ListNodes returns every node by name.
	ListNodes(ctx context.Context) ([]*Node, error)
	// DeleteNode forgets a node (ENotFound when unknown).
	DeleteNode(ctx context.Context, name string) error
}

// ScriptChange is one entry of the change feed nodes follow: the script's
// id and name, its version after the change, and Deleted when it is gone.
// A node drops its cached copy and loads the script again on next use.
type ScriptChange struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Version int    `json:"version,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

// ChangeNotifier carries script changes between processes sharing a
// database (PostgreSQL's NOTIFY/LISTEN), so that a change made through any
// manager reaches the nodes following every other.
type ChangeNotifier interface {
	// NotifyScriptChange announces c to every listener, this process's too.
	NotifyScriptChange(ctx context.Context, c ScriptChange) error
	// ListenScriptChanges calls fn with every change announced from now on
	// until ctx ends, and with ok false each time it starts listening (the
	// first time, and whenever the listening connection was lost and is
	// back): announcements made before may have been missed, so the
	// listener resynchronises. It returns when ctx ends.
	ListenScriptChanges(ctx context.Context, fn func(c ScriptChange, ok bool)) error
}

// ExecutionNotifier carries the ids of stored execution rows between
// processes sharing a database (PostgreSQL's NOTIFY/LISTEN), so that the live
// tail of every manager shows the rows any manager stored.
type ExecutionNotifier interface {
	// NotifyExecutions announces that the rows ids are stored. The listener
	// of the same store value does not hear it: its process published the
	// rows already.
	NotifyExecutions(ctx context.Context, ids []string) error
	// ListenExecutions calls fn with the ids the other store values announce
	// from now on, until ctx ends (then it returns nil). Announcements made
	// while its connection is lost are missed: the tail is best effort, and
	// a client catches up with Last-Event-ID.
	ListenExecutions(ctx context.Context, fn func(ids []string)) error
}
