package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/secretbox"
	"github.com/picloud/picloud/internal/sqlite"
)

const secretValue = "sk_test_9f8e7d6c5b4a3210"

func testBox(t *testing.T) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSecrets: a secret set through the API is what the script reads, and
// its value appears nowhere in the execution log (request and response
// capture, log lines and data, errors) while the caller gets the real
// response; global secrets are the fallback; deleting one makes secret()
// fail with its name.
func TestSecrets(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{SecretBox: testBox(t)})
		id := e.create("reader", `
			let k = secret("API_KEY");
			log::info("using " + k, #{key: k});
			if request.query.fail == "1" { throw "rejected " + k; }
			#{ status: 200, headers: #{ "x-echo": k }, body: "key=" + k + " shared=" + secret("SHARED") }`)
		if code, out := e.admin("PUT", "/api/scripts/"+id+"/secrets/API_KEY", map[string]any{"value": secretValue}); code != http.StatusNoContent {
			t.Fatalf("put: %d %v", code, out)
		}
		if code, out := e.admin("PUT", "/api/secrets/SHARED", map[string]any{"value": "shared-value-1"}); code != http.StatusNoContent {
			t.Fatalf("put global: %d %v", code, out)
		}

		q := url.Values{"token": {secretValue}}.Encode()
		resp, b := e.request("POST", "/fn/reader?"+q, []byte(`{"echo":"`+secretValue+`"}`), "X-Token", secretValue)
		if resp.StatusCode != 200 || string(b) != "key="+secretValue+" shared=shared-value-1" || resp.Header.Get("X-Echo") != secretValue {
			t.Fatalf("invoke = %d %q %v", resp.StatusCode, b, resp.Header)
		}
		resp, _ = e.request("GET", "/fn/reader?fail=1", nil)
		if resp.StatusCode != 500 {
			t.Fatalf("fail = %d", resp.StatusCode)
		}
		logs := e.logs(id, 2)
		all, _ := json.Marshal(logs)
		if strings.Contains(string(all), secretValue) {
			t.Fatalf("the execution log holds the secret: %s", all)
		}
		var okLog, failLog map[string]any
		for _, l := range logs {
			if l["status"] == "success" {
				okLog = l
			} else {
				failLog = l
			}
		}
		req := okLog["request"].(map[string]any)
		respRec := okLog["response"].(map[string]any)
		lines := okLog["logs"].([]any)
		for what, got := range map[string]any{
			"query":           req["query"].(map[string]any)["token"],
			"header":          req["headers"].(map[string]any)["x-token"],
			"request body":    req["body"],
			"response body":   respRec["body"],
			"response header": respRec["headers"].(map[string]any)["x-echo"],
			"log message":     lines[0].(map[string]any)["message"],
			"log data":        lines[0].(map[string]any)["data"].(map[string]any)["key"],
			"error":           failLog["error"].(map[string]any)["message"],
		} {
			if s, _ := got.(string); !strings.Contains(s, "[redacted:API_KEY]") {
				t.Errorf("%s = %v, want [redacted:API_KEY]", what, got)
			}
		}
		if respRec["body"] != "key=[redacted:API_KEY] shared=[redacted:SHARED]" {
			t.Errorf("response body = %v", respRec["body"])
		}

		resp, b = e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `picloud_secret_reads_total{result="found"} 3`) {
			t.Errorf("metrics: %d %s", resp.StatusCode, grepLines(string(b), "picloud_secret"))
		}

		// Another script sees the global secret, not reader's.
		other := e.create("other", `let r = ""; try { r = secret("API_KEY"); } catch (e) { r = e; } secret("SHARED") + "/" + r`)
		if resp, b := e.request("GET", "/fn/other", nil); resp.StatusCode != 200 ||
			!strings.HasPrefix(string(b), "shared-value-1/") || !strings.Contains(string(b), "secret API_KEY is not set") {
			t.Fatalf("other = %d %s", resp.StatusCode, b)
		}
		_ = other

		// Deleted: secret() fails and says which.
		if code, _ := e.admin("DELETE", "/api/scripts/"+id+"/secrets/API_KEY", nil); code != http.StatusNoContent {
			t.Fatalf("delete = %d", code)
		}
		if code, _ := e.admin("DELETE", "/api/scripts/"+id+"/secrets/API_KEY", nil); code != http.StatusNotFound {
			t.Fatalf("delete again = %d", code)
		}
		if resp, _ := e.request("GET", "/fn/reader", nil); resp.StatusCode != 500 {
			t.Fatalf("after delete = %d", resp.StatusCode)
		}
		l := e.logs(id, 3)[0]
		if msg := l["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "secret API_KEY is not set") {
			t.Fatalf("missing secret error = %q", msg)
		}
	})
}

