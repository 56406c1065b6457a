package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

func TestCronCaret(t *testing.T) {
	for _, c := range []struct {
		expr string
		pos  int
		want string
	}{
		{"*/5 * * * *", 1, "^^^"},
		{"0 61 * * *", 2, "  ^^"},
		{"0  9 *  * MON-FRI", 5, "          ^^^^^^^"},
		{"@every 5x", 2, "       ^^"},
		{"* * * * *", 6, ""},
		{"* * * * *", 0, ""},
	} {
		if got := cronCaret(c.expr, c.pos); got != c.want {
			t.Errorf("%q field %d: got %q, want %q", c.expr, c.pos, got, c.want)
		}
	}
	// The server's refusal gets the expression and the caret under it; other
	// errors pass unchanged.
	bad := &apiError{Status: 400, Code: "invalid_request", Message: "minute: 61 is out of range", Field: "cron", Position: 2}
	err := cronError(bad, "0 61 * * *")
	var ae *apiError
	if !errors.As(err, &ae) || !strings.HasSuffix(err.Error(), "\n  0 61 * * *\n    ^^") {
		t.Fatalf("cron error: %q", err)
	}
	tz := &apiError{Status: 400, Code: "invalid_request", Message: "unknown time zone", Field: "timezone"}
	if err := cronError(tz, "* * * * *"); err != error(tz) {
		t.Fatalf("timezone error changed: %q", err)
	}
}

func TestAPIErrorRetryAfter(t *testing.T) {
	err := responseError(429, []byte(`{"error":{"code":"queue_full","message":"the queue of hello is full","retry_after":2}}`))
	if got := err.Error(); got != "queue_full (HTTP 429): the queue of hello is full (retry after 2s)" {
		t.Fatalf("got %q", got)
	}
	if err := responseError(502, []byte("bad gateway\n")); err.Error() != "HTTP 502: bad gateway" {
		t.Fatalf("not the API's error: %q", err)
	}
}

func at(s string) picloud.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return picloud.Time{Time: t}
}

func TestScheduleTable(t *testing.T) {
	var b bytes.Buffer
	items := []*picloud.Schedule{
		{ID: "s1", ScriptID: "id1", Cron: "*/5 * * * *", Enabled: true, NextRuns: []picloud.Time{at("2026-12-06T10:05:00Z")},
			LastScheduledAt: at("2026-12-06T10:00:00Z")},
		{ID: "s2", ScriptID: "gone", Cron: "@daily", Timezone: "Europe/Paris", Enabled: false, NextRuns: []picloud.Time{at("2026-12-06T23:00:00Z")}},
	}
	if err := writeScheduleTable(&b, items, map[string]string{"id1": "hello"}); err != nil {
		t.Fatal(err)
	}
	want := "ID  SCRIPT  CRON         TIMEZONE      ENABLED  NEXT RUN                  LAST SCHEDULED\n" +
		"s1  hello   */5 * * * *  UTC           yes      2026-12-06T10:05:00.000Z  2026-12-06T10:00:00.000Z\n" +
		"s2  gone    @daily       Europe/Paris  no       -                         -\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	writeScheduleTable(&b, nil, nil)
	if b.String() != "no schedules\n" {
		t.Fatalf("empty: %q", b.String())
	}
}

func TestNextRunsInTheScheduleZone(t *testing.T) {
	if _, err := time.LoadLocation("Europe/Paris"); err != nil {
		t.Skip("no time zone database:", err)
	}
	var b bytes.Buffer
	printNextRuns(&b, &picloud.Schedule{Cron: "0 9 * * *", Timezone: "Europe/Paris", Enabled: true,
		NextRuns: []picloud.Time{at("2026-12-07T08:00:00Z")}})
	if want := "next runs:\n  2026-12-07T08:00:00.000Z  (2026-12-07 09:00:00 CET)\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	printNextRuns(&b, &picloud.Schedule{Cron: "0 9 * * *", NextRuns: []picloud.Time{at("2026-12-07T08:00:00Z")}})
	if b.String() != "next runs: none (paused)\n" {
		t.Fatalf("paused: %q", b.String())
	}
}

