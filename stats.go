package picloud

import (
	"context"
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
