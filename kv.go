package picloud

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The kv:: limits. A key is at most MaxKVKeyBytes bytes of UTF-8 (no NUL), a
// value at most MaxKVValueBytes bytes of JSON text. A script's quota (keys and
// bytes, key plus value, per namespace) is its kv_max_keys / kv_max_bytes
// settings, 0 taking the defaults here.
const (
	MaxKVKeyBytes     = 512
	MaxKVValueBytes   = 1 << 20
	DefaultKVMaxKeys  = 10_000
	DefaultKVMaxBytes = 64 << 20
	MaxKVListLimit    = 1000 // keys in one list page
	DefaultKVListSize = 100

	MaxKVMaxKeysLimit  int64 = 100_000_000 // the kv_max_keys setting's range
	MaxKVMaxBytesLimit int64 = 64 << 30    // the kv_max_bytes setting's range
)

// ScriptNamespace is a script's own kv namespace; SharedNamespace a named one
// scripts opt into with the kv_namespaces setting.
func ScriptNamespace(scriptID string) string { return "script:" + scriptID }

// SharedNamespace is the namespace kv::ns(name) reaches.
func SharedNamespace(name string) string { return "ns:" + name }

// KVEntry is one stored key. Value is JSON text.
type KVEntry struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	ExpiresAt *Time           `json:"expires_at,omitempty"`
	UpdatedAt Time            `json:"updated_at"`
}

// KVPage is one page of keys in byte order. Cursor is "" on the last page;
// otherwise it is passed back to get the next.
type KVPage struct {
	Keys   []string `json:"keys"`
	Cursor string   `json:"cursor"`
}

// KVQuota bounds a namespace's live keys and their bytes (key plus value).
// The store checks it in the transaction that writes, so a write over it
// changes nothing.
type KVQuota struct {
	MaxKeys  int64
	MaxBytes int64
}

// KVUsage is what a namespace holds (expired keys not counted).
type KVUsage struct {
	Keys  int64 `json:"keys"`
	Bytes int64 `json:"bytes"`
}

// KVWrite is one write: the value (JSON text) and an optional expiry (zero:
// none). Quota bounds the namespace after the write.
type KVWrite struct {
	Value     json.RawMessage
	ExpiresAt time.Time
	Quota     KVQuota
}

// KVStore keeps the durable key-value state of kv::. Every read ignores keys
// whose expiry has passed (they are gone at once; PurgeKV reclaims the rows).
// Errors are *Error with ENotFound (no such key), EInvalidRequest (a bad key
// or value, incr on a non-integer) or EPayloadTooLarge (over a quota).
type KVStore interface {
	KVGet(ctx context.Context, ns, key string) (*KVEntry, error)
	KVSet(ctx context.Context, ns, key string, w KVWrite) error
	// KVDelete reports whether a live key was deleted.
	KVDelete(ctx context.Context, ns, key string) (bool, error)
	// KVIncr adds by to the integer at key (absent: 0) atomically and returns
	// the new value. The key keeps its expiry; w.Value is ignored.
	KVIncr(ctx context.Context, ns, key string, by int64, w KVWrite) (int64, error)
	// KVCompareAndSet writes w when the current value equals expected as JSON
	// (nil expected: the key is absent) and reports whether it did.
	KVCompareAndSet(ctx context.Context, ns, key string, expected json.RawMessage, w KVWrite) (bool, error)
	// KVList returns at most limit keys starting with prefix, after cursor.
	KVList(ctx context.Context, ns, prefix, cursor string, limit int) (*KVPage, error)
	KVUsage(ctx context.Context, ns string) (KVUsage, error)
	// DeleteKVNamespace deletes every key of ns.
	DeleteKVNamespace(ctx context.Context, ns string) error
	// PurgeKV deletes the keys expired at now and returns how many.
	PurgeKV(ctx context.Context, now time.Time) (int64, error)
}

// ValidKVKey checks a key: 1..MaxKVKeyBytes bytes of UTF-8 without NUL.
func ValidKVKey(key string) error {
	switch {
	case key == "":
		return Errorf(EInvalidRequest, "kv: empty key")
	case len(key) > MaxKVKeyBytes:
		return Errorf(EPayloadTooLarge, "kv: key of %d bytes is over the limit of %d", len(key), MaxKVKeyBytes)
	case !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0:
		return Errorf(EInvalidRequest, "kv: a key is UTF-8 text without NUL")
	}
	return nil
}

