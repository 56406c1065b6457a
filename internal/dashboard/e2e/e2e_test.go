package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// e2eTools skips the test when what an e2e run needs is missing (-short,
// PICLOUD_SKIP_E2E, Chromium, node, web/node_modules), and returns the
// module root, web/, the browser and node.
func e2eTools(t *testing.T) (root, web, chromium, node string) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	if os.Getenv("PICLOUD_SKIP_E2E") != "" {
		t.Skip("e2e: skipped: PICLOUD_SKIP_E2E is set")
	}
	root = moduleRoot(t)
	web = filepath.Join(root, "web")
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("e2e: skipped: no Chromium at %s (apt-get install chromium, or set CHROMIUM)", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("e2e: skipped: node is not on PATH (the test drives Chromium with playwright-core)")
	}
	if _, err := os.Stat(filepath.Join(web, "node_modules", "playwright-core")); err != nil {
		t.Skip("e2e: skipped: web/node_modules is missing (run `npm ci` in web/)")
	}
	return root, web, chromium, node
}

// TestDashboard runs web/e2e/run.mjs in headless Chromium against a real
// `picloud serve`. Environment:
//
//	CHROMIUM         the browser (default /usr/bin/chromium, Debian's package)
//	E2E_SCREENSHOTS  where screenshots go (default web/e2e/screenshots)
//	PICLOUD_SKIP_E2E set to skip this test
func TestDashboard(t *testing.T) {
	root, web, chromium, node := e2eTools(t)

	bin := buildPicloud(t, root)
	base, logs := serve(t, bin)

	shots := os.Getenv("E2E_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(web, "e2e", "screenshots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "run.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(),
		"PICLOUD_URL="+base.url,
		"PICLOUD_ADMIN_TOKEN="+base.token,
		"CHROMIUM="+chromium,
		"E2E_SCREENSHOTS="+shots,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("web/e2e/run.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("e2e: %v\nserver log:\n%s", err, logs.String())
	}
}

// moduleRoot is the directory holding go.mod, above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("e2e: go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// buildPicloud builds ./cmd/picloud, with the dashboard embedded as committed.
func buildPicloud(t *testing.T, root string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH to build picloud: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "picloud")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/picloud")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("e2e: go build ./cmd/picloud: %v\n%s", err, out)
	}
	return bin
}

type server struct {
	url   string
	token string
}

// syncBuffer collects the server's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve starts `picloud serve` on a free loopback port and a fresh data
// directory, and waits until /api/health answers. It stops at cleanup.
func serve(t *testing.T, bin string) (server, *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	data := t.TempDir()
	token := "pct_e2e_" + randomHex(16)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", data)
	cmd.Env = append(cleanEnv(), "PICLOUD_ADMIN_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start picloud serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("e2e: picloud serve exited: %v\n%s", err, logs.String())
		default:
		}
		res, err := http.Get(url + "/api/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return server{url: url, token: token}, logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: picloud serve did not become healthy on %s: %v\n%s", addr, errOr(err, res), logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errOr(err error, res *http.Response) error {
	if err != nil {
		return err
	}
	return errors.New(res.Status)
}

// cleanEnv is the environment without PICLOUD_ settings, so that the server
// under test uses its flags and a fresh SQLite database whatever the caller's
// shell says (PICLOUD_DATABASE_URL, say).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PICLOUD_") {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
