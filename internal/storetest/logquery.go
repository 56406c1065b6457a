package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// testUUIDNames: a name shaped like a script id is refused on create and on
// rename, since the API resolves a path segment that looks like a UUID as an
// id.
func testUUIDNames(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	for _, name := range []string{"0190a3c4-1b2c-7d3e-8f40-123456789abc", "00000000-0000-0000-0000-000000000000"} {
		wantCode(t, s.CreateScript(ctx, &picloud.Script{Name: name, Source: "1"}), picloud.EInvalidRequest)
	}
	sc := mustCreate(t, s, "ok-name", "1")
	_, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Name: ptr("0190a3c4-1b2c-7d3e-8f40-123456789abc")})
	wantCode(t, err, picloud.EInvalidRequest)
	if got, _ := s.Script(ctx, sc.ID); got.Name != "ok-name" {
		t.Fatalf("refused rename changed the name to %q", got.Name)
	}
	// Close to the shape but not it: fine.
	mustCreate(t, s, "0190a3c4-1b2c-7d3e-8f40-123456789ab", "1")
	mustCreate(t, s, "0190a3c4-1b2c-7d3e-8f40-123456789abg", "1")
}

// testQueryFilters: each filter of ExecutionQuery added for the log routes
// (statuses, triggers, time bounds, text), alone and combined.
func testQueryFilters(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, "alpha", "1")
	b := mustCreate(t, s, "beta", "1")
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	mk := func(i int, script string, st picloud.ExecutionStatus, trig picloud.Trigger, msg, errMsg string) *picloud.ExecutionLog {
		l := execLog(script, at(i), st)
		l.Trigger = trig
		l.Logs = []picloud.LogLine{{Level: "info", Message: msg, Time: picloud.Time{Time: at(i)}}}
		if msg == "" {
			l.Logs = nil
		}
		if errMsg != "" {
			l.Error = &picloud.ExecError{Kind: "ErrorRuntime", Message: errMsg, Line: 2, Column: 3}
		}
		return l
	}
	rows := []*picloud.ExecutionLog{
		mk(0, a.ID, picloud.StatusSuccess, picloud.TriggerHTTP, "Payment OK for order 7", ""),
		mk(1, a.ID, picloud.StatusError, picloud.TriggerHTTP, "charging", "Card DECLINED: 100% used"),
		mk(2, a.ID, picloud.StatusTimeout, picloud.TriggerCron, "", ""),
		mk(3, b.ID, picloud.StatusSuccess, picloud.TriggerAsync, "payment retried", ""),
		mk(4, b.ID, picloud.StatusBudgetExceeded, picloud.TriggerEvent, "loop_1 <&> \"quoted\"", ""),
		mk(5, b.ID, picloud.StatusError, picloud.TriggerTest, "Ünïcode ÉLAN", "boom"),
		mk(6, a.ID, picloud.StatusSuccess, picloud.TriggerHTTP, "level", ""),
	}
	if err := s.InsertExecutions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	ids := func(is ...int) []string { // newest first
		out := []string{}
		for j := len(is) - 1; j >= 0; j-- {
			out = append(out, rows[is[j]].ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    picloud.ExecutionQuery
		want []string
	}{
		{"no filter", picloud.ExecutionQuery{}, ids(0, 1, 2, 3, 4, 5, 6)},
		{"one status", picloud.ExecutionQuery{Statuses: []picloud.ExecutionStatus{picloud.StatusError}}, ids(1, 5)},
		{"statuses", picloud.ExecutionQuery{Statuses: []picloud.ExecutionStatus{picloud.StatusTimeout, picloud.StatusBudgetExceeded}}, ids(2, 4)},
		{"unknown status", picloud.ExecutionQuery{Statuses: []picloud.ExecutionStatus{"nope"}}, ids()},
		{"triggers", picloud.ExecutionQuery{Triggers: []picloud.Trigger{picloud.TriggerCron, picloud.TriggerEvent}}, ids(2, 4)},
		{"trigger and triggers", picloud.ExecutionQuery{Trigger: picloud.TriggerHTTP, Triggers: []picloud.Trigger{picloud.TriggerHTTP, picloud.TriggerCron}}, ids(0, 1, 6)},
		{"since is inclusive", picloud.ExecutionQuery{Since: at(5)}, ids(5, 6)},
		{"until is exclusive", picloud.ExecutionQuery{Until: at(2)}, ids(0, 1)},
		{"since and until", picloud.ExecutionQuery{Since: at(2), Until: at(4)}, ids(2, 3)},
		{"empty range", picloud.ExecutionQuery{Since: at(3), Until: at(3)}, ids()},
		{"text in a log message, any case", picloud.ExecutionQuery{Text: "PAYMENT"}, ids(0, 3)},
		{"text in the error message", picloud.ExecutionQuery{Text: "declined"}, ids(1)},
		{"text with % is literal", picloud.ExecutionQuery{Text: "100%"}, ids(1)},
		{"text with _ is literal", picloud.ExecutionQuery{Text: "p_1"}, ids(4)},
		{"text _ does not match any character", picloud.ExecutionQuery{Text: "o_d"}, ids()},
		{"text with JSON-escaped characters", picloud.ExecutionQuery{Text: `<&> "QUOTED"`}, ids(4)},
		{"text, non-ASCII, any case", picloud.ExecutionQuery{Text: "üNÏCODE élan"}, ids(5)},
		{"text is not matched in JSON keys", picloud.ExecutionQuery{Text: "message"}, ids()},
		{"text is not matched in the error's kind", picloud.ExecutionQuery{Text: "ErrorRuntime"}, ids()},
		{"text, limit", picloud.ExecutionQuery{Text: "e", Limit: 2}, ids(5, 6)},
		{"text, offset", picloud.ExecutionQuery{Text: "e", Limit: 2, Offset: 2}, ids(3, 4)},
		{"text, offset past the end", picloud.ExecutionQuery{Text: "payment", Offset: 2}, ids()},
		{"script and status", picloud.ExecutionQuery{ScriptID: a.ID, Statuses: []picloud.ExecutionStatus{picloud.StatusSuccess}}, ids(0, 6)},
		{"everything combined", picloud.ExecutionQuery{ScriptID: b.ID, Statuses: []picloud.ExecutionStatus{picloud.StatusSuccess, picloud.StatusError},
			Triggers: []picloud.Trigger{picloud.TriggerAsync, picloud.TriggerTest}, Since: at(3), Until: at(6), Text: "PAY"}, ids(3)},
		{"combined, limit and offset", picloud.ExecutionQuery{ScriptID: a.ID, Since: at(0), Until: at(7), Limit: 2, Offset: 1}, ids(1, 2)},
	} {
		list, err := s.QueryExecutions(ctx, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := []string{}
		for _, l := range list {
			got = append(got, l.ID)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v = %v, want %v", c.name, c.q, got, c.want)
		}
	}
}
