package manager

import (
	"net/http"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// DefaultStatsRange is the range of a stats request without since: the last
// hour.
const DefaultStatsRange = time.Hour

// ParseStatsQuery reads since and until (RFC 3339, or a duration meaning that
// long before now; by default the last hour up to now) and step (a Go
// duration of at least 1s; by default the range over 60 buckets, rounded up to
// a whole second), and validates the result (at most
// picloud.MaxStatsBuckets buckets). Since is then rounded down to a whole
// step.
func ParseStatsQuery(r *http.Request, now time.Time) (picloud.StatsQuery, error) {
	v := r.URL.Query()
	var q picloud.StatsQuery
	var err error
	if q.Since, err = parseLogTime("since", v.Get("since"), now); err != nil {
		return q, err
	}
	if q.Until, err = parseLogTime("until", v.Get("until"), now); err != nil {
		return q, err
	}
	if q.Until.IsZero() {
		q.Until = now.UTC()
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-DefaultStatsRange)
	}
	if s := v.Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return q, logFieldError("step", "step must be a duration such as 1m, not %q", s)
		}
		q.Step = d
	} else if span := q.Until.Sub(q.Since); span > 0 {
		q.Step = max(((span / 60) + time.Second - 1).Truncate(time.Second), time.Second)
	}
	if err := q.Validate(); err != nil {
		return q, err
	}
	// Buckets on whole steps (UTC; from the zero time, so whole minutes,
	// hours and days for the steps that divide a day), so that two requests
	// a few seconds apart share their buckets; this can add one bucket.
	q.Since = q.Since.Truncate(q.Step)
	return q, nil
}

// HandleStats is GET /api/scripts/{id}/stats: a script's executions in time
// buckets (ParseStatsQuery).
func (m *Manager) HandleStats(w http.ResponseWriter, r *http.Request) {
	q, err := ParseStatsQuery(r, time.Now())
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
	m.writeStats(w, r, q)
}

// HandleAllStats is GET /api/stats: every script's executions together.
func (m *Manager) HandleAllStats(w http.ResponseWriter, r *http.Request) {
	q, err := ParseStatsQuery(r, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.writeStats(w, r, q)
}

func (m *Manager) writeStats(w http.ResponseWriter, r *http.Request, q picloud.StatsQuery) {
	m.awaitRows(r.Context())
	buckets, err := m.store.ExecutionBuckets(r.Context(), q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.Stats{ScriptID: q.ScriptID, Since: picloud.Time{Time: q.Since},
		Until: picloud.Time{Time: q.Until}, StepMS: q.Step.Milliseconds(), Buckets: buckets})
}

// HandleScriptsStats is GET /api/stats/scripts: every script with
// executions in the range (ParseStatsQuery), with its totals and its count
// and errors in every bucket, most called first.
func (m *Manager) HandleScriptsStats(w http.ResponseWriter, r *http.Request) {
	q, err := ParseStatsQuery(r, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.awaitRows(r.Context())
	scripts, err := m.store.ScriptBuckets(r.Context(), q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.ScriptsStats{Since: picloud.Time{Time: q.Since},
		Until: picloud.Time{Time: q.Until}, StepMS: q.Step.Milliseconds(), Scripts: scripts})
}
