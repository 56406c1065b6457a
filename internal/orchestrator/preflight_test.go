package orchestrator

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/picloud/picloud"
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

// BenchmarkPreflight is the cost of answering a browser's preflight to a key
// script (no store, no execution), next to a call refused for want of a key.
func BenchmarkPreflight(b *testing.B) {
	o := &Orchestrator{log: slog.New(slog.DiscardHandler)}
	sc := &picloud.Script{ID: "s", Name: "hello", Access: picloud.AccessKey}
	for _, c := range []struct {
		name   string
		method string
		hdr    []string
	}{
		{"preflight", "OPTIONS", []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "x-picloud-key,content-type"}},
		{"no-key", "POST", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := request(c.method, "/fn/hello", c.hdr...)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				if o.guard(w, r, sc) {
					b.Fatal("let through")
				}
			}
		})
	}
}
