package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// httpServer is a loopback test server; conns counts the connections it
// accepted.
func httpServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reply", "yes")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"n":1,"list":[true,null,"x"]}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"ctype":%q,"auth":%q,"body":%q,"query":%q}`, r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), b, r.URL.RawQuery)
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte{0xff, 0xfe, 0, 1}) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2048)) })
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(418) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-hello", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/hello", http.StatusFound) })
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// httpExecutor allows the loopback server (when allow) and refuses any
// non-loopback dial in OnDial, so a test never sends traffic off the
// machine even if the guard were broken.
func httpExecutor(t *testing.T, srv *httptest.Server, allow bool, results map[string]int) *Executor {
	t.Helper()
	cfg := HTTPConfig{
		OnDial: func(ap netip.AddrPort) error {
			if !ap.Addr().Unmap().IsLoopback() {
				return errors.New("test: a non-loopback dial")
			}
			return nil
		},
	}
	if allow {
		cfg.Allow = srv.Listener.Addr().String()
	}
	if results != nil {
		cfg.OnRequest = func(_, r string) { results[r]++ }
	}
	return newTestExecutor(t, Config{HTTP: cfg})
}

func TestHTTPModule(t *testing.T) {
	srv, _ := httpServer(t)
	results := map[string]int{}
	x := httpExecutor(t, srv, true, results)
	u := srv.URL
	for _, tt := range []struct{ src, want string }{
		{`let r = http::get("` + u + `/hello"); [r.status, r.body, r.headers["x-reply"], r.headers["x-multi"], r.json]`, `[200,"hello","yes","a, b",null]`},
		{`http::get("` + u + `/json").json`, `{"list":[true,null,"x"],"n":1}`},
		{`http::get("` + u + `/status").status`, `418`},
		{`let b = http::get("` + u + `/binary").body; [type_of(b), b.len()]`, `["blob",4]`},
		{`http::post("` + u + `/echo", "text").json`, `{"auth":"","body":"text","ctype":"text/plain; charset=utf-8","method":"POST","query":""}`},
		{`http::post("` + u + `/echo", #{a: [1, 2]}).json.body`, `{"a":[1,2]}`},
		{`http::post("` + u + `/echo", [1]).json.ctype`, `application/json`},
		{`let b = blob(2, 65); http::post("` + u + `/echo", b).json.body`, `AA`},
		{`http::request(#{method: "put", url: "` + u + `/echo?x=1", headers: #{Authorization: "Bearer t", "Content-Type": "text/csv"}, body: "a,b"}).json`,
			`{"auth":"Bearer t","body":"a,b","ctype":"text/csv","method":"PUT","query":"x=1"}`},
		{`http::request(#{url: "` + u + `/echo"}).json.method`, `GET`},
		{`http::get("` + u + `/to-hello").body`, `hello`},
	} {
		res := run(t, x, tt.src, Limits{}, Options{})
		if res.Response == nil || string(res.Response.Body) != tt.want {
			t.Errorf("%s: %+v %v, want %s", tt.src, res.Response, res.Err, tt.want)
		}
	}
	if results["ok"] != 11 {
		t.Errorf("results %v, want 11 ok", results)
	}
}

func TestHTTPOutboundRecorded(t *testing.T) {
	srv, _ := httpServer(t)
	x := httpExecutor(t, srv, true, nil)
	res := run(t, x, `http::get("`+srv.URL+`/hello?token=secret"); try { http::get("`+srv.URL+`/slow") } catch {} ; 1`,
		Limits{}, Options{Script: &picloud.Script{ID: "s", HTTPTimeoutMS: 50}})
	if res.Status != picloud.StatusSuccess || len(res.Outbound) != 2 {
		t.Fatalf("%s %v outbound %+v", res.Status, res.Err, res.Outbound)
	}
	host := srv.Listener.Addr().String()
	o := res.Outbound[0]
	if o.Method != "GET" || o.Host != host || o.Path != "/hello" || o.Status != 200 || o.Bytes != 5 || o.Error != "" || o.DurationMS <= 0 {
		t.Errorf("first call recorded as %+v", o)
	}
	o = res.Outbound[1]
	if o.Path != "/slow" || o.Status != 0 || !strings.Contains(o.Error, "timed out after 50 ms") {
		t.Errorf("timed-out call recorded as %+v", o)
	}
}

