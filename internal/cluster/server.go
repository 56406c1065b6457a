package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The bounds of the bodies the Server reads. Execution batches, queued
// runs and events carry requests, responses and logs, each already cut by
// the node's own limits: MaxBodyBytes (DefaultMaxBodyBytes) bounds them. A
// kv request holds at most a value and an expected value of
// picloud.MaxKVValueBytes each; a node's record is small.
const (
	DefaultMaxBodyBytes = 8 << 20
	maxKVBodyBytes      = 2*picloud.MaxKVValueBytes + 64<<10
	maxNodeBodyBytes    = 64 << 10
	MaxNodeNameBytes    = 128
)

// ServerConfig configures a Server. Store is required; the zero values of
// the rest take their defaults.
type ServerConfig struct {
	// Token is the cluster token every request must carry.
	Token string
	Store picloud.Store
	// Secrets reads the secrets nodes ask for; nil: GET secrets answers
	// 503 unavailable.
	Secrets picloud.SecretReader
	// Queue takes the runs and events nodes queue; nil: 503 unavailable.
	Queue picloud.JobQueue
	// Feed carries script changes to the change streams; nil: GET changes
	// answers 503 unavailable.
	Feed    *Feed
	Version string // the manager's, sent in every stream's hello
	// MaxBodyBytes bounds execution batches, queued runs and events
	// (DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// PingEvery is the change streams' keep-alive period (PingEvery).
	PingEvery time.Duration
	Logger    *slog.Logger
	// OnIngest is called with the rows of every execution batch received;
	// OnNode after every node report saved; OnAuthFailure on every request
	// refused for its token. All may be nil.
	OnIngest      func(rows int)
	OnNode        func()
	OnAuthFailure func()
	// OnStored, when set, gets every execution batch received once the
	// store holds it (the live tail announces the rows); it must not block.
	OnStored func(rows []*picloud.ExecutionLog)
	// Authorize answers POST PathAuthorize: whether the credential of kind
	// whose hash is hash may invoke sc (manager.InvokeAuth's Authorize);
	// nil: 503 unavailable.
	Authorize func(ctx context.Context, sc *picloud.Script, kind, hash string) (keyID string, err error)
}

// Server is the manager's side of the cluster API: every route of
// protocol.go under Prefix, behind the cluster token.
type Server struct {
	cfg     ServerConfig
	log     *slog.Logger
	maxBody int64
	handler http.Handler

	closeOnce sync.Once
	closing   chan struct{}
}

// NewServer makes a Server from cfg.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{cfg: cfg, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		maxBody: cmp.Or(max(cfg.MaxBodyBytes, 0), DefaultMaxBodyBytes), closing: make(chan struct{})}
	if s.cfg.PingEvery <= 0 {
		s.cfg.PingEvery = PingEvery
	}
	mux := http.NewServeMux()
	handlers := map[string]http.HandlerFunc{
		PathNode:       s.handleNode,
		PathScript:     s.handleScript,
		PathScripts:    s.handleScriptByName,
		PathChanges:    s.handleChanges,
		PathExecutions: s.handleExecutions,
		PathKV:         s.handleKV,
		PathSecret:     s.handleSecret,
		PathJobs:       s.handleJobs,
		PathEvents:     s.handleEvents,
		PathAuthorize:  s.handleAuthorize,
		PathPing:       func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
	}
	for _, r := range ServerRoutes() {
		mux.HandleFunc(r.Method+" "+r.Path, handlers[r.Path])
		// The same path without a method is less specific: it takes the
		// other methods, answered in the standard error body (ServeMux's
		// own 405 is plain text).
		mux.HandleFunc(r.Path, methodNotAllowed(r.Method))
	}
	mux.HandleFunc("/", httpapi.NotFound)
	s.handler = RequireToken(cfg.Token, mux, cfg.OnAuthFailure)
	return s
}

// Route is one route of the cluster API: a method and a path pattern.
type Route struct{ Method, Path string }

