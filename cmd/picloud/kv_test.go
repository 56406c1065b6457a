package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// TestKVCommands: deploy sets the kv settings (flags and a config file), and
// kv set/get/ls/rm reach what the script stores, shared namespaces included.
func TestKVCommands(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	dir := t.TempDir()
	file := filepath.Join(dir, "counter.rhai")
	os.WriteFile(file, []byte(`kv::ns("orders").set("last", kv::incr("hits", 1)); kv::get("hits")`), 0o644)
	os.WriteFile(filepath.Join(dir, "counter.toml"), []byte("kv_max_keys = 50\n"), 0o644)
	if out, _, err := cli(t, "deploy", file, "--kv-namespaces", "orders, users", "--kv-max-bytes", "4096"); err != nil {
		t.Fatalf("deploy: %s %v", out, err)
	}
	out, _, err := cli(t, "ls", "--json")
	var list picloud.ScriptList
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("ls: %s %v", out, err)
	}
	if out, _, err := cli(t, "deploy", file, "--kv-namespaces", "Bad Name"); err == nil || !strings.Contains(err.Error(), "kv namespace") {
		t.Fatalf("a bad namespace: %s %v", out, err)
	}
	for i := 0; i < 2; i++ {
		if out, _, err := cli(t, "invoke", "counter"); err != nil {
			t.Fatalf("invoke: %s %v", out, err)
		}
	}
	if out, _, err := cli(t, "kv", "get", "counter", "hits"); err != nil || out != "2\n" {
		t.Fatalf("kv get = %q %v", out, err)
	}
	if out, _, err := cli(t, "kv", "get", "counter", "last", "--namespace", "orders"); err != nil || out != "2\n" {
		t.Fatalf("kv get shared = %q %v", out, err)
	}
	if _, _, err := cli(t, "kv", "set", "counter", "a/b c", `{"x": [1, 2]}`, "--ttl", "60"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, "kv", "set", "counter", "s", "plain text", "--string"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, "kv", "set", "counter", "bad", "not json"); err == nil {
		t.Fatal("a value that is not JSON was sent")
	}
	if out, _, err := cli(t, "kv", "get", "counter", "a/b c", "--json"); err != nil || !strings.Contains(out, `"expires_at"`) {
		t.Fatalf("kv get --json = %s %v", out, err)
	}
	if out, _, err := cli(t, "kv", "get", "counter", "s"); err != nil || out != "\"plain text\"\n" {
		t.Fatalf("kv get s = %q %v", out, err)
	}
	if out, _, err := cli(t, "kv", "ls", "counter"); err != nil || out != "a/b c\nhits\ns\n" {
		t.Fatalf("kv ls = %q %v", out, err)
	}
	if out, _, err := cli(t, "kv", "ls", "counter", "h"); err != nil || out != "hits\n" {
		t.Fatalf("kv ls prefix = %q %v", out, err)
	}
	if _, _, err := cli(t, "kv", "rm", "counter", "a/b c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, "kv", "get", "counter", "a/b c"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("kv get after rm: %v", err)
	}
	// The quota from the config file and the flag both reached the server.
	if _, _, err := cli(t, "kv", "set", "counter", "big", `"`+strings.Repeat("x", 5000)+`"`); err == nil || !strings.Contains(err.Error(), "payload_too_large") {
		t.Fatalf("over kv_max_bytes: %v", err)
	}
	if _, _, err := cli(t, "kv", "nope", "counter"); err == nil {
		t.Fatal("an unknown kv command passed")
	}
}
