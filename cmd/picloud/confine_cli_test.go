package main

import (
	"strings"
	"testing"
)

// TestConfinedScriptsCLI: a deploy by a token restricted to some scripts
// says the script is confined, ls shows the pattern, the restricted token
// cannot clear it and a token for every script can (--confined-to ”).
func TestConfinedScriptsCLI(t *testing.T) {
	url, admin, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", admin)
	dir := t.TempDir()
	hello := writeFile(t, dir, "hello.rhai", `"hello"`)
	if _, _, err := cli(t, "deploy", hello); err != nil {
		t.Fatal(err)
	}
	if out, _, err := cli(t, "ls"); err != nil || strings.Contains(out, "CONFINED") {
		t.Fatalf("ls without confined scripts: %v %q", err, out)
	}
	out, _, err := cli(t, "token", "create", "orders-ci", "--scope", "deploy", "--scripts", "orders-*")
	if err != nil {
		t.Fatal(err)
	}
	ci := strings.TrimSpace(out)
	src := writeFile(t, dir, "orders-api.rhai", `"orders"`)
	out, _, err = cli(t, "deploy", src, "--token", ci)
	if err != nil || !strings.Contains(out, "confined to orders-*: it reads only its own secrets") {
		t.Fatalf("restricted deploy: %v %q", err, out)
	}
	out, _, err = cli(t, "ls")
	if err != nil || !strings.Contains(out, "CONFINED") {
		t.Fatalf("ls: %v %q", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && (f[0] == "orders-api" && f[len(f)-1] != "orders-*" || f[0] == "hello" && f[len(f)-1] != "-") {
			t.Errorf("ls line %q", line)
		}
	}
	if _, _, err := cli(t, "deploy", src, "--token", ci, "--confined-to", ""); err == nil || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Fatalf("restricted token clears: %v", err)
	}
	out, _, err = cli(t, "deploy", src, "--confined-to", "")
	if err != nil || !strings.Contains(out, `settings changed: confined_to "orders-*" -> ""`) || strings.Contains(out, "confined to orders-*") {
		t.Fatalf("admin clears: %v %q", err, out)
	}
	if out, _, err := cli(t, "ls"); err != nil || strings.Contains(out, "CONFINED") {
		t.Fatalf("ls after clearing: %v %q", err, out)
	}
}
