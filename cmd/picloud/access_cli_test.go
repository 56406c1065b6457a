package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

var (
	tokenLine = regexp.MustCompile(`^pct_[0-9a-f]{64}\n$`)
	keyLine   = regexp.MustCompile(`^pck_[0-9a-f]{64}\n$`)
)

// TestTokenCommandsAgainstServer: named tokens through a real server:
// create (printed once, scopes checked before sending), ls, what a read
// token may and may not do, rotate (the old secret stops working), revoke
// (asks first; the admin token cannot be), and the admin token's online
// rotation.
func TestTokenCommandsAgainstServer(t *testing.T) {
	url, admin, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", admin)
	src := writeFile(t, t.TempDir(), "hello.rhai", `"hello"`)
	if _, _, err := cli(t, "deploy", src); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := cli(t, "token", "create", "viewer", "--scope", "read")
	if err != nil || !tokenLine.MatchString(out) || !strings.Contains(errOut, "Created the token viewer (read, never expires)") {
		t.Fatalf("create viewer: %v %q %q", err, out, errOut)
	}
	viewer := strings.TrimSpace(out)
	out, errOut, err = cli(t, "token", "create", "ci", "--scope", "deploy,invoke:hello", "--scripts", "hel*", "--expires", "30d")
	if err != nil || !tokenLine.MatchString(out) || !strings.Contains(errOut, "(deploy, invoke:hello; scripts hel*, expires ") {
		t.Fatalf("create ci: %v %q %q", err, out, errOut)
	}
	ci := strings.TrimSpace(out)
	// Refused before any request: bad scopes, pattern, expiry, duplicates.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"x"}, "--scope: a token needs at least one scope"},
		{[]string{"x", "--scope", "write"}, `--scope: scope "write" is not admin, deploy, read or invoke`},
		{[]string{"x", "--scope", "read", "--scope", "read"}, `scope "read" is listed twice`},
		{[]string{"x", "--scope", "read", "--scripts", "[a"}, "--scripts: scripts pattern"},
		{[]string{"x", "--scope", "read", "--expires", "-1h"}, "--expires \"-1h\": want a positive duration"},
		{[]string{"x", "--scope", "read", "--expires", "soon"}, "want a positive duration"},
	} {
		if _, _, err := cli(t, append([]string{"token", "create"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("create %v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, _, err := cli(t, "token", "create", "viewer", "--scope", "read"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("a taken name: %v", err)
	}

	// ls: the admin token's row first, then by name; ci's expiry in 30 days.
	out, _, err = cli(t, "token", "ls")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !regexp.MustCompile(`^admin\s+-\s+admin\s+\*`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^ci\s+pct_[0-9a-f]{8}\s+deploy,invoke:hello\s+hel\*\s+\S+\s+-\s+20`).MatchString(lines[2]) ||
		!regexp.MustCompile(`^viewer\s+pct_[0-9a-f]{8}\s+read\s+\*\s+\S+\s+\S+\s+never$`).MatchString(lines[3]) {
		t.Fatalf("token ls:\n%s", out)
	}
	out, _, err = cli(t, "token", "ls", "--json")
	var page tokenPage
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 3 {
		t.Fatalf("token ls --json: %v %s", err, out)
	}
	for _, tk := range page.Items {
		if tk.Name == "ci" && (tk.ExpiresAt == nil || time.Until(tk.ExpiresAt.Time) < 29*24*time.Hour || time.Until(tk.ExpiresAt.Time) > 31*24*time.Hour) {
			t.Errorf("ci expires at %v, want in 30 days", tk.ExpiresAt)
		}
		if tk.Token != "" {
			t.Errorf("ls shows %s's secret", tk.Name)
		}
	}

	// The read token reads and is refused the rest: 403, not 401.
	if out, _, err := cli(t, "ls", "--token", viewer); err != nil || !strings.Contains(out, "hello") {
		t.Fatalf("ls with the read token: %v %q", err, out)
	}
	if _, _, err := cli(t, "deploy", src, "--token", viewer); err == nil || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Fatalf("deploy with the read token: %v", err)
	}
	if _, _, err := cli(t, "token", "ls", "--token", ci); err == nil || !strings.Contains(err.Error(), "forbidden (HTTP 403)") {
		t.Fatalf("token ls with a deploy token: %v", err)
	}
	if out, _, err := cli(t, "deploy", src, "--token", ci, "--timeout-ms", "900"); err != nil || !strings.Contains(out, "timeout_ms 0 -> 900") {
		t.Fatalf("deploy with the deploy token: %v %q", err, out)
	}

	// rotate NAME: a new secret; the old one stops working at once.
	out, errOut, err = cli(t, "token", "rotate", "viewer")
	if err != nil || !tokenLine.MatchString(out) || strings.TrimSpace(out) == viewer || !strings.Contains(errOut, "The token viewer was replaced") {
		t.Fatalf("rotate viewer: %v %q %q", err, out, errOut)
	}
	if _, _, err := cli(t, "ls", "--token", viewer); err == nil || !strings.Contains(err.Error(), "unauthorized (HTTP 401)") {
		t.Fatalf("the rotated-out secret: %v", err)
	}
	viewer = strings.TrimSpace(out)
	if _, _, err := cli(t, "ls", "--token", viewer); err != nil {
		t.Fatalf("the rotated secret: %v", err)
	}
	if _, _, err := cli(t, "token", "rotate", "nobody"); err == nil || !strings.Contains(err.Error(), `no token named "nobody"`) {
		t.Fatalf("rotate an unknown token: %v", err)
	}

	// revoke asks first (stdin is no terminal here: refused), then works.
	if _, _, err := cli(t, "token", "revoke", "viewer"); err == nil || !strings.Contains(err.Error(), "pass --yes") {
		t.Fatalf("revoke without --yes: %v", err)
	}
	if _, _, err := cli(t, "ls", "--token", viewer); err != nil {
		t.Fatalf("viewer after a refused revoke: %v", err)
	}
	if out, _, err := cli(t, "token", "revoke", "viewer", "--yes"); err != nil || out != "revoked viewer\n" {
		t.Fatalf("revoke: %v %q", err, out)
	}
	if _, _, err := cli(t, "ls", "--token", viewer); err == nil || !strings.Contains(err.Error(), "unauthorized (HTTP 401)") {
		t.Fatalf("a revoked token: %v", err)
	}
	if _, _, err := cli(t, "token", "revoke", "admin", "--yes"); err == nil || !strings.Contains(err.Error(), "cannot be revoked") {
		t.Fatalf("revoke admin: %v", err)
	}
	if _, _, err := cli(t, "token", "revoke", "viewer", "--yes"); err == nil || !strings.Contains(err.Error(), `no token named "viewer"`) {
		t.Fatalf("revoke twice: %v", err)
	}

	// The admin token rotated online: the old one stops working.
	out, errOut, err = cli(t, "token", "rotate")
	if err != nil || !tokenLine.MatchString(out) || !strings.Contains(errOut, "Update PICLOUD_TOKEN") {
		t.Fatalf("rotate the admin token: %v %q %q", err, out, errOut)
	}
	if _, _, err := cli(t, "ls"); err == nil || !strings.Contains(err.Error(), "unauthorized (HTTP 401)") {
		t.Fatalf("the old admin token: %v", err)
	}
	t.Setenv("PICLOUD_TOKEN", strings.TrimSpace(out))
	if _, _, err := cli(t, "ls"); err != nil {
		t.Fatalf("the new admin token: %v", err)
	}
	// --json prints the server's answer, the secret in it.
	out, _, err = cli(t, "token", "rotate", "admin", "--json")
	var sec storedToken
	if err != nil || json.Unmarshal([]byte(out), &sec) != nil || sec.ID != "admin" || !strings.HasPrefix(sec.Token, "pct_") {
		t.Fatalf("rotate --json: %v %s", err, out)
	}
}

// TestAccessCommandsAgainstServer: a script's access and rate limit set
// by deploy (file and flags, reported as changes), its invoke keys (create,
// ls, revoke by label or prefix) and invoke --key.
func TestAccessCommandsAgainstServer(t *testing.T) {
	url, admin, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", admin)
	dir := t.TempDir()
	src := writeFile(t, dir, "hello.rhai", `"hello"`)
	if _, _, err := cli(t, "deploy", src); err != nil {
		t.Fatal(err)
	}
	if out, _, err := cli(t, "invoke", "hello"); err != nil || out != "hello\n" {
		t.Fatalf("public: %v %q", err, out)
	}
	// A key made while the script is public says it is not asked for yet.
	out, errOut, err := cli(t, "key", "create", "hello", "--name", "partner")
	if err != nil || !keyLine.MatchString(out) || !strings.Contains(errOut, "hello's access is public") {
		t.Fatalf("key create: %v %q %q", err, out, errOut)
	}
	partner := strings.TrimSpace(out)

	writeFile(t, dir, "hello.toml", "access = \"key\"\nrate_limit_burst = 1\n")
	out, _, err = cli(t, "deploy", src)
	if err != nil || !strings.Contains(out, `settings changed: access "public" -> "key", rate_limit_burst 0 -> 1`) &&
		!strings.Contains(out, `settings changed: access "" -> "key", rate_limit_burst 0 -> 1`) ||
		!strings.Contains(out, "access key: callers present one of its invoke keys (picloud key create hello)") {
		t.Fatalf("deploy access key: %v %q", err, out)
	}
	os.Remove(filepath.Join(dir, "hello.toml"))
	if _, _, err := cli(t, "invoke", "hello"); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("no key: %v", err)
	}
	if _, _, err := cli(t, "invoke", "hello", "--key", "pck_"+strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("an unknown key: %v", err)
	}
	if _, _, err := cli(t, "invoke", "hello", "--key", "secret"); err == nil || !strings.Contains(err.Error(), "want an invoke key (pck_...)") {
		t.Fatalf("not a key: %v", err)
	}
	if out, _, err := cli(t, "invoke", "hello", "--key", partner); err != nil || out != "hello\n" {
		t.Fatalf("with the key: %v %q", err, out)
	}
	// 0.5 per second, a burst of 1: the second call at once is refused.
	if out, _, err := cli(t, "deploy", src, "--rate-limit", "0.5"); err != nil || !strings.Contains(out, "rate_limit_rps 0 -> 0.5") {
		t.Fatalf("rate limit on: %v %q", err, out)
	}
	if out, _, err := cli(t, "invoke", "hello", "--key", partner); err != nil || out != "hello\n" {
		t.Fatalf("within the rate: %v %q", err, out)
	}
	if _, _, err := cli(t, "invoke", "hello", "--key", partner); err == nil || !strings.Contains(err.Error(), "HTTP 429 (retry after ") {
		t.Fatalf("over the rate: %v", err)
	}
	if out, _, err := cli(t, "deploy", src, "--rate-limit", "0"); err != nil || !strings.Contains(out, "rate_limit_rps 0.5 -> 0") {
		t.Fatalf("rate limit off: %v %q", err, out)
	}

	out, _, err = cli(t, "key", "create", "hello")
	if err != nil || !keyLine.MatchString(out) {
		t.Fatalf("second key: %v %q", err, out)
	}
	second := strings.TrimSpace(out)
	out, _, err = cli(t, "key", "ls", "hello")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!regexp.MustCompile(`^\S{36}\s+`+partner[:12]+`\s+partner\s+\S+\s+20`).MatchString(lines[1]) || // used once
		!regexp.MustCompile(`^\S{36}\s+`+second[:12]+`\s+-\s+\S+\s+-$`).MatchString(lines[2]) {
		t.Fatalf("key ls: %v\n%s", err, out)
	}
	// revoke by label, then by the start of the prefix; ambiguity refused.
	if _, _, err := cli(t, "key", "revoke", "hello", "pck_"); err == nil || !strings.Contains(err.Error(), "matches 2 of hello's keys") {
		t.Fatalf("ambiguous: %v", err)
	}
	if out, _, err := cli(t, "key", "revoke", "hello", "partner"); err != nil || out != "revoked hello's key "+partner[:12]+" (partner)\n" {
		t.Fatalf("revoke by label: %v %q", err, out)
	}
	deadline := time.Now().Add(6 * time.Second) // lookups are cached up to 5 s
	for {
		_, _, err := cli(t, "invoke", "hello", "--key", partner)
		if err != nil && strings.Contains(err.Error(), "HTTP 401") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still works: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, _, err := cli(t, "invoke", "hello", "--key", second); err != nil || out != "hello\n" {
		t.Fatalf("the other key: %v %q", err, out)
	}
	if _, _, err := cli(t, "key", "revoke", "hello", second[:10]); err != nil {
		t.Fatalf("revoke by prefix: %v", err)
	}
	if out, _, err := cli(t, "key", "ls", "hello", "--json"); err != nil || strings.TrimSpace(out) != `{"items":[]}` {
		t.Fatalf("no keys left: %v %q", err, out)
	}
	if _, _, err := cli(t, "key", "revoke", "hello", "partner"); err == nil || !strings.Contains(err.Error(), `hello has no key "partner"`) {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, _, err := cli(t, "key", "ls", "nope"); err == nil || !strings.Contains(err.Error(), `no script named "nope"`) {
		t.Fatalf("unknown script: %v", err)
	}

	// access token: an API token with invoke:hello (not one for another
	// script) passes with --key pct_...
	out, _, err = cli(t, "token", "create", "caller", "--scope", "invoke:hello")
	if err != nil {
		t.Fatal(err)
	}
	caller := strings.TrimSpace(out)
	out, _, err = cli(t, "token", "create", "stranger", "--scope", "invoke:other")
	if err != nil {
		t.Fatal(err)
	}
	stranger := strings.TrimSpace(out)
	if out, _, err := cli(t, "deploy", src, "--access", "token"); err != nil || !strings.Contains(out, "access token: callers present an API token with invoke:hello") {
		t.Fatalf("deploy --access token: %v %q", err, out)
	}
	if out, _, err := cli(t, "invoke", "hello", "--key", caller); err != nil || out != "hello\n" {
		t.Fatalf("invoke:hello token: %v %q", err, out)
	}
	if _, _, err := cli(t, "invoke", "hello", "--key", stranger); err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("invoke:other token: %v", err)
	}

	// library: not routable.
	if out, _, err := cli(t, "deploy", src, "--access", "library"); err != nil || !strings.Contains(out, "access library: /fn answers 404") {
		t.Fatalf("deploy --access library: %v %q", err, out)
	}
	if _, _, err := cli(t, "invoke", "hello", "--key", caller); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("a library script: %v", err)
	}
	out, _, err = cli(t, "ls", "--json")
	var list picloud.ScriptList
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 1 || list.Items[0].Access != "library" {
		t.Fatalf("ls --json: %v %s", err, out)
	}
}
