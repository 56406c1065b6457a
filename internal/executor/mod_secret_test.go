package executor

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/picloud/picloud"
)

// fakeSecrets is a SecretReader over a map "scope/name" → value; it counts
// the reads that reach it.
type fakeSecrets struct {
	m     map[string]string
	reads atomic.Int32
	err   error
}

func (f *fakeSecrets) Secret(_ context.Context, scriptID, name string) (string, error) {
	f.reads.Add(1)
	if f.err != nil {
		return "", f.err
	}
	if v, ok := f.m[scriptID+"/"+name]; ok {
		return v, nil
	}
	if v, ok := f.m["/"+name]; ok {
		return v, nil
	}
	return "", picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
}

const apiKey = "sk_live_0123456789abcdef"

func secretExecutor(t *testing.T) (*Executor, *fakeSecrets) {
	f := &fakeSecrets{m: map[string]string{"s1/API_KEY": apiKey, "/API_KEY": "global-key-value", "/SHARED": "shared-value", "/PIN": "42"}}
	return newTestExecutor(t, Config{Secrets: f}), f
}

func TestSecretRead(t *testing.T) {
	x, f := secretExecutor(t)
	opts := Options{Script: &picloud.Script{ID: "s1"}}
	res := run(t, x, `secret("API_KEY").len() + secret("API_KEY").len()`, Limits{}, opts)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if got := string(res.Response.Body); got != "48" {
		t.Fatalf("body = %q", got)
	}
	if n := f.reads.Load(); n != 1 {
		t.Fatalf("reads = %d, want 1 (the second read is the execution's cache)", n)
	}
	// Another script falls back to the global secret; so does a run outside the store.
	for _, o := range []Options{{Script: &picloud.Script{ID: "s2"}}, {}} {
		res = run(t, x, `secret("API_KEY") + "|" + secret("SHARED")`, Limits{}, o)
		wantStatus(t, res, picloud.StatusSuccess, "", "")
		if got := string(res.Response.Body); got != "global-key-value|shared-value" {
			t.Fatalf("body = %q", got)
		}
	}
}

func TestSecretReadMetrics(t *testing.T) {
	got := map[string]int{}
	var mu sync.Mutex
	f := &fakeSecrets{m: map[string]string{"/A_KEY": "value-1"}}
	x := newTestExecutor(t, Config{Secrets: f, OnSecretRead: func(r string) { mu.Lock(); got[r]++; mu.Unlock() }})
	if x.Config().Secrets != nil || x.Config().OnSecretRead != nil {
		t.Fatal("Config reports the secret reader")
	}
	run(t, x, `secret("A_KEY"); secret("A_KEY"); secret("NOPE")`, Limits{}, Options{})
	f.err = errors.New("down")
	run(t, x, `secret("OTHER")`, Limits{}, Options{})
	if got[SecretFound] != 2 || got[SecretMissing] != 1 || got[SecretFailed] != 1 {
		t.Fatalf("counts = %v", got)
	}
}

func TestSecretMissing(t *testing.T) {
	x, _ := secretExecutor(t)
	res := run(t, x, `secret("NOPE")`, Limits{}, Options{Script: &picloud.Script{ID: "s1"}})
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, "")
	if !strings.Contains(res.Err.Message, "secret NOPE is not set") {
		t.Fatalf("message = %q", res.Err.Message)
	}
	// A script may catch it.
	res = run(t, x, `let r = ""; try { secret("NOPE"); } catch (e) { r = e; } r`, Limits{}, Options{})
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if got := string(res.Response.Body); !strings.Contains(got, "secret NOPE is not set") {
		t.Fatalf("caught = %q", got)
	}
	res = run(t, x, `secret("lower")`, Limits{}, Options{})
	if res.Status != picloud.StatusError || !strings.Contains(res.Err.Message, "not a secret name") {
		t.Fatalf("bad name: %+v", res.Err)
	}
	// No reader configured, or a reader failing: errors that say so, never a value.
	res = run(t, newTestExecutor(t, Config{}), `secret("API_KEY")`, Limits{}, Options{})
	if res.Status != picloud.StatusError || !strings.Contains(res.Err.Message, "not available") {
		t.Fatalf("no reader: %+v", res.Err)
	}
	res = run(t, newTestExecutor(t, Config{Secrets: &fakeSecrets{err: errors.New("db down")}}), `secret("API_KEY")`, Limits{}, Options{})
	if res.Status != picloud.StatusError || !strings.Contains(res.Err.Message, "could not be read") || strings.Contains(res.Err.Message, "db down") {
		t.Fatalf("failing reader: %+v", res.Err)
	}
}

