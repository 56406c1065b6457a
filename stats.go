package picloud

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// MaxStatsBuckets bounds the buckets of one stats query: (Until-Since)/Step
// may not exceed it, so a request's answer and its work in Go stay small
// whatever the range (a week at one minute is refused; at 30 minutes it is
// 336 buckets).
const MaxStatsBuckets = 500

// MaxStatsSamples bounds the durations a store that computes percentiles in
// Go (SQLite) holds for one bucket: beyond it, the bucket's percentiles come
// from a uniform reservoir sample of that many durations. Counts, operations
// and outbound calls stay exact.
const MaxStatsSamples = 100_000

// StatsQuery selects the executions of one script (ScriptID) or of all
// scripts ("") started in [Since, Until), cut into buckets of Step from
// Since.
type StatsQuery struct {
	ScriptID string
	Since    time.Time
	Until    time.Time
	Step     time.Duration
}

// Buckets is how many buckets q covers: the last one may extend past Until.
func (q StatsQuery) Buckets() int {
	if q.Step <= 0 || !q.Until.After(q.Since) {
		return 0
	}
	d := q.Until.Sub(q.Since)
	return int((d + q.Step - 1) / q.Step)
}

// Validate refuses an empty or reversed range, a step under one second and
// more than MaxStatsBuckets buckets.
func (q StatsQuery) Validate() error {
	switch {
	case q.Since.IsZero() || q.Until.IsZero():
		return fieldError("since", "since and until are required")
	case !q.Until.After(q.Since):
		return fieldError("until", "until must be after since")
	case q.Step < time.Second:
		return fieldError("step", "step must be at least 1s")
	case q.Buckets() > MaxStatsBuckets:
		return fieldError("step", "%s over %s makes %d buckets; at most %d (use a larger step)",
			q.Step, q.Until.Sub(q.Since), q.Buckets(), MaxStatsBuckets)
	}
	return nil
}

// StatsBucket summarises the executions started in [Start, Start+step).
// Durations are in milliseconds; the percentiles are 0 for an empty bucket
// and interpolated between the two nearest durations otherwise (PostgreSQL's
// percentile_cont).
type StatsBucket struct {
	Start      Time                      `json:"start"`
	Count      int64                     `json:"count"`
	ByStatus   map[ExecutionStatus]int64 `json:"by_status"`
	P50MS      float64                   `json:"p50_ms"`
	P95MS      float64                   `json:"p95_ms"`
	P99MS      float64                   `json:"p99_ms"`
	Operations int64                     `json:"operations"`
	Outbound   int64                     `json:"outbound"`
}

// Stats is the answer of GET /api/stats and /api/scripts/{id}/stats: every
// bucket of the range, empty ones included, oldest first.
type Stats struct {
	ScriptID string        `json:"script_id,omitempty"`
	Since    Time          `json:"since"`
	Until    Time          `json:"until"`
	StepMS   int64         `json:"step_ms"`
	Buckets  []StatsBucket `json:"buckets"`
}

// StatsStore summarises execution logs over time.
type StatsStore interface {
	// ExecutionBuckets returns q.Buckets() buckets, oldest first, empty ones
	// included, from one query on the (script_id, started_at) or started_at
	// index. q must be valid.
	ExecutionBuckets(ctx context.Context, q StatsQuery) ([]StatsBucket, error)
	// ScriptBuckets returns, for every script with at least one execution
	// in q's range, its totals and q.Buckets() buckets of counts and errors
	// (SortScriptStats's order), from one query grouped by script and
	// bucket on the started_at index. q.ScriptID is ignored; q must be
	// valid.
	ScriptBuckets(ctx context.Context, q StatsQuery) ([]ScriptStats, error)
	// CountScripts is how many scripts there are.
	CountScripts(ctx context.Context) (int, error)
}

// ScriptBucket is one script's executions started in one bucket: Errors
// counts those whose status is not success.
type ScriptBucket struct {
	Count  int64 `json:"count"`
	Errors int64 `json:"errors"`
}

// ScriptStats is one script's executions over a range: totals, and every
// bucket of the range, oldest first. Name is "" for a script deleted since.
// DurationMS is the sum of the executions' durations (the time the script
// took in all).
type ScriptStats struct {
	ScriptID   string         `json:"script_id"`
	Name       string         `json:"name"`
	Count      int64          `json:"count"`
	Errors     int64          `json:"errors"`
	DurationMS float64        `json:"duration_ms"`
	Operations int64          `json:"operations"`
	Outbound   int64          `json:"outbound"`
	Buckets    []ScriptBucket `json:"buckets"`
}