// TestJobOutput: a job's attempts merge the execution rows with the queue's
// errors by attempt (an attempt whose row was pruned keeps its error), and
// the request and event are shown.
func TestJobOutput(t *testing.T) {
	j := &picloud.Job{
		ID: "42", ScriptID: "id1", ScriptName: "hello", Trigger: picloud.TriggerEvent, State: picloud.JobDead,
		Attempt: 3, MaxAttempts: 3, CreatedAt: at("2026-12-06T10:00:00Z"), FinalizedAt: at("2026-12-06T10:00:07Z"),
		Request: &picloud.JobRequest{Method: "POST", Path: "/fn/hello", Query: map[string][]string{"a": {"1"}},
			Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte("{\n\"x\": 1}")},
		Event: &picloud.Event{ID: "ev1", Topic: "order.created", Payload: json.RawMessage(`{"x":1}`), EmittedBy: "shop", Depth: 1},
		Attempts: []picloud.JobAttempt{
			{Attempt: 2, ExecutionID: "ex2", Status: picloud.StatusError, StartedAt: at("2026-12-06T10:00:01Z"),
				Error: &picloud.ExecError{Kind: "runtime", Message: "boom", Line: 1, Column: 7}},
			{Attempt: 3, ExecutionID: "ex3", Status: picloud.StatusTimeout, StartedAt: at("2026-12-06T10:00:03Z")},
		},
		Errors: []picloud.JobError{
			{Attempt: 1, At: at("2026-12-06T10:00:00Z"), Error: "error: runtime: boom"},
			{Attempt: 2, At: at("2026-12-06T10:00:01Z"), Error: "error: runtime: boom"},
			{Attempt: 3, At: at("2026-12-06T10:00:06Z"), Error: "timeout: timeout: over 5000 ms"},
		},
	}
	var b bytes.Buffer
	writeJob(&b, j)
	out := b.String()
	for _, want := range []string{
		"job       42\n", "script    hello\n", "state     dead\n", "attempts  3 of 3\n",
		"finished  2026-12-06T10:00:07.000Z\n",
		"event     order.created ev1 from shop (depth 1)\n",
		"request   POST /fn/hello?a=1\n", "          Content-Type: application/json\n",
		"body      {⏎\"x\": 1}\n",
		"  1  -          -        2026-12-06T10:00:00.000Z  error: runtime: boom\n",
		"  2  ex2        error    2026-12-06T10:00:01.000Z  runtime at 1:7: boom\n",
		"  3  ex3        timeout  2026-12-06T10:00:03.000Z  timeout: timeout: over 5000 ms\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	b.Reset()
	writeDeadLetterTable(&b, []*picloud.Job{j})
	if want := "JOB  SCRIPT  TRIGGER  ATTEMPTS  DIED                      LAST ERROR\n" +
		"42   hello   event    3/3       2026-12-06T10:00:07.000Z  timeout: timeout: over 5000 ms\n"; b.String() != want {
		t.Fatalf("dead letters:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestBodyPreview(t *testing.T) {
	for _, c := range []struct {
		body string
		max  int
		want string
	}{
		{"", 10, "(empty)"},
		{"a\r\nb", 10, "a⏎b"},
		{"\xff\xfe", 10, "(2 bytes, binary)"},
		{"héllo world", 2, "h… (12 bytes)"},
	} {
		if got := bodyPreview([]byte(c.body), c.max); got != c.want {
			t.Errorf("%q: got %q, want %q", c.body, got, c.want)
		}
	}
}

func TestTriggerCommandArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"schedule"}, "no schedule command given"},
		{[]string{"schedule", "frob"}, `unknown schedule command "frob"`},
		{[]string{"schedule", "add", "hello"}, "schedule add: wrong number of arguments"},
		{[]string{"schedule", "rm"}, "schedule rm: wrong number of arguments"},
		{[]string{"schedule", "ls", "a", "b"}, "schedule ls: wrong number of arguments"},
		{[]string{"schedule", "run", "s1", "--body", "x"}, "--body, --body-file and --disabled are for schedule add"},
		{[]string{"schedule", "add", "hello", "* * * * *", "--body", "x", "--body-file", "f"}, "not both"},
		{[]string{"jobs"}, "no jobs command given"},
		{[]string{"jobs", "ls"}, `unknown jobs command "ls"`},
		{[]string{"jobs", "show"}, "jobs show: wrong number of arguments"},
		{[]string{"dead-letters", "requeue"}, "dead-letters requeue: wrong number of arguments"},
		{[]string{"dead-letters", "purge"}, `unknown dead-letters command "purge"`},
		{[]string{"invoke", "hello", "--idempotency-key", "k"}, "--idempotency-key needs --async"},
	} {
		if _, _, err := cli(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	for _, cmd := range []string{"schedule", "jobs", "dead-letters"} {
		if out, _, err := cli(t, cmd, "-h"); err != nil || !strings.HasPrefix(out, "usage:") {
			t.Errorf("%s -h: %q %v", cmd, out, err)
		}
	}
}

// TestPrintAccepted: the answer to invoke --async. 202 gives the job and an
// absolute Location; a refusal keeps the Retry-After header; any other 2xx
// means the request ran instead of being queued.
func TestPrintAccepted(t *testing.T) {
	reqURL, _ := url.Parse("http://example.test:8000/fn/hello")
	resp := func(status int, header http.Header) *http.Response {
		return &http.Response{StatusCode: status, Header: header, Request: &http.Request{URL: reqURL}, Body: io.NopCloser(strings.NewReader(""))}
	}
	var b bytes.Buffer
	c := &client{}
	err := printAccepted(c, resp(202, http.Header{"Location": {"/api/jobs/17"}}), []byte(`{"job_id":"17"}`), &b)
	if err != nil || b.String() != "queued job 17\n  http://example.test:8000/api/jobs/17\n  picloud jobs show 17\n" {
		t.Fatalf("202: %q %v", b.String(), err)
	}
	b.Reset()
	c.json = true
	err = printAccepted(c, resp(202, http.Header{"Location": {"/api/jobs/17"}}), []byte(`{"job_id":"17","existing":true}`), &b)
	if err != nil || b.String() != "{\n  \"job_id\": \"17\",\n  \"existing\": true,\n  \"location\": \"http://example.test:8000/api/jobs/17\"\n}\n" {
		t.Fatalf("202 --json: %q %v", b.String(), err)
	}
	err = printAccepted(c, resp(429, http.Header{"Retry-After": {"3"}}), []byte(`{"error":{"code":"queue_full","message":"full"}}`), &b)
	if err == nil || err.Error() != "queue_full (HTTP 429): full (retry after 3s)" {
		t.Fatalf("429: %v", err)
	}
	if err := printAccepted(c, resp(200, http.Header{}), []byte(`{"ok":true}`), &b); err == nil || !strings.Contains(err.Error(), "instead of 202") {
		t.Fatalf("200: %v", err)
	}
	if err := printAccepted(c, resp(202, http.Header{}), []byte(`{}`), &b); err == nil || !strings.Contains(err.Error(), "without a job id") {
		t.Fatalf("202 without a job: %v", err)
	}
}
