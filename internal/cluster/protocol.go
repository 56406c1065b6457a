// Package cluster is the protocol between `picloud manager` and `picloud
// node`: the manager's cluster API (Server: node registration and
// heartbeats, scripts, the change feed, execution-log ingestion, the host
// modules' state, queueing jobs and events), the node's side of it (Client,
// which stands in for the store, the secret reader and the job queue inside a
// node), and the dispatch of job attempts from the manager to the nodes
// (Dispatcher on the manager, RunHandler on the node).
//
// Every request in either direction carries the cluster token (--cluster-token)
// as "Authorization: Bearer <token>"; without it the answer is 401
// unauthorized. Bodies are JSON; errors are the API's standard error body, and
// the client turns them back into *picloud.Error with the same code, so that a
// kv::get of a missing key on a node fails exactly as on the all-in-one server.
package cluster

import (
	"encoding/json"
	"time"

	"github.com/picloud/picloud"
)

// Prefix is where the cluster API lives, on the manager and on nodes. It is
// outside /api/ on purpose: the admin token does not open it, and a proxy can
// keep it off the public side.
const Prefix = "/cluster/v1/"

// The manager's routes (Server).
const (
	// PUT: register or heartbeat; body and answer picloud.Node.
	PathNode = "/cluster/v1/nodes/{name}"
	// GET by id: picloud.Script with its source.
	PathScript = "/cluster/v1/scripts/{id}"
	// GET ?name=NAME: picloud.Script with its source.
	PathScripts = "/cluster/v1/scripts"
	// GET: the change feed, server-sent events (see EventHello, EventChange).
	PathChanges = "/cluster/v1/changes"
	// POST ExecutionBatch: 204. Idempotent by execution id.
	PathExecutions = "/cluster/v1/executions"
	// POST KVRequest to /cluster/v1/kv/{op}, op one of the KVOp constants.
	PathKV = "/cluster/v1/kv/{op}"
	// GET: SecretValue, the plaintext of the script's secret (its own, else
	// the global one), as secret(name) reads it.
	PathSecret = "/cluster/v1/secrets/{script_id}/{name}"
	// POST EnqueueRequest: EnqueueResponse.
	PathJobs = "/cluster/v1/jobs"
	// POST PublishRequest: 204.
	PathEvents = "/cluster/v1/events"
	// GET: 204 when the manager answers and takes the token (Client.Ping).
	PathPing = "/cluster/v1/ping"
)

// NoScript is the {script_id} of PathSecret for a read without a script
// (only the global secret applies): an empty path segment would not route.
const NoScript = "-"

// The node's route (RunHandler): POST picloud.JobRun, answer the execution's
// picloud.ExecutionLog (already recorded through the node's journal), or an
// error body when nothing ran (the codes of picloud.JobRunner).
const PathRun = "/cluster/v1/run"

// The change feed's server-sent events. EventHello is the first event of
// every stream (data: Hello): a node that connects or reconnects expires its
// whole cache, since changes made while it was away were not sent to it.
// EventChange's data is a picloud.ScriptChange. A comment line (": ping")
// comes every PingEvery so that a dead connection is noticed.
const (
	EventHello  = "hello"
	EventChange = "change"
)

// PingEvery is how often the manager writes ": ping" on an idle change
// stream; a node replaces a stream silent for three of them.
const PingEvery = 15 * time.Second

// Hello is the data of the first event of a change stream.
type Hello struct {
	Manager string `json:"manager"` // the manager's version
}

// ExecutionBatch is the body of POST PathExecutions.
type ExecutionBatch struct {
	Items []*picloud.ExecutionLog `json:"items"`
}

// KV operations: the last element of PathKV.
const (
	KVGet    = "get"     // KVRequest{NS, Key} -> picloud.KVEntry
	KVSet    = "set"     // {NS, Key, Write} -> 204
	KVDelete = "delete"  // {NS, Key} -> KVResponse{Deleted}
	KVIncr   = "incr"    // {NS, Key, By, Write} -> KVResponse{Value}
	KVCAS    = "cas"     // {NS, Key, Expected, Write} -> KVResponse{Swapped}
	KVList   = "list"    // {NS, Prefix, Cursor, Limit} -> picloud.KVPage
	KVUsage  = "usage"   // {NS} -> picloud.KVUsage
	KVDropNS = "drop-ns" // {NS} -> 204
)

// KVRequest is the body of POST PathKV, the arguments of the picloud.KVStore
// method op names.
type KVRequest struct {
	NS    string           `json:"ns"`
	Key   string           `json:"key,omitempty"`
	Write *picloud.KVWrite `json:"write,omitempty"`
	By    int64            `json:"by,omitempty"`
	// Expected is KVCompareAndSet's expected value; absent (nil) means the
	// key must be absent.
	Expected json.RawMessage `json:"expected,omitempty"`
	Prefix   string          `json:"prefix,omitempty"`
	Cursor   string          `json:"cursor,omitempty"`
	Limit    int             `json:"limit,omitempty"`
}

// KVResponse is the answer of KVDelete, KVIncr and KVCAS.
type KVResponse struct {
	Deleted bool  `json:"deleted,omitempty"`
	Value   int64 `json:"value,omitempty"`
	Swapped bool  `json:"swapped,omitempty"`
}

// SecretValue is the answer of GET PathSecret.
type SecretValue struct {
	Value string `json:"value"`
}

// EnqueueRequest is the body of POST PathJobs: an asynchronous run of a
// script (picloud.JobQueue's Enqueue, the script named by id).
type EnqueueRequest struct {
	ScriptID string                 `json:"script_id"`
	Request  *picloud.JobRequest    `json:"request"`
	Options  picloud.EnqueueOptions `json:"options"`
}

// EnqueueResponse is its answer.
type EnqueueResponse struct {
	Job      *picloud.Job `json:"job"`
	Existing bool         `json:"existing"`
}

// PublishRequest is the body of POST PathEvents: the events a successful
// execution of script FromScriptID emitted (picloud.JobQueue's Publish).
type PublishRequest struct {
	FromScriptID string          `json:"from_script_id"`
	Events       []picloud.Event `json:"events"`
}
