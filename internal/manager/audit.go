package manager

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The audit trail records each administrative action a request performed:
// who (the token's name, how it was presented, from which address), what
// (the route's Audit action), on what (the target a handler names with
// AuditNote, else the route's path values) and the detail the handler adds.
// It is not the execution log: invocations are not in it.

// The actions the sign-in route records.
const (
	ActionSignIn       = "session.create"
	ActionSignInFailed = "session.failed"
)

// auditWriteTimeout bounds one audit write: a request whose action is done
// must not hang on a slow store.
const auditWriteTimeout = 5 * time.Second

// failedSignInEvery is how often one client's failed sign-ins are recorded
// at most (the rest are only counted), and failedSignInClients how many
// clients the sampler remembers: a flood of wrong tokens cannot fill the
// trail, nor the sampler's memory.
const (
	failedSignInEvery   = time.Minute
	failedSignInClients = 10_000
)

// auditKey is the context key of an audited request's note.
type auditKey struct{}

// auditNote is what the handler of an audited request tells the trail.
type auditNote struct {
	target, targetID string
	detail           any
	noted            bool
	// signedIn is who a sign-in authenticated: the sign-in route has no
	// principal of its own.
	signedIn *Principal
}

// AuditNote tells the audit trail what the current request acted on: target
// is human-readable (a script's, secret's or token's name, a schedule's id),
// targetID its id where it has one, and detail a value that marshals to a
// JSON object (nil: none). A later call replaces an earlier one. Outside an
// audited request it does nothing. Never put a secret's value, a token or a
// kv value in detail.
func AuditNote(ctx context.Context, target, targetID string, detail any) {
	if n, _ := ctx.Value(auditKey{}).(*auditNote); n != nil {
		n.target, n.targetID, n.detail, n.noted = target, targetID, detail, true
	}
}

// auditTarget sets only the target of the current request's audit entry,
// auditDetail only its detail (AuditNote sets both).
func auditTarget(ctx context.Context, target, targetID string) {
	if n, _ := ctx.Value(auditKey{}).(*auditNote); n != nil {
		n.target, n.targetID, n.noted = target, targetID, true
	}
}

func auditDetail(ctx context.Context, detail any) {
	if n, _ := ctx.Value(auditKey{}).(*auditNote); n != nil {
		n.detail = detail
	}
}

// auditSignedIn tells the sign-in's audit entry who signed in (its actor;
// also its target).
func auditSignedIn(ctx context.Context, p Principal) {
	if n, _ := ctx.Value(auditKey{}).(*auditNote); n != nil {
		n.signedIn = &p
	}
}

// auditTrail is the manager's side of the trail: the failure hook and the
// failed sign-in sampler.
type auditTrail struct {
	onFailure func()

	mu     sync.Mutex
	failed map[netip.Addr]time.Time // a client's last recorded failed sign-in
}

// Audit wraps the handler of a route whose requests perform action: a
// request it answers with a 2xx is recorded in the audit trail, with the
// principal the guard (Require) put in the context. The sign-in route's 401s
// and 403s are recorded as session.failed, at most one per client per
// minute. A
// recording that fails is logged and counted (OnAuditFailure), never turned
// into a failed request. An empty action returns h.
func (m *Manager) Audit(action string, h http.Handler) http.Handler {
	if action == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note := &auditNote{}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), auditKey{}, note)))
		status := sw.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		switch {
		case status >= 200 && status < 300:
			m.recordAudit(r, action, note)
		case action == ActionSignIn && (status == http.StatusUnauthorized || status == http.StatusForbidden):
			// A wrong or expired token, or one without the read scope the
			// dashboard needs.
			if m.sampleFailedSignIn(m.auth.client(r), time.Now()) {
				m.recordAudit(r, ActionSignInFailed, &auditNote{})
			}
		}
	})
}

