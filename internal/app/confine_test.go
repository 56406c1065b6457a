package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
)

// TestConfinedScripts: the scripts a token restricted to "orders-*" writes
// are confined to that pattern: secret() does not fall back to global
// secrets, an import reaches only libraries that admit each other's pattern,
// events reach only subscribers that do; the restricted token cannot clear
// it, a token for every script can (audited), and the script then behaves
// as before.
func TestConfinedScripts(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{SecretBox: testBox(t), Jobs: jobsConfig()})
		if code, out := e.admin("PUT", "/api/secrets/SHARED", map[string]any{"value": "global-shared-1"}); code != http.StatusNoContent {
			t.Fatalf("global secret: %d %v", code, out)
		}
		e.create("shared-lib", `fn f() { "from shared-lib" }`, "access", "library")
		outside := e.create("audit-sink", triggerSource, "subscriptions", []string{"order.new"})
		tok := e.newToken("orders-ci", []string{"deploy"}, "orders-*")
		as := func(method, path string, in any) (int, map[string]any) {
			t.Helper()
			body, _ := json.Marshal(in)
			resp, b := e.request(method, path, body, bearer(tok)...)
			out := map[string]any{}
			_ = json.Unmarshal(b, &out)
			return resp.StatusCode, out
		}
		deploy := func(name, source string, extra ...any) string {
			t.Helper()
			in := map[string]any{"name": name, "source": source}
			for i := 0; i+1 < len(extra); i += 2 {
				in[extra[i].(string)] = extra[i+1]
			}
			code, out := as("POST", "/api/scripts", in)
			if code != http.StatusCreated || out["confined_to"] != "orders-*" {
				t.Fatalf("deploy %s: %d %v", name, code, out)
			}
			return out["id"].(string)
		}
		invoke := func(name string) (int, string) {
			t.Helper()
			resp, b := e.request("POST", "/fn/"+name, nil)
			return resp.StatusCode, string(b)
		}
		// failure invokes name, which must fail, and returns its error
		// message from the execution log.
		failure := func(name string) string {
			t.Helper()
			resp, b := e.request("POST", "/fn/"+name, nil)
			var out struct {
				Error struct {
					ExecutionID string `json:"execution_id"`
				} `json:"error"`
			}
			if resp.StatusCode != 500 || json.Unmarshal(b, &out) != nil || out.Error.ExecutionID == "" {
				t.Fatalf("%s = %d %s, want a script error", name, resp.StatusCode, b)
			}
			l := e.execution(out.Error.ExecutionID)
			if l.Error == nil {
				t.Fatalf("%s: no error in the log", name)
			}
			return l.Error.Message
		}

		// secret(): its own, never the global one.
		deploy("orders-secret", `let own = secret("OWN"); let r = ""; try { secret("SHARED"); r = "global read"; } catch (err) { r = err; } own + " | " + r`)
		if code, out := as("PUT", "/api/scripts/orders-secret/secrets/OWN", map[string]any{"value": "own-value-1"}); code != http.StatusNoContent {
			t.Fatalf("own secret: %d %v", code, out)
		}
		if code, b := invoke("orders-secret"); code != 200 || b != `own-value-1 | secret SHARED is not set for this script (a script confined to "orders-*" reads no global secrets)` {
			t.Fatalf("confined secret read = %d %s", code, b)
		}

		// import: not a library outside the pattern.
		deploy("orders-lib", `fn f() { "from orders-lib" }`, "access", "library")
		deploy("orders-import", `import "orders-lib" as l; l::f()`)
		if code, b := invoke("orders-import"); code != 200 || b != "from orders-lib" {
			t.Fatalf("import inside the pattern = %d %s", code, b)
		}
		deploy("orders-import-shared", `import "shared-lib" as l; l::f()`)
		if msg := failure("orders-import-shared"); !strings.Contains(msg, `this script is confined to "orders-*", which shared-lib does not match`) {
			t.Fatalf("import outside the pattern: %s", msg)
		}
		// ...and an unconfined script does not run the confined library.
		e.create("billing", `import "orders-lib" as l; l::f()`)
		if msg := failure("billing"); !strings.Contains(msg, `the library is confined to "orders-*", which this script does not match`) {
			t.Fatalf("unconfined importer of a confined library: %s", msg)
		}

		// events: only to subscribers inside the pattern.
		sink := deploy("orders-sink", triggerSource, "subscriptions", []string{"order.new"})
		deploy("orders-emit", `events::emit("order.new", #{id: 1}); "sent"`)
		if code, b := invoke("orders-emit"); code != 200 || b != "sent" {
			t.Fatalf("emit = %d %s", code, b)
		}
		e.logs(sink, 1)
		time.Sleep(300 * time.Millisecond) // a delivery outside the pattern would show by now
		if n, _ := e.store.CountExecutions(context.Background(), outside); n != 0 {
			t.Fatalf("the subscriber outside the pattern ran %d times", n)
		}

		// The restricted token may not clear it, nor set another pattern.
		for _, v := range []string{"", "*", "orders-secret"} {
			if code, out := as("PATCH", "/api/scripts/orders-secret", map[string]any{"confined_to": v}); code != http.StatusForbidden {
				t.Fatalf("restricted token sets confined_to %q: %d %v", v, code, out)
			}
		}
		// A change by a token for every script that does not name it keeps it.
		if code, out := e.admin("PATCH", "/api/scripts/orders-secret", map[string]any{"timeout_ms": 2000}); code != 200 || out["confined_to"] != "orders-*" {
			t.Fatalf("admin update = %d %v", code, out)
		}
		// The admin clears it: the script reads the global secret again, and
		// the audit trail says who did.
		if code, out := e.admin("PATCH", "/api/scripts/orders-secret", map[string]any{"confined_to": ""}); code != 200 || out["confined_to"] != "" {
			t.Fatalf("admin clears = %d %v", code, out)
		}
		if code, b := invoke("orders-secret"); code != 200 || b != "own-value-1 | global read" {
			t.Fatalf("after clearing = %d %s", code, b)
		}
		var cleared bool
		for _, ev := range e.auditAll("action=script.update") {
			d, _ := json.Marshal(ev.Detail)
			if ev.Target == "orders-secret" && ev.Actor == "admin" && strings.Contains(string(d), `"after":{"confined_to":""}`) {
				cleared = true
			}
		}
		if !cleared {
			t.Fatal("no audit event for clearing confined_to")
		}
		if code, out := e.admin("PATCH", "/api/scripts/orders-import-shared", map[string]any{"confined_to": ""}); code != 200 {
			t.Fatalf("admin clears = %d %v", code, out)
		}
		if code, b := invoke("orders-import-shared"); code != 200 || b != "from shared-lib" {
			t.Fatalf("import after clearing = %d %s", code, b)
		}

		// A draft saved by the restricted token confines an admin's script:
		// the draft is code the script will run.
		e.create("orders-legacy", `secret("SHARED")`)
		if code, b := invoke("orders-legacy"); code != 200 || b != "global-shared-1" {
			t.Fatalf("legacy = %d %s", code, b)
		}
		if code, out := as("PUT", "/api/scripts/orders-legacy/draft", map[string]any{"source": `"draft"`}); code != 200 {
			t.Fatalf("draft = %d %v", code, out)
		}
		if code, out := e.admin("GET", "/api/scripts/orders-legacy", nil); code != 200 || out["confined_to"] != "orders-*" {
			t.Fatalf("after a restricted draft = %d %v", code, out)
		}
		if msg := failure("orders-legacy"); !strings.Contains(msg, "reads no global secrets") {
			t.Fatalf("a confined script read the global secret: %s", msg)
		}
	})
}