// TestSecretsWriteOnly: no route answers with a value, the store holds a
// sealed value (not the plaintext), names are validated, scripts must exist,
// and deleting a script deletes its secrets.
func TestSecretsWriteOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{SecretBox: testBox(t)})
		id := e.create("holder", `secret("TOKEN")`)
		if code, out := e.admin("PUT", "/api/scripts/"+id+"/secrets/TOKEN", map[string]any{"value": secretValue}); code != http.StatusNoContent || len(out) != 0 {
			t.Fatalf("put: %d %v", code, out)
		}
		e.admin("PUT", "/api/secrets/GLOBAL_ONE", map[string]any{"value": secretValue})
		for _, path := range []string{"/api/scripts/" + id + "/secrets", "/api/secrets", "/api/scripts/" + id,
			"/api/scripts", "/api/scripts/" + id + "/versions", "/api/scripts/" + id + "/versions/1"} {
			resp, b := e.request("GET", path, nil, "Authorization", "Bearer "+testToken)
			if resp.StatusCode != 200 || strings.Contains(string(b), secretValue) {
				t.Errorf("GET %s = %d %s", path, resp.StatusCode, b)
			}
		}
		code, out := e.admin("GET", "/api/scripts/"+id+"/secrets", nil)
		items, _ := out["items"].([]any)
		if code != 200 || len(items) != 1 {
			t.Fatalf("list = %d %v", code, out)
		}
		if it := items[0].(map[string]any); it["name"] != "TOKEN" || it["updated_at"] == nil || len(it) != 2 {
			t.Fatalf("item = %v", it)
		}
		if _, out := e.admin("GET", "/api/secrets", nil); len(out["items"].([]any)) != 1 {
			t.Fatalf("global list = %v", out)
		}
		sealed, err := store.SecretValue(context.Background(), picloud.ScriptScope(id), "TOKEN")
		if err != nil || bytes.Contains(sealed, []byte(secretValue)) || len(sealed) <= len(secretValue) {
			t.Fatalf("stored = %q, %v", sealed, err)
		}
		if got, err := testBox(t).Open(picloud.ScriptScope(id), "TOKEN", sealed); err != nil || string(got) != secretValue {
			t.Fatalf("stored value opens to %q, %v", got, err)
		}

		for _, c := range []struct {
			method, path string
			in           any
			code         int
		}{
			{"PUT", "/api/scripts/" + id + "/secrets/lower", map[string]any{"value": "x"}, 400},
			{"PUT", "/api/scripts/" + id + "/secrets/1ST", map[string]any{"value": "x"}, 400},
			{"PUT", "/api/scripts/" + id + "/secrets/" + strings.Repeat("A", 65), map[string]any{"value": "x"}, 400},
			{"PUT", "/api/scripts/" + id + "/secrets/NOVALUE", map[string]any{}, 400},
			{"PUT", "/api/scripts/" + id + "/secrets/BIG", map[string]any{"value": strings.Repeat("v", picloud.MaxSecretBytes+1)}, 413},
			{"PUT", "/api/scripts/nope/secrets/TOKEN", map[string]any{"value": "x"}, 404},
			{"GET", "/api/scripts/nope/secrets", nil, 404},
			{"DELETE", "/api/secrets/NONE", nil, 404},
		} {
			if code, out := e.admin(c.method, c.path, c.in); code != c.code {
				t.Errorf("%s %s = %d %v, want %d", c.method, c.path, code, out, c.code)
			}
		}
		if resp, _ := e.request("GET", "/api/secrets", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("without the token: %d", resp.StatusCode)
		}

		if code, _ := e.admin("DELETE", "/api/scripts/"+id, nil); code != http.StatusNoContent {
			t.Fatalf("delete script = %d", code)
		}
		if list, err := store.ListSecrets(context.Background(), picloud.ScriptScope(id)); err != nil || len(list) != 0 {
			t.Fatalf("secrets after deleting the script = %v, %v", list, err)
		}
	})
}

// TestSecretsWithoutKey: a server without a key refuses to store secrets.
func TestSecretsWithoutKey(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := newEnv(t, s, app.Config{})
	id := e.create("nokey", `secret("A_KEY")`)
	if code, out := e.admin("PUT", "/api/scripts/"+id+"/secrets/A_KEY", map[string]any{"value": "value"}); code != http.StatusServiceUnavailable {
		t.Fatalf("put without a key = %d %v", code, out)
	}
}

// TestSecretsDocExample runs the example of docs/scripting.md's Secrets
// section as written there.
func TestSecretsDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scripting.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```rhai\n// greet.rhai\n")
	src, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/scripting.md has no greet.rhai example")
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := newEnv(t, s, app.Config{SecretBox: testBox(t)})
	id := e.create("greet", src)
	if code, out := e.admin("PUT", "/api/scripts/"+id+"/secrets/GREETING", map[string]any{"value": "Hello"}); code != http.StatusNoContent {
		t.Fatalf("put: %d %v", code, out)
	}
	if resp, b := e.request("GET", "/fn/greet", nil); resp.StatusCode != 200 || string(b) != `{"message":"Hello, world!"}` {
		t.Fatalf("example = %d %s", resp.StatusCode, b)
	}
	if msg := e.logs(id, 1)[0]["logs"].([]any)[0].(map[string]any)["message"]; msg != "greeting with [redacted:GREETING]" {
		t.Fatalf("logged %v", msg)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
