package manager

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The statuses and triggers the log filters accept.
var (
	logStatuses = []picloud.ExecutionStatus{picloud.StatusSuccess, picloud.StatusError, picloud.StatusTimeout, picloud.StatusBudgetExceeded}
	logTriggers = []picloud.Trigger{picloud.TriggerHTTP, picloud.TriggerTest, picloud.TriggerCron, picloud.TriggerAsync, picloud.TriggerEvent}
)

// MaxLogLimit is the most rows one log page holds.
const MaxLogLimit = 200

func logFieldError(field, format string, args ...any) *picloud.Error {
	e := picloud.Errorf(picloud.EInvalidRequest, format, args...)
	e.Details = map[string]any{"field": field}
	return e
}

// ParseLogQuery reads the log filters of a request's query: status and
// trigger (comma lists), since and until (RFC 3339, or a Go duration meaning
// that long before now), q (text), limit (1..200, 50 by default; larger is
// cut to 200) and offset. An invalid one is an invalid_request error naming
// its field.
func ParseLogQuery(r *http.Request, now time.Time) (picloud.ExecutionQuery, error) {
	v := r.URL.Query()
	q := picloud.ExecutionQuery{Limit: 50, Text: v.Get("q")}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, logFieldError("limit", "limit must be a positive integer")
		}
		q.Limit = min(n, MaxLogLimit)
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, logFieldError("offset", "offset must be a non-negative integer")
		}
		q.Offset = n
	}
	for _, s := range splitList(v["status"]) {
		st := picloud.ExecutionStatus(s)
		if !slices.Contains(logStatuses, st) {
			return q, logFieldError("status", "status %q is not one of success, error, timeout, budget_exceeded", s)
		}
		q.Statuses = append(q.Statuses, st)
	}
	for _, s := range splitList(v["trigger"]) {
		tr := picloud.Trigger(s)
		if !slices.Contains(logTriggers, tr) {
			return q, logFieldError("trigger", "trigger %q is not one of http, test, cron, async, event", s)
		}
		q.Triggers = append(q.Triggers, tr)
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

// splitList splits each value at commas, dropping empty entries, so that
// status=error,timeout and status=error&status=timeout mean the same.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseLogTime reads since or until: RFC 3339, or a positive Go duration d
// meaning now-d ("15m": the last quarter hour).
func parseLogTime(field, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, logFieldError(field, "%s must be an RFC 3339 time or a positive duration such as 15m, not %q", field, s)
}

// HandleLogs is GET /api/scripts/{id}/logs: a script's executions, newest
// first, filtered by the query (ParseLogQuery).
func (m *Manager) HandleLogs(w http.ResponseWriter, r *http.Request) {
	q, err := ParseLogQuery(r, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	q.ScriptID = sc.ID
	m.writeLogs(w, r, q)
}

// HandleAllLogs is GET /api/logs: the executions of every script, or with
// script=REF (an id or a name) of one, filtered like HandleLogs.
func (m *Manager) HandleAllLogs(w http.ResponseWriter, r *http.Request) {
	q, err := ParseLogQuery(r, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if ref := r.URL.Query().Get("script"); ref != "" {
		sc, err := m.ResolveScript(r.Context(), ref)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		q.ScriptID = sc.ID
	}
	m.writeLogs(w, r, q)
}

func (m *Manager) writeLogs(w http.ResponseWriter, r *http.Request, q picloud.ExecutionQuery) {
	m.awaitRows(r.Context())
	items, err := m.store.QueryExecutions(r.Context(), q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if items == nil {
		items = []*picloud.ExecutionLog{}
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.ExecutionList{Items: items, Limit: q.Limit, Offset: q.Offset})
}
