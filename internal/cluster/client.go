package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud"
)

// ClientConfig configures a node's Client.
type ClientConfig struct {
	// ManagerURL is where the manager's cluster API is reached
	// ("https://manager.internal:8000"); http or https, no query.
	ManagerURL string
	// Token is the cluster token every request carries.
	Token string
	// HTTPClient carries the requests (its TLS configuration trusts the
	// manager's certificate); nil: a client of its own. Its Timeout, if any,
	// applies to every call but the change stream's, which has none.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client is a node's side of the cluster API: it stands in for the store (the
// scripts the orchestrator's cache loads, kv::'s state, the execution-log
// batches the journal delivers), the secret reader and the job queue, and it
// follows the manager's change feed. Errors the manager answered come back as
// the *picloud.Error it sent; a manager that does not answer is EUnavailable,
// so that a script's kv::get fails as it would with the database away.
type Client struct {
	base      string // ManagerURL without a trailing slash
	token     string
	http      *http.Client
	stream    *http.Client // http without its Timeout: a stream lasts
	log       *slog.Logger
	userAgent string

	// pingEvery is the manager's ping interval: a stream silent for three
	// of them is dead (a manager host that vanished without a FIN), and is
	// replaced. Tests shorten it.
	pingEvery time.Duration
	// backoffMin and backoffMax bound the wait between reconnections.
	backoffMin, backoffMax time.Duration

	connected   atomic.Bool
	lastContact atomic.Int64 // unix nanoseconds; 0: never
}

// maxAnswerBytes bounds an answer the client reads: a script's source, a kv
// value (1 MiB) or a job are far smaller; a manager (or a proxy) answering
// more is broken, and the node should not hold it in memory.
const maxAnswerBytes = 64 << 20

// maxEventBytes bounds one line of the change stream.
const maxEventBytes = 1 << 20

// NewClient makes a client of the manager at cfg.ManagerURL.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.ManagerURL)
	switch {
	case cfg.ManagerURL == "":
		return nil, errors.New("cluster: the manager's URL is required")
	case err != nil:
		return nil, fmt.Errorf("cluster: manager URL %q: %v", cfg.ManagerURL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("cluster: manager URL %q: the scheme must be http or https", cfg.ManagerURL)
	case u.Host == "":
		return nil, fmt.Errorf("cluster: manager URL %q has no host", cfg.ManagerURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("cluster: manager URL %q: no query or fragment allowed", cfg.ManagerURL)
	case u.User != nil:
		return nil, fmt.Errorf("cluster: manager URL %q: no user info allowed (the cluster token authenticates)", cfg.ManagerURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("cluster: the cluster token is required")
	}
	hc := tuned(cfg.HTTPClient)
	// The stream shares the transport (and its connections), not the
	// overall timeout a caller may have set for the other calls.
	sc := *hc
	sc.Timeout = 0
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		base:       strings.TrimRight(u.String(), "/"),
		token:      cfg.Token,
		http:       hc,
		stream:     &sc,
		log:        log,
		userAgent:  "picloud-node/" + picloud.BuildVersion,
		pingEvery:  PingEvery,
		backoffMin: 100 * time.Millisecond,
		backoffMax: 5 * time.Second,
	}, nil
}

// NewTransport is the transport of a node's (or a manager's) cluster
// client: one per process, so that connections are reused, with enough idle
// connections per host for a node's concurrent kv:: calls and batches
// (about 64) not to open and close one per call. tlsConfig (nil: the
// system's roots) is for --cluster-ca.
func NewTransport(tlsConfig *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	t.MaxIdleConns = 4 * idleConnsPerHost
	t.MaxIdleConnsPerHost = idleConnsPerHost
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// tuned is the HTTP client the Client uses: hc (nil: a new one), not
// following redirects, with a transport of NewTransport's pool size. net/http's default keeps two idle
// connections per host, so that a node's concurrent kv:: calls would open
// and close connections to the manager all day.
func tuned(hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(nil)}
	}
	c := *hc
	c.CheckRedirect = noRedirects
	switch t := hc.Transport.(type) {
	case nil:
		c.Transport = NewTransport(nil)
	case *http.Transport:
		if t.MaxIdleConnsPerHost < idleConnsPerHost {
			t = t.Clone()
			t.MaxIdleConnsPerHost = idleConnsPerHost
			t.MaxIdleConns = max(t.MaxIdleConns, 4*idleConnsPerHost)
			c.Transport = t
		}
	}
	return &c
}

// noRedirects makes the client answer a redirect as it came (see
// answerError).
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// idleConnsPerHost is the connections a node keeps open to its manager:
// enough for its concurrent executions' host calls.
const idleConnsPerHost = 64

// Compile-time checks: the client stands in for these inside a node.
var (
	_ picloud.ScriptStore    = (*Client)(nil)
	_ picloud.ExecutionStore = (*Client)(nil)
	_ picloud.KVStore        = (*Client)(nil)
	_ picloud.SecretReader   = (*Client)(nil)
	_ picloud.JobQueue       = (*Client)(nil)
)

// Connected reports whether the change stream is up now (its hello came
// and it has not ended): while it is, the node's cache is current.
func (c *Client) Connected() bool { return c.connected.Load() }

// LastContact is when the manager last answered a call or sent a byte on
// the change stream (zero: never).
func (c *Client) LastContact() time.Time {
	ns := c.lastContact.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (c *Client) touch() { c.lastContact.Store(time.Now().UnixNano()) }

// errReadOnly is the answer of the ScriptStore methods a node must not use.
func errReadOnly(what string) error {
	return picloud.Errorf(picloud.EUnavailable, "a node does not %s: that is the manager's", what)
}

// unreachable is the error of a call the manager did not answer.
func unreachable(format string, args ...any) error {
	return picloud.Errorf(picloud.EUnavailable, "manager unreachable: "+format, args...)
}

// Whether a request may be sent again when the connection it went out on
// turns out to be dead (a manager restarted since the connection was pooled).
const (
	replay   = true  // reads, and writes whose repetition changes nothing
	noReplay = false // incr, cas, delete (its answer would change), events
)

// call sends one request to path (already escaped) with in as its JSON body
// (nil: none) and decodes a 2xx answer into out (nil: ignored).
func (c *Client) call(ctx context.Context, method, path string, replayable bool, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("cluster: encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if replayable && method != http.MethodGet {
		// net/http sends a request again on a fresh connection when a
		// pooled one was dead, but only one it knows to be idempotent: an
		// Idempotency-Key entry without a value says so, and is not sent.
		req.Header["Idempotency-Key"] = nil
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return c.transportError(ctx, method, path, err)
	}
	if len(data) > maxAnswerBytes {
		return unreachable("%s %s answered more than %d bytes", method, path, maxAnswerBytes)
	}
	if resp.StatusCode >= 300 {
		// An API error body is the manager answering (a kv::get of a
		// missing key is contact too); a proxy's 502 is not.
		if _, ok := apiError(data); ok {
			c.touch()
		}
		return answerError(resp, data)
	}
	c.touch()
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("cluster: the manager's answer to %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// transportError is the error of a call that got no answer: the caller's
// context's when it ended (so that errors.Is finds it), else unavailable.
func (c *Client) transportError(ctx context.Context, method, path string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("cluster: %s %s: %w", method, path, ctxErr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the URL is the manager's; the operation says enough
	}
	return unreachable("%v", err)
}

// apiError decodes the API's standard error body, {"error": {"code",
// "message", ...details}}, into the *picloud.Error the manager's handler
// wrote it from. ok is false when data is not such a body.
func apiError(data []byte) (*picloud.Error, bool) {
	var body struct {
		Error map[string]any `json:"error"`
	}
	if json.Unmarshal(data, &body) != nil || body.Error == nil {
		return nil, false
	}
	code, _ := body.Error["code"].(string)
	if code == "" {
		return nil, false
	}
	msg, _ := body.Error["message"].(string)
	e := &picloud.Error{Code: code, Message: msg}
	for k, v := range body.Error {
		if k == "code" || k == "message" {
			continue
		}
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details[k] = v
	}
	return e, true
}

const refusedReason = "cluster_token"

// Refused reports whether err is the manager's refusal of the node's
// cluster token (an unavailable error to everyone else).
func Refused(err error) bool {
	var e *picloud.Error
	return errors.As(err, &e) && e.Code == picloud.EUnavailable && e.Details["reason"] == refusedReason
}

// answerError is the error of an answer with status >= 300: a 401 is
// Refused; else the API error
// its body holds, else (a proxy's page, a bare 502, a redirect)
// unavailable.
func answerError(resp *http.Response, data []byte) error {
	if resp.StatusCode == http.StatusUnauthorized {
		// The manager refuses this node's token. It is the node's
		// configuration, not the caller's: a script's caller must get
		// unavailable (never 401, which asks it for credentials), and the
		// node knows it by Refused.
		return &picloud.Error{Code: picloud.EUnavailable, Message: "the manager refused this node's cluster token",
			Details: map[string]any{"reason": refusedReason}}
	}
	if e, ok := apiError(data); ok {
		return e
	}
	status := resp.StatusCode
	if loc := resp.Header.Get("Location"); status < 400 && loc != "" {
		// Redirects are not followed: a POST would become a GET without
		// its body, and the token would not go to another host.
		return unreachable("HTTP %d redirect to %s (give the manager's URL as it answers, e.g. https://)", status, loc)
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		return unreachable("HTTP %d", status)
	}
	return unreachable("HTTP %d: %s", status, text)
}

// escapedPath fills a protocol path's {placeholders} in order, each value
// path-escaped.
func escapedPath(pattern string, values ...string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 || len(values) == 0 {
			b.WriteString(pattern)
			return b.String()
		}
		j := strings.IndexByte(pattern[i:], '}')
		b.WriteString(pattern[:i])
		b.WriteString(url.PathEscape(values[0]))
		pattern, values = pattern[i+j+1:], values[1:]
	}
}

// Ping checks that the manager answers and takes the token.
func (c *Client) Ping(ctx context.Context) error {
	return c.call(ctx, http.MethodGet, PathPing, replay, nil, nil)
}

// Heartbeat registers n or reports it again (PUT PathNode), and updates n
// with the manager's record (RegisteredAt, LastHeartbeat).
func (c *Client) Heartbeat(ctx context.Context, n *picloud.Node) error {
	var saved picloud.Node
	if err := c.call(ctx, http.MethodPut, escapedPath(PathNode, n.Name), replay, n, &saved); err != nil {
		return err
	}
	*n = saved
	return nil
}

// --- picloud.ScriptStore: a node reads scripts; it changes none.

// Script loads a script with its source by id.
func (c *Client) Script(ctx context.Context, id string) (*picloud.Script, error) {
	var sc picloud.Script
	if err := c.call(ctx, http.MethodGet, escapedPath(PathScript, id), replay, nil, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

// ScriptByName loads a script with its source by name.
func (c *Client) ScriptByName(ctx context.Context, name string) (*picloud.Script, error) {
	var sc picloud.Script
	if err := c.call(ctx, http.MethodGet, PathScripts+"?name="+url.QueryEscape(name), replay, nil, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

func (c *Client) CreateScript(context.Context, *picloud.Script) error {
	return errReadOnly("change scripts")
}

func (c *Client) UpdateScript(context.Context, string, picloud.ScriptUpdate) (*picloud.Script, error) {
	return nil, errReadOnly("change scripts")
}

func (c *Client) DeleteScript(context.Context, string) error { return errReadOnly("change scripts") }

func (c *Client) ListScripts(context.Context, picloud.ScriptFilter) ([]*picloud.Script, error) {
	return nil, errReadOnly("list scripts")
}

func (c *Client) Versions(context.Context, string) ([]*picloud.Version, error) {
	return nil, errReadOnly("read script versions")
}

func (c *Client) ScriptVersion(context.Context, string, int) (*picloud.Version, error) {
	return nil, errReadOnly("read script versions")
}

// --- picloud.ExecutionStore: a node delivers rows; the manager reads them.

// InsertExecutions delivers a batch of execution rows. The manager ignores
// an id it has, so a batch sent again after a lost answer is harmless.
func (c *Client) InsertExecutions(ctx context.Context, logs []*picloud.ExecutionLog) error {
	if len(logs) == 0 {
		return nil
	}
	return c.call(ctx, http.MethodPost, PathExecutions, replay, ExecutionBatch{Items: logs}, nil)
}

func (c *Client) ListExecutions(context.Context, string, int, int) ([]*picloud.ExecutionLog, error) {
	return nil, errReadOnly("read execution logs")
}

func (c *Client) Execution(context.Context, string) (*picloud.ExecutionLog, error) {
	return nil, errReadOnly("read execution logs")
}

func (c *Client) CountExecutions(context.Context, string) (int64, error) {
	return 0, errReadOnly("read execution logs")
}

func (c *Client) ExecutionStats(context.Context, []string) (map[string]picloud.ExecutionStats, error) {
	return nil, errReadOnly("read execution logs")
}

func (c *Client) QueryExecutions(context.Context, picloud.ExecutionQuery) ([]*picloud.ExecutionLog, error) {
	return nil, errReadOnly("read execution logs")
}

func (c *Client) PruneExecutions(context.Context, time.Time, int) (int64, error) {
	return 0, errReadOnly("prune execution logs")
}

// --- picloud.KVStore: every operation is one POST PathKV.

func (c *Client) kv(ctx context.Context, op string, req KVRequest, out any) error {
	replayable := op == KVGet || op == KVSet || op == KVList || op == KVUsage || op == KVDropNS
	return c.call(ctx, http.MethodPost, escapedPath(PathKV, op), replayable, req, out)
}

func (c *Client) KVGet(ctx context.Context, ns, key string) (*picloud.KVEntry, error) {
	var e picloud.KVEntry
	if err := c.kv(ctx, KVGet, KVRequest{NS: ns, Key: key}, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (c *Client) KVSet(ctx context.Context, ns, key string, w picloud.KVWrite) error {
	return c.kv(ctx, KVSet, KVRequest{NS: ns, Key: key, Write: &w}, nil)
}

func (c *Client) KVDelete(ctx context.Context, ns, key string) (bool, error) {
	var r KVResponse
	err := c.kv(ctx, KVDelete, KVRequest{NS: ns, Key: key}, &r)
	return r.Deleted, err
}

func (c *Client) KVIncr(ctx context.Context, ns, key string, by int64, w picloud.KVWrite) (int64, error) {
	var r KVResponse
	if err := c.kv(ctx, KVIncr, KVRequest{NS: ns, Key: key, By: by, Write: &w}, &r); err != nil {
		return 0, err
	}
	return r.Value, nil
}

// KVCompareAndSet sends expected as it is: nil (the key must be absent) is
// left out of the body, a JSON null is sent as null, and the two mean
// different things to picloud.KVMatches.
func (c *Client) KVCompareAndSet(ctx context.Context, ns, key string, expected json.RawMessage, w picloud.KVWrite) (bool, error) {
	var r KVResponse
	err := c.kv(ctx, KVCAS, KVRequest{NS: ns, Key: key, Expected: expected, Write: &w}, &r)
	return r.Swapped, err
}

func (c *Client) KVList(ctx context.Context, ns, prefix, cursor string, limit int) (*picloud.KVPage, error) {
	var p picloud.KVPage
	if err := c.kv(ctx, KVList, KVRequest{NS: ns, Prefix: prefix, Cursor: cursor, Limit: limit}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (c *Client) KVUsage(ctx context.Context, ns string) (picloud.KVUsage, error) {
	var u picloud.KVUsage
	err := c.kv(ctx, KVUsage, KVRequest{NS: ns}, &u)
	return u, err
}

func (c *Client) DeleteKVNamespace(ctx context.Context, ns string) error {
	return c.kv(ctx, KVDropNS, KVRequest{NS: ns}, nil)
}

// PurgeKV is the manager's retention work, not a node's.
func (c *Client) PurgeKV(context.Context, time.Time) (int64, error) {
	return 0, errReadOnly("purge kv")
}

// --- picloud.SecretReader

// Secret reads a script's secret (its own, else the global one) in
// plaintext: the manager opens it; a node holds no secret key.
func (c *Client) Secret(ctx context.Context, scriptID, name string) (string, error) {
	if scriptID == "" {
		scriptID = NoScript
	}
	var v SecretValue
	if err := c.call(ctx, http.MethodGet, escapedPath(PathSecret, scriptID, name), replay, nil, &v); err != nil {
		return "", err
	}
	return v.Value, nil
}

// OwnSecret implements picloud.OwnSecretReader: the script's own secret
// only, for a confined script (?own=1: the manager does not fall back to
// the global one).
func (c *Client) OwnSecret(ctx context.Context, scriptID, name string) (string, error) {
	if scriptID == "" {
		return "", picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	}
	var v SecretValue
	if err := c.call(ctx, http.MethodGet, escapedPath(PathSecret, scriptID, name)+"?own=1", replay, nil, &v); err != nil {
		return "", err
	}
	return v.Value, nil
}

// --- picloud.JobQueue: a node queues runs and publishes events; the
// manager runs the queue.

// Enqueue queues an asynchronous run of sc (Prefer: respond-async on a
// node). A full queue's error keeps its retry_after detail.
func (c *Client) Enqueue(ctx context.Context, sc *picloud.Script, req *picloud.JobRequest, opts picloud.EnqueueOptions) (*picloud.Job, bool, error) {
	var r EnqueueResponse
	// With an idempotency key the queue answers a repeat with the job it
	// made; without one a repeat would queue a second run.
	replayable := opts.IdempotencyKey != ""
	if err := c.call(ctx, http.MethodPost, PathJobs, replayable, EnqueueRequest{ScriptID: sc.ID, Request: req, Options: opts}, &r); err != nil {
		return nil, false, err
	}
	if r.Job == nil {
		return nil, false, fmt.Errorf("cluster: the manager's answer to POST %s has no job", PathJobs)
	}
	return r.Job, r.Existing, nil
}

// Publish delivers the events a successful execution of from emitted.
func (c *Client) Publish(ctx context.Context, from *picloud.Script, events []picloud.Event) error {
	if len(events) == 0 {
		return nil
	}
	var fromID string
	if from != nil {
		fromID = from.ID
	}
	return c.call(ctx, http.MethodPost, PathEvents, noReplay, PublishRequest{FromScriptID: fromID, Events: events}, nil)
}

func (c *Client) Job(context.Context, string) (*picloud.Job, error) {
	return nil, errReadOnly("read jobs")
}

func (c *Client) DeadLetters(context.Context, string, int) ([]*picloud.Job, error) {
	return nil, errReadOnly("read dead letters")
}

func (c *Client) Requeue(context.Context, string) (*picloud.Job, error) {
	return nil, errReadOnly("requeue jobs")
}

func (c *Client) Discard(context.Context, string) error { return errReadOnly("discard jobs") }

func (c *Client) FireSchedule(context.Context, *picloud.Schedule) (*picloud.Job, error) {
	return nil, errReadOnly("fire schedules")
}

// SchedulesChanged does nothing: schedules change on the manager, whose
// planner hears of it there.
func (c *Client) SchedulesChanged() {}

// --- The change feed.

// FollowChanges follows the manager's change feed until ctx ends: onHello
// at the start of every stream (the node expires its whole cache, since
// changes made while it was away were not sent), onChange for every change.
// A stream that ends, fails or stays silent for three ping intervals is
// replaced, after a backoff from 100 ms doubling to 5 s (reset by a stream
// that lasted). The callbacks run on this goroutine, in order.
func (c *Client) FollowChanges(ctx context.Context, onChange func(picloud.ScriptChange), onHello func()) {
	wait := c.backoffMin
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		helloed, err := c.followOnce(ctx, onChange, onHello)
		c.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		if helloed {
			// A stream that lasted starts the backoff again; one that said
			// hello and ended at once (a manager shutting down) does not,
			// or the node would reconnect ten times a second.
			if time.Since(started) >= c.backoffMax {
				wait = c.backoffMin
			}
			failures = 0
			c.log.Warn("change feed lost; reconnecting", "manager", c.base, "err", err)
		} else {
			failures++
			// The first failure of a run says why; the rest would repeat it
			// every 5 s for as long as the manager is away.
			level := slog.LevelDebug
			if failures == 1 {
				level = slog.LevelWarn
			}
			c.log.Log(ctx, level, "change feed: cannot connect to the manager; retrying", "manager", c.base, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, c.backoffMax)
	}
}

// followOnce reads one stream until it ends; helloed reports whether it got
// as far as its hello.
func (c *Client) followOnce(ctx context.Context, onChange func(picloud.ScriptChange), onHello func()) (helloed bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := c.newRequest(sctx, http.MethodGet, PathChanges, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// A silent connection (no byte, not even a ping) is cut: the watchdog
	// cancels the request, which ends the read below.
	silent := 3 * c.pingEvery
	var silenced atomic.Bool
	watchdog := time.AfterFunc(silent, func() { silenced.Store(true); cancel() })
	defer watchdog.Stop()
	resp, err := c.stream.Do(req)
	if err != nil {
		if silenced.Load() {
			return false, fmt.Errorf("no answer within %v", silent)
		}
		return false, c.transportError(sctx, http.MethodGet, PathChanges, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if _, ok := apiError(data); ok {
			c.touch()
		}
		return false, answerError(resp, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, unreachable("the change feed answered %q, not text/event-stream", ct)
	}
	c.touch()
	body := &activityReader{r: resp.Body, onRead: func() { watchdog.Reset(silent); c.touch() }}
	err = readEvents(body, func(event string, data []byte) error {
		switch event {
		case EventHello:
			var h Hello
			if err := json.Unmarshal(data, &h); err != nil {
				return fmt.Errorf("a malformed hello: %w", err)
			}
			helloed = true
			c.connected.Store(true)
			if onHello != nil {
				onHello()
			}
		case EventChange:
			if !helloed {
				return errors.New("a change before the hello")
			}
			var ch picloud.ScriptChange
			if err := json.Unmarshal(data, &ch); err != nil {
				return fmt.Errorf("a malformed change: %w", err)
			}
			if onChange != nil {
				onChange(ch)
			}
		default:
			// An event this node does not know (a newer manager's): skip it.
		}
		return nil
	})
	switch {
	case silenced.Load():
		return helloed, fmt.Errorf("the stream was silent for %v", silent)
	case err == nil:
		return helloed, errors.New("the manager closed the stream")
	case ctx.Err() != nil:
		return helloed, ctx.Err()
	}
	return helloed, err
}

// activityReader calls onRead whenever bytes arrive.
type activityReader struct {
	r      io.Reader
	onRead func()
}

func (a *activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.onRead()
	}
	return n, err
}

// readEvents parses server-sent events from r (the parts of the format the
// feed uses: "event:" and "data:" fields, data over several lines joined
// with "\n", comment lines starting with ':' ignored, a blank line ending an
// event) and calls fn with each. It returns nil at the end of r, else the
// read's or fn's error.
func readEvents(r io.Reader, fn func(event string, data []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxEventBytes)
	sc.Split(scanLines)
	var (
		event   string
		data    []byte
		hasData bool
	)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if hasData {
				if event == "" {
					event = "message"
				}
				if err := fn(event, data); err != nil {
					return err
				}
			}
			event, data, hasData = "", data[:0], false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "event":
			event = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
	return sc.Err()
}

// scanLines splits at "\n", "\r\n" or a lone "\r", the line ends the
// event-stream format allows.
func scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // a "\n" may follow
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
