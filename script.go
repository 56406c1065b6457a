package picloud

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Script is a stored Rhai script. Source is the current version's source.
// Zero limits mean the server's defaults (MaxConcurrency 0: only the server-wide
// gate applies).
type Script struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Source         string `json:"source"`
	Version        int    `json:"version"`
	TimeoutMS      int64  `json:"timeout_ms"`
	MaxOperations  int64  `json:"max_operations"`
	MaxConcurrency int    `json:"max_concurrency"`
	// MaxMemoryBytes bounds the bytes one execution's strings, arrays, maps
	// and BLOBs may hold; MaxResponseBytes the body it may answer with.
	MaxMemoryBytes   int64 `json:"max_memory_bytes"`
	MaxResponseBytes int64 `json:"max_response_bytes"`
	// Unsandboxed drops the platform's `Content-Security-Policy: sandbox` from
	// the script's responses. It has an effect only when functions are served
	// from their own origin (--functions-origin); otherwise a script's page
	// would share the dashboard's origin.
	Unsandboxed bool `json:"unsandboxed"`
	// KVNamespaces lists the shared kv namespaces the script may reach with
	// kv::ns(name), comma-separated ("orders,users"); KVMaxKeys and
	// KVMaxBytes are its kv quota per namespace (0: the server defaults).
	KVNamespaces string `json:"kv_namespaces"`
	KVMaxKeys    int64  `json:"kv_max_keys"`
	KVMaxBytes   int64  `json:"kv_max_bytes"`
	// The http:: settings (0: the server defaults): outbound requests per
	// execution, bytes of one response body, one request's timeout; and
	// EgressAllow, the destinations opened to the script despite the
	// egress guard (comma-separated hosts, host:port, addresses, CIDRs).
	HTTPMaxRequests      int64  `json:"http_max_requests"`
	HTTPMaxResponseBytes int64  `json:"http_max_response_bytes"`
	HTTPTimeoutMS        int64  `json:"http_timeout_ms"`
	EgressAllow          string `json:"egress_allow"`
	// The Step 9 settings. Disabled is the inverse of the API's "enabled"
	// (so that a Script{} literal is an enabled script): a disabled script
	// answers 503 unavailable and its schedules and subscriptions do not
	// fire. MaxAttempts bounds the attempts of its async and event runs (0:
	// DefaultMaxAttempts). Subscriptions are the event topics it receives.
	Disabled      bool     `json:"-"`
	MaxAttempts   int64    `json:"max_attempts"`
	Subscriptions []string `json:"subscriptions"`
	// The Step 12 settings. Access says who may invoke the script: "public"
	// ("" reads as public), "key" (an invoke key), "token" (an API token with
	// invoke:<name>, deploy or admin) or "library" (not invocable over HTTP).
	// RateLimitRPS bounds the requests per second (0: none) with a burst of
	// RateLimitBurst (0: ceil(rps)), counted per client address or, with
	// RateLimitBy "key", per invoke key.
	Access         string  `json:"access"`
	RateLimitRPS   float64 `json:"rate_limit_rps"`
	RateLimitBurst int64   `json:"rate_limit_burst"`
	RateLimitBy    string  `json:"rate_limit_by"`
	// ConfinedTo is the script-name pattern of the restricted deploy token
	// that last wrote the script ("": unconfined, the script was written only
	// by tokens for every script). A confined script reads only its own
	// secrets, exchanges events and imports only with scripts that match
	// its pattern and whose own pattern it matches (MutuallyAdmitted). Only a
	// token for every script may clear it.
	ConfinedTo string `json:"confined_to"`
	CreatedAt  Time   `json:"created_at"`
	UpdatedAt  Time   `json:"updated_at"`
}

// scriptJSON is Script as the API shows it: with "enabled".
type scriptJSON struct {
	*scriptFields
	Enabled bool `json:"enabled"`
}

type scriptFields Script

// MarshalJSON writes s with "enabled" (the inverse of Disabled) and
// subscriptions as a list (never null).
func (s Script) MarshalJSON() ([]byte, error) {
	if s.Subscriptions == nil {
		s.Subscriptions = []string{}
	}
	return json.Marshal(scriptJSON{scriptFields: (*scriptFields)(&s), Enabled: !s.Disabled})
}

