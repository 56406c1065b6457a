package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// TestStatsCommand runs picloud stats against a server: the table's totals
// count the executions and the failed one, --json is the API's answer, a
// step making too many buckets is refused with the server's message.
func TestStatsCommand(t *testing.T) {
	url, token, stop := startServer(t, t.TempDir())
	defer stop()
	t.Setenv("PICLOUD_URL", url)
	t.Setenv("PICLOUD_TOKEN", token)

	file := filepath.Join(t.TempDir(), "flaky.rhai")
	os.WriteFile(file, []byte("if request.query.k == \"bad\" { throw \"no\"; }\n\"ok\""), 0o644)
	if out, _, err := cli(t, "deploy", file); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	cli(t, "invoke", "flaky")
	cli(t, "invoke", "flaky", "--path", "/?k=bad")
	cli(t, "invoke", "flaky")
	var st picloud.Stats
	waitFor(t, "the executions to be stored", func() bool {
		out, _, err := cli(t, "stats", "flaky", "--json")
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		var n int64
		for _, b := range st.Buckets {
			n += b.Count
		}
		return n == 3
	})
	// The last hour by minute, since rounded down to the minute: 60 or 61.
	if n := len(st.Buckets); n < 60 || n > 61 || st.StepMS != 60_000 || st.Since.Second() != 0 {
		t.Errorf("default: %d buckets of %d ms from %v, want 60 or 61 of 60000 from a whole minute", n, st.StepMS, st.Since.Time)
	}

	out, _, err := cli(t, "stats", "flaky", "--since", "30m", "--step", "1m")
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if !strings.Contains(out, "flaky, ") || !strings.Contains(out, "step 1m") || !strings.Contains(out, "p99 ms") {
		t.Errorf("stats header:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\s*total\s+3\s+1\s`).MatchString(out) {
		t.Errorf("stats totals, want 3 calls and 1 failed:\n%s", out)
	}
	if rows := regexp.MustCompile(`(?m)^\s*\d\d-\d\d \d\d:\d\d:00`).FindAllString(out, -1); len(rows) < 1 || len(rows) > 2 {
		t.Errorf("want the one or two non-empty buckets, got %d rows:\n%s", len(rows), out)
	}
	// since is rounded down to the minute: 30 or 31 buckets.
	if out, _, err := cli(t, "stats", "flaky", "--since", "30m", "--step", "1m", "--empty"); err != nil ||
		len(regexp.MustCompile(`(?m)^\s*\d\d-\d\d \d\d:\d\d:00`).FindAllString(out, -1)) < 30 {
		t.Errorf("--empty: want 30 or 31 rows: %v\n%s", err, out)
	}
	if out, _, err := cli(t, "stats"); err != nil || !strings.Contains(out, "all scripts") {
		t.Errorf("stats of all scripts: %v\n%s", err, out)
	}
	// --by-script: one row a script, the most called first, and the totals.
	other := filepath.Join(t.TempDir(), "other.rhai")
	os.WriteFile(other, []byte(`"hi"`), 0o644)
	if out, _, err := cli(t, "deploy", other); err != nil {
		t.Fatalf("deploy: %q %v", out, err)
	}
	cli(t, "invoke", "other")
	waitFor(t, "other's execution to be stored", func() bool {
		out, _, err := cli(t, "stats", "other", "--json")
		return err == nil && strings.Contains(out, `"count":1`)
	})
	out, _, err = cli(t, "stats", "--by-script", "--since", "1h")
	if err != nil {
		t.Fatalf("stats --by-script: %v", err)
	}
	rows := regexp.MustCompile(`(?m)^(flaky|other|total)\s+(\d+)\s+(\d+)\s+(\S+)\s`).FindAllStringSubmatch(out, -1)
	if !strings.HasPrefix(out, "scripts by calls, ") || !strings.Contains(out, "NAME  ") || len(rows) != 3 ||
		rows[0][1] != "flaky" || rows[0][2] != "3" || rows[0][3] != "1" ||
		rows[1][1] != "other" || rows[1][2] != "1" || rows[1][3] != "0" ||
		rows[2][1] != "total" || rows[2][2] != "4" || rows[2][3] != "1" {
		t.Errorf("stats --by-script:\n%s", out)
	}
	if out, _, err := cli(t, "stats", "--by-script", "--top", "1"); err != nil || strings.Contains(out, "other") ||
		!strings.Contains(out, "(1 more)") || !regexp.MustCompile(`(?m)^total\s+4\s+1\s`).MatchString(out) {
		t.Errorf("--top 1: %v\n%s", err, out)
	}
	var ss picloud.ScriptsStats
	if out, _, err := cli(t, "stats", "--by-script", "--json"); err != nil || json.Unmarshal([]byte(out), &ss) != nil ||
		len(ss.Scripts) != 2 || ss.Scripts[0].Name != "flaky" {
		t.Errorf("--by-script --json: %v\n%s", err, out)
	}
	if out, _, err := cli(t, "stats", "--by-script", "--since", "3h", "--until", "2h"); err != nil || !strings.Contains(out, "no executions in the range") {
		t.Errorf("a quiet range: %v\n%s", err, out)
	}
	if _, _, err := cli(t, "stats", "flaky", "--by-script"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("NAME with --by-script: %v", err)
	}
	if _, _, err := cli(t, "stats", "flaky", "--since", "168h", "--step", "1m"); err == nil || !strings.Contains(err.Error(), "at most 500") {
		t.Errorf("too many buckets: %v", err)
	}
	if _, _, err := cli(t, "stats", "nope"); err == nil || !strings.Contains(err.Error(), `no script named "nope"`) {
		t.Errorf("unknown script: %v", err)
	}
}