// ValidKVValue checks a value: valid JSON of at most MaxKVValueBytes bytes.
func ValidKVValue(v json.RawMessage) error {
	if len(v) > MaxKVValueBytes {
		return Errorf(EPayloadTooLarge, "kv: value of %d bytes is over the limit of %d", len(v), MaxKVValueBytes)
	}
	if !json.Valid(v) {
		return Errorf(EInvalidRequest, "kv: value is not JSON")
	}
	return nil
}

// CheckKVQuota reports the quota error for a namespace that would hold u.
func CheckKVQuota(q KVQuota, u KVUsage) error {
	if q.MaxKeys > 0 && u.Keys > q.MaxKeys {
		return Errorf(EPayloadTooLarge, "kv: quota of %d keys reached", q.MaxKeys)
	}
	if q.MaxBytes > 0 && u.Bytes > q.MaxBytes {
		return Errorf(EPayloadTooLarge, "kv: quota of %d bytes reached (would hold %d)", q.MaxBytes, u.Bytes)
	}
	return nil
}

// KVEqual reports whether two JSON texts hold the same value (object key
// order and spacing aside; numbers compared by their text).
func KVEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	var va, vb any
	if da.Decode(&va) != nil || db.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// KVMatches is compare-and-set's test: whether the current value (nil: the
// key is absent) is expected. A nil expected matches only an absent key; a
// JSON null matches an absent key or a null, as kv:: reads both as ().
func KVMatches(cur, expected json.RawMessage) bool {
	switch {
	case cur == nil:
		return expected == nil || KVEqual(expected, json.RawMessage("null"))
	case expected == nil:
		return false
	}
	return KVEqual(cur, expected)
}

// KVNamespaces splits a kv_namespaces setting ("orders, users") into names.
func KVNamespaces(setting string) []string {
	var out []string
	for _, n := range strings.Split(setting, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// KVKeyRequest is the body of PUT /api/scripts/{id}/kv/{key}: the value as
// JSON and an optional time to live in seconds.
type KVKeyRequest struct {
	Value      json.RawMessage `json:"value"`
	TTLSeconds int64           `json:"ttl_seconds,omitempty"`
}

// KVListResponse is GET /api/scripts/{id}/kv: a page of keys with the
// namespace's usage.
type KVListResponse struct {
	Keys   []string `json:"keys"`
	Cursor string   `json:"cursor"`
	Usage  KVUsage  `json:"usage"`
}

// Validate checks the value (JSON, within MaxKVValueBytes) and the ttl.
func (r KVKeyRequest) Validate() error {
	if r.Value == nil {
		return fieldError("value", "value is required (JSON; null stores null)")
	}
	if err := ValidKVValue(r.Value); err != nil {
		return &Error{Code: ErrorCode(err), Message: ErrorMessage(err), Details: map[string]any{"field": "value"}}
	}
	if r.TTLSeconds < 0 || r.TTLSeconds > 100*365*24*3600 {
		return fieldError("ttl_seconds", "ttl_seconds must be between 0 (no expiry) and 100 years")
	}
	return nil
}

// KVIncrement is incr's arithmetic, shared by the stores: the current value
// (nil: the key is absent, counted as 0) plus by, as the JSON to store. A
// value that is not an integer, or a sum that overflows i64, is an
// invalid_request *Error naming key.
func KVIncrement(key string, cur json.RawMessage, by int64) (int64, json.RawMessage, error) {
	var n int64
	if cur != nil {
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(string(cur)), 10, 64); err != nil {
			return 0, nil, Errorf(EInvalidRequest, "kv: incr of %q, which holds no integer", key)
		}
	}
	if (by > 0 && n > math.MaxInt64-by) || (by < 0 && n < math.MinInt64-by) {
		return 0, nil, Errorf(EInvalidRequest, "kv: incr of %q overflows", key)
	}
	n += by
	return n, json.RawMessage(strconv.FormatInt(n, 10)), nil
}

// KVListSize is the page size a list asks for, bounded: DefaultKVListSize
// when limit is not positive, at most MaxKVListLimit.
func KVListSize(limit int) int {
	if limit <= 0 {
		return DefaultKVListSize
	}
	return min(limit, MaxKVListLimit)
}

// NewKVPage is the page of a list that read up to limit+1 keys: the first
// limit, and a cursor when there were more.
func NewKVPage(keys []string, limit int) *KVPage {
	if len(keys) > limit {
		return &KVPage{Keys: keys[:limit], Cursor: keys[limit-1]}
	}
	return &KVPage{Keys: keys}
}