// ServerRoutes lists the manager's cluster API routes (all behind the cluster
// token), for the server's mux and for the app's route table, which lists
// them without serving them one by one.
func ServerRoutes() []Route {
	return []Route{
		{"PUT", PathNode},
		{"GET", PathScript},
		{"GET", PathScripts},
		{"GET", PathChanges},
		{"POST", PathExecutions},
		{"POST", PathKV},
		{"GET", PathSecret},
		{"POST", PathJobs},
		{"POST", PathEvents},
		{"POST", PathAuthorize},
		{"GET", PathPing},
	}
}

// methodNotAllowed answers a cluster path asked with a method other than allow.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		httpapi.WriteError(w, r, nil, picloud.Errorf(picloud.EMethodNotAllowed, "%s %s: only %s", r.Method, r.URL.Path, allow))
	}
}

// Handler serves the cluster API; mount it at Prefix.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends every open change stream (their nodes reconnect, to another
// manager or to this one restarted). Requests served afterwards still work;
// a new change stream ends at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.WriteError(w, r, s.log, err)
}

// decode reads a JSON body of at most limit bytes into v. Unlike the admin
// API it accepts unknown fields: a manager and its nodes may run different
// releases while a cluster is upgraded one machine at a time, and a field a
// newer node sends must not make an older manager refuse its rows.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return httpapi.ReadWithin(w, httpapi.DefaultBodyReadTimeout, func() error {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
		if err := dec.Decode(v); err != nil {
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				return picloud.Errorf(picloud.EPayloadTooLarge, "request body is over %d bytes", limit)
			case errors.Is(err, io.EOF):
				return picloud.Errorf(picloud.EInvalidRequest, "request body is empty")
			}
			return picloud.Errorf(picloud.EInvalidRequest, "malformed JSON: %v", err)
		}
		if dec.More() {
			return picloud.Errorf(picloud.EInvalidRequest, "malformed JSON: trailing data")
		}
		return nil
	})
}

// handleNode registers a node or takes its heartbeat: the whole record,
// stamped with the manager's clock (nodes' clocks may disagree; the lost
// check compares with the manager's).
func (s *Server) handleNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var n picloud.Node
	if err := decode(w, r, maxNodeBodyBytes, &n); err != nil {
		s.fail(w, r, err)
		return
	}
	if n.Name == "" {
		n.Name = name
	}
	if err := validNode(name, &n); err != nil {
		s.fail(w, r, err)
		return
	}
	n.LastHeartbeat = picloud.Time{Time: time.Now().UTC()}
	if err := s.cfg.Store.SaveNode(r.Context(), &n); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.OnNode != nil {
		s.cfg.OnNode()
	}
	httpapi.WriteJSON(w, http.StatusOK, &n)
}

// validNode checks a node's report: its name (the path's), its address (the
// manager dispatches jobs there) and its status.
func validNode(name string, n *picloud.Node) error {
	if err := ValidNodeName(name); err != nil {
		return err
	}
	if n.Name != name {
		return nodeError("name", "the body names node %q, the path %q", n.Name, name)
	}
	u, err := url.Parse(n.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nodeError("address", "address %q is not an http:// or https:// URL (the node's --advertise)", n.Address)
	}
	switch n.Status {
	case "":
		n.Status = picloud.NodeOK
	case picloud.NodeOK, picloud.NodeDegraded, picloud.NodeDown:
	default:
		return nodeError("status", "status %q is not %s, %s or %s", n.Status, picloud.NodeOK, picloud.NodeDegraded, picloud.NodeDown)
	}
	if n.Capacity < 0 || n.Load < 0 || n.JournalBytes < 0 {
		return nodeError("capacity", "capacity, load and journal_bytes cannot be negative")
	}
	return nil
}

// ValidNodeName checks a node's name: 1 to MaxNodeNameBytes bytes of
// printable ASCII without spaces or '/' (it appears in URLs, logs and the
// dashboard; "web-1:8001" is the default form).
func ValidNodeName(name string) error {
	if name == "" || len(name) > MaxNodeNameBytes || !utf8.ValidString(name) {
		return nodeError("name", "a node name is 1 to %d bytes", MaxNodeNameBytes)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' || c == '/' {
			return nodeError("name", "node name %q has a character other than printable ASCII (no spaces, no '/')", name)
		}
	}
	return nil
}

