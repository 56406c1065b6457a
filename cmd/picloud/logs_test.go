package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
)

// waitFor polls cond until it holds (a generous bound for convergence only).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadSSE checks the event-stream parser on the stream's whole grammar:
// comments (heartbeats), multi-line data, retry, an event without a name.
func TestReadSSE(t *testing.T) {
	stream := "retry: 1500\n\n: ping\n\nid: e1\nevent: execution\ndata: {\"a\":\ndata: 1}\n\n" +
		"data: plain\n\nevent: dropped\ndata: {\"reason\":\"slow consumer\"}\n\n"
	var got []sseEvent
	retry := time.Second
	err := readSSE(strings.NewReader(stream), func(ev sseEvent) error { got = append(got, ev); return nil }, &retry)
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{
		{id: "e1", event: "execution", data: "{\"a\":\n1}"},
		{event: "message", data: "plain"},
		{event: "dropped", data: `{"reason":"slow consumer"}`},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	if retry != 1500*time.Millisecond {
		t.Errorf("retry %v, want 1.5s", retry)
	}
}

// TestLogsFollowReconnects runs logs -f against a stand-in for the tail
// route whose first stream ends after one execution and a drop notice: the
// command must reconnect with that execution's id in Last-Event-ID, print
// the next one, apply --status to what it prints, and end without an error
// when its context is cancelled (Ctrl-C).
func TestLogsFollowReconnects(t *testing.T) {
	var mu sync.Mutex
	var lastIDs []string
	exec := func(id string, status picloud.ExecutionStatus) string {
		b, _ := json.Marshal(picloud.ExecutionLog{
			ID: id, ScriptID: "sid", ScriptVersion: 2, Trigger: picloud.TriggerHTTP, Status: status,
			StartedAt: picloud.Time{Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
			Request:   &picloud.RequestRecord{Method: "POST", Path: "/fn/greet/" + id},
			Response:  &picloud.ResponseRecord{Status: 200},
			Logs:      []picloud.LogLine{{Level: "info", Message: "hello from " + id}},
		})
		return fmt.Sprintf("id: %s\nevent: execution\ndata: %s\n\n", id, b)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/health": // the CLI's check that the server is PiCloud
			fmt.Fprint(w, `{"service":"picloud","status":"ok"}`)
		case "/api/scripts":
			fmt.Fprint(w, `{"items":[{"id":"sid","name":"greet"}]}`)
		case "/api/scripts/sid/tail":
			mu.Lock()
			lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
			n := len(lastIDs)
			mu.Unlock()
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "retry: 10\n\n: ping\n\n")
			if n == 1 {
				fmt.Fprint(w, exec("e1", picloud.StatusSuccess))
				fmt.Fprint(w, exec("e2", picloud.StatusError))
				fmt.Fprint(w, "event: dropped\ndata: {\"reason\":\"slow consumer\"}\n\n")
				return // the stream ends
			}
			fmt.Fprint(w, exec("e3", picloud.StatusSuccess))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"logs", "greet", "-f", "--status", "success", "--server", srv.URL, "--token", "tok"}, nil, &out, &errb)
	}()
	waitFor(t, "the execution after the reconnection", func() bool { return strings.Contains(out.String(), "/fn/greet/e3") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("logs -f ended with %v after Ctrl-C", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lastIDs) < 2 || lastIDs[0] != "" || lastIDs[1] != "e2" {
		t.Errorf("Last-Event-ID of the streams: %q, want \"\" then the last id seen (e2)", lastIDs)
	}
	o := out.String()
	if !strings.Contains(o, "success         v2   http      0.00ms        0 ops  POST /fn/greet/e1 -> 200") ||
		!strings.Contains(o, "    [info] hello from e1") {
		t.Errorf("the first execution is not printed as logs prints it:\n%s", o)
	}
	if strings.Contains(o, "e2") {
		t.Errorf("--status success printed an error:\n%s", o)
	}
	if !strings.Contains(errb.String(), "slow consumer") {
		t.Errorf("the drop was not reported on stderr: %q", errb.String())
	}
}

// TestLogsFollowRefused checks that a refusal (a wrong token) ends logs -f
// with the API's error instead of retrying for ever.
func TestLogsFollowRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" { // the CLI's check that the server is PiCloud
			fmt.Fprint(w, `{"service":"picloud","status":"ok"}`)
			return
		}
		if r.URL.Path == "/api/scripts" {
			fmt.Fprint(w, `{"items":[{"id":"sid","name":"greet"}]}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":"unauthorized","message":"bad token"}}`)
	}))
	defer srv.Close()
	_, _, err := cli(t, "logs", "greet", "-f", "--server", srv.URL)
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("logs -f with a refused tail: %v", err)
	}
}