func TestHTTPErrors(t *testing.T) {
	srv, conns := httpServer(t)
	results := map[string]int{}
	x := httpExecutor(t, srv, true, results)
	u := srv.URL
	for _, tt := range []struct {
		src    string
		sc     *picloud.Script
		want   string
		result string
	}{
		{`http::get("` + u + `/big")`, &picloud.Script{HTTPMaxResponseBytes: 1024}, "response body over the limit of 1024 bytes", "limit"},
		{`http::get("` + u + `/slow")`, &picloud.Script{HTTPTimeoutMS: 30}, "timed out after 30 ms", "timeout"},
		{`http::request(#{url: "` + u + `/slow", timeout_ms: 20})`, nil, "timed out after 20 ms", "timeout"},
		{`for i in 0..3 { http::get("` + u + `/hello") }`, &picloud.Script{HTTPMaxRequests: 2}, "too many requests: the limit is 2 per execution", "limit"},
		{`http::get("` + u + `/to-metadata")`, nil, "169.254.169.254:80 is refused: a link-local address", "refused"},
		{`http::get("ftp://x/")`, nil, "is not an http or https URL", "error"},
		{`http::request(#{url: "` + u + `", bogus: 1})`, nil, `unknown option "bogus"`, ""},
		{`http::request(#{url: "` + u + `", method: "G T"})`, nil, `is not an HTTP method`, "error"},
		{`http::post("` + u + `", || 1)`, nil, `a body is a string, a BLOB, a map or an array`, "error"},
		{`http::get("` + u + `/")`, &picloud.Script{EgressAllow: "not a host!"}, "the egress allowlist is invalid", "error"},
	} {
		clear(results)
		res := run(t, x, tt.src, Limits{}, Options{Script: tt.sc})
		if res.Status != picloud.StatusError || res.Err == nil || !strings.Contains(res.Err.Message, tt.want) {
			t.Errorf("%s: %s %+v, want an error with %q", tt.src, res.Status, res.Err, tt.want)
		}
		if tt.result != "" && results[tt.result] != 1 {
			t.Errorf("%s: results %v, want one %s", tt.src, results, tt.result)
		}
	}
	_ = conns
}

// TestHTTPRefusedWithoutAllowlist: loopback, private and metadata
// destinations are refused before any connection; a script's egress_allow
// opens its own destination only.
func TestHTTPRefusedWithoutAllowlist(t *testing.T) {
	srv, conns := httpServer(t)
	x := httpExecutor(t, srv, false, nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, target := range []string{srv.URL + "/hello", fmt.Sprintf("http://localhost:%d/", port),
		fmt.Sprintf("http://[::1]:%d/", port), "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
		"http://[fd00:ec2::254]/", "http://100.64.0.1/", "http://[::ffff:127.0.0.1]:1/"} {
		res := run(t, x, `http::get("`+target+`")`, Limits{}, Options{})
		if res.Err == nil || !strings.Contains(res.Err.Message, "is refused") {
			t.Errorf("GET %s: %s %+v, want refused", target, res.Status, res.Err)
		}
	}
	if conns.Load() != 0 {
		t.Fatalf("%d connections reached the server", conns.Load())
	}
	res := run(t, x, `http::get("`+srv.URL+`/hello").body`, Limits{}, Options{Script: &picloud.Script{EgressAllow: "127.0.0.1"}})
	if res.Response == nil || string(res.Response.Body) != `hello` {
		t.Errorf("allowlisted by the script: %s %+v", res.Status, res.Err)
	}
}

// TestHTTPScriptTimeout: the script's timeout cancels an in-flight request
// and the execution ends as a timeout.
func TestHTTPScriptTimeout(t *testing.T) {
	srv, _ := httpServer(t)
	x := httpExecutor(t, srv, true, nil)
	res := run(t, x, `http::get("`+srv.URL+`/slow")`, Limits{Timeout: 50 * time.Millisecond}, Options{})
	wantStatus(t, res, picloud.StatusTimeout, picloud.ETimeout, "")
	if len(res.Outbound) != 1 || res.Outbound[0].Error != "script terminated" {
		t.Errorf("outbound %+v", res.Outbound)
	}
}

// TestHTTPCharged: a call and its bytes cost operations.
func TestHTTPCharged(t *testing.T) {
	srv, _ := httpServer(t)
	x := httpExecutor(t, srv, true, nil)
	small := run(t, x, `http::get("`+srv.URL+`/hello"); 1`, Limits{}, Options{})
	big := run(t, x, `http::get("`+srv.URL+`/big"); 1`, Limits{}, Options{})
	if small.Operations < httpCallOps || big.Operations < small.Operations+2048/bytesPerOp-1 {
		t.Errorf("operations: small %d, big %d", small.Operations, big.Operations)
	}
	res := run(t, x, `http::get("`+srv.URL+`/hello")`, Limits{MaxOperations: 500}, Options{})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, "")
}

