package executor

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// webhookCase is a request and what a verify call makes of it.
type webhookCase struct {
	name   string
	call   string // the verify call, on `request`
	body   string
	header map[string]string
	want   string // "true", "false", or an error message fragment
}

// runWebhookCases runs each case's call on a POST carrying its body and
// headers, on an executor whose webhook:: clock reads now.
func runWebhookCases(t *testing.T, now time.Time, cases []webhookCase) {
	t.Helper()
	x := newTestExecutor(t, Config{})
	x.eng.RegisterStaticModule("webhook", webhookModuleAt(func() time.Time { return now }, nil))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			res := runRequest(t, x, tc.call, tc.body, h)
			if tc.want == "true" || tc.want == "false" {
				if res.Status != picloud.StatusSuccess || string(res.Response.Body) != tc.want {
					t.Fatalf("%s: got %s %+v %v, want %s", tc.call, res.Status, res.Err, res.Response, tc.want)
				}
				return
			}
			checkHostCase(t, res, hostCase{src: tc.call, kind: rhai.ErrRuntime, err: tc.want})
		})
	}
}

func TestWebhookGitHub(t *testing.T) {
	// The example in GitHub's "Validating webhook deliveries".
	const (
		secret = `It's a Secret to Everybody`
		body   = "Hello, World!"
		sig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)
	call := `webhook::verify_github("` + secret + `", request)`
	hdr := func(v string) map[string]string { return map[string]string{"X-Hub-Signature-256": v} }
	runWebhookCases(t, time.Now(), []webhookCase{
		{name: "docs example", call: call, body: body, header: hdr(sig), want: "true"},
		{name: "computed", call: `webhook::verify_github("s3cret", request)`, body: `{"action":"opened"}`, header: hdr("sha256=" + hmacHex("s3cret", `{"action":"opened"}`)), want: "true"},
		{name: "secret as blob", call: `webhook::verify_github("` + secret + `".to_blob(), request)`, body: body, header: hdr(sig), want: "true"},
		{name: "upper-case hex", call: call, body: body, header: hdr("sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"), want: "true"},
		{name: "binary body", call: `webhook::verify_github("k", request)`, body: "\xff\x00\xfe", header: hdr("sha256=" + hmacHex("k", "\xff\x00\xfe")), want: "true"},
		{name: "tampered body", call: call, body: "Hello, World?", header: hdr(sig), want: "false"},
		{name: "wrong secret", call: `webhook::verify_github("It's a secret to everybody", request)`, body: body, header: hdr(sig), want: "false"},
		{name: "no prefix", call: call, body: body, header: hdr(sig[len("sha256="):]), want: "false"},
		{name: "sha1 prefix", call: call, body: body, header: hdr("sha1=" + sig[len("sha256="):]), want: "false"},
		{name: "not hex", call: call, body: body, header: hdr("sha256=zz"), want: "false"},
		{name: "truncated", call: call, body: body, header: hdr(sig[:40]), want: "false"},
		{name: "no header", call: call, body: body, want: "false"},
		{name: "empty secret", call: `webhook::verify_github("", request)`, body: body, header: hdr(sig), want: "webhook::verify_github: the secret is empty"},
		{name: "bad raw_body", call: `request.raw_body = 1; webhook::verify_github("k", request)`, body: body, header: hdr(sig), want: "request.raw_body is i64, not a string or a BLOB"},
	})
}

func TestWebhookStripe(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	const secret, body = "whsec_test", `{"id":"evt_1","object":"event"}`
	sign := func(ts int64, secret, body string) string {
		return hmacHex(secret, strconv.FormatInt(ts, 10)+"."+body)
	}
	ts := now.Unix() - 10
	header := func(format string, args ...any) map[string]string {
		return map[string]string{"Stripe-Signature": fmt.Sprintf(format, args...)}
	}
	good := header("t=%d,v1=%s,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39", ts, sign(ts, secret, body))
	call := `webhook::verify_stripe("` + secret + `", request, 300)`
	runWebhookCases(t, now, []webhookCase{
		{name: "valid", call: call, body: body, header: good, want: "true"},
		{name: "default tolerance", call: `webhook::verify_stripe("` + secret + `", request)`, body: body, header: good, want: "true"},
		{name: "second v1 matches", call: call, body: body, header: header("t=%d,v1=%s,v1=%s", ts, sign(ts, "old", body), sign(ts, secret, body)), want: "true"},
		{name: "spaces", call: call, body: body, header: header("t=%d, v1=%s", ts, sign(ts, secret, body)), want: "true"},
		{name: "tampered body", call: call, body: body + " ", header: good, want: "false"},
		{name: "wrong secret", call: `webhook::verify_stripe("whsec_other", request, 300)`, body: body, header: good, want: "false"},
		{name: "timestamp not signed", call: call, body: body, header: header("t=%d,v1=%s", ts+1, sign(ts, secret, body)), want: "false"},
		{name: "only v0", call: call, body: body, header: header("t=%d,v0=%s", ts, sign(ts, secret, body)), want: "false"},
		{name: "stale", call: call, body: body, header: header("t=%d,v1=%s", now.Unix()-301, sign(now.Unix()-301, secret, body)), want: "false"},
		{name: "stale within a wider tolerance", call: `webhook::verify_stripe("` + secret + `", request, 600)`, body: body, header: header("t=%d,v1=%s", now.Unix()-301, sign(now.Unix()-301, secret, body)), want: "true"},
		{name: "future", call: call, body: body, header: header("t=%d,v1=%s", now.Unix()+301, sign(now.Unix()+301, secret, body)), want: "false"},
		{name: "no timestamp", call: call, body: body, header: header("v1=%s", sign(ts, secret, body)), want: "false"},
		{name: "bad timestamp", call: call, body: body, header: header("t=soon,v1=%s", sign(ts, secret, body)), want: "false"},
		{name: "no header", call: call, body: body, want: "false"},
		{name: "zero tolerance", call: `webhook::verify_stripe("` + secret + `", request, 0)`, body: body, header: good, want: "tolerance must be a positive number of seconds, not 0"},
	})
}