// TestLogsID checks logs --id against a server: the execution in full
// (status, trigger, times, request line, response status, log lines, the
// error with its position) and --json as the API sends it.
func TestLogsID(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	file := filepath.Join(t.TempDir(), "boom.rhai")
	os.WriteFile(file, []byte("log::info(\"about to fail\");\nlet x = 1;\nthrow \"nope\";"), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	if _, _, err := cli(t, "invoke", "boom", "-X", "POST", "-d", `{"a":1}`); err == nil {
		t.Fatal("invoke of a failing script succeeded")
	}
	var page picloud.ExecutionList
	waitFor(t, "the execution to be stored", func() bool {
		out, _, err := cli(t, "logs", "boom", "--json")
		return err == nil && json.Unmarshal([]byte(out), &page) == nil && len(page.Items) == 1
	})
	id := page.Items[0].ID
	out, _, err := cli(t, "logs", "--id", id)
	if err != nil {
		t.Fatalf("logs --id: %v", err)
	}
	for _, want := range []string{
		"execution  " + id, "script     boom (", "status     error", "trigger    http",
		"started    ", "finished   ", "request    POST /fn/boom (7 bytes)", "response   500",
		"[info] about to fail", "error      ", "at 3:1: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs --id lacks %q:\n%s", want, out)
		}
	}
	out, _, err = cli(t, "logs", "--id", id, "--json")
	var l picloud.ExecutionLog
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || l.ID != id || l.Status != picloud.StatusError {
		t.Fatalf("logs --id --json: %q %v", out, err)
	}
	if _, _, err := cli(t, "logs", "--id", "no-such-execution"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("logs --id of a missing execution: %v", err)
	}
	if _, _, err := cli(t, "logs", "boom", "--id", id); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("logs NAME --id: %v", err)
	}
}

// storeRows writes executions into a server's SQLite store beside it (WAL
// takes a second writer), as the sink would.
func storeRows(t *testing.T, dataDir, script string, rows ...*picloud.ExecutionLog) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dataDir, "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sc, err := store.ScriptByName(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		r.ScriptID = sc.ID
	}
	if err := store.InsertExecutions(ctx, rows); err != nil {
		t.Fatal(err)
	}
}

// TestLogsFilters checks that the filter flags reach the logs route and
// select what it should: rows stored with known statuses, triggers, times
// and messages.
func TestLogsFilters(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	file := filepath.Join(t.TempDir(), "greet.rhai")
	os.WriteFile(file, []byte(`"hi"`), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	now := time.Now().UTC()
	row := func(id string, ago time.Duration, trigger picloud.Trigger, status picloud.ExecutionStatus, msg string) *picloud.ExecutionLog {
		return &picloud.ExecutionLog{
			ID: id, ScriptVersion: 1, Trigger: trigger, Status: status,
			StartedAt: picloud.Time{Time: now.Add(-ago)}, DurationMS: 1, Operations: 1,
			Request: &picloud.RequestRecord{Method: "GET", Path: "/fn/greet/" + id},
			Logs:    []picloud.LogLine{{Level: "info", Message: msg, Time: picloud.Time{Time: now.Add(-ago)}}},
		}
	}
	storeRows(t, dataDir, "greet",
		row("old-ok", 2*time.Hour, picloud.TriggerHTTP, picloud.StatusSuccess, "charged the card"),
		row("old-err", 90*time.Minute, picloud.TriggerCron, picloud.StatusError, "refund failed"),
		row("new-ok", 5*time.Minute, picloud.TriggerHTTP, picloud.StatusSuccess, "Charged again"),
		row("new-timeout", time.Minute, picloud.TriggerAsync, picloud.StatusTimeout, "slow"),
	)
	ids := func(args ...string) string {
		t.Helper()
		out, _, err := cli(t, append([]string{"logs", "greet", "--json"}, args...)...)
		var page picloud.ExecutionList
		if err != nil || json.Unmarshal([]byte(out), &page) != nil {
			t.Fatalf("logs %v: %q %v", args, out, err)
		}
		var got []string
		for _, l := range page.Items {
			got = append(got, l.ID)
		}
		return strings.Join(got, " ")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "new-timeout new-ok old-err old-ok"},
		{[]string{"--status", "success"}, "new-ok old-ok"},
		{[]string{"--status", "error,timeout"}, "new-timeout old-err"},
		{[]string{"--trigger", "cron,async"}, "new-timeout old-err"},
		{[]string{"--since", "1h"}, "new-timeout new-ok"},
		{[]string{"--until", "1h"}, "old-err old-ok"},
		{[]string{"--since", now.Add(-100 * time.Minute).Format(time.RFC3339), "--until", "30m"}, "old-err"},
		{[]string{"--grep", "CHARGED"}, "new-ok old-ok"},
		{[]string{"--grep", "charged", "--status", "success", "--since", "1h"}, "new-ok"},
	} {
		if got := ids(c.args...); got != c.want {
			t.Errorf("logs %v: %q, want %q", c.args, got, c.want)
		}
	}
	out, _, err := cli(t, "logs", "greet", "--grep", "nothing like it")
	if err != nil || strings.TrimSpace(out) != "no executions of greet match" {
		t.Errorf("logs with filters matching nothing: %q %v", out, err)
	}
	if _, _, err := cli(t, "logs", "greet", "--status", "fine"); err == nil {
		t.Error("logs --status fine: no error for a status that does not exist")
	}
}

