package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestHTTPOutbound: a script allowlisted (egress_allow) to a loopback
// server calls it; the call is in the stored execution log (the path
// without its query) and in picloud_http_requests_total; the same call
// from a script with no allowlist is refused, and recorded as refused.
func TestHTTPOutbound(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"temp":21}`)
	}))
	t.Cleanup(upstream.Close)
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		src := `let r = http::get("` + upstream.URL + `/weather/today?key=abc"); r.json.temp`
		id := e.create("weather", src, "egress_allow", upstream.Listener.Addr().String(), "http_timeout_ms", 2000)
		if code, out := e.admin("PATCH", "/api/scripts/"+id, map[string]any{"egress_allow": "not a host!"}); code != 400 || !strings.Contains(fmt.Sprint(out), "egress_allow") {
			t.Fatalf("a bad egress_allow: %d %v", code, out)
		}
		resp, b := e.request("GET", "/fn/weather", nil)
		if resp.StatusCode != 200 || string(b) != "21" {
			t.Fatalf("invoke = %d %q", resp.StatusCode, b)
		}
		out := e.logs(id, 1)[0]["outbound"].([]any)
		call := out[0].(map[string]any)
		if len(out) != 1 || call["method"] != "GET" || call["host"] != upstream.Listener.Addr().String() ||
			call["path"] != "/weather/today" || call["status"] != float64(200) || call["bytes"] != float64(11) {
			t.Fatalf("outbound = %v", out)
		}

		denied := e.create("denied", src)
		resp, _ = e.request("GET", "/fn/denied", nil)
		if resp.StatusCode != 500 {
			t.Fatalf("refused call: %d", resp.StatusCode)
		}
		l := e.logs(denied, 1)[0]
		call = l["outbound"].([]any)[0].(map[string]any)
		if !strings.Contains(call["error"].(string), "is refused: a loopback address") || call["status"] != float64(0) ||
			!strings.Contains(l["error"].(map[string]any)["message"].(string), "is refused") {
			t.Fatalf("refused call logged as %v", l)
		}
		resp, m := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 200 || !strings.Contains(string(m), `picloud_http_requests_total{result="ok",script="weather"} 1`) ||
			!strings.Contains(string(m), `picloud_http_requests_total{result="refused",script="denied"} 1`) {
			t.Fatalf("metrics: %s", m)
		}
	})
}
