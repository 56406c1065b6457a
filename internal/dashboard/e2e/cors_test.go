package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCrossOriginCalls runs web/e2e/cors.mjs in headless Chromium against a
// real `picloud serve`: a page of another origin (a loopback port of its
// own) calls key and token scripts with fetch(), through the browser's CORS
// preflight, which PiCloud answers for protected scripts; without the key,
// with a credentialed fetch, to a library or a missing script, the page gets
// nothing. Same environment and skips as TestDashboard.
func TestCrossOriginCalls(t *testing.T) {
	root, web, chromium, node := e2eTools(t)
	bin := buildPicloud(t, root)
	base, logs := serve(t, bin)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "cors.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "PICLOUD_URL="+base.url, "PICLOUD_ADMIN_TOKEN="+base.token, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("web/e2e/cors.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("e2e: %v\nserver log:\n%s", err, logs.String())
	}
}
