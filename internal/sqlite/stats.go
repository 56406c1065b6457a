package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/picloud/picloud"
)

// ExecutionBuckets implements picloud.StatsStore. SQLite has no percentile
// aggregate, so one query walks the range on the (script_id, started_at) or
// (started_at) index, already in time order, and returns four numbers a row
// (bucket, status, duration, operations, outbound calls); Go counts them and
// computes each bucket's percentiles when the walk leaves it. Memory is one
// bucket's durations, at most picloud.MaxStatsSamples (beyond that a
// reservoir sample); time is linear in the rows of the range (see
// docs/performance-server.md for the figures on 1,000,000 rows).
func (s *Store) ExecutionBuckets(ctx context.Context, q picloud.StatsQuery) ([]picloud.StatsBucket, error) {
	out := picloud.EmptyStatsBuckets(q)
	since, until, step := micros(q.Since), micros(q.Until), q.Step.Microseconds()
	stmt := `SELECT (started_at - ?) / ?, status, duration_ms, operations, coalesce(json_array_length(outbound), 0)
		FROM executions `
	args := []any{since, step}
	if q.ScriptID != "" {
		stmt += `INDEXED BY executions_script_started WHERE script_id = ? AND `
		args = append(args, q.ScriptID)
	} else {
		stmt += `INDEXED BY executions_started WHERE `
	}
	stmt += `started_at >= ? AND started_at < ? ORDER BY started_at`
	args = append(args, since, until)
	rows, err := s.r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: execution stats: %w", err)
	}
	defer rows.Close()
	var (
		cur  = -1
		durs []float64
		seen int64 // durations offered to the current bucket's sample
		rng  = rand.New(rand.NewPCG(1, 2))
	)
	flush := func() {
		if cur < 0 {
			return
		}
		slices.Sort(durs)
		b := &out[cur]
		b.P50MS, b.P95MS, b.P99MS = picloud.Percentile(durs, .5), picloud.Percentile(durs, .95), picloud.Percentile(durs, .99)
		durs, seen = durs[:0], 0
	}
	for rows.Next() {
		var (
			bi        int
			status    string
			dur       float64
			ops, outN int64
		)
		if err := rows.Scan(&bi, &status, &dur, &ops, &outN); err != nil {
			return nil, fmt.Errorf("sqlite: execution stats: %w", err)
		}
		if bi < 0 || bi >= len(out) {
			continue
		}
		if bi != cur {
			flush()
			cur = bi
		}
		b := &out[bi]
		b.Count++
		b.ByStatus[picloud.ExecutionStatus(status)]++
		b.Operations += ops
		b.Outbound += outN
		seen++
		if len(durs) < picloud.MaxStatsSamples {
			durs = append(durs, dur)
		} else if j := rng.Int64N(seen); j < picloud.MaxStatsSamples {
			durs[j] = dur
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: execution stats: %w", err)
	}
	flush()
	return out, nil
}

// ScriptBuckets implements picloud.StatsStore: one query walks the range on
// the (started_at) index, groups it by script and bucket (a few numbers a
// group leave SQLite), and joins the scripts' names.
func (s *Store) ScriptBuckets(ctx context.Context, q picloud.StatsQuery) ([]picloud.ScriptStats, error) {
	since, until, step := micros(q.Since), micros(q.Until), q.Step.Microseconds()
	rows, err := s.r.QueryContext(ctx, `SELECT g.script_id, coalesce(sc.name, ''), g.b, g.n, g.errs, g.dur, g.ops, g.outn
		FROM (SELECT script_id, (started_at - ?) / ? AS b, count(*) AS n, sum(status <> 'success') AS errs,
				total(duration_ms) AS dur, sum(operations) AS ops, sum(coalesce(json_array_length(outbound), 0)) AS outn
			FROM executions INDEXED BY executions_started
			WHERE started_at >= ? AND started_at < ?
			GROUP BY script_id, b) g
		LEFT JOIN scripts sc ON sc.id = g.script_id`, since, step, since, until)
	if err != nil {
		return nil, fmt.Errorf("sqlite: script stats: %w", err)
	}
	defer rows.Close()
	var groups []picloud.ScriptStatsRow
	for rows.Next() {
		var g picloud.ScriptStatsRow
		if err := rows.Scan(&g.ScriptID, &g.Name, &g.Bucket, &g.Count, &g.Errors, &g.DurationMS, &g.Operations, &g.Outbound); err != nil {
			return nil, fmt.Errorf("sqlite: script stats: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: script stats: %w", err)
	}
	return picloud.CollectScriptStats(q, groups), nil
}

// CountScripts implements picloud.StatsStore.
func (s *Store) CountScripts(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM scripts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: counting scripts: %w", err)
	}
	return n, nil
}
