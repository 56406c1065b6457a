package main

import (
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/sqlite"
)

// The trigger flags default to what the job queue and the executor apply to
// a zero configuration, and check refuses values they would misread.
func TestServeJobsFlags(t *testing.T) {
	parseServe := func(args ...string) *serveOptions {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var o serveOptions
		o.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &o
	}
	dir := t.TempDir()
	o := parseServe("--data-dir", dir)
	if err := o.check(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	served, err := app.New(o.appConfig(), store)
	if err != nil {
		t.Fatal(err)
	}
	zero, err := app.New(app.Config{}, store)
	if err != nil {
		t.Fatal(err)
	}
	got, want := served.Config().Jobs, zero.Config().Jobs
	if got.PollInterval != want.PollInterval || got.MaxQueuedPerScript != want.MaxQueuedPerScript ||
		got.MaxQueued != want.MaxQueued || got.MissedFirings != want.MissedFirings {
		t.Errorf("jobs:\n serve %+v\n   app %+v", got, want)
	}
	if g, w := served.Config().Executor, zero.Config().Executor; g.MaxEmits != w.MaxEmits || g.MaxEventDepth != w.MaxEventDepth {
		t.Errorf("events: serve %d %d, app %d %d", g.MaxEmits, g.MaxEventDepth, w.MaxEmits, w.MaxEventDepth)
	}

	for _, tc := range []struct{ flag, value, want string }{
		{"--jobs-poll-interval", "0s", "--jobs-poll-interval"},
		{"--max-queued-per-script", "0", "--max-queued-per-script"},
		{"--max-queued", "-1", "--max-queued"},
		{"--missed-firings", "later", "run-once or skip"},
		{"--max-emits", "0", "--max-emits"},
		{"--max-event-depth", "0", "--max-event-depth"},
	} {
		err := parseServe("--data-dir", dir, tc.flag, tc.value).check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v", tc.flag, tc.value, err)
		}
	}
	if err := parseServe("--missed-firings", "skip", "--max-queued", "5").check(); err != nil {
		t.Errorf("valid flags refused: %v", err)
	}
}