func nodeError(field, format string, args ...any) error {
	return &picloud.Error{Code: picloud.EInvalidRequest, Message: fmt.Sprintf(format, args...), Details: map[string]any{"field": field}}
}

// handleScript answers a script with its source; picloud.Script's JSON
// carries every field a node's orchestrator and executor read (enabled
// included, as the inverse of Disabled).
func (s *Server) handleScript(w http.ResponseWriter, r *http.Request) {
	sc, err := s.cfg.Store.Script(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

func (s *Server) handleScriptByName(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		s.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "GET %s needs ?name=", PathScripts))
		return
	}
	sc, err := s.cfg.Store.ScriptByName(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// handleChanges streams the change feed: hello, then every change, with a
// ping comment every PingEvery, until the node goes, the feed drops the
// stream (it fell behind, or changes may have been missed) or Close.
// feedReadyWait bounds how long a change stream waits for the feed to
// listen before its hello; past it, the stream starts and is resynchronised
// once the feed listens.
var feedReadyWait = 5 * time.Second

func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Feed == nil {
		s.fail(w, r, picloud.Errorf(picloud.EUnavailable, "this manager has no change feed"))
		return
	}
	// A manager that has just started may not listen to the database yet:
	// wait for it (bounded), rather than say hello and then close the
	// stream to resynchronise once it does.
	select {
	case <-s.cfg.Feed.Ready():
	case <-time.After(feedReadyWait):
	case <-r.Context().Done():
		return
	case <-s.closing:
		return
	}
	// Subscribe before the hello: a change made between the two is sent,
	// never lost.
	changes, unsubscribe := s.cfg.Feed.Subscribe()
	defer unsubscribe()

	// The server's deadlines are for requests, not for a stream that lasts
	// as long as the node runs. The read deadline matters too: net/http
	// reads the connection in the background to notice the client leaving,
	// and a deadline firing there would cancel the stream. A writer that
	// cannot set deadlines (a test recorder) has none to clear.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // a buffering proxy would hold the events back
	w.WriteHeader(http.StatusOK)
	if err := writeEvent(w, rc, EventHello, Hello{Manager: s.cfg.Version}); err != nil {
		return
	}
	ping := time.NewTicker(s.cfg.PingEvery)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case c, ok := <-changes:
			if !ok {
				return
			}
			if err := writeEvent(w, rc, EventChange, c); err != nil {
				return
			}
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}

// writeEvent writes one server-sent event and flushes it. JSON has no
// newline, so the data is one line.
func writeEvent(w io.Writer, rc *http.ResponseController, event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	return rc.Flush()
}

