package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// TestTokenRotateNeedsADatabase: offline rotation finds the database as
// serve does, says so when it used the default, and refuses (creating
// nothing) where there is none.
func TestTokenRotateNeedsADatabase(t *testing.T) {
	t.Setenv("PICLOUD_DATA_DIR", "")
	t.Setenv("PICLOUD_DATABASE_URL", "")
	// Serve's default, ./picloud-data, in a directory without one.
	work := t.TempDir()
	t.Chdir(work)
	_, errOut, err := cli(t, "token", "rotate")
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
	out, errOut, err := cli(t, "token", "rotate")
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
