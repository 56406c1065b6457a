package picloud

import (
	"context"
	"encoding/json"
	"time"
)

// ExecutionStatus is the outcome of one execution.
type ExecutionStatus string

const (
	StatusSuccess        ExecutionStatus = "success"
	StatusError          ExecutionStatus = "error"
	StatusTimeout        ExecutionStatus = "timeout"
	StatusBudgetExceeded ExecutionStatus = "budget_exceeded"
)

// Trigger says what started an execution.
type Trigger string

const (
	TriggerHTTP Trigger = "http"
	TriggerTest Trigger = "test"
)

// Log levels of a script's log lines.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// ExecutionLog is the audit record of one execution, whatever its outcome.
type ExecutionLog struct {
	ID            string          `json:"id"`
	ScriptID      string          `json:"script_id"`
	ScriptVersion int             `json:"script_version"`
	Trigger       Trigger         `json:"trigger"`
	Status        ExecutionStatus `json:"status"`
	StartedAt     Time            `json:"started_at"`
	DurationMS    float64         `json:"duration_ms"`
	Operations    uint64          `json:"operations"`
	Request       *RequestRecord  `json:"request"`
	Response      *ResponseRecord `json:"response"`
	Logs          []LogLine       `json:"logs"`
	Error         *ExecError      `json:"error"`
	// Outbound lists the http:: requests the execution made, in order.
	Outbound []OutboundCall `json:"outbound"`
	// JobID and Attempt link an async, event or cron run to its job (GET
	// /api/jobs/{id}); ScheduleID names the schedule of a cron run. Empty
	// and 0 for http and test runs.
	JobID      string `json:"job_id,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
	ScheduleID string `json:"schedule_id,omitempty"`
	// Node names the cluster node that ran the execution (picloud node's
	// --name); empty for the all-in-one server and a manager's test runs.
	Node string `json:"node,omitempty"`
}

// RequestRecord is the request as the audit trail keeps it: secret headers
// redacted, the query, each header value, the headers' total and the body cut
// at limits (QueryTruncated, HeadersTruncated and BodyTruncated say a part was
// cut). A body that is not UTF-8 is base64 with BodyEncoding "base64".
type RequestRecord struct {
	Method           string            `json:"method"`
	Path             string            `json:"path"`
	Query            map[string]string `json:"query"`
	QueryTruncated   bool              `json:"query_truncated"`
	Headers          map[string]string `json:"headers"`
	HeadersTruncated bool              `json:"headers_truncated"`
	Body             string            `json:"body"`
	BodyEncoding     string            `json:"body_encoding,omitempty"`
	BodySize         int               `json:"body_size"`
	BodyTruncated    bool              `json:"body_truncated"`
}

// ResponseRecord is the response the caller got, cut like RequestRecord.
type ResponseRecord struct {
	Status        int               `json:"status"`
	Headers       map[string]string `json:"headers"`
	Body          string            `json:"body"`
	BodyEncoding  string            `json:"body_encoding,omitempty"`
	BodySize      int               `json:"body_size"`
	BodyTruncated bool              `json:"body_truncated"`
}

// LogLine is one line a script logged; Data is its structured data as JSON
// (null when none).
type LogLine struct {
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Time    Time            `json:"time"`
}

// ExecError is the full error of a failed execution: Rhai's error kind, its
// text, and its position (0 when unknown).
type ExecError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
}

// ExecutionStats summarises a script's recent executions for the script list.
type ExecutionStats struct {
	LastStatus   ExecutionStatus
	LastAt       time.Time
	Recent       int // executions considered (at most 100)
	RecentErrors int // of those, the ones that did not succeed
}

// ExecutionStore keeps execution logs.
type ExecutionStore interface {
	// InsertExecutions writes a batch in one transaction.
	InsertExecutions(ctx context.Context, logs []*ExecutionLog) error
	// ListExecutions returns a script's logs, newest first.
	ListExecutions(ctx context.Context, scriptID string, limit, offset int) ([]*ExecutionLog, error)
	Execution(ctx context.Context, id string) (*ExecutionLog, error)
	// CountExecutions counts a script's logs, or all of them for "".
	CountExecutions(ctx context.Context, scriptID string) (int64, error)
	// ExecutionStats summarises the last 100 executions of each script named.
	ExecutionStats(ctx context.Context, scriptIDs []string) (map[string]ExecutionStats, error)
	// QueryExecutions returns the logs q selects, newest first.
	QueryExecutions(ctx context.Context, q ExecutionQuery) ([]*ExecutionLog, error)
	// PruneExecutions deletes logs started before before (when not zero) and
	// all but the newest keep of each script (when keep > 0).
	PruneExecutions(ctx context.Context, before time.Time, keep int) (int64, error)
}

// ExecutionSink takes execution logs off the request path. When Record
// returns nil the log is journaled (it reaches the store even if the process
// dies now); it fails when the sink is closed, or, for a sink that must wait
// for room, when ctx ends.
type ExecutionSink interface {
	Record(ctx context.Context, l *ExecutionLog) error
}
