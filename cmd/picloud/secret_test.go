package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func cliIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), err
}

// TestSecretCLI: picloud secret set (value from stdin) / ls / rm, for a
// script and --global; the key file is created 0600 and a restart keeps it,
// so secrets set before still open.
func TestSecretCLI(t *testing.T) {
	t.Setenv("PICLOUD_SECRET_KEY", "")
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	st, err := os.Stat(filepath.Join(dataDir, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	file := filepath.Join(t.TempDir(), "greet.rhai")
	os.WriteFile(file, []byte(`secret("GREETING") + " " + secret("WHO")`), 0o644)
	if _, _, err := cli(t, "deploy", file); err != nil {
		t.Fatal(err)
	}
	const value = "hello-from-a-secret"
	if out, err := cliIn(t, value+"\n", "secret", "set", "greet", "GREETING"); err != nil || !strings.Contains(out, "set GREETING") {
		t.Fatalf("set: %q %v", out, err)
	}
	if out, err := cliIn(t, "world", "secret", "set", "--global", "WHO"); err != nil {
		t.Fatalf("set --global: %q %v", out, err)
	}
	out, _, err := cli(t, "invoke", "greet")
	if err != nil || strings.TrimSpace(out) != value+" world" {
		t.Fatalf("invoke: %q %v", out, err)
	}
	out, _, err = cli(t, "secret", "ls", "greet")
	if err != nil || !strings.Contains(out, "GREETING") || strings.Contains(out, value) {
		t.Fatalf("ls: %q %v", out, err)
	}
	if out, _, err = cli(t, "secret", "ls", "--global", "--json"); err != nil || !strings.Contains(out, `"WHO"`) || strings.Contains(out, "world") {
		t.Fatalf("ls --global: %q %v", out, err)
	}
	if _, err := cliIn(t, "x", "secret", "set", "greet", "bad-name"); err == nil {
		t.Fatal("a bad name was accepted")
	}

	// A restart reads the same key file: the stored secret still opens.
	stop()
	url, _, stop = startServer(t, dataDir)
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	if out, _, err := cli(t, "invoke", "greet"); err != nil || strings.TrimSpace(out) != value+" world" {
		t.Fatalf("invoke after restart: %q %v", out, err)
	}
	if out, _, err := cli(t, "secret", "rm", "greet", "GREETING"); err != nil || !strings.Contains(out, "deleted GREETING") {
		t.Fatalf("rm: %q %v", out, err)
	}
	if _, _, err := cli(t, "invoke", "greet"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("invoke after rm: %v", err)
	}
}

func TestServeRefusesABadSecretKey(t *testing.T) {
	t.Setenv("PICLOUD_SECRET_KEY", "not-a-key")
	_, _, err := cli(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "PICLOUD_SECRET_KEY") {
		t.Fatalf("serve with a bad key: %v", err)
	}
}
