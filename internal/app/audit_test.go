package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/manager"
)

// auditPage is GET /api/audit's answer.
type auditPage struct {
	Items []*picloud.AuditEvent `json:"items"`
	Next  string                `json:"next"`
}

// auditAll reads the whole trail the query selects, following next, and
// checks that the pages join up: newest first, no event twice.
func (e *env) auditAll(query string) []*picloud.AuditEvent {
	e.t.Helper()
	var all []*picloud.AuditEvent
	before := ""
	for range 100 {
		var p auditPage
		e.do("GET", "/api/audit?"+query+"&before="+before, nil, 200, &p)
		all = append(all, p.Items...)
		if p.Next == "" {
			break
		}
		before = p.Next
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID || all[i].At.After(all[i-1].At.Time) {
			e.t.Fatalf("audit events out of order at %d: %+v after %+v", i, all[i], all[i-1])
		}
	}
	return all
}

// byAction groups events by action.
func byAction(list []*picloud.AuditEvent) map[string][]*picloud.AuditEvent {
	m := map[string][]*picloud.AuditEvent{}
	for _, ev := range list {
		m[ev.Action] = append(m[ev.Action], ev)
	}
	return m
}

func detailOf(t *testing.T, ev *picloud.AuditEvent) map[string]any {
	t.Helper()
	var d map[string]any
	if len(ev.Detail) > 0 {
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatalf("%s: detail %s: %v", ev.Action, ev.Detail, err)
		}
	}
	return d
}

