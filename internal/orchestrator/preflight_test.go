package orchestrator

import (
	"strings"
	"testing"
)

// The headers a preflight is allowed are the names it asked for, as tokens,
// lower-cased; a name that is not a token is left out, and a list too long
// to be a browser's allows none.
func TestPreflightHeaders(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"X-PiCloud-Key"}, "x-picloud-key"},
		{[]string{"authorization, content-type", "x-trace"}, "authorization, content-type, x-trace"},
		{[]string{"good, bad name, a\x01b, ,ok"}, "good, ok"},
		{[]string{strings.Repeat("x", maxPreflightHeaders+1)}, ""},
	} {
		if got := preflightHeaders(c.in); got != c.want {
			t.Errorf("preflightHeaders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for s, want := range map[string]bool{"GET": true, "PATCH": true, "x-y_z.1~": true, "": false, "PO ST": false, "a:b": false, "é": false} {
		if isToken(s) != want {
			t.Errorf("isToken(%q) = %v", s, !want)
		}
	}
}
