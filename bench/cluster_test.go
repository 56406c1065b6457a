package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The generated loopback configuration is one Caddy accepts (Debian's 2.6).
func TestClusterCaddyfileValidates(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed: cannot validate the generated Caddyfile")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "Caddyfile")
	src := clusterCaddyfile("127.0.0.1:9001", "127.0.0.1:9011", "127.0.0.1:9012", "127.0.0.1:9010", "127.0.0.1:9002", "127.0.0.1:9003", "127.0.0.1:9004")
	if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "validate", "--config", f, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s\n%s", err, out, src)
	}
	for _, want := range []string{"reverse_proxy 127.0.0.1:9003 127.0.0.1:9004 {", "reverse_proxy 127.0.0.1:9001 {", "admin off", "auto_https off"} {
		if !strings.Contains(src, want) {
			t.Errorf("the Caddyfile lacks %q:\n%s", want, src)
		}
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs([]string{"-database-url=postgres://u:secret@h/db", "--duration", "5s", "postgres://u:pw@h/x"})
	if strings.Contains(strings.Join(got, " "), "secret") || strings.Contains(strings.Join(got, " "), ":pw@") {
		t.Fatalf("a password is left: %q", got)
	}
	if got[0] != "-database-url=postgres://u:xxxxx@h/db" || got[2] != "5s" {
		t.Fatalf("redactURLs = %q", got)
	}
}