// TestAuditTrail performs every administrative action of the route table
// (each route with an Audit action) over real HTTP and checks that each
// left its entry in GET /api/audit, with the actor, address, target and
// detail, that failed requests and reads leave none, that secret values and
// tokens never reach the trail, and the filters and pagination; on both
// stores.
func TestAuditTrail(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := newEnv(t, store, app.Config{SecretBox: testBox(t), Jobs: jobsConfig()})
		ctx := context.Background()

		// Scripts and drafts.
		id := e.create("audited", `"v1"`)
		e.do("PATCH", "/api/scripts/audited", map[string]any{"timeout_ms": 2000, "source": `"v2"`}, 200, nil)
		e.do("PATCH", "/api/scripts/audited", map[string]any{"timeout_ms": -5}, 400, nil) // refused: no entry
		e.do("PATCH", "/api/scripts/"+id, map[string]any{"enabled": false}, 200, nil)
		e.do("PATCH", "/api/scripts/"+id, map[string]any{"enabled": true}, 200, nil)
		e.do("POST", "/api/scripts/audited/rollback", map[string]any{"version": 1}, 200, nil)
		e.do("PUT", "/api/scripts/audited/draft", map[string]any{"source": `"d1"`}, 200, nil)
		e.do("DELETE", "/api/scripts/audited/draft", nil, 204, nil)
		e.do("PUT", "/api/scripts/audited/draft", map[string]any{"source": `"d2"`}, 200, nil)
		e.do("POST", "/api/scripts/audited/draft/promote", nil, 200, nil)
		e.do("GET", "/api/scripts/audited", nil, 200, nil) // a read: no entry

		// kv and secrets: names, never values.
		e.do("PUT", "/api/scripts/audited/kv/greeting", map[string]any{"value": "kv-value-do-not-log"}, 200, nil)
		e.do("DELETE", "/api/scripts/audited/kv/greeting", nil, 204, nil)
		e.do("DELETE", "/api/scripts/audited/kv/greeting", nil, 404, nil)
		e.do("PUT", "/api/scripts/audited/secrets/API_KEY", map[string]any{"value": "secret-value-do-not-log"}, 204, nil)
		e.do("PUT", "/api/secrets/SHARED", map[string]any{"value": "global-secret-do-not-log"}, 204, nil)
		e.do("DELETE", "/api/scripts/audited/secrets/API_KEY", nil, 204, nil)
		e.do("DELETE", "/api/secrets/SHARED", nil, 204, nil)

		// Schedules.
		var sch picloud.Schedule
		e.do("POST", "/api/scripts/audited/schedules", map[string]any{"cron": "0 3 * * *"}, 201, &sch)
		e.do("PATCH", "/api/schedules/"+sch.ID, map[string]any{"timezone": "Europe/Paris"}, 200, nil)
		e.do("POST", "/api/schedules/"+sch.ID+"/pause", nil, 200, nil)
		e.do("POST", "/api/schedules/"+sch.ID+"/resume", nil, 200, nil)
		e.do("POST", "/api/schedules/"+sch.ID+"/run", nil, 202, nil)
		e.do("DELETE", "/api/schedules/"+sch.ID, nil, 204, nil)

		// Dead letters: one requeued (it dies again), then discarded.
		flaky := e.create("flaky", `throw "boom";`, "max_attempts", 1)
		var acc picloud.JobAccepted
		e.do("POST", "/api/scripts/"+flaky+"/async", nil, 202, &acc)
		e.job(acc.JobID, picloud.JobDead)
		e.do("POST", "/api/dead-letters/"+acc.JobID+"/requeue", nil, 200, nil)
		e.job(acc.JobID, picloud.JobDead)
		e.do("DELETE", "/api/dead-letters/"+acc.JobID, nil, 204, nil)
		e.do("DELETE", "/api/scripts/flaky", nil, 204, nil)

		// A cluster node, forgotten.
		if err := store.SaveNode(ctx, &picloud.Node{Name: "gone-1", Address: "http://10.0.0.9:8001"}); err != nil {
			t.Fatal(err)
		}
		e.do("DELETE", "/api/nodes/gone-1", nil, 204, nil)

		// Tokens and invoke keys; a write with the named token, a sign-in
		// with it, and wrong sign-ins from one address (one recorded).
		var tok manager.TokenSecret
		e.do("POST", "/api/tokens", map[string]any{"name": "ci", "scopes": []string{"deploy"}}, 201, &tok)
		e.do("POST", "/api/tokens/"+tok.ID+"/rotate", nil, 200, &tok)
		var key struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		e.do("POST", "/api/scripts/audited/keys", map[string]any{"name": "partner"}, 201, &key)
		e.do("DELETE", "/api/scripts/audited/keys/"+key.ID, nil, 204, nil)
		resp, b := e.request("PUT", "/api/scripts/audited/kv/by-ci", []byte(`{"value": 1}`), "Authorization", "Bearer "+tok.Token)
		if resp.StatusCode != 200 {
			t.Fatalf("kv put with the ci token: %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("GET", "/api/audit", nil, "Authorization", "Bearer "+tok.Token); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET /api/audit with a deploy token: %d %s, want 403", resp.StatusCode, b)
		}
		if resp, b := e.request("POST", "/api/session", []byte(`{"token": "`+tok.Token+`"}`)); resp.StatusCode != 200 {
			t.Fatalf("sign-in with the ci token: %d %s", resp.StatusCode, b)
		}
		for range 3 {
			if resp, b := e.request("POST", "/api/session", []byte(`{"token": "pct_wrong-wrong-wrong-wrong-wrong"}`)); resp.StatusCode != 401 {
				t.Fatalf("wrong sign-in: %d %s", resp.StatusCode, b)
			}
		}
		e.do("DELETE", "/api/tokens/"+tok.ID, nil, 204, nil)
		e.do("DELETE", "/api/scripts/audited", nil, 204, nil)

		all := e.auditAll("limit=7")
		acts := byAction(all)

		// Every audited route of the table left an entry.
		for _, r := range e.app.Routes() {
			if r.Audit != "" && len(acts[r.Audit]) == 0 {
				t.Errorf("%s: no %s event in the trail", r, r.Audit)
			}
		}
		raw, _ := json.Marshal(all)
		for _, s := range []string{"secret-value-do-not-log", "global-secret-do-not-log", "kv-value-do-not-log", tok.Token, key.Key, "pct_wrong"} {
			if strings.Contains(string(raw), s) {
				t.Errorf("the trail contains %q", s)
			}
		}

		// Counts: refused requests and reads left nothing.
		for action, want := range map[string]int{"script.create": 2, "script.update": 3, "script.delete": 2, "kv.put": 2, "kv.delete": 1,
			"secret.set": 2, "secret.delete": 2, "session.create": 1, "session.failed": 1, "draft.save": 2} {
			if got := len(acts[action]); got != want {
				t.Errorf("%s: %d events, want %d", action, got, want)
			}
		}

		// The first update: actor, address, target, changed settings and
		// the versions.
		upd := acts["script.update"][len(acts["script.update"])-1]
		if upd.Actor != "admin" || upd.Via != "bearer" || upd.IP != "127.0.0.1" || upd.Target != "audited" || upd.TargetID != id {
			t.Errorf("script.update: %+v", upd)
		}
		d := detailOf(t, upd)
		before, _ := d["before"].(map[string]any)
		after, _ := d["after"].(map[string]any)
		if len(before) != 1 || before["timeout_ms"] != 0.0 || after["timeout_ms"] != 2000.0 || d["version"] != 2.0 || d["from_version"] != 1.0 {
			t.Errorf("script.update detail: %s", upd.Detail)
		}
		if d := detailOf(t, acts["script.update"][1]); d["after"].(map[string]any)["enabled"] != false || d["version"] != nil {
			t.Errorf("disabling: %s", acts["script.update"][1].Detail)
		}
		if d := detailOf(t, acts["script.rollback"][0]); d["version"] != 3.0 || d["from_version"] != 2.0 || d["source_of"] != 1.0 {
			t.Errorf("script.rollback detail: %s", acts["script.rollback"][0].Detail)
		}
		if d := detailOf(t, acts["draft.promote"][0]); d["version"] != 4.0 || d["from_version"] != 3.0 {
			t.Errorf("draft.promote detail: %s", acts["draft.promote"][0].Detail)
		}
		for _, ev := range acts["secret.set"] {
			d := detailOf(t, ev)
			switch ev.Target {
			case "API_KEY":
				if d["script"] != "audited" {
					t.Errorf("script secret: %+v %s", ev, ev.Detail)
				}
			case "SHARED":
				if d["script"] != nil {
					t.Errorf("global secret: %+v %s", ev, ev.Detail)
				}
			default:
				t.Errorf("secret.set target %q", ev.Target)
			}
		}
		if ev := acts["kv.delete"][0]; ev.Target != "audited" || detailOf(t, ev)["key"] != "greeting" {
			t.Errorf("kv.delete: %+v %s", ev, ev.Detail)
		}
		if ev := acts["schedule.update"][0]; ev.Target != sch.ID || detailOf(t, ev)["after"].(map[string]any)["timezone"] != "Europe/Paris" {
			t.Errorf("schedule.update: %+v %s", ev, ev.Detail)
		}
		if ev := acts["node.forget"][0]; ev.Target != "gone-1" {
			t.Errorf("node.forget: %+v", ev)
		}
		if ev := acts["dead_letter.discard"][0]; ev.Target != acc.JobID {
			t.Errorf("dead_letter.discard: %+v", ev)
		}
		if ev := acts["token.create"][0]; ev.Target != "ci" || ev.TargetID != tok.ID || !strings.Contains(string(ev.Detail), `"deploy"`) {
			t.Errorf("token.create: %+v %s", ev, ev.Detail)
		}
		if ev := acts["kv.put"][0]; ev.Actor != "ci" || ev.TokenID != tok.ID || ev.Via != "bearer" {
			t.Errorf("kv.put with the ci token: %+v", ev)
		}
		if ev := acts["session.create"][0]; ev.Actor != "ci" || ev.TokenID != tok.ID || ev.Target != "ci" {
			t.Errorf("session.create: %+v", ev)
		}
		if ev := acts["session.failed"][0]; ev.Actor != "" || ev.TokenID != "" || ev.IP != "127.0.0.1" {
			t.Errorf("session.failed: %+v", ev)
		}

		// Filters.
		for _, c := range []struct {
			query string
			want  func(*picloud.AuditEvent) bool
			n     int
		}{
			{"action=schedule.", func(ev *picloud.AuditEvent) bool { return strings.HasPrefix(ev.Action, "schedule.") }, 6},
			{"action=schedule.run", func(ev *picloud.AuditEvent) bool { return ev.Action == "schedule.run" }, 1},
			{"actor=ci", func(ev *picloud.AuditEvent) bool { return ev.Actor == "ci" }, 2},
			{"target=API_KEY", func(ev *picloud.AuditEvent) bool { return ev.Target == "API_KEY" }, 2},
			{"action=script.&actor=admin&limit=2", func(ev *picloud.AuditEvent) bool {
				return strings.HasPrefix(ev.Action, "script.") && ev.Actor == "admin"
			}, 8},
			{"until=" + all[len(all)-1].At.Add(-time.Millisecond).UTC().Format(time.RFC3339Nano), nil, 0},
			{"since=1h", nil, len(all)},
		} {
			got := e.auditAll(c.query)
			if len(got) != c.n {
				t.Errorf("%s: %d events, want %d", c.query, len(got), c.n)
			}
			for _, ev := range got {
				if c.want != nil && !c.want(ev) {
					t.Errorf("%s: %+v", c.query, ev)
				}
			}
		}
		var p auditPage
		e.do("GET", "/api/audit?limit=3", nil, 200, &p)
		if len(p.Items) != 3 || p.Next != p.Items[2].ID || p.Items[0].ID != all[0].ID {
			t.Errorf("first page of 3: next %q, %d items", p.Next, len(p.Items))
		}
		for _, c := range []struct{ query, field string }{{"limit=0", "limit"}, {"limit=x", "limit"}, {"since=yesterday", "since"}, {"before=nope", "before"}} {
			code, out := e.admin("GET", "/api/audit?"+c.query, nil)
			if code != 400 || errBody(t, out)["field"] != c.field {
				t.Errorf("GET /api/audit?%s: %d %v", c.query, code, out)
			}
		}
		if resp, _ := e.request("GET", "/api/audit", nil); resp.StatusCode != 401 {
			t.Errorf("without a token: %d", resp.StatusCode)
		}
	})
}