// ScriptsStats is the answer of GET /api/stats/scripts.
type ScriptsStats struct {
	Since   Time          `json:"since"`
	Until   Time          `json:"until"`
	StepMS  int64         `json:"step_ms"`
	Scripts []ScriptStats `json:"scripts"`
}

// ScriptStatsRow is one (script, bucket) group as a store reads it: Bucket
// is the bucket's index from q.Since.
type ScriptStatsRow struct {
	ScriptID   string
	Name       string
	Bucket     int
	Count      int64
	Errors     int64
	DurationMS float64
	Operations int64
	Outbound   int64
}

// CollectScriptStats folds a store's (script, bucket) groups into one
// ScriptStats a script, each with q.Buckets() buckets (rows outside them
// are dropped), sorted by SortScriptStats.
func CollectScriptStats(q StatsQuery, rows []ScriptStatsRow) []ScriptStats {
	n := q.Buckets()
	by := map[string]*ScriptStats{}
	out := []ScriptStats{}
	var order []string
	for _, r := range rows {
		if r.Bucket < 0 || r.Bucket >= n || r.Count == 0 {
			continue
		}
		s := by[r.ScriptID]
		if s == nil {
			s = &ScriptStats{ScriptID: r.ScriptID, Name: r.Name, Buckets: make([]ScriptBucket, n)}
			by[r.ScriptID] = s
			order = append(order, r.ScriptID)
		}
		s.Count += r.Count
		s.Errors += r.Errors
		s.DurationMS += r.DurationMS
		s.Operations += r.Operations
		s.Outbound += r.Outbound
		b := &s.Buckets[r.Bucket]
		b.Count += r.Count
		b.Errors += r.Errors
	}
	for _, id := range order {
		out = append(out, *by[id])
	}
	SortScriptStats(out)
	return out
}

// SortScriptStats orders scripts by count, most first, then by name, then
// by id.
func SortScriptStats(s []ScriptStats) {
	slices.SortFunc(s, func(a, b ScriptStats) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ScriptID, b.ScriptID))
	})
}

// EmptyStatsBuckets returns q's buckets with their starts set and nothing
// counted, for a store to fill.
func EmptyStatsBuckets(q StatsQuery) []StatsBucket {
	n := q.Buckets()
	out := make([]StatsBucket, n)
	for i := range out {
		out[i] = StatsBucket{Start: Time{Time: q.Since.Add(time.Duration(i) * q.Step).UTC()},
			ByStatus: map[ExecutionStatus]int64{}}
	}
	return out
}

// Percentile is PostgreSQL's percentile_cont over sorted (ascending): linear
// interpolation between the values at the two ranks around p*(n-1); 0 for
// none.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	r := p * float64(n-1)
	lo := int(r)
	if lo >= n-1 {
		return sorted[n-1]
	}
	f := r - float64(lo)
	return sorted[lo] + f*(sorted[lo+1]-sorted[lo])
}

// Overview is the answer of GET /api/overview: the server's live figures.
type Overview struct {
	Version string        `json:"version"`
	Role    string        `json:"role"` // "serve" or "manager"
	Scripts int           `json:"scripts"`
	Gate    OverviewGate  `json:"gate"`
	Sink    OverviewSink  `json:"sink"`
	Nodes   OverviewNodes `json:"nodes"`
}

// OverviewGate is this process's concurrency gate: the executions holding a
// slot and waiting for one, the slots (the server-wide bound), the memory
// the running executions reserved and its ceiling (0: none), and the
// executions refused since the process started.
type OverviewGate struct {
	Running             int    `json:"running"`
	Waiting             int    `json:"waiting"`
	Slots               int    `json:"slots"`
	MemoryReservedBytes int64  `json:"memory_reserved_bytes"`
	MemoryLimitBytes    int64  `json:"memory_limit_bytes"`
	RejectedTotal       uint64 `json:"rejected_total"`
}

// OverviewSink is this process's execution-log sink: the rows in memory
// waiting to be written, the bound on them, the rows accepted and not yet
// in the store, and the journal's size on disk.
type OverviewSink struct {
	Queued       int    `json:"queued"`
	Capacity     int    `json:"capacity"`
	Pending      uint64 `json:"pending"`
	JournalBytes int64  `json:"journal_bytes"`
}

// OverviewNodes counts the cluster's nodes, and those whose last heartbeat
// is recent and said ok (none on `picloud serve`).
type OverviewNodes struct {
	Total   int `json:"total"`
	Healthy int `json:"healthy"`
}
