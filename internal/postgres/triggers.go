package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/picloud/picloud"
)

// Pool is the store's connection pool; the job queue (River) runs on it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// QueryExecutions implements picloud.ExecutionStore. A filter on the job or
// the schedule also excludes the empty id, the condition of migration 007's
// partial indexes, so that the planner can use them. The script and time
// filters use the (script_id, started_at) and (started_at) indexes; a text
// search narrows the rows in SQL when it can (picloud.TextPrefilter) and
// checks each remaining row's messages in Go, paging there.
func (s *Store) QueryExecutions(ctx context.Context, q picloud.ExecutionQuery) ([]*picloud.ExecutionLog, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.ScriptID != "" {
		where = append(where, "script_id = "+arg(q.ScriptID))
	}
	if q.Trigger != "" {
		where = append(where, "trigger_type = "+arg(string(q.Trigger)))
	}
	if q.JobID != "" {
		where = append(where, "job_id = "+arg(q.JobID)+" AND job_id <> ''")
	}
	if q.ScheduleID != "" {
		where = append(where, "schedule_id = "+arg(q.ScheduleID)+" AND schedule_id <> ''")
	}
	if len(q.Statuses) > 0 {
		sts := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			sts[i] = string(st)
		}
		where = append(where, "status = ANY("+arg(sts)+"::text[])")
	}
	if len(q.Triggers) > 0 {
		trs := make([]string, len(q.Triggers))
		for i, tr := range q.Triggers {
			trs[i] = string(tr)
		}
		where = append(where, "trigger_type = ANY("+arg(trs)+"::text[])")
	}
	if !q.Since.IsZero() {
		where = append(where, "started_at >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "started_at < "+arg(q.Until))
	}
	if pat, ok := picloud.TextPrefilter(q.Text); ok {
		p := arg(pat)
		where = append(where, `(logs ILIKE `+p+` ESCAPE '\' OR error ILIKE `+p+` ESCAPE '\')`)
	}
	stmt := `SELECT ` + execCols + ` FROM executions`
	if len(where) > 0 {
		stmt += ` WHERE ` + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	offset := max(q.Offset, 0)
	stmt += ` ORDER BY started_at DESC, id DESC`
	if q.Text == "" {
		stmt += ` LIMIT ` + arg(limit) + ` OFFSET ` + arg(offset)
	}
	rows, err := s.pool.Query(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: query executions: %w", err)
	}
	defer rows.Close()
	list := []*picloud.ExecutionLog{}
	for rows.Next() && len(list) < limit {
		l, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: query executions: %w", err)
		}
		if q.Text != "" {
			if !l.MatchText(q.Text) {
				continue
			}
			if offset > 0 {
				offset--
				continue
			}
		}
		list = append(list, l)
	}
	return list, rows.Err()
}

// SubscribedScripts implements picloud.Store. The SQL matches the topic as a
// whole comma-separated entry with strpos (no LIKE, whose '_' would be a
// wildcard: topics contain it); Go checks again on the parsed list.
func (s *Store) SubscribedScripts(ctx context.Context, topic string) ([]*picloud.Script, error) {
	if topic == "" || strings.Contains(topic, ",") {
		return []*picloud.Script{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+scriptCols+` FROM scripts
		WHERE NOT disabled AND strpos(',' || subscriptions || ',', ',' || $1 || ',') > 0 ORDER BY name COLLATE "C"`, topic)
	if err != nil {
		return nil, fmt.Errorf("postgres: scripts subscribed to %q: %w", topic, err)
	}
	defer rows.Close()
	list := []*picloud.Script{}
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: scripts subscribed to %q: %w", topic, err)
		}
		for _, t := range sc.Subscriptions {
			if t == topic {
				list = append(list, sc)
				break
			}
		}
	}
	return list, rows.Err()
}

const scheduleCols = `id, script_id, cron, timezone, body, enabled, last_scheduled_at, created_at, updated_at`