// failingAudit is a store whose audit trail cannot be written.
type failingAudit struct{ picloud.Store }

func (failingAudit) RecordAudit(context.Context, *picloud.AuditEvent) error {
	return errors.New("audit table unavailable")
}

// TestAuditWriteFailure: a trail that cannot be written does not fail the
// action; the failure is counted.
func TestAuditWriteFailure(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, failingAudit{open(t)}, app.Config{})
		e.create("still-works", `1`)
		e.do("PATCH", "/api/scripts/still-works", map[string]any{"timeout_ms": 100}, 200, nil)
		resp, b := e.request("GET", "/metrics", nil, "Authorization", "Bearer "+testToken)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "picloud_audit_write_failures_total 2") {
			t.Errorf("metrics: %d, want picloud_audit_write_failures_total 2 in\n%s", resp.StatusCode, grepLines(string(b), "audit"))
		}
	})
}

// TestAuditRetention: a retention pass deletes the events older than
// AuditRetention and keeps the rest; a negative retention keeps them all.
func TestAuditRetention(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		ctx := context.Background()
		now := time.Now().UTC()
		for _, age := range []time.Duration{100 * 24 * time.Hour, 91 * 24 * time.Hour, 89 * 24 * time.Hour, time.Minute} {
			if err := store.RecordAudit(ctx, &picloud.AuditEvent{At: picloud.Time{Time: now.Add(-age)}, Actor: "admin",
				Action: "script.update", Target: age.String()}); err != nil {
				t.Fatal(err)
			}
		}
		keep, err := app.New(app.Config{AuditRetention: -1}, store)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keep.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if list, _ := store.AuditEvents(ctx, picloud.AuditQuery{}); len(list) != 4 {
			t.Fatalf("with retention off: %d events, want 4", len(list))
		}
		a, err := app.New(app.Config{}, store)
		if err != nil {
			t.Fatal(err)
		}
		if a.Config().AuditRetention != app.DefaultAuditRetention {
			t.Errorf("default audit retention %v", a.Config().AuditRetention)
		}
		if _, err := a.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		list, err := store.AuditEvents(ctx, picloud.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var targets []string
		for _, ev := range list {
			targets = append(targets, ev.Target)
		}
		if want := []string{"1m0s", "2136h0m0s"}; !slices.Equal(targets, want) {
			t.Errorf("after a pass: %v, want %v", targets, want)
		}
	})
}

