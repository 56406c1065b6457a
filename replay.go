package picloud

import "encoding/json"

// MaxReplayLast is the most captured requests one replay runs.
const MaxReplayLast = 100

// DefaultReplayLast is how many captured requests a replay runs when it
// does not say.
const DefaultReplayLast = 10

// ReplayRequest is the body of POST /api/scripts/{id}/replay: the source
// to compare with the live version (Source, or the script's stored draft
// with Draft), how many of the latest captured http requests to run (Last,
// 1..MaxReplayLast) and which (Filter).
type ReplayRequest struct {
	Source *string       `json:"source,omitempty"`
	Draft  bool          `json:"draft,omitempty"`
	Last   int           `json:"last,omitempty"`
	Filter *ReplayFilter `json:"filter,omitempty"`
}

// ReplayFilter narrows the captured requests a replay runs, with the
// meaning of the log queries' parameters of the same names: Status a comma
// list of execution statuses, Since and Until RFC 3339 times or Go
// durations (15m: that long ago), Q a text in the logs or the error.
type ReplayFilter struct {
	Status string `json:"status,omitempty"`
	Since  string `json:"since,omitempty"`
	Until  string `json:"until,omitempty"`
	Q      string `json:"q,omitempty"`
}

// Validate requires exactly one of source and draft, and last in range.
func (r ReplayRequest) Validate() error {
	switch {
	case r.Source != nil && r.Draft:
		return fieldError("source", "give source or draft: true, not both")
	case r.Source == nil && !r.Draft:
		return fieldError("source", "source (or draft: true) is required")
	case r.Last < 0 || r.Last > MaxReplayLast:
		return fieldError("last", "last must be between 1 and %d", MaxReplayLast)
	}
	return nil
}

// ReplayResponse is the answer of a replay: one item per captured request
// run, newest first, and the captures that could not be run.
type ReplayResponse struct {
	Items         []ReplayItem    `json:"items"`
	NotReplayable []NotReplayable `json:"not_replayable"`
}

// ReplayItem is one captured request run through both versions.
type ReplayItem struct {
	ExecutionID string         `json:"execution_id"`
	Request     *RequestRecord `json:"request"`
	Live        ReplayRun      `json:"live"`
	Draft       ReplayRun      `json:"draft"`
	Diff        ReplayDiff     `json:"diff"`
	Same        bool           `json:"same"`
}

// ReplayRun is one run's outcome: the HTTP status a caller would get, the
// response's headers and body (BodyEncoding "base64" when it is not
// UTF-8; empty for a failed run, whose error is in Error), the execution's
// status, operations and duration.
type ReplayRun struct {
	Status       int               `json:"status"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	BodyEncoding string            `json:"body_encoding,omitempty"`
	Outcome      ExecutionStatus   `json:"outcome"`
	Operations   uint64            `json:"operations"`
	DurationMS   float64           `json:"duration_ms"`
	Error        *ExecError        `json:"error"`
}

// ReplayDiff is what differs between the two runs; every field is absent
// when that part is the same.
type ReplayDiff struct {
	// Status is the two HTTP statuses.
	Status *ReplayChange `json:"status,omitempty"`
	// Headers holds each header that differs by name (lower case), with an
	// absent side null.
	Headers map[string]ReplayChange `json:"headers,omitempty"`
	// Body lists the changes: by JSON Pointer path when both bodies are
	// JSON, else one change of the whole body (path "").
	Body []ReplayChange `json:"body,omitempty"`
	// Error is the two runs' error messages.
	Error *ReplayChange `json:"error,omitempty"`
}

// ReplayChange is one difference: the live run's value and the draft's
// (null or absent: that side has none). Path locates it in a body.
type ReplayChange struct {
	Path  *string         `json:"path,omitempty"`
	Live  json.RawMessage `json:"live"`
	Draft json.RawMessage `json:"draft"`
}

// NotReplayable is a captured request a replay could not run, and why
// (its capture was truncated, or it has none).
type NotReplayable struct {
	ExecutionID string `json:"execution_id"`
	Reason      string `json:"reason"`
}