// handleExecutions stores a batch of execution rows. Ingestion is
// idempotent by execution id (the stores skip an id they hold), so a node
// that lost the answer sends the batch again without harm. A batch over
// MaxBodyBytes is refused as payload_too_large; the node's journal then
// sends it in smaller batches.
func (s *Server) handleExecutions(w http.ResponseWriter, r *http.Request) {
	var b ExecutionBatch
	if err := decode(w, r, s.maxBody, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	for i, l := range b.Items {
		if l == nil || l.ID == "" || l.ScriptID == "" {
			s.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "execution %d of the batch has no id or script_id", i))
			return
		}
	}
	if err := s.cfg.Store.InsertExecutions(r.Context(), b.Items); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.OnIngest != nil {
		s.cfg.OnIngest(len(b.Items))
	}
	if s.cfg.OnStored != nil {
		s.cfg.OnStored(b.Items)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleKV runs one picloud.KVStore method for a node's kv:: call. The node
// has already applied the script's rules (namespaces it may reach, key and
// value checks, quotas in the write); keys are checked again here, values
// by the store.
func (s *Server) handleKV(w http.ResponseWriter, r *http.Request) {
	var q KVRequest
	if err := decode(w, r, maxKVBodyBytes, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.NS == "" {
		s.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "kv: a request names its namespace (ns)"))
		return
	}
	op := r.PathValue("op")
	switch op {
	case KVGet, KVSet, KVDelete, KVIncr, KVCAS:
		if err := picloud.ValidKVKey(q.Key); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var write picloud.KVWrite
	if q.Write != nil {
		write = *q.Write
	}
	ctx, kv := r.Context(), picloud.KVStore(s.cfg.Store)
	var (
		answer any
		err    error
	)
	switch op {
	case KVGet:
		answer, err = kv.KVGet(ctx, q.NS, q.Key)
	case KVSet:
		if q.Write == nil {
			err = picloud.Errorf(picloud.EInvalidRequest, "kv: set needs a write")
		} else {
			err = kv.KVSet(ctx, q.NS, q.Key, write)
		}
	case KVDelete:
		var deleted bool
		deleted, err = kv.KVDelete(ctx, q.NS, q.Key)
		answer = KVResponse{Deleted: deleted}
	case KVIncr:
		var v int64
		v, err = kv.KVIncr(ctx, q.NS, q.Key, q.By, write)
		answer = KVResponse{Value: v}
	case KVCAS:
		if q.Write == nil {
			err = picloud.Errorf(picloud.EInvalidRequest, "kv: cas needs a write")
			break
		}
		var swapped bool
		swapped, err = kv.KVCompareAndSet(ctx, q.NS, q.Key, q.Expected, write)
		answer = KVResponse{Swapped: swapped}
	case KVList:
		answer, err = kv.KVList(ctx, q.NS, q.Prefix, q.Cursor, q.Limit)
	case KVUsage:
		answer, err = kv.KVUsage(ctx, q.NS)
	case KVDropNS:
		err = kv.DeleteKVNamespace(ctx, q.NS)
	default:
		err = picloud.Errorf(picloud.ENotFound, "kv: no operation %q", op)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if answer == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, answer)
}

// handleSecret answers a secret's plaintext, as secret(name) reads it;
// with ?own=1 (a confined script's read) the script's own secret only.
func (s *Server) handleSecret(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Secrets == nil {
		s.fail(w, r, picloud.Errorf(picloud.EUnavailable, "secrets are unavailable on this manager (no secret key)"))
		return
	}
	scriptID := r.PathValue("script_id")
	if scriptID == NoScript {
		scriptID = "" // the global secret only
	}
	read := s.cfg.Secrets.Secret
	if r.URL.Query().Get("own") == "1" {
		own, ok := s.cfg.Secrets.(picloud.OwnSecretReader)
		if !ok {
			s.fail(w, r, picloud.Errorf(picloud.EUnavailable, "this manager cannot read a script's own secrets alone"))
			return
		}
		read = own.OwnSecret
	}
	v, err := read(r.Context(), scriptID, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, SecretValue{Value: v})
}

// handleJobs queues an asynchronous run for a node (Prefer: respond-async).
// The script is read here, not taken from the node: the queue's checks
// (disabled, max_attempts) see the stored settings.
func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	var q EnqueueRequest
	if err := decode(w, r, s.maxBody, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.ScriptID == "" || q.Request == nil {
		s.fail(w, r, picloud.Errorf(picloud.EInvalidRequest, "a queued run needs script_id and request"))
		return
	}
	if err := picloud.ValidIdempotencyKey(q.Options.IdempotencyKey); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Queue == nil {
		s.fail(w, r, picloud.Errorf(picloud.EUnavailable, "this manager has no job queue"))
		return
	}
	sc, err := s.cfg.Store.Script(r.Context(), q.ScriptID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	job, existing, err := s.cfg.Queue.Enqueue(r.Context(), sc, q.Request, q.Options)
	if err != nil {
		s.fail(w, r, err) // queue_full keeps its retry_after
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, EnqueueResponse{Job: job, Existing: existing})
}

// handleEvents publishes the events a node's execution emitted. A script
// deleted since it ran still has its events delivered, as on the all-in-one
// server (each event names its emitter).
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	var q PublishRequest
	if err := decode(w, r, s.maxBody, &q); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Queue == nil {
		s.fail(w, r, picloud.Errorf(picloud.EUnavailable, "this manager has no job queue"))
		return
	}
	var from *picloud.Script
	if q.FromScriptID != "" {
		sc, err := s.cfg.Store.Script(r.Context(), q.FromScriptID)
		switch {
		case err == nil:
			from = sc
		case picloud.ErrorCode(err) != picloud.ENotFound:
			s.fail(w, r, err)
			return
		}
	}
	if err := s.cfg.Queue.Publish(r.Context(), from, q.Events); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
