package archive

import (
	"time"

	"github.com/picloud/picloud"
)

// The records' data. Each wraps a domain type converted to a type without
// its methods (so the API's JSON encoding, with times in milliseconds and
// "enabled" for Disabled, does not apply) and shadows its times with
// time.Time fields, which encoding/json writes with every digit the stores
// keep. A field added to a domain type is in the archive without a change
// here.

type line struct {
	Kind string `json:"kind"`
	Data any    `json:"data"`
}

type tokenData struct {
	Hash string `json:"hash"`
}

type scriptFields picloud.Script

type scriptData struct {
	*scriptFields
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newScriptData(sc *picloud.Script) scriptData {
	return scriptData{scriptFields: (*scriptFields)(sc), Disabled: sc.Disabled, CreatedAt: sc.CreatedAt.Time, UpdatedAt: sc.UpdatedAt.Time}
}

func (d scriptData) script() *picloud.Script {
	sc := (*picloud.Script)(d.scriptFields)
	sc.Disabled, sc.CreatedAt.Time, sc.UpdatedAt.Time = d.Disabled, d.CreatedAt, d.UpdatedAt
	return sc
}

type versionFields picloud.Version

type versionData struct {
	*versionFields
	CreatedAt time.Time `json:"created_at"`
}

type scheduleFields picloud.Schedule

type scheduleData struct {
	*scheduleFields
	LastScheduledAt *time.Time `json:"last_scheduled_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	NextRuns        []string   `json:"next_runs,omitempty"` // never written: stores do not keep them
}

func newScheduleData(s *picloud.Schedule) scheduleData {
	d := scheduleData{scheduleFields: (*scheduleFields)(s), CreatedAt: s.CreatedAt.Time, UpdatedAt: s.UpdatedAt.Time}
	if !s.LastScheduledAt.IsZero() {
		d.LastScheduledAt = &s.LastScheduledAt.Time
	}
	return d
}

func (d scheduleData) schedule() *picloud.Schedule {
	s := (*picloud.Schedule)(d.scheduleFields)
	s.CreatedAt.Time, s.UpdatedAt.Time, s.NextRuns = d.CreatedAt, d.UpdatedAt, nil
	if d.LastScheduledAt != nil {
		s.LastScheduledAt.Time = *d.LastScheduledAt
	}
	return s
}

// secretData carries the sealed bytes as base64 (encoding/json's []byte).
type secretData struct {
	Scope     string    `json:"scope"`
	Name      string    `json:"name"`
	Sealed    []byte    `json:"sealed"`
	UpdatedAt time.Time `json:"updated_at"`
}

// kvData holds the value as a string, byte for byte: as raw JSON, the
// encoder would compact it.
type kvData struct {
	NS        string     `json:"ns"`
	Key       string     `json:"key"`
	Value     string     `json:"value"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

type executionFields picloud.ExecutionLog

type executionData struct {
	*executionFields
	StartedAt time.Time `json:"started_at"`
}
