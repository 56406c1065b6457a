package cluster

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// MaxRunBytes bounds the body of POST PathRun. The job's request body was
// already bounded by the manager's --max-body-bytes; this only keeps a
// broken peer from filling the node's memory, so it is generous (a body of
// 1 MiB travels as about 1.4 MiB of base64).
const MaxRunBytes = 256 << 20

// maxRunBytes is MaxRunBytes, lowered by a test that would otherwise send
// a quarter of a gigabyte.
var maxRunBytes int64 = MaxRunBytes

// RunHandler serves POST PathRun on a node: it runs the attempt the
// manager's dispatcher sends (a picloud.JobRun) with runner (the node's
// orchestrator) and answers 200 with the execution's log (already recorded
// in the node's journal), or, when nothing ran, the error body of RunJob's
// error with its code (not_found: the script is gone; unavailable:
// disabled, or the node is stopping; overloaded: the node is at capacity),
// which the dispatcher turns back into the same *picloud.Error.
//
// The caller checks the cluster token (RequireToken).
func RunHandler(runner picloud.JobRunner, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpapi.WriteError(w, r, logger, picloud.Errorf(picloud.EMethodNotAllowed, "%s %s: only POST", r.Method, r.URL.Path))
			return
		}
		var run picloud.JobRun
		if err := httpapi.ReadWithin(w, httpapi.DefaultBodyReadTimeout, func() error { return decodeRun(w, r, &run) }); err != nil {
			httpapi.WriteError(w, r, logger, err)
			return
		}
		if run.ScriptID == "" || run.JobID == "" {
			httpapi.WriteError(w, r, logger, picloud.Errorf(picloud.EInvalidRequest, "a job run needs its job id and script id"))
			return
		}
		log, err := runner.RunJob(r.Context(), &run)
		if err != nil {
			// Not an internal error of the node when it is one of the
			// runner's codes; WriteError logs the rest.
			httpapi.WriteError(w, r, logger, err)
			return
		}
		if log == nil {
			httpapi.WriteError(w, r, logger, errors.New("cluster: the runner returned no execution and no error"))
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, log)
	})
}

// decodeRun reads a JobRun. Unlike the admin API's decoding it accepts
// unknown fields: during a rolling upgrade a newer manager may dispatch to
// an older node, which should run what it understands.
func decodeRun(w http.ResponseWriter, r *http.Request, run *picloud.JobRun) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRunBytes))
	if err := dec.Decode(run); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return picloud.Errorf(picloud.EPayloadTooLarge, "a job run is at most %d bytes", maxRunBytes)
		case errors.Is(err, io.EOF):
			return picloud.Errorf(picloud.EInvalidRequest, "request body is empty")
		}
		return picloud.Errorf(picloud.EInvalidRequest, "malformed job run: %v", err)
	}
	return nil
}
