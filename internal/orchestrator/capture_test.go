package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// Every part of the captured request is cut at its size, with a flag.
func TestCaptureTruncation(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "hello", Source: `"hi"`}))
	big := strings.Repeat("é", DefaultMaxLoggedQuery) // two bytes each
	r := httptest.NewRequest("GET", "/fn/hello?q="+big+"&a=1", nil)
	r.Header.Set("X-Big", strings.Repeat("h", 3*DefaultMaxLoggedHeader))
	for i := range 10 {
		r.Header.Set(fmt.Sprintf("X-Many-%02d", i), strings.Repeat("m", DefaultMaxLoggedHeader-100))
	}
	if w := e.do(r); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	rr := e.sink.waitRows(t, 1)[0].Request
	if !rr.QueryTruncated || !rr.HeadersTruncated {
		t.Fatalf("flags: query %v, headers %v", rr.QueryTruncated, rr.HeadersTruncated)
	}
	q := 0
	for k, v := range rr.Query {
		q += len(k) + len(v)
	}
	if v, ok := rr.Query["q"]; ok && (!strings.HasPrefix(big, v) || len(v) == len(big)) {
		t.Errorf("query q not cut, or cut inside a character (%d bytes)", len(v))
	}
	if q > DefaultMaxLoggedQuery || rr.Query["a"] != "1" {
		t.Errorf("query: %d bytes kept, a=%q", q, rr.Query["a"])
	}
	h := 0
	for k, v := range rr.Headers {
		h += len(k) + len(v)
		if len(v) > DefaultMaxLoggedHeader {
			t.Errorf("header %s kept %d bytes", k, len(v))
		}
	}
	if h > DefaultMaxLoggedHeaders {
		t.Errorf("headers kept %d bytes in all", h)
	}

	// Within the limits nothing is flagged.
	e.do(httptest.NewRequest("GET", "/fn/hello?a=1", nil))
	rr = e.sink.waitRows(t, 2)[1].Request
	if rr.QueryTruncated || rr.HeadersTruncated || rr.Query["a"] != "1" {
		t.Errorf("small request: %+v", rr)
	}
}

// 300 requests with a 900 KB header used to grow the database by 270 MB;
// the stored row now stays within the capture caps.
func TestStoredRowStaysSmall(t *testing.T) {
	store := openSQLite(t)
	sc := &picloud.Script{Name: "hello", Source: `"hi"`}
	if err := store.CreateScript(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{}, store)
	e.sink.record = func(ctx context.Context, l *picloud.ExecutionLog) error {
		return store.InsertExecutions(ctx, []*picloud.ExecutionLog{l})
	}
	r := httptest.NewRequest("GET", "/fn/hello?"+strings.Repeat("k=v&", 100_000), nil)
	r.Header.Set("X-Huge", strings.Repeat("x", 900_000))
	if w := e.do(r); w.Code != 200 {
		t.Fatalf("%d", w.Code)
	}
	id := e.sink.waitRows(t, 1)[0].ID
	got, err := store.Execution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if len(b) > DefaultMaxLoggedHeaders+DefaultMaxLoggedQuery+16<<10 {
		t.Fatalf("stored row is %d bytes", len(b))
	}
	if !got.Request.HeadersTruncated || got.Request.QueryTruncated {
		// The query's repeated key keeps one value: nothing to cut there.
		t.Errorf("stored flags: headers %v, query %v", got.Request.HeadersTruncated, got.Request.QueryTruncated)
	}
}

// PiCloud's credentials and the standard secret headers never reach the
// execution log, on both invocation routes.
func TestCredentialsRedacted(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(&picloud.Script{Name: "echo", Source: `request`}))
	for _, path := range []string{"/fn/echo?token=pct_abc&plain=50pct_off", "/api/execute/id-echo?token=pct_abc&plain=50pct_off"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer pct_0123456789abcdef0123")
		r.Header.Set("Proxy-Authorization", "Basic dXNlcjpwYXNz")
		r.Header.Set("Cookie", "picloud_session=pcs_abc; theme=dark")
		r.Header.Set("X-PiCloud-Key", "pck_abc")
		r.Header.Set("X-Api-Key", "sk-other-service")
		r.Header.Set("X-Forwarded-Token", "token=pcs_abc")
		r.Header.Set("X-Plain", "hello")
		w := e.do(r)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		// The script does not see PiCloud's credential headers and cookies
		// (the executor strips them); what else it echoes is its business.
		for _, secret := range []string{"pct_0123", "pck_abc", "picloud_session"} {
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("%s: the script saw %s: %s", path, secret, w.Body)
			}
		}
	}
	for _, row := range e.sink.waitRows(t, 2) {
		h := row.Request.Headers
		for _, k := range []string{"authorization", "proxy-authorization", "cookie", "x-picloud-key", "x-api-key", "x-forwarded-token"} {
			if h[k] != redacted {
				t.Errorf("%s: %s = %q", row.Request.Path, k, h[k])
			}
		}
		if h["x-plain"] != "hello" || row.Request.Query["token"] != redacted || row.Request.Query["plain"] != "50pct_off" {
			t.Errorf("%s: headers %v, query %v", row.Request.Path, h, row.Request.Query)
		}
		b, _ := json.Marshal(row.Request)
		if strings.Contains(string(b), "pct_0123") || strings.Contains(string(b), "pcs_abc") || strings.Contains(string(b), "pck_abc") {
			t.Errorf("%s: a credential is in the captured request: %s", row.Request.Path, b)
		}
	}
}

func TestHasCredential(t *testing.T) {
	for s, want := range map[string]bool{
		"pct_abc": true, "Bearer pct_abc": true, "token=PCS_x": true, "a,pck_1": true,
		"50pct_off": false, "hello": false, "": false, "pcx_1": false, "p": false,
	} {
		if got := hasCredential(s); got != want {
			t.Errorf("hasCredential(%q) = %v", s, got)
		}
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
		cut  bool
	}{
		{"abc", 5, "abc", false}, {"abc", 3, "abc", false}, {"abcdef", 3, "abc", true},
		{"éé", 3, "é", true}, {"éé", 1, "", true}, {"x", 0, "", true},
	} {
		if got, cut := cut(tc.s, tc.n); got != tc.want || cut != tc.cut {
			t.Errorf("cut(%q, %d) = %q, %v", tc.s, tc.n, got, cut)
		}
	}
}
