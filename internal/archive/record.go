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

// apiTokenData is a named API token with its hash (the API's JSON leaves the
// hash out).
type apiTokenData struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       string     `json:"hash"`
	Scopes     []string   `json:"scopes"`
	Scripts    string     `json:"scripts"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func newAPITokenData(t *picloud.APIToken) apiTokenData {
	return apiTokenData{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Hash: t.Hash, Scopes: t.Scopes, Scripts: t.Scripts,
		CreatedAt: t.CreatedAt.Time, LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: optTime(t.ExpiresAt)}
}

func (d apiTokenData) token() *picloud.APIToken {
	return &picloud.APIToken{ID: d.ID, Name: d.Name, Prefix: d.Prefix, Hash: d.Hash, Scopes: d.Scopes, Scripts: d.Scripts,
		CreatedAt: picloud.Time{Time: d.CreatedAt}, LastUsedAt: optPicloudTime(d.LastUsedAt), ExpiresAt: optPicloudTime(d.ExpiresAt)}
}

// invokeKeyData is an invoke key with its hash.
type invokeKeyData struct {
	ID         string     `json:"id"`
	ScriptID   string     `json:"script_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       string     `json:"hash"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func newInvokeKeyData(k *picloud.InvokeKey) invokeKeyData {
	return invokeKeyData{ID: k.ID, ScriptID: k.ScriptID, Name: k.Name, Prefix: k.Prefix, Hash: k.Hash,
		CreatedAt: k.CreatedAt.Time, LastUsedAt: optTime(k.LastUsedAt)}
}

func (d invokeKeyData) key() *picloud.InvokeKey {
	return &picloud.InvokeKey{ID: d.ID, ScriptID: d.ScriptID, Name: d.Name, Prefix: d.Prefix, Hash: d.Hash,
		CreatedAt: picloud.Time{Time: d.CreatedAt}, LastUsedAt: optPicloudTime(d.LastUsedAt)}
}

func optTime(t *picloud.Time) *time.Time {
	if t == nil {
		return nil
	}
	return &t.Time
}

func optPicloudTime(t *time.Time) *picloud.Time {
	if t == nil {
		return nil
	}
	return &picloud.Time{Time: *t}
}
