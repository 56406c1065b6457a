package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// eventually polls check until it returns "" or the deadline passes, and
// fails with check's last complaint.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var queuedJob = regexp.MustCompile(`queued job (\S+)`)

// jobState is a job's state as jobs show --json reports it.
func jobState(t *testing.T, id string) (*picloud.Job, string) {
	t.Helper()
	out, _, err := cli(t, "jobs", "show", id, "--json")
	if err != nil {
		return nil, err.Error()
	}
	var j picloud.Job
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		return nil, err.Error()
	}
	return &j, string(j.State)
}

// TestTriggerCommandsAgainstServer runs the trigger commands against a
// real server: deploy's trigger settings, schedules (a per-second one fires),
// async invocations with an idempotency key, jobs, dead letters and their
// requeue and discard, events, and logs showing each run's trigger and job.
func TestTriggerCommandsAgainstServer(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir(), "--jobs-poll-interval", "100ms")
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	dir := t.TempDir()

	// Deploy: the settings file's keys, then the flags over them.
	tick := writeFile(t, dir, "tick.rhai", `log::info("run", #{trigger: request.trigger}); #{trigger: request.trigger, body: request.body}`)
	writeFile(t, dir, "tick.toml", "max_attempts = 2\nsubscriptions = [\"order.created\"]\nenabled = true\n")
	if out, _, err := cli(t, "deploy", tick); err != nil || !strings.Contains(out, "created tick") {
		t.Fatalf("deploy: %q %v", out, err)
	}
	script := func(name string) picloud.ScriptSummary {
		t.Helper()
		out, _, err := cli(t, "ls", "--json")
		var list picloud.ScriptList
		if err != nil || json.Unmarshal([]byte(out), &list) != nil {
			t.Fatalf("ls --json: %q %v", out, err)
		}
		for _, s := range list.Items {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no %s in %s", name, out)
		return picloud.ScriptSummary{}
	}
	if s := script("tick"); s.MaxAttempts != 2 || s.Disabled || strings.Join(s.Subscriptions, ",") != "order.created" {
		t.Fatalf("settings from the file: %+v", s.Script)
	}
	if out, _, err := cli(t, "deploy", tick, "--max-attempts", "3", "--subscriptions", "order.created, order.paid"); err != nil ||
		!strings.Contains(out, "updated tick (version 1)") {
		t.Fatalf("deploy with flags: %q %v", out, err)
	}
	if s := script("tick"); s.MaxAttempts != 3 || strings.Join(s.Subscriptions, ",") != "order.created,order.paid" {
		t.Fatalf("settings from the flags: %+v", s.Script)
	}
	if out, _, err := cli(t, "deploy", tick, "--max-attempts", "3", "--subscriptions", "order.created, order.paid"); err != nil ||
		!strings.Contains(out, "unchanged tick (version 1)") {
		t.Fatalf("deploy again: %q %v", out, err)
	}

	// Schedules: a bad expression is refused with a caret under its field.
	_, _, err := cli(t, "schedule", "add", "tick", "0 61 * * *")
	if err == nil || !strings.Contains(err.Error(), "invalid_request") || !strings.HasSuffix(err.Error(), "\n  0 61 * * *\n    ^^") {
		t.Fatalf("a bad cron: %v", err)
	}
	out, _, err := cli(t, "schedule", "add", "tick", "0 9 * * MON-FRI", "--timezone", "Europe/Paris", "--body", `{"n": 1}`)
	if err != nil || !strings.Contains(out, `for tick: "0 9 * * MON-FRI" Europe/Paris, enabled`) || strings.Count(out, "\n  2") != 5 {
		t.Fatalf("schedule add: %q %v", out, err)
	}
	daily := regexp.MustCompile(`created schedule (\S+)`).FindStringSubmatch(out)[1]
	out, _, err = cli(t, "schedule", "add", "tick", "* * * * * *", "--body", `{"n": 2}`, "--json")
	var every picloud.Schedule
	if err != nil || json.Unmarshal([]byte(out), &every) != nil || every.ID == "" || len(every.NextRuns) != 5 {
		t.Fatalf("schedule add --json: %q %v", out, err)
	}
	out, _, err = cli(t, "schedule", "ls")
	if err != nil || !strings.Contains(out, daily) || !strings.Contains(out, every.ID) || strings.Count(out, " tick ") != 2 {
		t.Fatalf("schedule ls: %q %v", out, err)
	}
	// The per-second schedule fires by itself.
	eventually(t, "a per-second firing", func() string {
		out, _, err := cli(t, "schedule", "show", every.ID, "--json")
		var show scheduleShowOutput
		if err != nil || json.Unmarshal([]byte(out), &show) != nil {
			return out + " " + errString(err)
		}
		for _, l := range show.LastRuns {
			if l.Trigger == picloud.TriggerCron && l.Status == picloud.StatusSuccess && l.ScheduleID == every.ID && l.JobID != "" {
				return ""
			}
		}
		return out
	})
	if out, _, err := cli(t, "schedule", "pause", every.ID); err != nil || !strings.Contains(out, "paused schedule "+every.ID) ||
		!strings.Contains(out, "next runs: none (paused)") {
		t.Fatalf("pause: %q %v", out, err)
	}
	if out, _, err := cli(t, "schedule", "ls", "tick"); err != nil || !regexp.MustCompile(every.ID+`\s+tick\s+\* \* \* \* \* \*\s+UTC\s+no`).MatchString(out) {
		t.Fatalf("schedule ls after pause: %q %v", out, err)
	}
	if out, _, err := cli(t, "schedule", "resume", daily); err != nil || !strings.Contains(out, "resumed schedule "+daily) {
		t.Fatalf("resume: %q %v", out, err)
	}
	// run fires the (daily) schedule now: its job runs with the body.
	out, _, err = cli(t, "schedule", "run", daily)
	m := queuedJob.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("schedule run: %q %v", out, err)
	}
	cronJob := m[1]
	eventually(t, "the fired schedule's job", func() string {
		_, state := jobState(t, cronJob)
		return strings.TrimPrefix(state, string(picloud.JobSucceeded))
	})
	out, _, err = cli(t, "jobs", "show", cronJob)
	if err != nil || !strings.Contains(out, "trigger   cron") || !strings.Contains(out, "schedule  "+daily) ||
		!regexp.MustCompile(`\n  1  \S+\s+success`).MatchString(out) {
		t.Fatalf("jobs show (cron): %q %v", out, err)
	}
	out, _, err = cli(t, "schedule", "show", daily)
	if err != nil || !strings.Contains(out, "timezone        Europe/Paris") || !strings.Contains(out, `body            {"n": 1}`) ||
		!regexp.MustCompile(`success\s+\S+ms\s+`+cronJob+`\s+1\s`).MatchString(out) {
		t.Fatalf("schedule show: %q %v", out, err)
	}

	// Async invocations: the same idempotency key gives the same job.
	out, _, err = cli(t, "invoke", "tick", "--async", "-d", `{"a": 1}`, "--idempotency-key", "k-1")
	if m = queuedJob.FindStringSubmatch(out); err != nil || m == nil || !strings.Contains(out, url+"/api/jobs/"+m[1]) {
		t.Fatalf("invoke --async: %q %v", out, err)
	}
	asyncJob := m[1]
	out, _, err = cli(t, "invoke", "tick", "--async", "-d", `{"a": 2}`, "--idempotency-key", "k-1", "--json")
	var acc asyncOutput
	if err != nil || json.Unmarshal([]byte(out), &acc) != nil || acc.JobID != asyncJob || !acc.Existing || acc.Location != url+"/api/jobs/"+asyncJob {
		t.Fatalf("invoke --async again: %q %v", out, err)
	}
	eventually(t, "the async job", func() string {
		j, state := jobState(t, asyncJob)
		if j != nil && j.State == picloud.JobSucceeded && (len(j.Attempts) != 1 || j.Attempts[0].ExecutionID == "") {
			return "attempts: " + out
		}
		return strings.TrimPrefix(state, string(picloud.JobSucceeded))
	})

	// A test run: the response on stdout, the outcome and logs on stderr.
	out, errOut, err := cli(t, "invoke", "tick", "--test", "-d", `{"z": 1}`, "--path", "/sub?q=1")
	if err != nil || strings.TrimSpace(out) != `{"body":{"z":1},"trigger":"test"}` ||
		!regexp.MustCompile(`^test run \S+: success in \S+ms, \d+ ops -> 200\n    \[info\] run \{"trigger":"test"\}\n$`).MatchString(errOut) {
		t.Fatalf("invoke --test: %q %q %v", out, errOut, err)
	}
	if _, _, err := cli(t, "invoke", "tick", "--test", "--async"); err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Fatalf("--test --async: %v", err)
	}

	// Events: tick subscribes to order.created.
	emitter := writeFile(t, dir, "shop.rhai", `events::emit("order.created", #{id: 7}); "ok"`)
	if out, _, err := cli(t, "deploy", emitter); err != nil {
		t.Fatalf("deploy shop: %q %v", out, err)
	}
	if out, _, err := cli(t, "invoke", "shop"); err != nil || strings.TrimSpace(out) != "ok" {
		t.Fatalf("invoke shop: %q %v", out, err)
	}
	eventually(t, "the logs of every trigger", func() string {
		out, _, err := cli(t, "logs", "tick", "--limit", "100")
		if err != nil {
			return err.Error()
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`success\s+v1\s+async .*job ` + asyncJob + ` attempt 1`),
			regexp.MustCompile(`success\s+v1\s+cron .*job ` + cronJob + ` attempt 1  schedule ` + daily),
			regexp.MustCompile(`success\s+v1\s+event .*job \S+ attempt 1`),
			regexp.MustCompile(`success\s+v1\s+test .* POST /fn/tick/sub -> 200\n`),
		} {
			if !want.MatchString(out) {
				return "no " + want.String() + " in " + out
			}
		}
		return ""
	})

	// Dead letters: a failing script with one attempt dies at once; a
	// requeue gives it another, and discard deletes it.
	fail := writeFile(t, dir, "fail.rhai", `throw "nope"`)
	if out, _, err := cli(t, "deploy", fail, "--max-attempts", "1"); err != nil {
		t.Fatalf("deploy fail: %q %v", out, err)
	}
	out, _, err = cli(t, "invoke", "fail", "--async")
	if m = queuedJob.FindStringSubmatch(out); err != nil || m == nil {
		t.Fatalf("invoke fail --async: %q %v", out, err)
	}
	dead := m[1]
	eventually(t, "a dead letter", func() string {
		_, state := jobState(t, dead)
		return strings.TrimPrefix(state, string(picloud.JobDead))
	})
	if out, _, err := cli(t, "dead-letters", "ls"); err != nil || !regexp.MustCompile(dead+`\s+fail\s+async\s+1/1\s+\S+\s+.*nope`).MatchString(out) {
		t.Fatalf("dead-letters ls: %q %v", out, err)
	}
	if out, _, err := cli(t, "dead-letters", "ls", "tick"); err != nil || out != "no dead letters\n" {
		t.Fatalf("dead-letters ls tick: %q %v", out, err)
	}
	if out, _, err := cli(t, "dead-letters", "show", dead); err != nil || !strings.Contains(out, "state     dead") ||
		!strings.Contains(out, "request   GET /fn/fail") || !strings.Contains(out, "nope") {
		t.Fatalf("dead-letters show: %q %v", out, err)
	}
	if _, _, err := cli(t, "dead-letters", "show", asyncJob); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("dead-letters show of a live job: %v", err)
	}
	if out, _, err := cli(t, "dead-letters", "requeue", dead); err != nil || !strings.Contains(out, "requeued job "+dead+" (fail)") {
		t.Fatalf("requeue: %q %v", out, err)
	}
	eventually(t, "the requeued job's second attempt", func() string {
		j, state := jobState(t, dead)
		if j != nil && j.State == picloud.JobDead && j.Attempt == 2 {
			return ""
		}
		return state
	})
	if out, _, err := cli(t, "dead-letters", "discard", dead); err != nil || out != "discarded job "+dead+"\n" {
		t.Fatalf("discard: %q %v", out, err)
	}
	if out, _, err := cli(t, "dead-letters", "ls", "--json"); err != nil || strings.Contains(out, `"id": "`+dead+`"`) || strings.Contains(out, `"id":"`+dead+`"`) {
		t.Fatalf("dead-letters ls after discard: %q %v", out, err)
	}

	// A disabled script refuses invocations, async ones too.
	if out, _, err := cli(t, "deploy", fail, "--disabled"); err != nil || !strings.Contains(out, "updated fail (version 1)\n") ||
		!strings.Contains(out, "  disabled: it answers 503") {
		t.Fatalf("deploy --disabled: %q %v", out, err)
	}
	if s := script("fail"); !s.Disabled {
		t.Fatalf("--disabled: %+v", s.Script)
	}
	if out, _, err := cli(t, "ls"); err != nil || !regexp.MustCompile(`\nfail\s+1\s+no\s`).MatchString(out) || !regexp.MustCompile(`\ntick\s+1\s+yes\s`).MatchString(out) {
		t.Fatalf("ls: %q %v", out, err)
	}
	if _, _, err := cli(t, "invoke", "fail", "--async"); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("invoke --async of a disabled script: %v", err)
	}

	if out, _, err := cli(t, "schedule", "rm", every.ID); err != nil || out != "deleted schedule "+every.ID+"\n" {
		t.Fatalf("schedule rm: %q %v", out, err)
	}
	if _, _, err := cli(t, "schedule", "show", every.ID); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("show after rm: %v", err)
	}
	if out, _, err := cli(t, "schedule", "preview", "@every 90s"); err != nil || strings.Count(out, "\n  2") != 5 {
		t.Fatalf("preview: %q %v", out, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
