package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// script writes src to dir/name and returns its path.
func script(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// splitResponse splits `picloud run`'s output into its head and body. The
// output ends with a newline (after a body that has none, one is added, so
// that the shell's prompt starts on its own line): the body is returned
// without it.
func splitResponse(t *testing.T, out string) (head, body string) {
	t.Helper()
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok {
		t.Fatalf("not an HTTP response: %q", out)
	}
	if body != "" && !strings.HasSuffix(body, "\n") {
		t.Fatalf("the output does not end with a newline: %q", out)
	}
	return head, strings.TrimSuffix(body, "\n")
}

// TestRunHello: the README's hello example runs without a server; its log
// line goes to stderr, the response (status, headers, body) to stdout.
func TestRunHello(t *testing.T) {
	dir := t.TempDir()
	file := script(t, dir, "hello.rhai", `let name = request.query.name ?? "world";
log::info("greeting", #{name: name});
#{hello: name}
`)
	out, errOut, err := runCmd(t, "", "run", file, "--query", "name=pi")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	head, body := splitResponse(t, out)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "Content-Type: application/json") ||
		!strings.Contains(head, "Content-Security-Policy: sandbox") {
		t.Errorf("head = %q", head)
	}
	// The body, then a newline not counted in Content-Length.
	if body != `{"hello":"pi"}` || !strings.Contains(head, "Content-Length: 14\r\n") || !strings.HasSuffix(out, "}\n") {
		t.Errorf("body = %q", body)
	}
	if errOut != "info greeting {\"name\":\"pi\"}\n" {
		t.Errorf("stderr = %q", errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, ".picloud-run", "kv.db")); err != nil {
		t.Errorf("the default kv directory: %v", err)
	}
}

const echoScript = `#{
	method: request.method, path: request.path, subpath: request.subpath,
	a: request.query.a, b: request.query.b, h: request.headers["x-test"],
	ct: request.headers["content-type"], body: request.body
}`