// recordAudit writes one event for r.
func (m *Manager) recordAudit(r *http.Request, action string, n *auditNote) {
	e := &picloud.AuditEvent{Action: action, Target: n.target, TargetID: n.targetID}
	if a := m.auth.client(r); a.IsValid() {
		e.IP = a.Unmap().String()
	}
	if p, ok := PrincipalFrom(r.Context()); ok {
		e.Actor, e.TokenID, e.Via = p.Name, p.TokenID, p.Via
	}
	if p := n.signedIn; p != nil {
		e.Actor, e.TokenID, e.Via = p.Name, p.TokenID, p.Via
		if !n.noted {
			e.Target, e.TargetID = p.Name, p.TokenID
		}
	}
	if !n.noted && e.Target == "" {
		// The route's own names: a secret's or node's name, a schedule's
		// or dead letter's id, a script's reference.
		for _, k := range []string{"name", "id"} {
			if v := r.PathValue(k); v != "" {
				e.Target = v
				break
			}
		}
	}
	if n.detail != nil {
		b, err := json.Marshal(n.detail)
		if err != nil {
			m.log.Error("audit: the detail does not marshal", "action", action, "err", err)
		} else if string(b) != "null" {
			e.Detail = b
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditWriteTimeout)
	defer cancel()
	if err := m.store.RecordAudit(ctx, e); err != nil {
		if m.audit.onFailure != nil {
			m.audit.onFailure()
		}
		m.log.Error("audit: recording failed", "action", e.Action, "actor", e.Actor, "target", e.Target, "err", err)
	}
}

// sampleFailedSignIn reports whether a failed sign-in of client at now is
// recorded: the first one of a minute is, per client (an IPv6 client
// counted by its /64). When the sampler is full of clients seen within the
// minute, none is.
func (m *Manager) sampleFailedSignIn(client netip.Addr, now time.Time) bool {
	key := clientKey(client)
	t := &m.audit
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.failed[key]; ok && now.Sub(last) < failedSignInEvery {
		return false
	}
	if t.failed == nil {
		t.failed = map[netip.Addr]time.Time{}
	}
	if len(t.failed) >= failedSignInClients {
		for k, last := range t.failed {
			if now.Sub(last) >= failedSignInEvery {
				delete(t.failed, k)
			}
		}
		if len(t.failed) >= failedSignInClients {
			return false
		}
	}
	t.failed[key] = now
	return true
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// scriptChanges is the audit detail of a script update: the settings that
// changed, before and after (the API's names, "enabled" included), and the
// versions when the source made a new one. Nil when nothing changed.
func scriptChanges(before, after *picloud.Script) map[string]any {
	d := fieldChanges(before, after, "id", "source", "version", "created_at", "updated_at")
	if after.Version != before.Version {
		d["version"], d["from_version"] = after.Version, before.Version
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

// fieldChanges compares two values of one type by their JSON fields, but skip:
// {"before": {...}, "after": {...}} with the fields that differ, or an empty
// map when none does.
func fieldChanges(before, after any, skip ...string) map[string]any {
	b, a := jsonFields(before, skip), jsonFields(after, skip)
	bs, as := map[string]any{}, map[string]any{}
	for k, av := range a {
		if bv, ok := b[k]; !ok || !reflect.DeepEqual(bv, av) {
			bs[k], as[k] = b[k], av
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok {
			bs[k], as[k] = bv, nil
		}
	}
	if len(as) == 0 {
		return map[string]any{}
	}
	return map[string]any{"before": bs, "after": as}
}

// jsonFields is v's JSON object as a map, without the fields skip names.
func jsonFields(v any, skip []string) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	for _, k := range skip {
		delete(m, k)
	}
	return m
}

// versionChange is the audit detail of a new version of a script's source.
func versionChange(from, to int) map[string]any {
	return map[string]any{"version": to, "from_version": from}
}

// AuditList is GET /api/audit's answer: a page of events, newest first, and
// the cursor of the next (older) page, "" when this one is the last.
type AuditList struct {
	Items []*picloud.AuditEvent `json:"items"`
	Next  string                `json:"next"`
}

// ParseAuditQuery reads GET /api/audit's filters: since and until (RFC 3339
// or a duration ago), action (exact, or a prefix ending in "."), actor,
// target, before (an event id, the cursor; anything else is refused) and limit (1..500, 100 by
// default; larger is cut to 500). An invalid one is an invalid_request
// error naming its field.
func ParseAuditQuery(r *http.Request, now time.Time) (picloud.AuditQuery, error) {
	v := r.URL.Query()
	q := picloud.AuditQuery{Limit: picloud.DefaultAuditLimit, Action: v.Get("action"), Actor: v.Get("actor"),
		Target: v.Get("target"), Before: v.Get("before")}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, logFieldError("limit", "limit must be a positive integer")
		}
		q.Limit = min(n, picloud.MaxAuditLimit)
	}
	if q.Before != "" && !picloud.LooksLikeUUID(q.Before) {
		return q, logFieldError("before", "before must be an audit event's id (the previous page's next), not %q", q.Before)
	}
	var err error
	if q.Since, err = parseLogTime("since", v.Get("since"), now); err != nil {
		return q, err
	}
	if q.Until, err = parseLogTime("until", v.Get("until"), now); err != nil {
		return q, err
	}
	return q, nil
}

// HandleAudit is GET /api/audit: the audit trail, newest first, filtered by
// the query (ParseAuditQuery); "next" is the before of the next page.
func (m *Manager) HandleAudit(w http.ResponseWriter, r *http.Request) {
	q, err := ParseAuditQuery(r, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	items, err := m.store.AuditEvents(r.Context(), q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	out := AuditList{Items: items}
	if out.Items == nil {
		out.Items = []*picloud.AuditEvent{}
	}
	if len(items) >= q.Limit && len(items) > 0 {
		out.Next = items[len(items)-1].ID
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// kvAuditDetail is a kv write's audit detail: the key, and the shared
// namespace when it is one (never the value).
func kvAuditDetail(r *http.Request, key string) map[string]any {
	d := map[string]any{"key": key}
	if ns := r.URL.Query().Get("namespace"); ns != "" {
		d["namespace"] = ns
	}
	return d
}
