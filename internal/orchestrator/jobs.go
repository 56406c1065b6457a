package orchestrator

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
)

// disabled is the error a disabled script's invocations get.
func disabled(sc *picloud.Script) error { return picloud.ErrDisabled(sc) }

// preferAsync reports whether a request asks to be answered before it runs:
// a Prefer header (RFC 7240) with the preference respond-async. Prefer is a
// comma-separated list (over one or more header lines) of preferences, each
// a case-insensitive token with an optional "=value" and ";parameters",
// where a quoted value may hold commas.
func preferAsync(h http.Header) bool {
	for _, v := range h["Prefer"] {
		for len(v) > 0 {
			var pref string
			pref, v = nextListElement(v)
			name := pref
			if i := strings.IndexAny(name, "=;"); i >= 0 {
				name = name[:i]
			}
			if strings.EqualFold(strings.TrimSpace(name), "respond-async") {
				return true
			}
		}
	}
	return false
}

// nextListElement splits an HTTP list at its first comma outside a quoted
// string: the first element and the rest after the comma.
func nextListElement(v string) (elem, rest string) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++ // the escaped character, whatever it is
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return v[:i], v[i+1:]
		}
	}
	return v, ""
}

// enqueue answers an asynchronous invocation: the request (its body read
// within the same limits as a synchronous one, PiCloud's credentials
// stripped) is queued as a job, and the caller gets 202 with the job's id.
// Idempotency-Key is passed to the queue, which answers a repeated key with
// the first job.
func (o *Orchestrator) enqueue(w http.ResponseWriter, r *http.Request, e *compiled, subpath string) {
	q := o.jobQueue()
	if q == nil {
		httpapi.WriteError(w, r, o.log, picloud.Errorf(picloud.EUnavailable, "asynchronous invocations are not available on this server"))
		return
	}
	body, err := o.readBody(w, r)
	if err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	req := &picloud.JobRequest{Method: r.Method, Path: r.URL.Path, Subpath: subpath,
		Header: o.stripTokens(executor.StripCredentials(r.Header)), Body: body}
	if r.URL.RawQuery != "" {
		req.Query = r.URL.Query()
	}
	opts := picloud.EnqueueOptions{Trigger: picloud.TriggerAsync, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if err := picloud.ValidIdempotencyKey(opts.IdempotencyKey); err != nil {
		httpapi.WriteError(w, r, o.log, err)
		return
	}
	// Bounded: on a node the queue is the manager's, and a hung manager
	// must not hold the caller for the cluster client's whole timeout.
	ectx, cancel := context.WithTimeout(r.Context(), QueueTimeout)
	defer cancel()
	job, existing, err := q.Enqueue(ectx, e.script, req, opts)
	if err != nil {
		if r.Context().Err() == nil {
			httpapi.WriteError(w, r, o.log, err)
		}
		return
	}
	w.Header().Set("Preference-Applied", "respond-async")
	httpapi.WriteAccepted(w, job.ID, existing)
}

// stripTokens drops from h (a copy) the values holding one of the extra
// credentials (Config.RedactTokens: a node's cluster token): a queued run's
// request is stored in the job queue and shown by GET /api/jobs/{id}.
func (o *Orchestrator) stripTokens(h http.Header) http.Header {
	if len(o.capture.tokens) == 0 {
		return h
	}
	for k, vs := range h {
		kept := vs[:0:0]
		for _, v := range vs {
			if !holdsToken(v, o.capture.tokens) {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(h, k)
		} else {
			h[k] = kept
		}
	}
	return h
}

// QueueTimeout bounds queueing an asynchronous invocation and publishing a
// run's events: both happen before the response is written, and on a
// cluster node they are calls to the manager.
const QueueTimeout = 5 * time.Second

// publish hands the events of a successful execution of sc to the queue,
// after its row is recorded and before its response is written. The caller
// leaving does not stop it. A failure loses the events: it is logged, the
// execution's outcome stands.
func (o *Orchestrator) publish(ctx context.Context, sc *picloud.Script, events []picloud.Event) {
	if len(events) == 0 {
		return
	}
	q := o.jobQueue()
	if q == nil {
		o.log.Warn("orchestrator: events dropped: no job queue", "script", sc.Name, "events", len(events))
		return
	}
	// Bounded, as the response waits for it (a hung manager, on a node).
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), QueueTimeout)
	defer cancel()
	if err := q.Publish(pctx, sc, events); err != nil {
		o.log.Warn("orchestrator: events not delivered", "script", sc.Name, "script_id", sc.ID, "events", len(events), "err", err)
	}
}

// RunJob runs one attempt of a job (picloud.JobRunner): through the same
// gate, limits and sink as an HTTP request, with the run's trigger and job
// fields on the request the script sees and on the row. The error is set
// when nothing ran: the script is gone (not_found) or disabled
// (unavailable), or the gate or the sink had no room (overloaded,
// unavailable), which the queue retries later without spending an attempt.
func (o *Orchestrator) RunJob(ctx context.Context, run *picloud.JobRun) (*picloud.ExecutionLog, error) {
	e, err := o.cache.get(ctx, run.ScriptID)
	if err != nil {
		return nil, err
	}
	sc := e.script
	if sc.Disabled {
		return nil, disabled(sc)
	}
	trig := cmp.Or(run.Trigger, picloud.TriggerAsync)
	req := jobRequest(sc, run, trig)
	res, l, err := o.run(ctx, e, req, trig, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	l.JobID, l.Attempt = run.JobID, run.Attempt
	if run.Schedule != nil {
		l.ScheduleID = run.Schedule.ID
	}
	o.record(ctx, l)
	if res.Status == picloud.StatusSuccess {
		o.publish(ctx, sc, res.Events)
	}
	return l, nil
}

// jobRequest is the request a job's run sees: the stored request (an async
// invocation keeps its method, path, query and headers), by default POST
// /fn/{name}; an event run without one gets the event's payload as its JSON
// body. A cron or event body that is JSON and has no Content-Type is read as
// JSON (request.body the parsed value).
func jobRequest(sc *picloud.Script, run *picloud.JobRun, trig picloud.Trigger) *executor.Request {
	req := &executor.Request{Method: http.MethodPost, Path: "/fn/" + sc.Name, Header: http.Header{},
		Trigger: trig, JobID: run.JobID, Attempt: run.Attempt, Schedule: run.Schedule, Event: run.Event}
	if jr := run.Request; jr != nil {
		req.Method = cmp.Or(jr.Method, req.Method)
		req.Path = cmp.Or(jr.Path, req.Path)
		req.Subpath = jr.Subpath
		if len(jr.Query) > 0 {
			req.Query = url.Values(jr.Query)
		}
		if jr.Header != nil {
			req.Header = http.Header(jr.Header)
		}
		req.Body = jr.Body
	} else if run.Event != nil && len(run.Event.Payload) > 0 {
		req.Body = run.Event.Payload
	}
	if (trig == picloud.TriggerCron || trig == picloud.TriggerEvent) && len(req.Body) > 0 &&
		req.Header.Get("Content-Type") == "" && json.Valid(req.Body) {
		req.Header = req.Header.Clone()
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// The orchestrator runs the queue's jobs.
var _ picloud.JobRunner = (*Orchestrator)(nil)
