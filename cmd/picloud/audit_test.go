package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAuditCommand runs picloud audit against a server: a deploy, a
// settings change and a secret show in the table with their actor, action,
// target and changes; the filters and --limit narrow it; --json is the
// API's shape; a token without the admin scope is refused.
func TestAuditCommand(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	file := filepath.Join(t.TempDir(), "audited.rhai")
	os.WriteFile(file, []byte(`"v1"`), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	os.WriteFile(file, []byte(`"v2"`), 0o644)
	if out, _, err := cli(t, "deploy", file, "--timeout-ms", "1500"); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	if out, err := cliIn(t, "s3cr3t-value", "secret", "set", "audited", "API_KEY"); err != nil {
		t.Fatalf("secret set: %q %v", out, err)
	}

	out, _, err := cli(t, "audit")
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	for _, re := range []string{
		`(?m)^TIME\s+ACTOR\s+VIA\s+IP\s+ACTION\s+TARGET\s+DETAIL$`,
		`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+admin\s+bearer\s+127\.0\.0\.1\s+script\.create\s+audited\s+version 1$`,
		`(?m)\s+script\.update\s+audited\s+timeout_ms: 0 → 1500; version 1 → 2$`,
		`(?m)\s+secret\.set\s+API_KEY\s+script=audited$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("audit output does not match %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "s3cr3t-value") {
		t.Errorf("the secret's value is in the trail:\n%s", out)
	}
	// Newest first.
	if strings.Index(out, "secret.set") > strings.Index(out, "script.create") {
		t.Errorf("not newest first:\n%s", out)
	}

	out, _, _ = cli(t, "audit", "--action", "script.", "--limit", "1")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "script.update") ||
		!strings.Contains(lines[2], "--limit shows more") {
		t.Errorf("--action script. --limit 1:\n%s", out)
	}
	out, _, err = cli(t, "audit", "--actor", "nobody")
	if err != nil || strings.TrimSpace(out) != "no audit events" {
		t.Errorf("--actor nobody: %v\n%s", err, out)
	}

	out, _, err = cli(t, "audit", "--json", "--target", "audited")
	var page struct {
		Items []struct{ Action, Target string } `json:"items"`
		Next  *string                           `json:"next"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || page.Next == nil || len(page.Items) != 2 ||
		page.Items[0].Action != "script.update" || page.Items[1].Action != "script.create" {
		t.Errorf("--json --target audited: %v\n%s", err, out)
	}

	if _, _, err := cli(t, "audit", "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "since") {
		t.Errorf("--since yesterday: %v", err)
	}
	out, _, err = cli(t, "token", "create", "reader", "--scope", "read")
	reader := regexp.MustCompile(`pct_[0-9a-f]{64}`).FindString(out)
	if err != nil || reader == "" {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	if _, _, err := cli(t, "audit", "--token", reader); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("audit with a read token: %v, want a forbidden error naming admin", err)
	}
}

// TestAuditOfflineRotation: picloud token rotate --offline, which no server
// sees, leaves its entry in the trail (via offline, no actor).
func TestAuditOfflineRotation(t *testing.T) {
	dir := t.TempDir()
	url, first, stop := startServer(t, dir)
	waitFor(t, "the server to answer", func() bool {
		_, _, err := cli(t, "ls", "--server", url, "--token", first)
		return err == nil
	})
	stop()
	out, _, err := cli(t, "token", "rotate", "--offline", "--data-dir", dir)
	token := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(token, "pct_") {
		t.Fatalf("rotate --offline: %v %q", err, out)
	}
	url, _, stop = startServer(t, dir)
	defer stop()
	out, _, err = cli(t, "audit", "--server", url, "--token", token, "--action", "token.rotate", "--json")
	var page struct {
		Items []struct{ Actor, Via, IP, Action, Target string } `json:"items"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	if ev := page.Items[0]; ev.Actor != "" || ev.Via != "offline" || ev.IP != "" || ev.Target != "admin" {
		t.Errorf("the offline rotation's event: %+v", ev)
	}
}
