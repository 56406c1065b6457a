package picloud

import (
	"encoding/json"
	"strings"
)

// The admin API's request and response bodies (docs/api.md). The server
// decodes requests into these types and answers with them; the CLI decodes the
// same types, so one definition serves both ends.
//
// Requests have a Validate method that the manager calls before it touches a
// store: a violation is an invalid_request *Error naming the field.

// ValidateCreate checks the body of POST /api/scripts: name and source are
// required, and every setting given lies in its range (Validate).
func (u ScriptUpdate) ValidateCreate() error {
	if u.Name == nil {
		return fieldError("name", "name is required")
	}
	if u.Source == nil {
		return fieldError("source", "source is required")
	}
	return u.Validate()
}

// NewScript is the script that a valid create request describes, before the
// store gives it an id and version 1. Settings left out are 0 (the server's
// defaults).
func (u ScriptUpdate) NewScript() *Script {
	sc := &Script{}
	u.Apply(sc)
	sc.Version = 0 // the store numbers the first version
	return sc
}

// RollbackRequest is the body of POST /api/scripts/{id}/rollback: make a new
// version whose source is version Version's.
type RollbackRequest struct {
	Version *int `json:"version"`
}

// Validate requires a version number of at least 1.
func (r RollbackRequest) Validate() error {
	if r.Version == nil {
		return fieldError("version", "version is required")
	}
	if *r.Version < 1 {
		return fieldError("version", "version must be at least 1")
	}
	return nil
}

// ValidateRequest is the body of POST /api/validate.
type ValidateRequest struct {
	Source *string `json:"source"`
}

// Validate requires the source.
func (r ValidateRequest) Validate() error {
	if r.Source == nil {
		return fieldError("source", "source is required")
	}
	return nil
}

// SourceError is one compile error of a source: Rhai's error kind, its
// message and its position (1-based; 0 when unknown).
type SourceError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
}

// ValidateResponse answers POST /api/validate. Errors is empty, never null,
// when OK.
type ValidateResponse struct {
	OK     bool          `json:"ok"`
	Errors []SourceError `json:"errors"`
}

// InvokeRequest is the body of POST /api/scripts/{id}/invoke: the request a
// test run hands the script. Method defaults to POST; Path is the URL path
// the script sees; Body nil means no body.
type InvokeRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
}

// Validate checks that the method is an HTTP token, the path is empty or
// absolute, and header names and values could travel in a real request.
func (r InvokeRequest) Validate() error {
	if r.Method != "" && !isToken(r.Method) {
		return fieldError("method", "method %q is not an HTTP method", r.Method)
	}
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
		return fieldError("path", "path must start with /")
	}
	for k, v := range r.Headers {
		if !isToken(k) {
			return fieldError("headers", "header name %q is not valid", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return fieldError("headers", "the value of header %q contains a line break or NUL", k)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// InvokeResponse answers POST /api/scripts/{id}/invoke: everything about the
// test run. Response is what a caller got (nil when the execution failed; then
// Code is the API error code a caller would have got and Error the full error).
type InvokeResponse struct {
	ExecutionID string          `json:"execution_id"`
	Status      ExecutionStatus `json:"status"`
	DurationMS  float64         `json:"duration_ms"`
	Operations  uint64          `json:"operations"`
	Logs        []LogLine       `json:"logs"`
	Error       *ExecError      `json:"error"`
	Response    *ResponseRecord `json:"response"`
	Code        string          `json:"code,omitempty"`
}

// LastExecution is a script's most recent execution in the script list.
type LastExecution struct {
	Status    ExecutionStatus `json:"status"`
	StartedAt Time            `json:"started_at"`
}

// ScriptSummary is a script in the list, with its recent executions:
// LastExecution and ErrorRate (over the last 100 executions, 0..1) are null
// when it never ran.
type ScriptSummary struct {
	Script
	LastExecution *LastExecution `json:"last_execution"`
	ErrorRate     *float64       `json:"error_rate"`
}

// summaryFields are ScriptSummary's own fields, as JSON.
type summaryFields struct {
	LastExecution *LastExecution `json:"last_execution"`
	ErrorRate     *float64       `json:"error_rate"`
}

// MarshalJSON writes the script (Script.MarshalJSON) and the summary's own
// fields. Without it the embedded Script's method would be promoted and
// drop last_execution and error_rate.
func (s ScriptSummary) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(s.Script)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(summaryFields{s.LastExecution, s.ErrorRate})
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), extra[1:]...), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *ScriptSummary) UnmarshalJSON(b []byte) error {
	var extra summaryFields
	if err := json.Unmarshal(b, &extra); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &s.Script); err != nil {
		return err
	}
	s.LastExecution, s.ErrorRate = extra.LastExecution, extra.ErrorRate
	return nil
}

// ScriptList answers GET /api/scripts.
type ScriptList struct {
	Items []ScriptSummary `json:"items"`
}

// VersionList answers GET /api/scripts/{id}/versions, newest first.
type VersionList struct {
	Items []*Version `json:"items"`
}

// ExecutionList answers GET /api/scripts/{id}/logs: a page of execution logs,
// newest first, with the limit and offset that made it.
type ExecutionList struct {
	Items  []*ExecutionLog `json:"items"`
	Limit  int             `json:"limit"`
	Offset int             `json:"offset"`
}

// Health statuses: the whole process is ok, degraded (a component is down but
// scripts still run) or down (it cannot run scripts: 503); a component is ok
// or down.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
	HealthDown     = "down"
)

// SessionRequest is the body of POST /api/session.
type SessionRequest struct {
	Token string `json:"token"`
}

// Validate accepts any token: a wrong one is a 401, counted as a failure.
func (SessionRequest) Validate() error { return nil }

// SessionResponse answers /api/session: whether the caller is signed in, how
// (GET: "bearer" or "session"), when a new session expires (POST), and the
// token it acts as, so that the dashboard knows what it may do.
type SessionResponse struct {
	Authenticated bool          `json:"authenticated"`
	Method        string        `json:"method,omitempty"`
	ExpiresAt     *Time         `json:"expires_at,omitempty"`
	Token         *SessionToken `json:"token,omitempty"`
	OIDC          *SessionOIDC  `json:"oidc,omitempty"` // GET: whether single sign-on is configured
}

// SessionToken is the token a signed-in caller acts as: the admin token (id
// and name "admin", scopes [admin]) or a named API token.
type SessionToken struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Scopes  []string `json:"scopes"`
	Scripts string   `json:"scripts,omitempty"` // the name pattern restricting it; "" all scripts
	// SSO marks a single sign-on (OIDC) session: ID is then "", Name who
	// the identity provider signed in and Scopes what the grants gave.
	SSO bool `json:"sso,omitempty"`
}

// SessionOIDC tells the dashboard whether single sign-on is configured (GET
// /api/session), so that it can offer the button.
type SessionOIDC struct {
	Enabled bool `json:"enabled"`
}

// Health answers GET /api/health.
type Health struct {
	Service    string                     `json:"service"` // always "picloud"
	Status     string                     `json:"status"`
	Version    string                     `json:"version"`
	Components map[string]HealthComponent `json:"components"`
}

// HealthComponent is the state of one part the process depends on: Status ok
// or down, Kind what it is (the store's "sqlite" or "postgres"), Message a
// short public explanation when down (never an internal error's text).
type HealthComponent struct {
	Status  string `json:"status"`
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
}

// fieldError is an invalid_request *Error whose details name the field.
func fieldError(field, format string, args ...any) *Error {
	e := Errorf(EInvalidRequest, format, args...)
	e.Details = map[string]any{"field": field}
	return e
}
