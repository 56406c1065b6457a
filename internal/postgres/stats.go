package postgres

import (
	"context"
	"fmt"

	"github.com/picloud/picloud"
)

// ExecutionBuckets implements picloud.StatsStore in one query: the range's
// rows come from the (script_id, started_at) or (started_at) index, each gets
// its bucket number, and GROUPING SETS give per bucket the totals with
// percentile_cont's p50/p95/p99 (status grouped away) and the count of each
// status. Nothing but the buckets leaves the database.
func (s *Store) ExecutionBuckets(ctx context.Context, q picloud.StatsQuery) ([]picloud.StatsBucket, error) {
	out := picloud.EmptyStatsBuckets(q)
	// Two statements rather than "$1 = '' OR script_id = $1", so that a
	// cached generic plan still picks the script's index.
	where := `started_at >= $1 AND started_at < $2`
	args := []any{q.Since.UTC(), q.Until.UTC(), q.Step.Microseconds()}
	if q.ScriptID != "" {
		where = `script_id = $4 AND ` + where
		args = append(args, q.ScriptID)
	}
	rows, err := s.pool.Query(ctx, `SELECT b, coalesce(status, ''), GROUPING(status), count(*),
			percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY duration_ms),
			sum(operations)::bigint, sum(outn)::bigint
		FROM (SELECT floor(extract(epoch FROM started_at - $1::timestamptz) * 1000000 / $3)::int AS b,
				status, duration_ms, operations, coalesce(json_array_length(outbound::json), 0) AS outn
			FROM executions
			WHERE `+where+`) e
		GROUP BY GROUPING SETS ((b), (b, status))`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: execution stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			bi, grouped  int
			status       string
			n, ops, outN int64
			pct          []float64
		)
		if err := rows.Scan(&bi, &status, &grouped, &n, &pct, &ops, &outN); err != nil {
			return nil, fmt.Errorf("postgres: execution stats: %w", err)
		}
		if bi < 0 || bi >= len(out) {
			continue
		}
		b := &out[bi]
		if grouped == 0 {
			b.ByStatus[picloud.ExecutionStatus(status)] = n
			continue
		}
		b.Count, b.Operations, b.Outbound = n, ops, outN
		if len(pct) == 3 {
			b.P50MS, b.P95MS, b.P99MS = pct[0], pct[1], pct[2]
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: execution stats: %w", err)
	}
	return out, nil
}

// ScriptBuckets implements picloud.StatsStore: one query reads the range
// from the (started_at) index, groups it by script and bucket, and joins the
// scripts' names; a few numbers a group leave the database.
func (s *Store) ScriptBuckets(ctx context.Context, q picloud.StatsQuery) ([]picloud.ScriptStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT g.script_id, coalesce(sc.name, ''), g.b, g.n, g.errs, g.dur, g.ops, g.outn
		FROM (SELECT script_id, floor(extract(epoch FROM started_at - $1::timestamptz) * 1000000 / $3)::int AS b,
				count(*) AS n, count(*) FILTER (WHERE status <> 'success') AS errs,
				coalesce(sum(duration_ms), 0)::float8 AS dur, coalesce(sum(operations), 0)::bigint AS ops,
				coalesce(sum(coalesce(json_array_length(outbound::json), 0)), 0)::bigint AS outn
			FROM executions
			WHERE started_at >= $1 AND started_at < $2
			GROUP BY 1, 2) g
		LEFT JOIN scripts sc ON sc.id = g.script_id`, q.Since.UTC(), q.Until.UTC(), q.Step.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("postgres: script stats: %w", err)
	}
	defer rows.Close()
	var groups []picloud.ScriptStatsRow
	for rows.Next() {
		var g picloud.ScriptStatsRow
		if err := rows.Scan(&g.ScriptID, &g.Name, &g.Bucket, &g.Count, &g.Errors, &g.DurationMS, &g.Operations, &g.Outbound); err != nil {
			return nil, fmt.Errorf("postgres: script stats: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: script stats: %w", err)
	}
	return picloud.CollectScriptStats(q, groups), nil
}

// CountScripts implements picloud.StatsStore.
func (s *Store) CountScripts(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM scripts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: counting scripts: %w", err)
	}
	return n, nil
}
