package manager_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/manager"
)

// TestScriptByNameOrID: every /api/scripts/{id}/... route of the harness
// takes the script's name as well as its id, and a name shaped like a UUID
// is refused on create and on rename.
func TestScriptByNameOrID(t *testing.T) {
	h := newHarness(t, manager.Config{})
	sc := h.create("hello", "1")
	for _, ref := range []string{sc.ID, "hello"} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/scripts/" + ref, ""},
			{"PUT", "/api/scripts/" + ref, `{"timeout_ms": 10}`},
			{"GET", "/api/scripts/" + ref + "/versions", ""},
			{"POST", "/api/scripts/" + ref + "/rollback", `{"version": 1}`},
			{"POST", "/api/scripts/" + ref + "/invoke", `{}`},
			{"GET", "/api/scripts/" + ref + "/logs", ""},
			{"GET", "/api/scripts/" + ref + "/schedules", ""},
		} {
			code, body := h.do(c.method, c.path, c.body)
			if code != 200 {
				t.Errorf("%s %s: %d %s", c.method, c.path, code, body)
			}
		}
	}
	// The invocation ran the script the name resolved to.
	_, body := h.do("POST", "/api/scripts/hello/invoke", `{}`)
	if !json.Valid([]byte(body)) {
		t.Fatalf("invoke: %s", body)
	}
	for _, ref := range []string{"nope", uuid.NewString()} {
		if code, body := h.do("GET", "/api/scripts/"+ref+"/logs", ""); code != 404 || parseError(t, body).Error.Code != "not_found" {
			t.Errorf("unknown %s: %d %s", ref, code, body)
		}
	}

	name := "0190a3c4-1b2c-7d3e-8f40-123456789abc"
	code, body := h.do("POST", "/api/scripts", `{"name":"`+name+`","source":"1"}`)
	if eb := parseError(t, body); code != 400 || eb.Error.Code != "invalid_request" || eb.Error.Field != "name" {
		t.Errorf("create with a UUID name: %d %s", code, body)
	}
	code, body = h.do("PUT", "/api/scripts/hello", `{"name":"`+name+`"}`)
	if eb := parseError(t, body); code != 400 || eb.Error.Code != "invalid_request" || eb.Error.Field != "name" {
		t.Errorf("rename to a UUID name: %d %s", code, body)
	}
	// Renamed, the script answers to its new name and no longer the old.
	if code, body := h.do("PUT", "/api/scripts/hello", `{"name":"world"}`); code != 200 {
		t.Fatalf("rename: %d %s", code, body)
	}
	if code, _ := h.do("GET", "/api/scripts/world", ""); code != 200 {
		t.Errorf("GET by the new name: %d", code)
	}
	if code, _ := h.do("GET", "/api/scripts/hello", ""); code != 404 {
		t.Errorf("GET by the old name: %d", code)
	}
	// Deleting by name deletes that script.
	if code, body := h.do("DELETE", "/api/scripts/world", ""); code != 204 {
		t.Fatalf("delete by name: %d %s", code, body)
	}
	if code, _ := h.do("GET", "/api/scripts/"+sc.ID, ""); code != 404 {
		t.Errorf("GET after delete by name: %d", code)
	}
}

// TestLogFilters: the log route's query parameters reach the store's query,
// and invalid ones are invalid_request naming the parameter.
func TestLogFilters(t *testing.T) {
	h := newHarness(t, manager.Config{})
	a := h.create("alpha", "1")
	b := h.create("beta", "1")
	now := time.Now().UTC().Truncate(time.Millisecond)
	mk := func(script string, ago time.Duration, st picloud.ExecutionStatus, trig picloud.Trigger, msg string) *picloud.ExecutionLog {
		id, _ := uuid.NewV7()
		return &picloud.ExecutionLog{ID: id.String(), ScriptID: script, ScriptVersion: 1, Trigger: trig, Status: st,
			StartedAt: picloud.Time{Time: now.Add(-ago)}, Logs: []picloud.LogLine{{Level: "info", Message: msg}}}
	}
	rows := []*picloud.ExecutionLog{
		mk(a.ID, 3*time.Hour, picloud.StatusSuccess, picloud.TriggerHTTP, "old news"),
		mk(a.ID, 20*time.Minute, picloud.StatusError, picloud.TriggerCron, "Disk FULL"),
		mk(a.ID, 5*time.Minute, picloud.StatusTimeout, picloud.TriggerHTTP, "slow"),
		mk(b.ID, time.Minute, picloud.StatusError, picloud.TriggerAsync, "disk full too"),
	}
	if err := h.store.InsertExecutions(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	list := func(path string) []string {
		t.Helper()
		code, body := h.do("GET", path, "")
		var out picloud.ExecutionList
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		ids := []string{}
		for _, l := range out.Items {
			ids = append(ids, l.ID)
		}
		return ids
	}
	ids := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, rows[i].ID)
		}
		return out
	}
	since := url.QueryEscape(now.Add(-30 * time.Minute).Format(time.RFC3339Nano))
	until := url.QueryEscape(rows[2].StartedAt.Format(time.RFC3339Nano))
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/api/scripts/alpha/logs", ids(2, 1, 0)},
		{"/api/scripts/alpha/logs?status=error,timeout", ids(2, 1)},
		{"/api/scripts/alpha/logs?status=error&status=timeout", ids(2, 1)},
		{"/api/scripts/alpha/logs?trigger=cron", ids(1)},
		{"/api/scripts/alpha/logs?since=1h", ids(2, 1)},
		{"/api/scripts/alpha/logs?since=" + since + "&until=" + until, ids(1)},
		{"/api/scripts/alpha/logs?q=disk", ids(1)},
		{"/api/scripts/alpha/logs?limit=1&offset=1", ids(1)},
		{"/api/logs?q=DISK", ids(3, 1)},
		{"/api/logs?status=error&script=beta", ids(3)},
		{"/api/logs?script=" + a.ID + "&trigger=http,cron&since=30m", ids(2, 1)},
		{"/api/logs", ids(3, 2, 1, 0)},
	} {
		if got := list(c.path); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GET %s = %v, want %v", c.path, got, c.want)
		}
	}
	for _, c := range []struct{ query, field string }{
		{"status=bogus", "status"},
		{"trigger=http,nope", "trigger"},
		{"since=yesterday", "since"},
		{"until=-5m", "until"},
		{"limit=0", "limit"},
		{"offset=-1", "offset"},
	} {
		for _, path := range []string{"/api/scripts/alpha/logs?", "/api/logs?"} {
			code, body := h.do("GET", path+c.query, "")
			if eb := parseError(t, body); code != http.StatusBadRequest || eb.Error.Code != "invalid_request" || eb.Error.Field != c.field {
				t.Errorf("GET %s%s: %d %s", path, c.query, code, body)
			}
		}
	}
	if code, body := h.do("GET", "/api/logs?script=nope", ""); code != 404 {
		t.Errorf("unknown script=: %d %s", code, body)
	}
}
