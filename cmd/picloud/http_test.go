package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// TestDeployHTTPSettings: deploy sets the http:: settings from a settings
// file and flags, and refuses a bad egress_allow naming it.
func TestDeployHTTPSettings(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	dir := t.TempDir()
	file := filepath.Join(dir, "fetcher.rhai")
	os.WriteFile(file, []byte(`1`), 0o644)
	os.WriteFile(filepath.Join(dir, "fetcher.toml"), []byte("http_max_requests = 7\nhttp_timeout_ms = 1500\n"), 0o644)
	if out, _, err := cli(t, "deploy", file, "--egress-allow", "API.example.com, 10.0.0.0/8", "--http-max-response-bytes", "65536"); err != nil {
		t.Fatalf("deploy: %s %v", out, err)
	}
	out, _, err := cli(t, "ls", "--json")
	var list picloud.ScriptList
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 {
		t.Fatalf("ls: %s %v", out, err)
	}
	sc := list.Items[0]
	if sc.HTTPMaxRequests != 7 || sc.HTTPTimeoutMS != 1500 || sc.HTTPMaxResponseBytes != 65536 || sc.EgressAllow != "api.example.com,10.0.0.0/8" {
		t.Fatalf("settings: %+v", sc)
	}
	if out, _, err := cli(t, "deploy", file, "--egress-allow", "http://x/"); err == nil || !strings.Contains(err.Error(), "egress") {
		t.Fatalf("a bad egress_allow: %s %v", out, err)
	}
	if out, _, err := cli(t, "deploy", file, "--http-timeout-ms", "-1"); err == nil || !strings.Contains(err.Error(), "http_timeout_ms") {
		t.Fatalf("a bad http_timeout_ms: %s %v", out, err)
	}
}