func TestSecretRedaction(t *testing.T) {
	x, _ := secretExecutor(t)
	opts := Options{Script: &picloud.Script{ID: "s1"}}
	res := run(t, x, `
		let k = secret("API_KEY");
		let pin = secret("PIN");
		log::info("calling with " + k, #{key: k, nested: [k + "\"q"], pin: pin});
		print("key=" + k);
		#{ status: 200, body: "echo " + k, headers: #{ "x-key": k } }`, Limits{}, opts)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	// The caller gets the real response: redaction is for the log only.
	if !strings.Contains(string(res.Response.Body), apiKey) {
		t.Fatalf("response body = %q", res.Response.Body)
	}
	logs, _ := json.Marshal(res.Logs)
	if strings.Contains(string(logs), apiKey) || !strings.Contains(string(logs), "[redacted:API_KEY]") {
		t.Fatalf("logs = %s", logs)
	}
	if res.Logs[0].Message != "calling with [redacted:API_KEY]" || !json.Valid(res.Logs[0].Data) {
		t.Fatalf("line 0 = %+v", res.Logs[0])
	}
	// A value shorter than MinRedactBytes is left alone.
	if !strings.Contains(string(res.Logs[0].Data), `"pin":"42"`) {
		t.Fatalf("short value: %s", res.Logs[0].Data)
	}
	red := res.Redactor
	if got := string(red.Bytes(res.Response.Body)); got != "echo [redacted:API_KEY]" {
		t.Fatalf("redacted body = %q", got)
	}
	if got := red.Header(res.Response.Header).Get("x-key"); got != "[redacted:API_KEY]" {
		t.Fatalf("redacted header = %q", got)
	}
	if got := red.Values(url.Values{"k": {apiKey}})["k"][0]; got != "[redacted:API_KEY]" {
		t.Fatalf("redacted query = %q", got)
	}

	// Errors: a thrown value and a runtime error message.
	res = run(t, x, `let k = secret("API_KEY"); throw "bad key " + k;`, Limits{}, opts)
	if res.Status != picloud.StatusError || strings.Contains(res.Err.Message, apiKey) || !strings.Contains(res.Err.Message, "[redacted:API_KEY]") {
		t.Fatalf("thrown: %+v", res.Err)
	}
	res = run(t, x, `let k = secret("API_KEY"); k.no_such_method()`, Limits{}, opts)
	if res.Status != picloud.StatusError || strings.Contains(res.Err.Message, apiKey) {
		t.Fatalf("runtime error: %+v", res.Err)
	}

	// Nothing read, nothing to redact.
	res = run(t, x, `log::info("`+apiKey+`"); 1`, Limits{}, opts)
	if res.Redactor != nil || res.Logs[0].Message != apiKey {
		t.Fatalf("no secret read: %+v %v", res.Logs, res.Redactor)
	}
}

func TestRedactorJSONStaysValid(t *testing.T) {
	r := NewRedactor(map[string]string{"N": "12345", "Q": `a"b\c`, "S": "x"})
	if got := string(r.JSON(json.RawMessage(`{"n":123456}`))); got != `"[redacted]"` {
		t.Fatalf("number = %s", got)
	}
	if got := string(r.JSON(json.RawMessage(`{"q":"a\"b\\c!"}`))); got != `{"q":"[redacted:Q]!"}` {
		t.Fatalf("escaped = %s", got)
	}
	if NewRedactor(map[string]string{"S": "abc"}) != nil {
		t.Fatal("a 3-byte value made a redactor")
	}
	var nilR *Redactor
	if nilR.String("abc") != "abc" || nilR.Header(http.Header{"A": {"b"}}).Get("a") != "b" {
		t.Fatal("a nil redactor changed something")
	}
}

func (f *fakeSecrets) OwnSecret(_ context.Context, scriptID, name string) (string, error) {
	f.reads.Add(1)
	if v, ok := f.m[scriptID+"/"+name]; ok && scriptID != "" {
		return v, nil
	}
	return "", picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
}

// plainSecrets hides fakeSecrets' OwnSecret: a reader that cannot read a
// script's own secret alone.
type plainSecrets struct{ f *fakeSecrets }

func (p plainSecrets) Secret(ctx context.Context, scriptID, name string) (string, error) {
	return p.f.Secret(ctx, scriptID, name)
}

// TestSecretConfined: a confined script reads its own secrets and never the
// global ones, with an error that says why; an unconfined one falls back.
func TestSecretConfined(t *testing.T) {
	x, _ := secretExecutor(t)
	confined := Options{Script: &picloud.Script{ID: "s1", Name: "orders-a", ConfinedTo: "orders-*"}}
	res := run(t, x, `secret("API_KEY")`, Limits{}, confined)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if got := string(res.Response.Body); got != apiKey {
		t.Fatalf("own secret = %q", got)
	}
	res = run(t, x, `secret("SHARED")`, Limits{}, confined)
	wantStatus(t, res, picloud.StatusError, picloud.EScriptError, "")
	if want := `secret SHARED is not set for this script (a script confined to "orders-*" reads no global secrets)`; !strings.HasPrefix(res.Err.Message, want) {
		t.Fatalf("message = %q, want %q", res.Err.Message, want)
	}
	// Without an own secret of that name, the global one stays out of reach.
	other := Options{Script: &picloud.Script{ID: "s2", Name: "orders-b", ConfinedTo: "orders-*"}}
	if res = run(t, x, `secret("API_KEY")`, Limits{}, other); res.Status != picloud.StatusError || !strings.Contains(res.Err.Message, "reads no global secrets") {
		t.Fatalf("confined script read the global secret: %+v", res)
	}
	// The same script unconfined reads the global one.
	res = run(t, x, `secret("SHARED")`, Limits{}, Options{Script: &picloud.Script{ID: "s1", Name: "orders-a"}})
	if got := string(res.Response.Body); res.Status != picloud.StatusSuccess || got != "shared-value" {
		t.Fatalf("unconfined: %+v %q", res.Err, got)
	}
	// A reader that cannot leave the global scope out gives a confined
	// script nothing at all.
	px := newTestExecutor(t, Config{Secrets: plainSecrets{&fakeSecrets{m: map[string]string{"s1/API_KEY": apiKey, "/SHARED": "x-shared"}}}})
	if res = run(t, px, `secret("API_KEY")`, Limits{}, confined); res.Status != picloud.StatusError {
		t.Fatalf("plain reader: %+v", res)
	}
}
