package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cli runs the binary's run function and returns its output.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// startServer runs `picloud serve` on a free port and a fresh data directory,
// and returns its URL and the printed first-start token.
func startServer(t *testing.T, dataDir string, extra ...string) (string, string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	go func() { done <- run(ctx, args, nil, &out, &syncBuffer{}) }()
	url := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	token := regexp.MustCompile(`pct_[0-9a-f]+`).FindString(out.String())
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	return url, token, stop
}

func TestCLIAgainstServer(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	defer stop()
	if token == "" {
		t.Fatal("first start printed no token")
	}
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	dir := t.TempDir()
	file := filepath.Join(dir, "Hello World.rhai")
	os.WriteFile(file, []byte(`log::info("hi", #{q: request.query}); #{hello: request.query.name ?? "world", method: request.method}`), 0o644)
	out, _, err := cli(t, "deploy", file)
	if err != nil || !strings.Contains(out, "created hello-world (version 1)") {
		t.Fatalf("deploy: %q %v", out, err)
	}
	os.WriteFile(file, []byte(`#{hello: request.body, method: request.method}`), 0o644)
	out, _, err = cli(t, "deploy", file, "--name", "hello-world")
	if err != nil || !strings.Contains(out, "updated hello-world (version 2)") || !strings.Contains(out, "source changed: version 1 -> new version 2") ||
		strings.Contains(out, "settings changed") {
		t.Fatalf("redeploy: %q %v", out, err)
	}
	out, _, err = cli(t, "invoke", "hello-world", "-X", "PUT", "-d", `{"a": 1}`, "-H", "X-Test: 1")
	if err != nil || strings.TrimSpace(out) != `{"hello":{"a":1},"method":"PUT"}` {
		t.Fatalf("invoke: %q %v", out, err)
	}
	out, _, err = cli(t, "invoke", "hello-world", "--json")
	var inv struct {
		Status  int
		Headers map[string]string
		Body    map[string]any
	}
	if err != nil || json.Unmarshal([]byte(out), &inv) != nil || inv.Status != 200 || inv.Body["method"] != "GET" ||
		inv.Headers["content-security-policy"] != "sandbox" {
		t.Fatalf("invoke --json: %q %v", out, err)
	}

	bad := filepath.Join(dir, "bad.rhai")
	os.WriteFile(bad, []byte("let x = 1;\nlet = 2;"), 0o644)
	if _, _, err := cli(t, "deploy", bad); err == nil || !strings.Contains(err.Error(), "invalid_source") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("deploy of a bad script: %v", err)
	}
	boom := filepath.Join(dir, "boom.rhai")
	os.WriteFile(boom, []byte(`throw "nope"`), 0o644)
	cli(t, "deploy", boom)
	if _, _, err := cli(t, "invoke", "boom"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("invoke of a failing script: %v", err)
	}

	time.Sleep(200 * time.Millisecond) // the sink writes asynchronously
	out, _, err = cli(t, "logs", "hello-world", "--limit", "5")
	if err != nil || strings.Count(out, "success") != 2 || !strings.Contains(out, "PUT /fn/hello-world") {
		t.Fatalf("logs: %q %v", out, err)
	}
	out, _, err = cli(t, "logs", "boom", "--json")
	var page struct{ Items []map[string]any }
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 || page.Items[0]["status"] != "error" {
		t.Fatalf("logs --json: %q %v", out, err)
	}
	out, _, err = cli(t, "ls")
	if err != nil || !strings.Contains(out, "hello-world") || !strings.Contains(out, "boom") || !strings.Contains(out, "100%") {
		t.Fatalf("ls: %q %v", out, err)
	}
	// rm asks first: refused without a terminal unless --yes; on a
	// terminal, only "y" deletes.
	if _, _, err = cli(t, "rm", "boom"); err == nil || !strings.Contains(err.Error(), "standard input is not a terminal (pass --yes)") {
		t.Fatalf("rm without --yes nor a terminal: %v", err)
	}
	origTerminal := isTerminal
	isTerminal = func(io.Reader) bool { return true }
	defer func() { isTerminal = origTerminal }()
	var rmOut, rmErr bytes.Buffer
	if err := run(context.Background(), []string{"rm", "boom"}, strings.NewReader("n\n"), &rmOut, &rmErr); err == nil ||
		!strings.Contains(rmErr.String(), "Delete boom (version 1)") || !strings.Contains(err.Error(), "boom not deleted") {
		t.Fatalf("rm answered n: %v %q", err, rmErr.String())
	}
	if out, _, err = cli(t, "ls"); err != nil || !strings.Contains(out, "boom") {
		t.Fatalf("boom was deleted after n: %q %v", out, err)
	}
	rmOut.Reset()
	if err := run(context.Background(), []string{"rm", "boom"}, strings.NewReader("y\n"), &rmOut, &rmErr); err != nil || rmOut.String() != "deleted boom\n" {
		t.Fatalf("rm answered y: %v %q", err, rmOut.String())
	}
	if _, _, err = cli(t, "rm", "boom", "--yes"); err == nil {
		t.Fatal("rm of a missing script succeeded")
	}
	if _, _, err := cli(t, "ls", "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestTokenRotate(t *testing.T) {
	dataDir := t.TempDir()
	url, token, stop := startServer(t, dataDir)
	out, _, err := cli(t, "token", "rotate", "--data-dir", dataDir)
	newToken := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(newToken, "pct_") || newToken == token {
		t.Fatalf("rotate: %q %v", out, err)
	}
	if _, _, err := cli(t, "ls", "--server", url, "--token", token); err == nil {
		t.Fatal("the old token still works")
	}
	if _, _, err := cli(t, "ls", "--server", url, "--token", newToken); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	stop()

	// A restart prints no token; PICLOUD_ADMIN_TOKEN replaces it.
	t.Setenv("PICLOUD_ADMIN_TOKEN", "pct_from-env-0123456789abcdef")
	url, printed, stop := startServer(t, dataDir)
	defer stop()
	if printed != "" {
		t.Fatalf("restart printed a token: %s", printed)
	}
	if _, _, err := cli(t, "ls", "--server", url, "--token", "pct_from-env-0123456789abcdef"); err != nil {
		t.Fatalf("PICLOUD_ADMIN_TOKEN: %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, _, err := cli(t, "frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
	if _, _, err := cli(t); err == nil {
		t.Fatal("no command accepted")
	}
}
