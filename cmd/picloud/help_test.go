package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHelpEveryCommand walks the command table: help CMD, CMD -h and
// CMD --help print the usage with the arguments and the flags on stdout,
// nothing on stderr, and succeed; the top-level usage names every command.
func TestHelpEveryCommand(t *testing.T) {
	// No server: help must not call one (this one refuses connections).
	t.Setenv("PICLOUD_URL", "http://127.0.0.1:1")
	for _, c := range commands {
		if !strings.Contains(usage, "  "+c.name+" ") {
			t.Errorf("the top-level usage does not list %s", c.name)
		}
		forms := [][]string{{"help", c.name}, {c.name, "-h"}, {c.name, "--help"}}
		for _, alias := range c.aliases {
			forms = append(forms, []string{alias, "-h"})
		}
		for _, sub := range c.subs {
			forms = append(forms, []string{c.name, sub, "--help"})
		}
		for _, args := range forms {
			out, errOut, err := cli(t, args...)
			if err != nil || errOut != "" {
				t.Errorf("%q: %v, stderr %q", args, err, errOut)
				continue
			}
			if !strings.HasPrefix(out, "usage: picloud "+c.name+" "+c.args+"\n") || !strings.Contains(out, c.about[:10]) {
				t.Errorf("%q: no usage and description:\n%s", args, out)
			}
			// Every command with flags lists them, from its own flag set.
			switch c.name {
			case "help", "version", "completion", "rhai", "run":
			default:
				if !strings.Contains(out, "\nflags:\n  -") {
					t.Errorf("%q: no flags:\n%s", args, out)
				}
			}
		}
	}
	out, _, err := cli(t, "rm", "-h")
	if err != nil || !strings.Contains(out, "  -yes") || !strings.Contains(out, "NAME      the script to delete") {
		t.Errorf("rm -h: %v\n%s", err, out)
	}
	out, _, err = cli(t, "rhai", "eval", "-h")
	if err != nil || !strings.Contains(out, "--max-operations N") {
		t.Errorf("rhai eval -h: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		if out, _, err := cli(t, args...); err != nil || out != usage {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
	}
	if _, _, err := cli(t, "help", "frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("help of an unknown command: %v", err)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if out, _, err := cli(t, args...); err != nil || !strings.HasPrefix(out, "picloud ") {
			t.Errorf("%q: %v %q", args, err, out)
		}
	}
	// Through main's exit code: 0.
	var o, e bytes.Buffer
	if code := mainCode(context.Background(), []string{"deploy", "--help"}, strings.NewReader(""), &o, &e); code != 0 || e.Len() != 0 {
		t.Errorf("deploy --help: exit %d, stderr %q", code, e.String())
	}
}

// TestJSONErrors: with --json a failing command writes one JSON object on
// stderr, the API's own error object when the server sent one, and exits 1.
func TestJSONErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			w.Write([]byte(`{"service":"picloud","status":"ok","version":"test","components":{}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":"unauthorized","message":"a valid admin token is required"}}`))
	}))
	defer srv.Close()
	t.Setenv("PICLOUD_URL", srv.URL)
	t.Setenv("PICLOUD_JSON", "")

	decode := func(args ...string) (int, map[string]any, string) {
		t.Helper()
		var o, e bytes.Buffer
		code := mainCode(context.Background(), args, strings.NewReader(""), &o, &e)
		var v struct{ Error map[string]any }
		if code != 0 {
			if err := json.Unmarshal(e.Bytes(), &v); err != nil || strings.Count(strings.TrimSpace(e.String()), "\n") != 0 {
				t.Fatalf("%q: stderr is not one JSON object: %q", args, e.String())
			}
		}
		return code, v.Error, o.String()
	}
	code, e, out := decode("ls", "--json")
	if code != 1 || e["code"] != "unauthorized" || e["message"] != "a valid admin token is required" || out != "" {
		t.Errorf("API error: %d %v %q", code, e, out)
	}
	// Local errors: a bad flag (its usage is not written), wrong arguments.
	code, e, _ = decode("logs", "--json", "--bogus")
	if code != 1 || e["code"] != "cli" || !strings.Contains(e["message"].(string), "-bogus") {
		t.Errorf("bad flag: %d %v", code, e)
	}
	code, e, _ = decode("rm", "--json=true")
	if code != 1 || e["code"] != "cli" || !strings.Contains(e["message"].(string), "usage: picloud rm NAME") {
		t.Errorf("no name: %d %v", code, e)
	}
	t.Setenv("PICLOUD_JSON", "1")
	if code, e, _ = decode("frobnicate"); code != 1 || e["code"] != "cli" {
		t.Errorf("PICLOUD_JSON, unknown command: %d %v", code, e)
	}
	// Without --json: text.
	t.Setenv("PICLOUD_JSON", "")
	var o, eb bytes.Buffer
	if code := mainCode(context.Background(), []string{"ls"}, strings.NewReader(""), &o, &eb); code != 1 ||
		!strings.HasPrefix(eb.String(), "picloud: unauthorized (HTTP 401): a valid admin token is required") {
		t.Errorf("text error: %d %q", code, eb.String())
	}
}

// TestRhaiEvalJSONKeepsItsStderr: rhai eval --json is the conformance
// contract, not a client's --json: a failing script's print lines stay on
// stderr and its error is not turned into a JSON object there.
func TestRhaiEvalJSONKeepsItsStderr(t *testing.T) {
	file := writeFile(t, t.TempDir(), "fail.rhai", `print("before"); throw "boom";`)
	var o, e bytes.Buffer
	code := mainCode(context.Background(), []string{"rhai", "eval", "--json", file}, strings.NewReader(""), &o, &e)
	var res struct{ OK bool }
	if code != 1 || json.Unmarshal(o.Bytes(), &res) != nil || res.OK {
		t.Fatalf("exit %d, stdout %q", code, o.String())
	}
	if e.String() != "before\npicloud: rhai: the script failed\n" {
		t.Errorf("stderr %q", e.String())
	}
}

// TestHoldWriter: with --json a command's stderr is held until it
// succeeds, and passed on once it grows past 64 KiB.
func TestHoldWriter(t *testing.T) {
	var out bytes.Buffer
	h := &holdWriter{w: &out}
	h.Write([]byte("progress\n"))
	if out.Len() != 0 {
		t.Fatalf("written before the end: %q", out.String())
	}
	h.flush()
	h.Write([]byte("after\n"))
	if out.String() != "progress\nafter\n" {
		t.Fatalf("after flush: %q", out.String())
	}
	out.Reset()
	h = &holdWriter{w: &out}
	big := bytes.Repeat([]byte("x"), 64<<10+1)
	h.Write(big)
	h.Write([]byte("y"))
	if out.Len() != len(big)+1 {
		t.Fatalf("a big stderr was held: %d bytes passed", out.Len())
	}
}
