package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
)

// WriterDB is the store's write pool: one connection, the only writer of
// the file. The job queue (River) runs on it, so that its writes and the
// store's queue behind one another instead of failing with SQLITE_BUSY.
func (s *Store) WriterDB() *sql.DB { return s.w }

// QueryExecutions implements picloud.ExecutionStore. A filter on the job or
// the schedule also excludes the empty id, the condition of migration 007's
// partial indexes, so that they apply. The script and time filters use the
// (script_id, started_at) and (started_at) indexes; a text search narrows the
// rows in SQL when it can (picloud.TextPrefilter) and checks each remaining
// row's messages in Go, paging there.
func (s *Store) QueryExecutions(ctx context.Context, q picloud.ExecutionQuery) ([]*picloud.ExecutionLog, error) {
	var where []string
	var args []any
	if q.ScriptID != "" {
		where, args = append(where, "script_id = ?"), append(args, q.ScriptID)
	}
	if q.Trigger != "" {
		where, args = append(where, "trigger_type = ?"), append(args, string(q.Trigger))
	}
	if q.JobID != "" {
		where, args = append(where, "job_id = ? AND job_id <> ''"), append(args, q.JobID)
	}
	if q.ScheduleID != "" {
		where, args = append(where, "schedule_id = ? AND schedule_id <> ''"), append(args, q.ScheduleID)
	}
	if len(q.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(q.Statuses)-1)+")")
		for _, st := range q.Statuses {
			args = append(args, string(st))
		}
	}
	if len(q.Triggers) > 0 {
		where = append(where, "trigger_type IN (?"+strings.Repeat(", ?", len(q.Triggers)-1)+")")
		for _, tr := range q.Triggers {
			args = append(args, string(tr))
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "started_at >= ?"), append(args, micros(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "started_at < ?"), append(args, micros(q.Until))
	}
	if pat, ok := picloud.TextPrefilter(q.Text); ok {
		// SQLite's LIKE folds ASCII case, all a prefilter pattern holds.
		where = append(where, `(logs LIKE ? ESCAPE '\' OR error LIKE ? ESCAPE '\')`)
		args = append(args, pat, pat)
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
		stmt += ` LIMIT ? OFFSET ?`
		args = append(args, limit, offset)
	}
	rows, err := s.r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query executions: %w", err)
	}
	defer rows.Close()
	list := []*picloud.ExecutionLog{}
	for rows.Next() && len(list) < limit {
		l, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: query executions: %w", err)
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
// whole comma-separated entry with instr (no LIKE, whose '_' would be a
// wildcard: topics contain it); Go checks again on the parsed list.
func (s *Store) SubscribedScripts(ctx context.Context, topic string) ([]*picloud.Script, error) {
	if topic == "" || strings.Contains(topic, ",") {
		return []*picloud.Script{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+scriptCols+` FROM scripts
		WHERE disabled = 0 AND instr(',' || subscriptions || ',', ',' || ? || ',') > 0 ORDER BY name`, topic)
	if err != nil {
		return nil, fmt.Errorf("sqlite: scripts subscribed to %q: %w", topic, err)
	}
	defer rows.Close()
	list := []*picloud.Script{}
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: scripts subscribed to %q: %w", topic, err)
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

func scanSchedule(row scanner) (*picloud.Schedule, error) {
	var sc picloud.Schedule
	var body []byte
	var last sql.NullInt64
	var created, updated int64
	if err := row.Scan(&sc.ID, &sc.ScriptID, &sc.Cron, &sc.Timezone, &body, &sc.Enabled, &last, &created, &updated); err != nil {
		return nil, err
	}
	sc.Body = string(body)
	if last.Valid {
		sc.LastScheduledAt.Time = fromMicros(last.Int64)
	}
	sc.CreatedAt.Time, sc.UpdatedAt.Time = fromMicros(created), fromMicros(updated)
	return &sc, nil
}

// nullMicros is t in Unix microseconds, or NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

func isForeignKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// CreateSchedule implements picloud.ScheduleStore.
func (s *Store) CreateSchedule(ctx context.Context, sc *picloud.Schedule) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	// A version 7 UUID orders by creation, so that schedules made within
	// one microsecond still list oldest first (ORDER BY created_at, id).
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("sqlite: create schedule: %w", err)
	}
	sc.ID = id.String()
	sc.CreatedAt.Time, sc.UpdatedAt.Time = now, now
	sc.LastScheduledAt.Time = truncTime(sc.LastScheduledAt.Time)
	_, err = s.w.ExecContext(ctx, `INSERT INTO schedules (`+scheduleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sc.ID, sc.ScriptID, sc.Cron, sc.Timezone, []byte(sc.Body), sc.Enabled, nullMicros(sc.LastScheduledAt.Time), micros(now), micros(now))
	if isForeignKey(err) {
		return notFound("script", sc.ScriptID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create schedule of %q: %w", sc.ScriptID, err)
	}
	return nil
}

// truncTime is t to the microsecond, in UTC (the zero time stays zero).
func truncTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Schedule implements picloud.ScheduleStore.
func (s *Store) Schedule(ctx context.Context, id string) (*picloud.Schedule, error) {
	sc, err := scanSchedule(s.r.QueryRowContext(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("schedule", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: schedule %q: %w", id, err)
	}
	return sc, nil
}

// ListSchedules implements picloud.ScheduleStore.
func (s *Store) ListSchedules(ctx context.Context, scriptID string) ([]*picloud.Schedule, error) {
	q, args := `SELECT `+scheduleCols+` FROM schedules`, []any{}
	if scriptID != "" {
		q, args = q+` WHERE script_id = ?`, append(args, scriptID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list schedules: %w", err)
	}
	defer rows.Close()
	list := []*picloud.Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list schedules: %w", err)
		}
		list = append(list, sc)
	}
	return list, rows.Err()
}

// UpdateSchedule implements picloud.ScheduleStore.
func (s *Store) UpdateSchedule(ctx context.Context, id string, u picloud.ScheduleUpdate) (*picloud.Schedule, error) {
	var out *picloud.Schedule
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sc, err := scanSchedule(tx.QueryRowContext(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("schedule", id)
		} else if err != nil {
			return err
		}
		u.Apply(sc)
		sc.UpdatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET cron = ?, timezone = ?, body = ?, enabled = ?, updated_at = ? WHERE id = ?`,
			sc.Cron, sc.Timezone, []byte(sc.Body), sc.Enabled, micros(sc.UpdatedAt.Time), id); err != nil {
			return err
		}
		out = sc
		return nil
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: update schedule %q: %w", id, err)
	}
	return out, nil
}

// DeleteSchedule implements picloud.ScheduleStore.
func (s *Store) DeleteSchedule(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM schedules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete schedule %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("schedule", id)
	}
	return nil
}

// AdvanceSchedule implements picloud.ScheduleStore: one conditional UPDATE,
// so that of processes planning the same firing exactly one sees true.
func (s *Store) AdvanceSchedule(ctx context.Context, id string, at time.Time) (bool, error) {
	us := micros(at)
	res, err := s.w.ExecContext(ctx, `UPDATE schedules SET last_scheduled_at = ?
		WHERE id = ? AND (last_scheduled_at IS NULL OR last_scheduled_at < ?)`, us, id, us)
	if err != nil {
		return false, fmt.Errorf("sqlite: advance schedule %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return true, nil
	}
	var one int
	err = s.r.QueryRowContext(ctx, `SELECT 1 FROM schedules WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound("schedule", id)
	} else if err != nil {
		return false, fmt.Errorf("sqlite: advance schedule %q: %w", id, err)
	}
	return false, nil
}
