// Package picloud holds PiCloud's domain: scripts and their versions, execution
// logs, the error type with its codes, and the store and sink interfaces that
// the adapters (internal/sqlite, internal/postgres, internal/audit) implement.
// It imports only the standard library.
package picloud

import (
	"strings"
	"time"
)

// BuildVersion is the release reported by /api/health; the linker may set it.
var BuildVersion = "dev"

// ValidName reports whether name is a script slug: [a-z0-9][a-z0-9-]{0,62},
// and does not look like a UUID. The API addresses a script by its id or its
// name in the same path segment, and an id is a UUID: a name shaped like one
// would be ambiguous.
func ValidName(name string) bool {
	return slug(name, lowerDigits, lowerDigits+"-", 63) && !LooksLikeUUID(name)
}

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// slug reports whether s is one byte of first followed by bytes of rest, at
// most max bytes in all. The names' checks are written out rather than as
// regular expressions compiled at package initialisation: every command of
// the binary, `picloud rhai run` included, would pay for compiling them.
func slug(s, first, rest string, max int) bool {
	if s == "" || len(s) > max || strings.IndexByte(first, s[0]) < 0 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if strings.IndexByte(rest, s[i]) < 0 {
			return false
		}
	}
	return true
}

// LooksLikeUUID reports whether s has a UUID's shape: 8-4-4-4-12 hex digits
// (either case), as script ids are written.
func LooksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// TimeFormat is how every time leaves the API: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that marshals as TimeFormat in UTC.
type Time struct{ time.Time }

// MarshalJSON writes t as RFC 3339 UTC with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(`"`+time.RFC3339Nano+`"`, string(b))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}
