package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// TestExportImportCLI moves a server's store with the commands: a SQLite
// server with a script, a secret, kv data and an execution log is stopped,
// exported, imported into PostgreSQL (SQLite when PICLOUD_TEST_DATABASE_URL
// is not set) and served again: the old admin token still works, the secret
// opens with the copied key, the kv data and the log are there. A second
// import into the same store is refused.
func TestExportImportCLI(t *testing.T) {
	t.Setenv("PICLOUD_SECRET_KEY", "")
	srcDir := t.TempDir()
	url, token, stop := startServer(t, srcDir)
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	file := filepath.Join(t.TempDir(), "greet.rhai")
	os.WriteFile(file, []byte(`secret("GREETING") + " " + kv::get("who")`), 0o644)
	if _, _, err := cli(t, "deploy", file); err != nil {
		t.Fatal(err)
	}
	if _, err := cliIn(t, "hello", "secret", "set", "greet", "GREETING"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, "kv", "set", "greet", "who", `"world"`); err != nil {
		t.Fatal(err)
	}
	if out, _, err := cli(t, "invoke", "greet"); err != nil || strings.TrimSpace(out) != "hello world" {
		t.Fatalf("invoke: %q %v", out, err)
	}
	stop()

	archive := filepath.Join(t.TempDir(), "picloud.export")
	out, _, err := cli(t, "export", "--data-dir", srcDir, "-o", archive, "--with-executions")
	if err != nil || !strings.Contains(out, "1 scripts (1 versions)") || !strings.Contains(out, "1 secrets, 1 kv keys, 1 execution logs") {
		t.Fatalf("export: %q %v", out, err)
	}
	if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", st, err)
	}
	if _, _, err := cli(t, "export", "--data-dir", filepath.Join(t.TempDir(), "none"), "-o", archive+"2"); err == nil ||
		!strings.Contains(err.Error(), "no database") {
		t.Fatalf("export of a missing database: %v", err)
	}

	dstDir := t.TempDir()
	target := []string{"--data-dir", dstDir}
	if dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL"); dbURL != "" {
		target = append(target, "--database-url", pgtest.URL(t, dbURL))
	} else {
		t.Log("PICLOUD_TEST_DATABASE_URL is not set: importing into SQLite, PostgreSQL skipped")
	}
	out, errOut, err := cli(t, append([]string{"import", archive}, target...)...)
	if err != nil || !strings.Contains(out, "imported 1 scripts") {
		t.Fatalf("import: %q %v", out, err)
	}
	if !strings.Contains(errOut, "WARNING: the imported secrets were sealed with key") {
		t.Fatalf("no warning about the missing key: %q", errOut)
	}
	_, _, err = cli(t, append([]string{"import", archive}, target...)...)
	if err == nil || !strings.Contains(err.Error(), "is not empty") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("second import: %v", err)
	}

	// With another key the warning names the mismatch; with the source's,
	// import is silent about keys and the secret opens.
	key, err := os.ReadFile(filepath.Join(srcDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PICLOUD_SECRET_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	other := []string{"import", archive, "--data-dir", t.TempDir()}
	if _, errOut, err := cli(t, other...); err != nil || !strings.Contains(errOut, "but PICLOUD_SECRET_KEY is key") {
		t.Fatalf("import with another key: %q %v", errOut, err)
	}
	t.Setenv("PICLOUD_SECRET_KEY", strings.TrimSpace(string(key)))
	if _, errOut, err := cli(t, "import", archive, "--data-dir", t.TempDir()); err != nil || strings.Contains(errOut, "WARNING") {
		t.Fatalf("import with the source's key: %q %v", errOut, err)
	}
	t.Setenv("PICLOUD_SECRET_KEY", "")
	if err := os.WriteFile(filepath.Join(dstDir, "secret.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}

	url, newToken, stop := startServer(t, dstDir, target[2:]...)
	defer stop()
	if newToken != "" {
		t.Fatalf("the imported store made a new token: %s", newToken)
	}
	t.Setenv("PICLOUD_URL", url)
	if out, _, err := cli(t, "invoke", "greet"); err != nil || strings.TrimSpace(out) != "hello world" {
		t.Fatalf("invoke after the move: %q %v", out, err)
	}
	if out, _, err := cli(t, "logs", "greet", "--json"); err != nil || strings.Count(out, `"trigger"`) != 2 {
		t.Fatalf("logs after the move (want the old execution and the new one): %q %v", out, err)
	}
}