// TestHTTPDocExample runs the http:: example of docs/scripting.md against a
// loopback server standing in for api.example.com.
func TestHTTPDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scripting.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```rhai\n// weather.rhai")
	src, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the weather.rhai example is not in docs/scripting.md")
	}
	var saved atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("GET /weather", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"city":%q,"temp":21.5}`, r.URL.Query().Get("city"))
	})
	mux.HandleFunc("POST /history", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		saved.Store(r.Header.Get("Content-Type") + " " + string(b))
		w.WriteHeader(201)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	x := httpExecutor(t, srv, true, nil)
	src = strings.ReplaceAll("//"+src, "https://api.example.com", srv.URL)
	p := x.Compile("weather", src)
	res := x.Execute(context.Background(), p, Limits{}, &Request{Method: "GET", Path: "/", Query: url.Values{"city": {"Lyon"}}, Header: http.Header{}}, Options{})
	if res.Response == nil || string(res.Response.Body) != `{"city":"Lyon","saved":true,"temp":21.5}` {
		t.Fatalf("%s %+v %+v", res.Status, res.Response, res.Err)
	}
	if got := saved.Load(); got != `application/json {"city":"Lyon","temp":21.5}` {
		t.Fatalf("upstream got %v", got)
	}
}

// BenchmarkHTTPGet is one execution making one http::get to a loopback
// server (allowlisted), connections reused.
func BenchmarkHTTPGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	x := New(Config{HTTP: HTTPConfig{Allow: srv.Listener.Addr().String()}}, nil)
	p := x.Compile("bench", `http::get("`+srv.URL+`/").json.ok`)
	req := &Request{Method: "GET", Path: "/", Header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		if res := x.Execute(context.Background(), p, Limits{}, req, Options{}); res.Status != picloud.StatusSuccess {
			b.Fatal(res.Err)
		}
	}
}

// TestHTTPBodiesBounded: a response body never outgrows what a script could
// hold (whatever http_max_response_bytes says), and bodies kept count
// toward the memory budget in full.
func TestHTTPBodiesBounded(t *testing.T) {
	big := strings.Repeat("x", 5<<20) // over the 4 MiB string limit
	mb := strings.Repeat("y", 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		default:
			io.WriteString(w, mb)
		}
	}))
	t.Cleanup(srv.Close)
	x := httpExecutor(t, srv, true, nil)
	res := run(t, x, `http::get("`+srv.URL+`/big").body.len()`, Limits{},
		Options{Script: &picloud.Script{HTTPMaxResponseBytes: 200 << 20}})
	if res.Status != picloud.StatusError || res.Err == nil || !strings.Contains(res.Err.Message, "response body over the limit of 4194304 bytes") {
		t.Fatalf("a 5 MiB body with http_max_response_bytes 200 MiB: %s %+v", res.Status, res.Err)
	}
	res = run(t, x, `let keep = []; for i in 0..20 { keep.push(http::get("`+srv.URL+`/mb")); } keep.len()`,
		Limits{MaxMemoryBytes: 8 << 20}, Options{})
	wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrDataTooLarge)
}