// TestLogsFollowServer follows a script on a real server: an invocation made
// while logs -f runs is printed as the list prints it, with its log line,
// and Ctrl-C (the context) ends the command without an error.
func TestLogsFollowServer(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	file := filepath.Join(t.TempDir(), "greet.rhai")
	os.WriteFile(file, []byte(`log::info("followed " + request.method); "hi"`), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"logs", "greet", "-f"}, nil, &out, &errb) }()
	// The stream may not be open when the first call completes: call until
	// one is printed (a convergence bound, not a timing assertion).
	waitFor(t, "a followed execution", func() bool {
		if _, _, err := cli(t, "invoke", "greet", "-X", "PUT"); err != nil {
			t.Fatalf("invoke: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		return strings.Contains(out.String(), "PUT /fn/greet -> 200")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("logs -f ended with %v after Ctrl-C (stderr %q)", err, errb.String())
	}
	o := out.String()
	if !strings.Contains(o, "success ") || !strings.Contains(o, " http ") || !strings.Contains(o, "    [info] followed PUT") {
		t.Errorf("a followed execution is not printed as logs prints it:\n%s", o)
	}
	if !strings.Contains(errb.String(), "following greet") {
		t.Errorf("stderr: %q", errb.String())
	}
}

// TestLogsFollowEveryScript follows every script (logs -f without NAME):
// each script's executions are printed, each line starting with the name of
// its script, a script created after the follow began included.
func TestLogsFollowEveryScript(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	dir := t.TempDir()
	deploy := func(name string) {
		t.Helper()
		file := filepath.Join(dir, name+".rhai")
		os.WriteFile(file, []byte(`"hi"`), 0o644)
		if out, _, err := cli(t, "deploy", file); err != nil {
			t.Fatalf("deploy: %q %v", out, err)
		}
	}
	deploy("alpha")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"logs", "-f"}, nil, &out, &errb) }()
	waitFor(t, "alpha's execution", func() bool {
		if _, _, err := cli(t, "invoke", "alpha"); err != nil {
			t.Fatalf("invoke: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
		return strings.Contains(out.String(), "GET /fn/alpha -> 200")
	})
	deploy("beta") // after the follow read the script list
	if _, _, err := cli(t, "invoke", "beta", "-X", "DELETE"); err != nil {
		t.Fatalf("invoke: %v", err)
	}
	waitFor(t, "beta's execution", func() bool { return strings.Contains(out.String(), "DELETE /fn/beta -> 200") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("logs -f ended with %v after Ctrl-C", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.Contains(line, "/fn/alpha") && !strings.HasPrefix(line, "alpha  ") ||
			strings.Contains(line, "/fn/beta") && !strings.HasPrefix(line, "beta  ") {
			t.Errorf("a line does not start with its script's name: %q", line)
		}
	}
	if !strings.Contains(errb.String(), "following every script") {
		t.Errorf("stderr: %q", errb.String())
	}
}
