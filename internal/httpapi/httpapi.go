// Package httpapi is the JSON conventions the manager's and orchestrator's
// handlers share: the table from error codes to HTTP statuses, error bodies,
// and request decoding with a size limit.
package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/picloud/picloud"
)

// statuses maps every error code to its HTTP status.
var statuses = map[string]int{
	picloud.EInvalidRequest:   http.StatusBadRequest,
	picloud.EInvalidSource:    http.StatusBadRequest,
	picloud.EUnauthorized:     http.StatusUnauthorized,
	picloud.EForbidden:        http.StatusForbidden,
	picloud.ENotFound:         http.StatusNotFound,
	picloud.EMethodNotAllowed: http.StatusMethodNotAllowed,
	picloud.ENameTaken:        http.StatusConflict,
	picloud.EPayloadTooLarge:  http.StatusRequestEntityTooLarge,
	picloud.EOverloaded:       http.StatusTooManyRequests,
	picloud.ERateLimited:      http.StatusTooManyRequests,
	picloud.EQueueFull:        http.StatusTooManyRequests,
	picloud.EUnavailable:      http.StatusServiceUnavailable,
	picloud.EScriptError:      http.StatusInternalServerError,
	picloud.EInvalidResponse:  http.StatusInternalServerError,
	picloud.EBudgetExceeded:   http.StatusServiceUnavailable,
	picloud.ETimeout:          http.StatusGatewayTimeout,
	picloud.EInternal:         http.StatusInternalServerError,
}

// Status returns the HTTP status of an error code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WriteJSON writes v as the JSON body of a response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":{"code":"internal","message":"internal error"}}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// WriteAccepted answers 202 Accepted for a queued run: its job's id, and
// Location naming the job (GET /api/jobs/{id}). Existing says an
// Idempotency-Key matched an earlier job.
func WriteAccepted(w http.ResponseWriter, jobID string, existing bool) {
	w.Header().Set("Location", "/api/jobs/"+jobID)
	WriteJSON(w, http.StatusAccepted, picloud.JobAccepted{JobID: jobID, Existing: existing})
}

// WriteError writes err as {"error": {"code", "message", ...details}}. An error
// that is not a *picloud.Error is logged and answered as internal, saying
// nothing of its text.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := picloud.ErrorCode(err)
	if code == picloud.EInternal && log != nil {
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status, body := ErrorJSON(err)
	w.Header().Set("Content-Type", "application/json")
	if s, ok := retryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	w.WriteHeader(status)
	w.Write(body)
}

// retryAfter is an error's Details["retry_after"] (whole seconds, at least
// 1), which WriteError sends as the Retry-After header too.
func retryAfter(err error) (int, bool) {
	var e *picloud.Error
	if !errors.As(err, &e) || e.Details == nil {
		return 0, false
	}
	var s float64
	switch v := e.Details["retry_after"].(type) {
	case int:
		s = float64(v)
	case int64:
		s = float64(v)
	case float64:
		s = v
	default:
		return 0, false
	}
	return max(1, int(math.Ceil(s))), true
}

// ErrorJSON returns the status and the body WriteError answers err with.
func ErrorJSON(err error) (int, []byte) {
	code := picloud.ErrorCode(err)
	body := map[string]any{"code": code, "message": picloud.ErrorMessage(err)}
	var e *picloud.Error
	if errors.As(err, &e) {
		for k, v := range e.Details {
			body[k] = v
		}
	}
	b, jerr := json.Marshal(map[string]any{"error": body})
	if jerr != nil {
		return http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}` + "\n")
	}
	return Status(code), append(b, '\n')
}

// DefaultBodyReadTimeout bounds reading a request's body: a client that
// trickles it in slower than this gets 400 and its connection closed, rather
// than holding a goroutine and a buffer for as long as it likes.
const DefaultBodyReadTimeout = 30 * time.Second

// ReadWithin runs read (which reads r's body) under a read deadline of
// timeout on the connection. Once the body is read the deadline is lifted:
// net/http keeps reading the connection in the background to notice a client
// leaving, and a deadline firing there would cancel the request's context.
// When the body did not arrive the deadline stays and the connection is
// closed, so that net/http does not wait for the rest of it either.
func ReadWithin(w http.ResponseWriter, timeout time.Duration, read func() error) error {
	deadline := time.Now().Add(timeout)
	rc := http.NewResponseController(w)
	// A writer that cannot set deadlines (a test recorder) reads without one.
	hasDeadline := rc.SetReadDeadline(deadline) == nil
	err := read()
	if err == nil {
		if hasDeadline {
			rc.SetReadDeadline(time.Time{})
		}
		return nil
	}
	w.Header().Set("Connection", "close")
	if picloud.ErrorCode(err) == picloud.EInvalidRequest && !time.Now().Before(deadline) {
		return picloud.Errorf(picloud.EInvalidRequest, "the request body did not arrive within %v", timeout)
	}
	return err
}

// Decode reads a JSON body of at most limit bytes into v, within
// DefaultBodyReadTimeout, refusing unknown fields so that a misspelt field is
// an error rather than ignored.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return ReadWithin(w, DefaultBodyReadTimeout, func() error { return decode(w, r, limit, v) })
}

func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return picloud.Errorf(picloud.EPayloadTooLarge, "request body is over %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			return picloud.Errorf(picloud.EInvalidRequest, "request body is empty")
		}
		return picloud.Errorf(picloud.EInvalidRequest, "malformed JSON: %v", err)
	}
	if dec.More() {
		return picloud.Errorf(picloud.EInvalidRequest, "malformed JSON: trailing data")
	}
	return nil
}

// NotFound answers an unknown API route.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, nil, picloud.Errorf(picloud.ENotFound, "no route for %s %s", r.Method, r.URL.Path))
}

// ReadBody reads a request body of at most limit bytes.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil // a GET, usually: nothing to read, nothing to allocate
	}
	if r.ContentLength > limit {
		return nil, picloud.Errorf(picloud.EPayloadTooLarge, "request body is over %d bytes", limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, picloud.Errorf(picloud.EPayloadTooLarge, "request body is over %d bytes", limit)
	} else if err != nil {
		return nil, picloud.Errorf(picloud.EInvalidRequest, "reading the body: %v", err)
	}
	return b, nil
}
