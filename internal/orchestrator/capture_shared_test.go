package orchestrator

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/picloud/picloud"
)

// The shared captures of the common responses' headers are exactly what
// captureHeaders makes of them, and are used only when they fit the limits.
func TestCommonResponseHeadersShared(t *testing.T) {
	lim := captureLimits{header: DefaultMaxLoggedHeader, headers: DefaultMaxLoggedHeaders}
	same := func(a, b map[string]string) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }
	for i, vs := range commonResponses {
		h := http.Header{}
		for j, name := range commonResponseNames {
			h.Set(name, vs[j])
		}
		want, _ := captureHeaders(h, lim.header, lim.headers, false, nil)
		got := lim.responseHeaders(h)
		if !maps.Equal(got, want) || !same(got, commonCaptures[i]) {
			t.Errorf("%v: got %v (shared %v), want %v", vs, got, same(got, commonCaptures[i]), want)
		}
		// Small limits: cut as captureHeaders cuts, not shared.
		small := captureLimits{header: 5, headers: 40}
		want, _ = captureHeaders(h, small.header, small.headers, false, nil)
		if got := small.responseHeaders(h); !maps.Equal(got, want) || same(got, commonCaptures[i]) {
			t.Errorf("%v with small limits: got %v, want %v", vs, got, want)
		}
		// Another value, or a header more: captureHeaders'.
		h2 := h.Clone()
		h2.Set("X-Content-Type-Options", "other")
		h3 := h.Clone()
		h3.Add("Content-Security-Policy", "sandbox")
		h4 := h.Clone()
		h4.Set("X-More", "1")
		for _, h := range []http.Header{h2, h3, h4} {
			want, _ := captureHeaders(h, lim.header, lim.headers, false, nil)
			if got := lim.responseHeaders(h); !maps.Equal(got, want) || same(got, commonCaptures[i]) {
				t.Errorf("%v: got %v, want %v", h, got, want)
			}
		}
	}
}

// The executor's own responses to a plain value take the shared captures
// (if the executor's headers change, commonResponses must follow), and a
// request without a query is captured with an empty one.
func TestPlainResponsesCaptureShared(t *testing.T) {
	e := newEnv(t, Config{}, newFakeStore(
		&picloud.Script{Name: "text", Source: `"hi"`},
		&picloud.Script{Name: "json", Source: `#{a: 1}`},
	))
	for i, name := range []string{"json", "text"} {
		if w := e.do(httptest.NewRequest("GET", "/fn/"+name, nil)); w.Code != 200 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		l := e.sink.waitRows(t, i+1)[i]
		if reflect.ValueOf(l.Response.Headers).Pointer() != reflect.ValueOf(commonCaptures[i]).Pointer() {
			t.Errorf("%s: response headers %v not the shared capture", name, l.Response.Headers)
		}
		if l.Request.Query == nil || len(l.Request.Query) != 0 {
			t.Errorf("%s: query %#v, want empty", name, l.Request.Query)
		}
	}
}