// UnmarshalJSON reads what MarshalJSON writes; a missing "enabled" is true.
func (s *Script) UnmarshalJSON(b []byte) error {
	v := struct {
		*scriptFields
		Enabled *bool `json:"enabled"`
	}{scriptFields: (*scriptFields)(s)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	s.Disabled = v.Enabled != nil && !*v.Enabled
	return nil
}

// Version is one append-only version of a script's source.
type Version struct {
	ScriptID  string `json:"script_id"`
	Version   int    `json:"version"`
	Source    string `json:"source"`
	CreatedAt Time   `json:"created_at"`
}

// ScriptUpdate is a partial update: nil fields are left alone. A Source that
// differs from the current one makes a new version; NewVersion forces one
// (rollback to the current source still appends a version).
type ScriptUpdate struct {
	Name           *string `json:"name"`
	Source         *string `json:"source"`
	TimeoutMS      *int64  `json:"timeout_ms"`
	MaxOperations  *int64  `json:"max_operations"`
	MaxConcurrency *int    `json:"max_concurrency"`
	// The settings added with Step 7 (see Script).
	MaxMemoryBytes   *int64 `json:"max_memory_bytes"`
	MaxResponseBytes *int64 `json:"max_response_bytes"`
	Unsandboxed      *bool  `json:"unsandboxed"`
	// The kv settings (see Script).
	KVNamespaces *string `json:"kv_namespaces,omitempty"`
	KVMaxKeys    *int64  `json:"kv_max_keys,omitempty"`
	KVMaxBytes   *int64  `json:"kv_max_bytes,omitempty"`
	// The http:: settings (see Script).
	HTTPMaxRequests      *int64  `json:"http_max_requests,omitempty"`
	HTTPMaxResponseBytes *int64  `json:"http_max_response_bytes,omitempty"`
	HTTPTimeoutMS        *int64  `json:"http_timeout_ms,omitempty"`
	EgressAllow          *string `json:"egress_allow,omitempty"`
	// The Step 9 settings (see Script).
	Enabled       *bool     `json:"enabled,omitempty"`
	MaxAttempts   *int64    `json:"max_attempts,omitempty"`
	Subscriptions *[]string `json:"subscriptions,omitempty"`
	// The Step 12 settings (see Script).
	Access         *string  `json:"access,omitempty"`
	RateLimitRPS   *float64 `json:"rate_limit_rps,omitempty"`
	RateLimitBurst *int64   `json:"rate_limit_burst,omitempty"`
	RateLimitBy    *string  `json:"rate_limit_by,omitempty"`
	// ConfinedTo sets the script's confinement (see Script): the manager
	// sets it to the pattern of a restricted token that writes the script;
	// a token for every script may set it to "" (clear it).
	ConfinedTo *string `json:"confined_to,omitempty"`
	NewVersion bool    `json:"-"`
}

// Apply changes sc as the update says and reports whether that makes a new
// version (a changed source, or NewVersion for a rollback). Both stores use it,
// so the rule lives in one place.
func (u ScriptUpdate) Apply(sc *Script) (newVersion bool) {
	if u.Name != nil {
		sc.Name = *u.Name
	}
	if u.TimeoutMS != nil {
		sc.TimeoutMS = *u.TimeoutMS
	}
	if u.MaxOperations != nil {
		sc.MaxOperations = *u.MaxOperations
	}
	if u.MaxConcurrency != nil {
		sc.MaxConcurrency = *u.MaxConcurrency
	}
	if u.MaxMemoryBytes != nil {
		sc.MaxMemoryBytes = *u.MaxMemoryBytes
	}
	if u.MaxResponseBytes != nil {
		sc.MaxResponseBytes = *u.MaxResponseBytes
	}
	if u.Unsandboxed != nil {
		sc.Unsandboxed = *u.Unsandboxed
	}
	if u.KVNamespaces != nil {
		sc.KVNamespaces = strings.Join(KVNamespaces(*u.KVNamespaces), ",")
	}
	if u.KVMaxKeys != nil {
		sc.KVMaxKeys = *u.KVMaxKeys
	}
	if u.KVMaxBytes != nil {
		sc.KVMaxBytes = *u.KVMaxBytes
	}
	if u.HTTPMaxRequests != nil {
		sc.HTTPMaxRequests = *u.HTTPMaxRequests
	}
	if u.HTTPMaxResponseBytes != nil {
		sc.HTTPMaxResponseBytes = *u.HTTPMaxResponseBytes
	}
	if u.HTTPTimeoutMS != nil {
		sc.HTTPTimeoutMS = *u.HTTPTimeoutMS
	}
	if u.EgressAllow != nil {
		sc.EgressAllow = strings.Join(EgressEntries(*u.EgressAllow), ",")
	}
	if u.Enabled != nil {
		sc.Disabled = !*u.Enabled
	}
	if u.MaxAttempts != nil {
		sc.MaxAttempts = *u.MaxAttempts
	}
	if u.Subscriptions != nil {
		sc.Subscriptions = Topics(strings.Join(*u.Subscriptions, ","))
	}
	if u.Access != nil {
		sc.Access = *u.Access
	}
	if u.RateLimitRPS != nil {
		sc.RateLimitRPS = *u.RateLimitRPS
	}
	if u.RateLimitBurst != nil {
		sc.RateLimitBurst = *u.RateLimitBurst
	}
	if u.RateLimitBy != nil {
		sc.RateLimitBy = *u.RateLimitBy
	}
	if u.ConfinedTo != nil {
		sc.ConfinedTo = *u.ConfinedTo
	}
	if (u.Source != nil && *u.Source != sc.Source) || u.NewVersion {
		if u.Source != nil {
			sc.Source = *u.Source
		}
		sc.Version++
		return true
	}
	return false
}

// ScriptFilter narrows ListScripts. The zero value lists every script by name.
type ScriptFilter struct {
	Name string // exact name, "" for all
}

// ScriptStore keeps scripts and their versions. Methods return an *Error with
// ENotFound or ENameTaken where those apply.
type ScriptStore interface {
	// CreateScript stores s as version 1, filling ID, Version and the times.
	CreateScript(ctx context.Context, s *Script) error
	Script(ctx context.Context, id string) (*Script, error)
	ScriptByName(ctx context.Context, name string) (*Script, error)
	ListScripts(ctx context.Context, f ScriptFilter) ([]*Script, error)
	UpdateScript(ctx context.Context, id string, u ScriptUpdate) (*Script, error)
	// DeleteScript removes the script, its versions and its execution logs.
	DeleteScript(ctx context.Context, id string) error
	Versions(ctx context.Context, scriptID string) ([]*Version, error)
	ScriptVersion(ctx context.Context, scriptID string, version int) (*Version, error)
}

// TokenStore keeps the admin token's hash (never the token).
type TokenStore interface {
	// AdminTokenHash returns "" when no token was set yet.
	AdminTokenHash(ctx context.Context) (string, error)
	// SetAdminTokenHash replaces the hash and deletes every session in the
	// same transaction: a new token signs everyone out.
	SetAdminTokenHash(ctx context.Context, hash string) error
}

// Store is everything the all-in-one server needs from its database.
type Store interface {
	ScriptStore
	ExecutionStore
	TokenStore
	SessionStore
	SecretStore
	KVStore
	ScheduleStore
	NodeStore
	DraftStore
	StatsStore
	APITokenStore
	InvokeKeyStore
	AuditStore
	// SubscribedScripts returns the enabled scripts subscribed to topic.
	SubscribedScripts(ctx context.Context, topic string) ([]*Script, error)
	// Kind names the database for /api/health: "sqlite" or "postgres".
	Kind() string
	Ping(ctx context.Context) error
	Close() error
}

// The valid ranges of the numeric settings. 0 always means the server's
// default; the stores hold every value in range (BIGINT / INTEGER), and
// Validate refuses the rest before a store sees them, so both stores answer
// the same.
const (
	MaxTimeoutMS          int64 = 3_600_000         // one hour
	MaxOperationsLimit    int64 = 1_000_000_000_000 // 10^12
	MaxConcurrencyLimit   int   = 100_000
	MaxMemoryBytesLimit   int64 = 64 << 30 // 64 GiB
	MaxResponseBytesLimit int64 = 1 << 30  // 1 GiB
)

// ValidateName checks a script's name as ValidName does, as an
// invalid_request *Error naming the field "name". Both stores call it on
// create and rename, so that no path stores a name the API could not
// address.
func ValidateName(name string) error {
	if LooksLikeUUID(name) {
		return fieldError("name", "name %q looks like a script id (a UUID); choose another", name)
	}
	if !ValidName(name) {
		return fieldError("name", "name %q is not a slug ([a-z0-9][a-z0-9-]{0,62})", name)
	}
	return nil
}

// Validate checks every field that is set: the name is a slug and each
// numeric setting lies in its range. A violation is an invalid_request
// *Error naming the field.
func (u ScriptUpdate) Validate() error {
	if u.Name != nil {
		if err := ValidateName(*u.Name); err != nil {
			return err
		}
	}
	if err := inRange("timeout_ms", u.TimeoutMS, MaxTimeoutMS); err != nil {
		return err
	}
	if err := inRange("max_operations", u.MaxOperations, MaxOperationsLimit); err != nil {
		return err
	}
	if u.MaxConcurrency != nil {
		if err := inRange("max_concurrency", ptrTo(int64(*u.MaxConcurrency)), int64(MaxConcurrencyLimit)); err != nil {
			return err
		}
	}
	if err := inRange("max_memory_bytes", u.MaxMemoryBytes, MaxMemoryBytesLimit); err != nil {
		return err
	}
	if err := inRange("max_response_bytes", u.MaxResponseBytes, MaxResponseBytesLimit); err != nil {
		return err
	}
	if u.KVNamespaces != nil {
		for _, n := range KVNamespaces(*u.KVNamespaces) {
			if !ValidName(n) {
				return fieldError("kv_namespaces", "kv namespace %q is not a slug ([a-z0-9][a-z0-9-]{0,62})", n)
			}
		}
	}
	if err := inRange("kv_max_keys", u.KVMaxKeys, MaxKVMaxKeysLimit); err != nil {
		return err
	}
	if err := inRange("kv_max_bytes", u.KVMaxBytes, MaxKVMaxBytesLimit); err != nil {
		return err
	}
	if err := inRange("http_max_requests", u.HTTPMaxRequests, MaxHTTPMaxRequestsLimit); err != nil {
		return err
	}
	if err := inRange("http_max_response_bytes", u.HTTPMaxResponseBytes, MaxHTTPMaxResponseBytesLimit); err != nil {
		return err
	}
	if err := inRange("http_timeout_ms", u.HTTPTimeoutMS, MaxHTTPTimeoutMSLimit); err != nil {
		return err
	}
	if u.EgressAllow != nil {
		if len(*u.EgressAllow) > MaxEgressAllowBytes {
			return fieldError("egress_allow", "egress_allow is longer than %d bytes", MaxEgressAllowBytes)
		}
		for _, e := range EgressEntries(*u.EgressAllow) {
			if err := ValidEgressEntry(e); err != nil {
				return fieldError("egress_allow", "%v", err)
			}
		}
	}
	if err := inRange("max_attempts", u.MaxAttempts, MaxMaxAttemptsLimit); err != nil {
		return err
	}
	if u.Subscriptions != nil {
		if len(*u.Subscriptions) > MaxSubscriptions {
			return fieldError("subscriptions", "a script may subscribe to at most %d topics", MaxSubscriptions)
		}
		for _, t := range *u.Subscriptions {
			if !ValidTopic(strings.TrimSpace(t)) {
				return fieldError("subscriptions", "topic %q is not valid ([a-z0-9][a-z0-9._-]{0,127})", t)
			}
		}
	}
	if u.Access != nil && !ValidAccess(*u.Access) {
		return fieldError("access", "access %q is not public, key, token or library", *u.Access)
	}
	if u.RateLimitRPS != nil {
		if v := *u.RateLimitRPS; !(v >= 0 && v <= MaxRateLimit) {
			return fieldError("rate_limit_rps", "rate_limit_rps must be between 0 (no limit) and %d", int64(MaxRateLimit))
		}
	}
	if err := inRange("rate_limit_burst", u.RateLimitBurst, MaxRateLimit); err != nil {
		return err
	}
	if u.RateLimitBy != nil && *u.RateLimitBy != "" && *u.RateLimitBy != RateLimitByClient && *u.RateLimitBy != RateLimitByKey {
		return fieldError("rate_limit_by", "rate_limit_by %q is not client or key", *u.RateLimitBy)
	}
	if u.ConfinedTo != nil {
		if ValidateScriptPattern(*u.ConfinedTo) != nil {
			return fieldError("confined_to", "confined_to %q is not a script-name pattern (path.Match, at most 128 bytes)", *u.ConfinedTo)
		}
	}
	return nil
}

// A script's access values (Script.Access).
const (
	AccessPublic  = "public"
	AccessKey     = "key"
	AccessToken   = "token"
	AccessLibrary = "library"
)

// ValidAccess reports whether a is a script access value ("" reads as public).
func ValidAccess(a string) bool {
	switch a {
	case "", AccessPublic, AccessKey, AccessToken, AccessLibrary:
		return true
	}
	return false
}

// ScriptAccess returns the script's access, "public" when unset.
func (s *Script) ScriptAccess() string {
	if s.Access == "" {
		return AccessPublic
	}
	return s.Access
}

// The rate limit's keys (Script.RateLimitBy) and its largest rate and burst.
const (
	RateLimitByClient = "client"
	RateLimitByKey    = "key"
	MaxRateLimit      = 1_000_000
)

func inRange(field string, v *int64, max int64) error {
	if v != nil && (*v < 0 || *v > max) {
		return &Error{Code: EInvalidRequest, Message: fmt.Sprintf("%s must be between 0 (the server default) and %d", field, max),
			Details: map[string]any{"field": field}}
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }
