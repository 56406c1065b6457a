package audit

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/picloud/picloud"
)

// A journal record is one execution row as JSON, written by the appenders the
// stores use for the same parts, with started_at at full precision (the API's
// Time keeps milliseconds) so that a replayed row is the row as recorded.
// Unknown fields are ignored when reading, so a record can gain fields.

// row is a record as read back.
type row struct {
	ID            string                  `json:"id"`
	ScriptID      string                  `json:"script_id"`
	ScriptVersion int                     `json:"script_version"`
	Trigger       picloud.Trigger         `json:"trigger"`
	Status        picloud.ExecutionStatus `json:"status"`
	StartedAt     *time.Time              `json:"started_at"`
	DurationMS    float64                 `json:"duration_ms"`
	Operations    uint64                  `json:"operations"`
	Request       *picloud.RequestRecord  `json:"request"`
	Response      *picloud.ResponseRecord `json:"response"`
	Logs          []picloud.LogLine       `json:"logs"`
	Error         *picloud.ExecError      `json:"error"`
}

// appendRecord appends l's record to b.
func appendRecord(b []byte, l *picloud.ExecutionLog) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = picloud.AppendJSONString(b, l.ID)
	b = append(b, `,"script_id":`...)
	b = picloud.AppendJSONString(b, l.ScriptID)
	b = append(b, `,"script_version":`...)
	b = strconv.AppendInt(b, int64(l.ScriptVersion), 10)
	b = append(b, `,"trigger":`...)
	b = picloud.AppendJSONString(b, string(l.Trigger))
	b = append(b, `,"status":`...)
	b = picloud.AppendJSONString(b, string(l.Status))
	b = append(b, `,"started_at":`...)
	if l.StartedAt.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = l.StartedAt.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"duration_ms":`...)
	d := l.DurationMS
	if math.IsNaN(d) || math.IsInf(d, 0) {
		d = 0
	}
	b = strconv.AppendFloat(b, d, 'g', -1, 64)
	b = append(b, `,"operations":`...)
	b = strconv.AppendUint(b, l.Operations, 10)
	b = append(b, `,"request":`...)
	b = l.Request.AppendJSON(b)
	b = append(b, `,"response":`...)
	b = l.Response.AppendJSON(b)
	b = append(b, `,"logs":`...)
	b, err := picloud.AppendLogLinesJSON(b, l.Logs)
	if err != nil {
		return b, fmt.Errorf("audit: encode execution %s: %w", l.ID, err)
	}
	b = append(b, `,"error":`...)
	b = l.Error.AppendJSON(b)
	return append(b, '}'), nil
}

// parseRecord reads a record back.
func parseRecord(rec []byte) (*picloud.ExecutionLog, error) {
	var r row
	if err := json.Unmarshal(rec, &r); err != nil {
		return nil, fmt.Errorf("audit: decode a journal record: %w", err)
	}
	l := &picloud.ExecutionLog{
		ID: r.ID, ScriptID: r.ScriptID, ScriptVersion: r.ScriptVersion, Trigger: r.Trigger, Status: r.Status,
		DurationMS: r.DurationMS, Operations: r.Operations,
		Request: r.Request, Response: r.Response, Logs: r.Logs, Error: r.Error,
	}
	if r.StartedAt != nil {
		l.StartedAt = picloud.Time{Time: r.StartedAt.UTC()}
	}
	return l, nil
}
