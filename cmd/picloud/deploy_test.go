package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// TestDeploySettings deploys against a real server: settings from the file
// beside the script, flags over the file, --config, and refusals.
func TestDeploySettings(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	// The server's own variable must not reach the script (see settingFlags).
	t.Setenv("PICLOUD_MAX_CONCURRENCY", "16")

	dir := t.TempDir()
	script := writeFile(t, dir, "hello.rhai", `"hello"`)
	// The example of docs/getting-started.md.
	cfg := writeFile(t, dir, "hello.toml", `# hello.toml: read by "picloud deploy hello.rhai"
name = "greeter"
timeout_ms = 2_000             # 2 s instead of the server's 5 s
max_memory_bytes = 16_777_216  # 16 MiB
max_response_bytes = 65_536
unsandboxed = false
`)
	get := func() picloud.ScriptSummary {
		t.Helper()
		out, _, err := cli(t, "ls", "--json")
		var list picloud.ScriptList
		if err != nil || json.Unmarshal([]byte(out), &list) != nil {
			t.Fatalf("ls --json: %q %v", out, err)
		}
		for _, s := range list.Items {
			if s.Name == "greeter" {
				return s
			}
		}
		t.Fatalf("no greeter in %s", out)
		return picloud.ScriptSummary{}
	}
	settings := func(s picloud.ScriptSummary) string {
		return fmt.Sprint(s.TimeoutMS, s.MaxOperations, s.MaxConcurrency, s.MaxMemoryBytes, s.MaxResponseBytes, s.Unsandboxed)
	}

	out, _, err := cli(t, "deploy", script)
	if err != nil || !strings.Contains(out, "created greeter (version 1)") || !strings.Contains(out, "settings from "+cfg) {
		t.Fatalf("deploy: %q %v", out, err)
	}
	if s := settings(get()); s != "2000 0 0 16777216 65536 false" {
		t.Fatalf("from the file: %s", s)
	}

	// Flags override the file; settings alone make no new version.
	out, _, err = cli(t, "deploy", script, "--max-concurrency", "7", "--unsandboxed", "--timeout-ms", "0", "--max-operations", "1_000_000")
	// It says what changed: settings alone, no new version.
	if err != nil || !strings.Contains(out, "updated greeter (version 1)") || strings.Contains(out, "source changed") ||
		!strings.Contains(out, "  settings changed: max_concurrency 0 -> 7, max_operations 0 -> 1000000, timeout_ms 2000 -> 0, unsandboxed false -> true\n") {
		t.Fatalf("deploy with flags: %q %v", out, err)
	}
	if s := settings(get()); s != "0 1000000 7 16777216 65536 true" {
		t.Fatalf("flags over the file: %s", s)
	}
	out, _, err = cli(t, "deploy", script, "--max-concurrency", "7", "--unsandboxed", "--timeout-ms", "0", "--max-operations", "1_000_000")
	if err != nil || !strings.Contains(out, "unchanged greeter (version 1)") || strings.Contains(out, "changed:") {
		t.Fatalf("deploy again: %q %v", out, err)
	}

	// --config replaces the file beside the script; keys it leaves out are
	// left as they are on the server.
	other := writeFile(t, dir, "other.json", `{"name": "greeter", "max_response_bytes": 1024}`)
	writeFile(t, dir, "hello.rhai", `"hello, world"`)
	out, _, err = cli(t, "deploy", script, "--config", other)
	if err != nil || !strings.Contains(out, "updated greeter (version 2)") || !strings.Contains(out, "settings from "+other) ||
		!strings.Contains(out, "  source changed: version 1 -> new version 2\n") || !strings.Contains(out, "  settings changed: max_response_bytes 65536 -> 1024\n") {
		t.Fatalf("deploy --config: %q %v", out, err)
	}
	if s := settings(get()); s != "0 1000000 7 16777216 1024 true" { // timeout_ms stays 0: the JSON file does not set it
		t.Fatalf("after --config: %s", s)
	}

	// Refusals name the line or the flag, and change nothing.
	writeFile(t, dir, "hello.toml", "timeout_ms = 5\nmax_concurrency = 2147483648\n")
	if _, _, err := cli(t, "deploy", script); err == nil || !strings.Contains(err.Error(), "hello.toml:2: max_concurrency must be between") {
		t.Fatalf("out of range in the file: %v", err)
	}
	if _, _, err := cli(t, "deploy", script, "--config", other, "--max-memory-bytes", "68719476737"); err == nil ||
		!strings.Contains(err.Error(), "--max-memory-bytes: max_memory_bytes must be between") {
		t.Fatalf("out of range flag: %v", err)
	}
	if _, _, err := cli(t, "deploy", script, "--config", filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("a missing --config file was ignored")
	}
	if s := settings(get()); s != "0 1000000 7 16777216 1024 true" {
		t.Fatalf("after refusals: %s", s)
	}
}