func scanSchedule(row pgx.Row) (*picloud.Schedule, error) {
	var sc picloud.Schedule
	var body []byte
	var last *time.Time
	if err := row.Scan(&sc.ID, &sc.ScriptID, &sc.Cron, &sc.Timezone, &body, &sc.Enabled, &last,
		&sc.CreatedAt.Time, &sc.UpdatedAt.Time); err != nil {
		return nil, err
	}
	sc.Body = string(body)
	if last != nil {
		sc.LastScheduledAt.Time = last.UTC()
	}
	sc.CreatedAt.Time, sc.UpdatedAt.Time = sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()
	return &sc, nil
}

// nullTime is t to the microsecond (PostgreSQL's precision), or NULL for the
// zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}

func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// CreateSchedule implements picloud.ScheduleStore.
func (s *Store) CreateSchedule(ctx context.Context, sc *picloud.Schedule) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	// A version 7 UUID orders by creation, so that schedules made within
	// one microsecond still list oldest first (ORDER BY created_at, id).
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("postgres: create schedule: %w", err)
	}
	sc.ID = id.String()
	sc.CreatedAt.Time, sc.UpdatedAt.Time = now, now
	last := nullTime(sc.LastScheduledAt.Time)
	if last != nil {
		sc.LastScheduledAt.Time = *last
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO schedules (`+scheduleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		sc.ID, sc.ScriptID, sc.Cron, sc.Timezone, []byte(sc.Body), sc.Enabled, last, now)
	if isForeignKey(err) {
		return notFound("script", sc.ScriptID)
	} else if err != nil {
		return fmt.Errorf("postgres: create schedule of %q: %w", sc.ScriptID, err)
	}
	return nil
}

// Schedule implements picloud.ScheduleStore.
func (s *Store) Schedule(ctx context.Context, id string) (*picloud.Schedule, error) {
	sc, err := scanSchedule(s.pool.QueryRow(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("schedule", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: schedule %q: %w", id, err)
	}
	return sc, nil
}

// ListSchedules implements picloud.ScheduleStore.
func (s *Store) ListSchedules(ctx context.Context, scriptID string) ([]*picloud.Schedule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scheduleCols+` FROM schedules
		WHERE $1 = '' OR script_id = $1 ORDER BY created_at, id`, scriptID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list schedules: %w", err)
	}
	defer rows.Close()
	list := []*picloud.Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list schedules: %w", err)
		}
		list = append(list, sc)
	}
	return list, rows.Err()
}

// UpdateSchedule implements picloud.ScheduleStore.
func (s *Store) UpdateSchedule(ctx context.Context, id string, u picloud.ScheduleUpdate) (*picloud.Schedule, error) {
	var out *picloud.Schedule
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sc, err := scanSchedule(tx.QueryRow(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("schedule", id)
		} else if err != nil {
			return err
		}
		u.Apply(sc)
		sc.UpdatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
		if _, err := tx.Exec(ctx, `UPDATE schedules SET cron = $1, timezone = $2, body = $3, enabled = $4, updated_at = $5 WHERE id = $6`,
			sc.Cron, sc.Timezone, []byte(sc.Body), sc.Enabled, sc.UpdatedAt.Time, id); err != nil {
			return err
		}
		out = sc
		return nil
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("postgres: update schedule %q: %w", id, err)
	}
	return out, nil
}

// DeleteSchedule implements picloud.ScheduleStore.
func (s *Store) DeleteSchedule(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM schedules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: delete schedule %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("schedule", id)
	}
	return nil
}

// AdvanceSchedule implements picloud.ScheduleStore: one conditional UPDATE.
// Of processes planning the same firing, the first takes the row lock; the
// others wait for it and, read committed, re-check the condition on the
// updated row, so exactly one sees true.
func (s *Store) AdvanceSchedule(ctx context.Context, id string, at time.Time) (bool, error) {
	at = at.UTC().Truncate(time.Microsecond)
	var advanced, exists bool
	err := s.pool.QueryRow(ctx, `WITH up AS (
			UPDATE schedules SET last_scheduled_at = $2
			WHERE id = $1 AND (last_scheduled_at IS NULL OR last_scheduled_at < $2) RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM up), EXISTS (SELECT 1 FROM schedules WHERE id = $1)`, id, at).Scan(&advanced, &exists)
	if err != nil {
		return false, fmt.Errorf("postgres: advance schedule %q: %w", id, err)
	}
	if !advanced && !exists {
		return false, notFound("schedule", id)
	}
	return advanced, nil
}