func echo(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, errOut, err := runCmd(t, "", args...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	_, body := splitResponse(t, out)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m
}

// TestRunRequestFlags: --method, --path, --query, --header and --body build
// the script's request as the platform would.
func TestRunRequestFlags(t *testing.T) {
	file := script(t, t.TempDir(), "echo.rhai", echoScript)
	m := echo(t, "run", file, "--kv", "memory", "--query", "a=1", "--query", "b=x y", "--header", "X-Test: v",
		"--body", `{"n": 2}`, "--path", "orders/7")
	want := map[string]any{"method": "POST", "path": "/fn/echo/orders/7", "subpath": "/orders/7", "a": "1", "b": "x y",
		"h": "v", "ct": "application/json", "body": map[string]any{"n": 2.0}}
	for k, v := range want {
		if b, _ := json.Marshal(m[k]); string(b) != string(must(json.Marshal(v))) {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	m = echo(t, "run", file, "--kv", "memory", "--method", "put", "--body", "plain", "--header", "content-type=text/plain")
	if m["method"] != "PUT" || m["body"] != "plain" || m["ct"] != "text/plain" || m["path"] != "/fn/echo" {
		t.Errorf("PUT plain = %v", m)
	}
	if _, _, err := runCmd(t, "", "run", file, "--query", "=x"); err == nil {
		t.Error("--query =x was accepted")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestRunRequestFile: --request reads {method, path, query, headers, body}.
func TestRunRequestFile(t *testing.T) {
	dir := t.TempDir()
	file := script(t, dir, "echo.rhai", echoScript)
	req := script(t, dir, "req.json", `{"method": "PATCH", "path": "/x", "query": {"a": "1", "b": ["2", "3"]},
		"headers": {"X-Test": "v"}, "body": {"n": [1]}}`)
	m := echo(t, "run", file, "--kv", "memory", "--request", req)
	if m["method"] != "PATCH" || m["subpath"] != "/x" || m["a"] != "1" || m["b"] != "2" || m["h"] != "v" ||
		m["ct"] != "application/json" || string(must(json.Marshal(m["body"]))) != `{"n":[1]}` {
		t.Errorf("request file = %v", m)
	}
	text := script(t, dir, "text.json", `{"body": "hi"}`)
	if m := echo(t, "run", file, "--kv", "memory", "--request", text); m["method"] != "POST" || m["body"] != "hi" || m["ct"] != nil {
		t.Errorf("a string body = %v", m)
	}
	bad := script(t, dir, "bad.json", `{"verb": "GET"}`)
	if _, _, err := runCmd(t, "", "run", file, "--request", bad); err == nil || !strings.Contains(err.Error(), "verb") {
		t.Errorf("an unknown field: %v", err)
	}
	if _, _, err := runCmd(t, "", "run", file, "--request", req, "--body", "x"); err == nil {
		t.Error("--request with --body was accepted")
	}
}

// TestRunKV: kv:: state lasts across runs in --kv DIR; --kv memory starts
// empty each time and leaves nothing behind.
func TestRunKV(t *testing.T) {
	dir := t.TempDir()
	file := script(t, dir, "counter.rhai", `kv::incr("hits", 1)`)
	kvDir := filepath.Join(t.TempDir(), "state")
	for _, want := range []string{"1", "2"} {
		out, errOut, err := runCmd(t, "", "run", file, "--kv", kvDir)
		if err != nil {
			t.Fatalf("run: %v\n%s", err, errOut)
		}
		if _, body := splitResponse(t, out); body != want {
			t.Errorf("counter = %q, want %s", body, want)
		}
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	out, _, err := runCmd(t, "", "run", file, "--kv", "memory")
	if _, body := splitResponse(t, out); err != nil || body != "1" {
		t.Errorf("--kv memory = %q %v", body, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("--kv memory left %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, ".picloud-run")); !os.IsNotExist(err) {
		t.Errorf("--kv DIR also wrote beside the script: %v", err)
	}
}

// TestRunSecrets: secret() reads --secrets (KEY=VALUE lines or a JSON
// object) and PICLOUD_SECRET_<NAME>, which wins; PICLOUD_SECRET_KEY is the
// server's key, not a secret; a log line holding a secret is redacted.
func TestRunSecrets(t *testing.T) {
	dir := t.TempDir()
	file := script(t, dir, "s.rhai", `log::info(secret("API_TOKEN"));
let key = "none";
try { key = secret("KEY"); } catch (e) {}
#{token: secret("API_TOKEN"), other: secret("OTHER"), key: key}`)
	env := script(t, dir, "dev.env", "# local secrets\nAPI_TOKEN=tok-from-file\nOTHER=a=b\n")
	js := script(t, dir, "dev.json", `{"API_TOKEN": "tok-json", "OTHER": "o"}`)
	t.Setenv("PICLOUD_SECRET_KEY", "server-key")
	for _, tc := range []struct {
		args            []string
		env, token, oth string
	}{
		{[]string{"--secrets", env}, "", "tok-from-file", "a=b"},
		{[]string{"--secrets", js}, "", "tok-json", "o"},
		{[]string{"--secrets", env}, "tok-from-env", "tok-from-env", "a=b"},
	} {
		if tc.env != "" {
			t.Setenv("PICLOUD_SECRET_API_TOKEN", tc.env)
		}
		out, errOut, err := runCmd(t, "", append([]string{"run", file, "--kv", "memory"}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, errOut)
		}
		_, body := splitResponse(t, out)
		var m map[string]string
		json.Unmarshal([]byte(body), &m)
		if m["token"] != tc.token || m["other"] != tc.oth || m["key"] != "none" {
			t.Errorf("%v (env %q): %v", tc.args, tc.env, m)
		}
		if strings.Contains(errOut, tc.token) {
			t.Errorf("the log shows the secret: %q", errOut)
		}
	}
	bad := script(t, dir, "bad.env", "lower=x\n")
	if _, _, err := runCmd(t, "", "run", file, "--secrets", bad); err == nil || !strings.Contains(err.Error(), "secret name") {
		t.Errorf("a bad name: %v", err)
	}
}

// TestRunScriptError: a failing script exits with an error naming the file,
// line and column and the error's kind; stdout has the platform's error
// response.
func TestRunScriptError(t *testing.T) {
	dir := t.TempDir()
	file := script(t, dir, "bad.rhai", "log::warn(\"before\");\nlet y = nope(1);\n")
	out, errOut, err := runCmd(t, "", "run", file, "--kv", "memory")
	if err == nil {
		t.Fatal("a failing script ran without error")
	}
	if want := file + ":2:9: error (ErrorFunctionNotFound)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want %s", err, want)
	}
	head, body := splitResponse(t, out)
	if !strings.HasPrefix(head, "HTTP/1.1 500 ") || body != `{"error":{"code":"script_error","message":"the script failed"}}` ||
		!strings.HasSuffix(out, "}\n") || strings.HasSuffix(out, "\n\n") {
		t.Errorf("response = %q", out)
	}
	if errOut != "warn before\n" {
		t.Errorf("stderr = %q", errOut)
	}
	parse := script(t, dir, "parse.rhai", "let x = ;")
	if _, _, err := runCmd(t, "", "run", parse, "--kv", "memory"); err == nil || !strings.Contains(err.Error(), "parse.rhai:1:9:") {
		t.Errorf("a parse error: %v", err)
	}
}

// TestRunImportsAndSettings: imports resolve beside the script; the
// settings file beside it sets the limits.
func TestRunImportsAndSettings(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "util.rhai", `fn twice(x) { x * 2 }`)
	file := script(t, dir, "main.rhai", `import "util" as u; u::twice(21)`)
	out, errOut, err := runCmd(t, "", "run", file, "--kv", "memory")
	if _, body := splitResponse(t, out); err != nil || body != "42" {
		t.Errorf("import: %q %v %s", out, err, errOut)
	}
	missing := script(t, dir, "missing.rhai", `import "nothere" as n; 1`)
	if _, _, err := runCmd(t, "", "run", missing, "--kv", "memory"); err == nil || !strings.Contains(err.Error(), "ErrorModuleNotFound") {
		t.Errorf("a missing module: %v", err)
	}
	loop := script(t, dir, "loop.rhai", `let n = 0; loop { n += 1; }`)
	script(t, dir, "loop.toml", "max_operations = 1000\n")
	out, _, err = runCmd(t, "", "run", loop, "--kv", "memory")
	if err == nil || !strings.Contains(err.Error(), "budget_exceeded") || !strings.Contains(out, "budget_exceeded") {
		t.Errorf("the settings file's limit: %q %v", out, err)
	}
}

// TestRunHTTP: http:: works in picloud run as on the server: a loopback
// server is refused until --egress-allow names it.
func TestRunHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong": true}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := script(t, dir, "ping.rhai", `let r = http::get(request.query.url); r.json.pong`)
	if _, errOut, err := runCmd(t, "", "run", file, "--kv", "memory", "--query", "url="+srv.URL); err == nil ||
		!strings.Contains(errOut, "refused") && !strings.Contains(err.Error(), "refused") {
		t.Fatalf("loopback without --egress-allow: err %v, stderr %q", err, errOut)
	}
	out, errOut, err := runCmd(t, "", "run", file, "--kv", "memory", "--query", "url="+srv.URL,
		"--egress-allow", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	if _, body := splitResponse(t, out); body != "true" {
		t.Fatalf("body = %q", body)
	}
}

// TestRunEvents: request.trigger is "http"; the events a successful run
// emits go to stderr, one per line after the log lines; a failed run's are
// not printed (they would not be delivered).
func TestRunEvents(t *testing.T) {
	dir := t.TempDir()
	file := script(t, dir, "shop.rhai", `log::info("start");
events::emit("order.created", #{id: 5, items: ["a"]});
events::emit("order.paid", "yes");
request.trigger
`)
	out, errOut, err := runCmd(t, "", "run", file, "--kv", "memory")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	if _, body := splitResponse(t, out); body != "http" {
		t.Errorf("request.trigger = %q", body)
	}
	if want := "info start\nevent order.created {\"id\":5,\"items\":[\"a\"]}\nevent order.paid \"yes\"\n"; errOut != want {
		t.Errorf("stderr = %q, want %q", errOut, want)
	}
	failed := script(t, dir, "failed.rhai", `events::emit("order.created", 1); throw "no"`)
	_, errOut, err = runCmd(t, "", "run", failed, "--kv", "memory")
	if err == nil || strings.Contains(errOut, "event ") {
		t.Errorf("a failed run: %v, stderr %q", err, errOut)
	}
}
