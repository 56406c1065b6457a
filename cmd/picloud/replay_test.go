package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// TestReplayCLI runs picloud replay against a server with two captured
// requests: the same source replays as all same, a changed one prints each
// request line and the body change by JSON path, the stored draft is the
// default, --json is the API's answer, a refused source is shown at
// file:line:col, and differences do not make the command fail.
func TestReplayCLI(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	live := write("calc.rhai", `#{n: 1, k: request.query.k}`)
	if out, _, err := cli(t, "deploy", live); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	for _, k := range []string{"a", "b"} {
		if out, _, err := cli(t, "invoke", "calc", "--path", "/?k="+k); err != nil {
			t.Fatalf("invoke: %q %v", out, err)
		}
	}
	var r picloud.ReplayResponse
	waitFor(t, "the two requests to be captured", func() bool {
		out, _, err := cli(t, "replay", "calc", live, "--json")
		return err == nil && json.Unmarshal([]byte(out), &r) == nil && len(r.Items) == 2
	})
	if !r.Items[0].Same || !r.Items[1].Same {
		t.Fatalf("the live source replayed: %+v", r.Items)
	}

	out, _, err := cli(t, "replay", "calc", live)
	if err != nil || !strings.HasPrefix(out, "2 replayed: 2 same, 0 differ\n") || strings.Contains(out, "GET ") {
		t.Fatalf("same replay: %q %v", out, err)
	}

	changed := write("calc2.rhai", `#{n: 2, k: request.query.k}`)
	out, _, err = cli(t, "replay", "calc", changed)
	if err != nil {
		t.Fatalf("differing replay fails: %v", err)
	}
	if !strings.HasPrefix(out, "2 replayed: 0 same, 2 differ\n") {
		t.Errorf("summary:\n%s", out)
	}
	for _, want := range []string{"GET /fn/calc/?k=a", "GET /fn/calc/?k=b", "body    /n: 1 → 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "status ") || strings.Contains(out, "/k:") {
		t.Errorf("only the body's /n differs:\n%s", out)
	}

	// A status and a header change; --last 1 runs only the newest (k=b).
	failing := write("calc3.rhai", `#{status: 201, headers: #{"x-new": "1"}, body: "made"}`)
	out, _, err = cli(t, "replay", "calc", failing, "--last", "1")
	if err != nil || !strings.HasPrefix(out, "1 replayed: 0 same, 1 differ\n") || !strings.Contains(out, "k=b") ||
		!strings.Contains(out, "status  200 → 201") || !strings.Contains(out, `header  x-new: (none) → "1"`) {
		t.Fatalf("status and header replay: %q %v", out, err)
	}

	// Without FILE: the stored draft, and 404 without one.
	if _, _, err := cli(t, "replay", "calc"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("replay without a draft: %v", err)
	}
	if _, _, err := cli(t, "draft", "push", "calc", changed); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, "replay", "calc", "--draft", "--status", "success")
	if err != nil || !strings.HasPrefix(out, "2 replayed: 0 same, 2 differ\n") {
		t.Fatalf("replay --draft: %q %v", out, err)
	}
	out, _, err = cli(t, "replay", "calc", "--json", "--grep", "no such text anywhere")
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || len(r.Items) != 0 || r.NotReplayable == nil {
		t.Fatalf("replay --json --grep: %q %v", out, err)
	}

	bad := write("bad.rhai", "let x = 1;\nlet = 2;")
	_, _, err = cli(t, "replay", "calc", bad)
	var se *sourceError
	if !errors.As(err, &se) || se.Line != 2 || !strings.HasPrefix(err.Error(), bad+":2:") {
		t.Fatalf("replay of a bad source: %v", err)
	}
	if _, _, err := cli(t, "replay", "calc", changed, "--draft"); err == nil {
		t.Fatal("FILE and --draft accepted together")
	}
	if _, errOut, err := cli(t, "replay"); err == nil || !strings.Contains(errOut, "picloud replay NAME") {
		t.Fatalf("replay without NAME: %v %q", err, errOut)
	}
}