// TestClusterConfined: on a node, a confined script reads its own secret
// through the manager and not the global one, and does not import a library
// outside its pattern.
func TestClusterConfined(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		m := startManager(t, open(t), "")
		n := startNode(t, "node-a", m.srv.URL, clusterToken)
		m.do("PUT", "/api/secrets/SHARED", map[string]any{"value": "global-shared-1"}, 204, nil)
		// A token for every script may set any pattern.
		sec := m.create("orders-sec", `let r = ""; try { secret("SHARED"); r = "global read"; } catch (err) { r = err; } secret("OWN") + " | " + r`,
			"confined_to", "orders-*")
		m.do("PUT", "/api/scripts/"+sec+"/secrets/OWN", map[string]any{"value": "own-value-1"}, 204, nil)
		n.serves("/fn/orders-sec", `own-value-1 | secret SHARED is not set for this script (a script confined to "orders-*" reads no global secrets)`)
		m.create("lib", `fn f() { "lib" }`, "access", "library")
		const imp = `let r = ""; try { import "lib" as l; r = l::f(); } catch (err) { r = "refused"; } r`
		m.create("orders-imp", imp, "confined_to", "orders-*")
		n.serves("/fn/orders-imp", "refused")
		m.create("plain-imp", imp) // the same source unconfined imports it
		n.serves("/fn/plain-imp", "lib")
	})
}
