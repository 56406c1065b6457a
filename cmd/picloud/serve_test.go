package main

import (
	"cmp"
	"context"
	"flag"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/journal"
	"github.com/picloud/picloud/internal/sqlite"
)

// `picloud serve` with no flags runs the server app.New(app.Config{}) builds
// (what the integration tests run): every flag defaults to the constant its
// package applies to a zero setting.
func TestServeDefaultsMatchApp(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o serveOptions
	o.register(fs)
	dir := t.TempDir()
	if err := fs.Parse([]string{"--data-dir", dir}); err != nil { // the journal goes there
		t.Fatal(err)
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
	got, want := served.Config(), zero.Config()
	if !reflect.DeepEqual(got.Orchestrator, want.Orchestrator) {
		t.Errorf("orchestrator:\n serve %+v\n   app %+v", got.Orchestrator, want.Orchestrator)
	}
	if !reflect.DeepEqual(got.Executor, want.Executor) {
		t.Errorf("executor:\n serve %+v\n   app %+v", got.Executor, want.Executor)
	}
	if got.RetentionMaxAge != want.RetentionMaxAge || got.RetentionMaxRows != want.RetentionMaxRows ||
		got.RetentionInterval != want.RetentionInterval || got.PublicMetrics != want.PublicMetrics {
		t.Errorf("retention and metrics:\n serve %v %v %v %v\n   app %v %v %v %v",
			got.RetentionMaxAge, got.RetentionMaxRows, got.RetentionInterval, got.PublicMetrics,
			want.RetentionMaxAge, want.RetentionMaxRows, want.RetentionInterval, want.PublicMetrics)
	}
	// The sink's configuration is kept as given (the sink applies its own
	// defaults): its flags must set what a zero field means. Only the
	// journal's directory differs: serve keeps it in the data directory, a
	// zero configuration in memory.
	gs, ws := got.Sink, want.Sink
	if gs.Dir == "" {
		t.Error("serve keeps no journal on disk")
	}
	if cmp.Or(ws.Sync, journal.SyncInterval) != gs.Sync || cmp.Or(ws.MaxJournalBytes, audit.DefaultMaxJournalBytes) != gs.MaxJournalBytes {
		t.Errorf("sink: serve %q %d, app %q %d", gs.Sync, gs.MaxJournalBytes, ws.Sync, ws.MaxJournalBytes)
	}
	gs.Dir, gs.Sync, gs.MaxJournalBytes = "", "", 0
	ws.Sync, ws.MaxJournalBytes = "", 0
	gs.OnWritten, gs.OnRetry, gs.OnLost, gs.OnJournalError, gs.OnSync = nil, nil, nil, nil, nil
	ws.OnWritten, ws.OnRetry, ws.OnLost, ws.OnJournalError, ws.OnSync = nil, nil, nil, nil, nil
	if !reflect.DeepEqual(gs, ws) {
		t.Errorf("sink:\n serve %+v\n   app %+v", gs, ws)
	}

	// Flags whose 0 means "off" map to the configuration's "off".
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o = serveOptions{}
	o.register(fs)
	if err := fs.Parse([]string{"--data-dir", dir, "--gate-wait", "0", "--retention-max-age", "0", "--retention-max-rows", "0", "--memory-limit", "none"}); err != nil {
		t.Fatal(err)
	}
	c := o.appConfig()
	if c.Orchestrator.GateWait >= 0 || c.RetentionMaxAge >= 0 || c.RetentionMaxRows >= 0 || c.Orchestrator.MemoryLimit >= 0 {
		t.Errorf("off flags: gate wait %v, retention %v %v, memory limit %v",
			c.Orchestrator.GateWait, c.RetentionMaxAge, c.RetentionMaxRows, c.Orchestrator.MemoryLimit)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1024": 1024, "512MiB": 512 << 20, "2GiB": 2 << 30, "1.5G": 3 << 29, "3GB": 3e9, "64k": 64 << 10,
		"none": -1, "OFF": -1, " 4 GiB ": 4 << 30,
	} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1XB", "99999999999GiB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, b)
		}
	}
	for in, want := range map[int64]string{2 << 30: "2GiB", 512 << 20: "512MiB", 1000: "1000", -1: "none", 3 << 29: "1.5GiB"} {
		if got := byteSize(in).String(); got != want {
			t.Errorf("String(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	for in, ok := range map[string]bool{
		"": true, "https://fn.example.com": true, "http://localhost:8001/": true,
		"fn.example.com": false, "https://fn.example.com/path": false, "ftp://x": false, "https://x?a=1": false,
	} {
		if err := checkOrigin(in); (err == nil) != ok {
			t.Errorf("checkOrigin(%q) = %v", in, err)
		}
	}
}