func TestWebhookSlack(t *testing.T) {
	// The example in Slack's "Verifying requests from Slack".
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		ts     = "1531420618"
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		sig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	now := time.Unix(1531420618+60, 0)
	hdr := func(ts, sig string) map[string]string {
		return map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
	}
	computed := "v0=" + hmacHex(secret, "v0:"+ts+":"+body)
	if computed != sig {
		t.Fatalf("the documented algorithm gives %s, Slack's example %s", computed, sig)
	}
	call := `webhook::verify_slack("` + secret + `", request)`
	stale := strconv.FormatInt(now.Unix()-301, 10)
	runWebhookCases(t, now, []webhookCase{
		{name: "docs example", call: call, body: body, header: hdr(ts, sig), want: "true"},
		{name: "tampered body", call: call, body: body + "&x=1", header: hdr(ts, sig), want: "false"},
		{name: "wrong secret", call: `webhook::verify_slack("8f742231b10e8888abcd99yyyzzz85a6", request)`, body: body, header: hdr(ts, sig), want: "false"},
		{name: "timestamp changed", call: call, body: body, header: hdr("1531420619", sig), want: "false"},
		{name: "stale", call: call, body: body, header: hdr(stale, "v0="+hmacHex(secret, "v0:"+stale+":"+body)), want: "false"},
		{name: "no prefix", call: call, body: body, header: hdr(ts, sig[3:]), want: "false"},
		{name: "no timestamp", call: call, body: body, header: map[string]string{"X-Slack-Signature": sig}, want: "false"},
		{name: "no headers", call: call, body: body, want: "false"},
	})
	// On the real clock the example is years old.
	x := newTestExecutor(t, Config{})
	res := runRequest(t, x, call, body, http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {sig}})
	if res.Status != picloud.StatusSuccess || string(res.Response.Body) != "false" {
		t.Fatalf("a 2018 timestamp verified on today's clock: %+v %v", res.Err, res.Response)
	}
}

// TestWebhookDocsExample runs the GitHub receiver of docs/scripting.md as
// written, on GitHub's example delivery and on a tampered one.
func TestWebhookDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scripting.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "<!-- example: github-webhook -->\n```rhai\n")
	src, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("the github-webhook example is missing from docs/scripting.md")
	}
	x := newTestExecutor(t, Config{})
	h := http.Header{
		"X-Hub-Signature-256": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		"X-Github-Event":      {"push"},
		"X-Github-Delivery":   {"d1"},
	}
	res := runRequest(t, x, src, "Hello, World!", h)
	if res.Status != picloud.StatusSuccess || res.Response.Status != 202 || !strings.Contains(string(res.Response.Body), `"event":"push"`) {
		t.Fatalf("valid delivery: %s %+v %v", res.Status, res.Err, res.Response)
	}
	if len(res.Logs) != 1 || !strings.Contains(string(res.Logs[0].Data), `"delivery":"d1"`) {
		t.Fatalf("log lines: %+v", res.Logs)
	}
	res = runRequest(t, x, src, "Hello, World?", h)
	if res.Status != picloud.StatusSuccess || res.Response.Status != 401 {
		t.Fatalf("tampered delivery: %s %+v %v", res.Status, res.Err, res.Response)
	}
}

// BenchmarkWebhookVerifyGitHub is a whole execution of a script that checks
// a GitHub signature on a 4 KiB body: the hot path of a webhook receiver.
func BenchmarkWebhookVerifyGitHub(b *testing.B) {
	x := New(Config{}, nil)
	p := x.Compile("bench", `webhook::verify_github("s3cret", request)`)
	body := strings.Repeat("x", 4096)
	req := &Request{Method: "POST", Path: "/", Body: []byte(body),
		Header: http.Header{"X-Hub-Signature-256": {"sha256=" + hmacHex("s3cret", body)}}}
	b.ReportAllocs()
	for b.Loop() {
		res := x.Execute(context.Background(), p, Limits{}, req, Options{})
		if res.Status != picloud.StatusSuccess || string(res.Response.Body) != "true" {
			b.Fatalf("%s %+v", res.Status, res.Err)
		}
	}
}