// TestAuditBehindProxy: behind a trusted proxy the trail records the
// address X-Forwarded-For names; failed sign-ins (a wrong token: 401; a
// token without the read scope: 403) are sampled per client address.
func TestAuditBehindProxy(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		proxies, err := httpapi.ParseTrustedProxies("127.0.0.0/8")
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, open(t), app.Config{TrustedProxies: proxies})
		resp, b := e.request("POST", "/api/scripts", []byte(`{"name": "proxied", "source": "1"}`),
			"Authorization", "Bearer "+testToken, "X-Forwarded-For", "203.0.113.9")
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
		var tok manager.TokenSecret
		e.do("POST", "/api/tokens", map[string]any{"name": "caller", "scopes": []string{"invoke:proxied"}}, 201, &tok)
		signIn := func(token, from string, want int) {
			t.Helper()
			if resp, b := e.request("POST", "/api/session", []byte(`{"token": "`+token+`"}`), "X-Forwarded-For", from); resp.StatusCode != want {
				t.Fatalf("sign-in from %s: %d %s, want %d", from, resp.StatusCode, b, want)
			}
		}
		signIn(tok.Token, "203.0.113.7", 403)
		signIn(tok.Token, "203.0.113.7", 403)
		signIn("pct_not-a-token-not-a-token-not", "198.51.100.1", 401)
		signIn("pct_not-a-token-not-a-token-not", "198.51.100.1", 401)
		signIn("pct_not-a-token-not-a-token-not", "198.51.100.2", 401)

		acts := byAction(e.auditAll("limit=100"))
		if ev := acts["script.create"]; len(ev) != 1 || ev[0].IP != "203.0.113.9" {
			t.Errorf("script.create behind the proxy: %+v", ev)
		}
		var ips []string
		for _, ev := range acts["session.failed"] {
			ips = append(ips, ev.IP)
		}
		slices.Sort(ips)
		if want := []string{"198.51.100.1", "198.51.100.2", "203.0.113.7"}; !slices.Equal(ips, want) {
			t.Errorf("failed sign-ins recorded from %v, want one from each of %v", ips, want)
		}
		if len(acts["session.create"]) != 0 {
			t.Errorf("session.create without a sign-in: %+v", acts["session.create"])
		}
	})
}

