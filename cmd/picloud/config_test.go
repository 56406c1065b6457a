package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// TestTokenRotateNeedsADatabase: offline rotation (--offline, or a
// database named by flag or environment) finds the database as serve does,
// says so when it used the default, and refuses (creating nothing) where
// there is none.
func TestTokenRotateNeedsADatabase(t *testing.T) {
	t.Setenv("PICLOUD_DATA_DIR", "")
	t.Setenv("PICLOUD_DATABASE_URL", "")
	// Serve's default, ./picloud-data, in a directory without one.
	work := t.TempDir()
	t.Chdir(work)
	_, errOut, err := cli(t, "token", "rotate", "--offline")
	if err == nil || !strings.Contains(errOut, "using serve's default data directory ./picloud-data") ||
		!strings.Contains(err.Error(), "the data directory ./picloud-data does not exist") || !strings.Contains(err.Error(), "nothing was created") {
		t.Fatalf("default, missing: %v %q", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(work, "picloud-data")); !os.IsNotExist(err) {
		t.Fatalf("the default data directory was created: %v", err)
	}
	// A named directory without a database.
	empty := t.TempDir()
	_, errOut, err = cli(t, "token", "rotate", "--data-dir", empty)
	if err == nil || strings.Contains(errOut, "default") || !strings.Contains(err.Error(), "holds no database (picloud.db)") {
		t.Fatalf("empty directory: %v %q", err, errOut)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("files were created in %s: %v", empty, entries)
	}
	// The environment names it as the flag does.
	t.Setenv("PICLOUD_DATA_DIR", filepath.Join(empty, "nope"))
	if _, errOut, err = cli(t, "token", "rotate"); err == nil || strings.Contains(errOut, "default") || !strings.Contains(err.Error(), "nope does not exist") {
		t.Fatalf("PICLOUD_DATA_DIR: %v %q", err, errOut)
	}
	t.Setenv("PICLOUD_DATA_DIR", "")

	// The default directory once serve made it: rotated, and said which.
	serveOnce(t, "--data-dir", "picloud-data")
	out, errOut, err := cli(t, "token", "rotate", "--offline")
	if err != nil || !strings.HasPrefix(out, "pct_") || !strings.Contains(errOut, "using serve's default data directory ./picloud-data") ||
		!strings.Contains(errOut, "The admin token of picloud-data/picloud.db was replaced") {
		t.Fatalf("default, existing: %v %q %q", err, out, errOut)
	}

	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set: PostgreSQL part skipped")
	}
	u := pgtest.URL(t, dbURL) // an empty schema
	if _, _, err := cli(t, "token", "rotate", "--database-url", u); err == nil || !strings.Contains(err.Error(), "has no PiCloud tables") {
		t.Fatalf("empty PostgreSQL schema: %v", err)
	}
	s, err := postgres.Open(context.Background(), u) // what a server's first start does
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out, _, err := cli(t, "token", "rotate", "--database-url", u); err != nil || !strings.HasPrefix(out, "pct_") {
		t.Fatalf("PostgreSQL: %v %q", err, out)
	}
}

// TestServeSaysWhichDataDir: serve logs the data directory it uses and
// whether it just created it.
func TestServeSaysWhichDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	logs := func() string { return serveOnce(t, "--data-dir", dir) }
	if l := logs(); !strings.Contains(l, `msg="created a new data directory with an empty database" data_dir=`+dir) {
		t.Fatalf("first start:\n%s", l)
	}
	if l := logs(); !strings.Contains(l, `msg="using the data directory" data_dir=`+dir+" created=false") {
		t.Fatalf("second start:\n%s", l)
	}
}

// serveOnce runs serve on a free port until it listens, stops it, and
// returns what it logged.
func serveOnce(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), nil, &syncBuffer{}, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errOut.String(), "picloud listening") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return errOut.String()
}

// TestServerIdentity: a server URL with a path, or a server whose
// /api/health is not PiCloud's, is refused with a clear error instead of
// empty results; the check costs one request per command.
func TestServerIdentity(t *testing.T) {
	var healthHits, apiHits atomic.Int32
	var picloudLike atomic.Bool
	picloudLike.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/health":
			healthHits.Add(1)
			if picloudLike.Load() {
				w.WriteHeader(http.StatusServiceUnavailable) // a degraded PiCloud is PiCloud
				fmt.Fprint(w, `{"service":"picloud","status":"down","components":{}}`)
			} else {
				fmt.Fprint(w, `{"status":"ok"}`) // some other service's health
			}
		case r.Method == "GET" && r.URL.Path == "/api/scripts":
			apiHits.Add(1)
			fmt.Fprint(w, `{"items":[]}`) // what "silently empty" looks like
		case r.Method == "POST" && r.URL.Path == "/api/scripts":
			apiHits.Add(1)
			fmt.Fprint(w, `{"id":"i","name":"hello","version":1}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	t.Setenv("PICLOUD_URL", "")
	file := writeFile(t, t.TempDir(), "hello.rhai", `"hi"`)

	// deploy: a lookup and a create, one health check.
	if out, _, err := cli(t, "deploy", file, "--server", srv.URL); err != nil || !strings.Contains(out, "created hello") {
		t.Fatalf("deploy: %v %q", err, out)
	}
	if healthHits.Load() != 1 || apiHits.Load() != 2 {
		t.Fatalf("health checked %d times for %d API requests, want 1 for 2", healthHits.Load(), apiHits.Load())
	}

	picloudLike.Store(false)
	for _, args := range [][]string{{"ls"}, {"logs", "hello"}, {"kv", "ls", "hello"}, {"invoke", "hello"}} {
		_, _, err := cli(t, append(args, "--server", srv.URL)...)
		if err == nil || !strings.HasPrefix(err.Error(), srv.URL+" is not a PiCloud server: its /api/health answered HTTP 200") {
			t.Errorf("%q against another server: %v", args, err)
		}
	}
	if apiHits.Load() != 2 {
		t.Errorf("API requests went to a server that is not PiCloud: %d", apiHits.Load())
	}

	// A path: refused before any request, whichever way it is given.
	healthHits.Store(0)
	t.Setenv("PICLOUD_URL", srv.URL+"/picloud")
	_, _, err := cli(t, "ls")
	if err == nil || !strings.Contains(err.Error(), `has a path or query (/picloud): it is the server's base URL`) {
		t.Errorf("PICLOUD_URL with a path: %v", err)
	}
	if _, _, err := cli(t, "ls", "--server", "localhost:8000"); err == nil || !strings.Contains(err.Error(), "want http:// or https://") {
		t.Errorf("no scheme: %v", err)
	}
	if healthHits.Load() != 0 {
		t.Errorf("a refused URL was requested")
	}
	// A trailing slash is the base URL still.
	picloudLike.Store(true)
	if _, _, err := cli(t, "ls", "--server", srv.URL+"/"); err != nil {
		t.Errorf("trailing slash: %v", err)
	}
}
