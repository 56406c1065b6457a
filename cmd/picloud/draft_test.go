package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDraftCLI: push (a refused source rendered at file:line:col), show, the
// draft not served, promote to the next version, rm.
func TestDraftCLI(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	dir := t.TempDir()
	live := filepath.Join(dir, "greet.rhai")
	os.WriteFile(live, []byte(`"live"`), 0o644)
	if _, _, err := cli(t, "deploy", live); err != nil {
		t.Fatal(err)
	}

	if _, _, err := cli(t, "draft", "show", "greet"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("show without a draft: %v", err)
	}
	bad := filepath.Join(dir, "bad.rhai")
	os.WriteFile(bad, []byte("let x = 1;\nlet = 2;"), 0o644)
	_, _, err := cli(t, "draft", "push", "greet", bad)
	var se *sourceError
	if !errors.As(err, &se) || se.Line != 2 || !strings.HasPrefix(err.Error(), bad+":2:") {
		t.Fatalf("push of a bad source: %v", err)
	}

	draft := filepath.Join(dir, "draft.rhai")
	os.WriteFile(draft, []byte(`"drafted"`), 0o644)
	out, _, err := cli(t, "draft", "push", "greet", draft)
	if err != nil || !strings.Contains(out, "saved the draft of greet (on version 1") {
		t.Fatalf("push: %q %v", out, err)
	}
	out, _, err = cli(t, "draft", "show", "greet")
	if err != nil || out != "\"drafted\"\n" {
		t.Fatalf("show: %q %v", out, err)
	}
	out, _, err = cli(t, "draft", "show", "greet", "--json")
	var d map[string]any
	if err != nil || json.Unmarshal([]byte(out), &d) != nil || d["source"] != `"drafted"` || d["base_version"] != 1.0 {
		t.Fatalf("show --json: %q %v", out, err)
	}
	if out, _, err := cli(t, "invoke", "greet"); err != nil || strings.TrimSpace(out) != "live" {
		t.Fatalf("served with a draft: %q %v", out, err)
	}

	out, _, err = cli(t, "draft", "promote", "greet")
	if err != nil || !strings.Contains(out, "promoted the draft of greet: version 2 is live") {
		t.Fatalf("promote: %q %v", out, err)
	}
	if out, _, err := cli(t, "invoke", "greet"); err != nil || strings.TrimSpace(out) != "drafted" {
		t.Fatalf("served after promote: %q %v", out, err)
	}
	if _, _, err := cli(t, "draft", "promote", "greet"); err == nil || !strings.Contains(err.Error(), "no draft") {
		t.Fatalf("second promote: %v", err)
	}

	if _, _, err := cli(t, "draft", "push", "greet", draft); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, "draft", "rm", "greet")
	if err != nil || !strings.Contains(out, "dropped the draft of greet") {
		t.Fatalf("rm: %q %v", out, err)
	}
	if _, _, err := cli(t, "draft", "rm", "greet"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("rm without a draft: %v", err)
	}

	if _, errOut, err := cli(t, "draft", "push", "greet"); err == nil || !strings.Contains(errOut, "picloud draft push NAME FILE") {
		t.Fatalf("push without FILE: %v %q", err, errOut)
	}
	if _, _, err := cli(t, "draft", "frobnicate", "greet"); err == nil || !strings.Contains(err.Error(), "unknown draft command") {
		t.Fatalf("unknown subcommand: %v", err)
	}
}