// TestAuditOnClusterManager: a cluster's manager keeps the same trail.
func TestAuditOnClusterManager(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		store := open(t)
		e := startManager(t, store, "")
		e.create("on-manager", `1`)
		if err := store.SaveNode(context.Background(), &picloud.Node{Name: "old-node", Address: "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		e.do("DELETE", "/api/nodes/old-node", nil, 204, nil)
		all := e.auditAll("limit=10")
		if len(all) != 2 || all[0].Action != "node.forget" || all[0].Target != "old-node" ||
			all[1].Action != "script.create" || all[1].Target != "on-manager" || all[1].Actor != "admin" {
			for _, ev := range all {
				t.Logf("%+v", ev)
			}
			t.Errorf("the manager's trail: %d events", len(all))
		}
	})
}

// TestAuditViaSession: a write through a dashboard session opened with a
// named token is recorded with that token and via session.
func TestAuditViaSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(*testing.T) picloud.Store) {
		e := newEnv(t, open(t), app.Config{})
		var tok manager.TokenSecret
		e.do("POST", "/api/tokens", map[string]any{"name": "editor", "scopes": []string{"deploy"}}, 201, &tok)
		resp, b := e.request("POST", "/api/session", []byte(`{"token": "`+tok.Token+`"}`))
		if resp.StatusCode != 200 || len(resp.Cookies()) == 0 {
			t.Fatalf("sign-in: %d %s", resp.StatusCode, b)
		}
		cookie := resp.Cookies()[0]
		resp, b = e.request("POST", "/api/scripts", []byte(`{"name": "from-dashboard", "source": "1"}`),
			"Cookie", cookie.Name+"="+cookie.Value, "X-PiCloud-CSRF", "1")
		if resp.StatusCode != 201 {
			t.Fatalf("create through the session: %d %s", resp.StatusCode, b)
		}
		acts := byAction(e.auditAll("limit=10"))
		if ev := acts["script.create"]; len(ev) != 1 || ev[0].Actor != "editor" || ev[0].TokenID != tok.ID || ev[0].Via != "session" {
			t.Errorf("script.create through the session: %+v", ev)
		}
		if ev := acts["session.create"]; len(ev) != 1 || ev[0].Actor != "editor" {
			t.Errorf("session.create: %+v", ev)
		}
	})
}
