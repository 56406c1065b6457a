// Package storetest is the conformance suite every picloud.Store passes: the
// SQLite store always, the PostgreSQL store when a database is available.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
)

// Run runs the suite. newStore returns an empty, migrated store; the suite
// closes nothing (newStore registers its own cleanup).
func Run(t *testing.T, newStore func(t *testing.T) picloud.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, picloud.Store)
	}{
		{"ScriptCRUD", testScriptCRUD},
		{"ScriptSettings", testScriptSettings},
		{"NameTaken", testNameTaken},
		{"Versions", testVersions},
		{"NotFound", testNotFound},
		{"AdminToken", testAdminToken},
		{"Sessions", testSessions},
		{"KV", testKV},
		{"Secrets", testSecrets},
		{"HTTP", testHTTP},
		{"Executions", testExecutions},
		{"ExecutionBatches", testExecutionBatches},
		{"ExecutionStats", testExecutionStats},
		{"Prune", testPrune},
		{"DeleteCascades", testDeleteCascades},
		{"Schedules", testSchedules},
		{"ScheduleCascade", testScheduleCascade},
		{"AdvanceSchedule", testAdvanceSchedule},
		{"TriggerSettings", testTriggerSettings},
		{"SubscribedScripts", testSubscribedScripts},
		{"QueryExecutions", testQueryExecutions},
		{"QueryFilters", testQueryFilters},
		{"UUIDNames", testUUIDNames},
		{"Nodes", testNodes},
		{"ExecutionNode", testExecutionNode},
		{"Drafts", testDrafts},
		{"DraftPromoteRace", testDraftPromoteRace},
		{"Stats", testStats},
		{"ScriptStats", testScriptStats},
		{"APITokens", testAPITokens},
		{"InvokeKeys", testInvokeKeys},
		{"Audit", testAudit},
		{"ScriptAccess", testScriptAccess},
		{"ConfinedScripts", testConfinedScripts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
	t.Run("ExportImport", func(t *testing.T) { testExportImport(t, newStore) })
}

func mustCreate(t *testing.T, s picloud.Store, name, source string) *picloud.Script {
	t.Helper()
	sc := &picloud.Script{Name: name, Source: source, TimeoutMS: 100, MaxOperations: 1000, MaxConcurrency: 2}
	if err := s.CreateScript(context.Background(), sc); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return sc
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := picloud.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func ptr[T any](v T) *T { return &v }

func testScriptCRUD(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "hello", "1 + 1")
	if sc.ID == "" || sc.Version != 1 || sc.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", sc)
	}
	got, err := s.Script(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "hello" || got.Source != "1 + 1" || got.TimeoutMS != 100 || got.MaxOperations != 1000 ||
		got.MaxConcurrency != 2 || !got.CreatedAt.Equal(sc.CreatedAt.Time) {
		t.Fatalf("got %+v, want %+v", got, sc)
	}
	if byName, err := s.ScriptByName(ctx, "hello"); err != nil || byName.ID != sc.ID {
		t.Fatalf("by name = %+v, %v", byName, err)
	}
	mustCreate(t, s, "another", "2")
	list, err := s.ListScripts(ctx, picloud.ScriptFilter{})
	if err != nil || len(list) != 2 || list[0].Name != "another" || list[1].Name != "hello" {
		t.Fatalf("list = %v, %v", list, err)
	}
	list, err = s.ListScripts(ctx, picloud.ScriptFilter{Name: "hello"})
	if err != nil || len(list) != 1 || list[0].ID != sc.ID {
		t.Fatalf("list by name = %v, %v", list, err)
	}

	// Limits only: no new version.
	up, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{TimeoutMS: ptr[int64](5)})
	if err != nil || up.Version != 1 || up.TimeoutMS != 5 || up.MaxOperations != 1000 {
		t.Fatalf("update limits = %+v, %v", up, err)
	}
	// Same source: no new version.
	up, err = s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: ptr("1 + 1")})
	if err != nil || up.Version != 1 {
		t.Fatalf("update same source = %+v, %v", up, err)
	}
	up, err = s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: ptr("40 + 2"), Name: ptr("hi")})
	if err != nil || up.Version != 2 || up.Name != "hi" || up.Source != "40 + 2" {
		t.Fatalf("update source = %+v, %v", up, err)
	}
	if up.UpdatedAt.Before(up.CreatedAt.Time) {
		t.Fatalf("updated_at %v before created_at %v", up.UpdatedAt, up.CreatedAt)
	}
	got, _ = s.Script(ctx, sc.ID)
	if got.Version != 2 || got.Name != "hi" || got.Source != "40 + 2" || got.TimeoutMS != 5 {
		t.Fatalf("after update = %+v", got)
	}
	if err := s.DeleteScript(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Script(ctx, sc.ID)
	wantCode(t, err, picloud.ENotFound)
	wantCode(t, s.DeleteScript(ctx, sc.ID), picloud.ENotFound)
}

func testNameTaken(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	mustCreate(t, s, "a", "1")
	b := mustCreate(t, s, "b", "1")
	wantCode(t, s.CreateScript(ctx, &picloud.Script{Name: "a", Source: "2"}), picloud.ENameTaken)
	_, err := s.UpdateScript(ctx, b.ID, picloud.ScriptUpdate{Name: ptr("a")})
	wantCode(t, err, picloud.ENameTaken)
	if got, _ := s.Script(ctx, b.ID); got.Name != "b" {
		t.Fatalf("failed rename changed the name to %q", got.Name)
	}
}

func testVersions(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "v", "1")
	for _, src := range []string{"2", "3"} {
		if _, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: ptr(src)}); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.Versions(ctx, sc.ID)
	if err != nil || len(vs) != 3 {
		t.Fatalf("versions = %v, %v", vs, err)
	}
	for i, want := range []string{"3", "2", "1"} {
		if vs[i].Source != want || vs[i].Version != 3-i || vs[i].ScriptID != sc.ID {
			t.Fatalf("version[%d] = %+v", i, vs[i])
		}
	}
	v, err := s.ScriptVersion(ctx, sc.ID, 2)
	if err != nil || v.Source != "2" {
		t.Fatalf("version 2 = %+v, %v", v, err)
	}
	_, err = s.ScriptVersion(ctx, sc.ID, 9)
	wantCode(t, err, picloud.ENotFound)
	// A forced version with the current source (a rollback to it).
	up, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: ptr("3"), NewVersion: true})
	if err != nil || up.Version != 4 {
		t.Fatalf("forced version = %+v, %v", up, err)
	}
}

func testNotFound(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	id := uuid.NewString()
	_, err := s.Script(ctx, id)
	wantCode(t, err, picloud.ENotFound)
	_, err = s.ScriptByName(ctx, "nope")
	wantCode(t, err, picloud.ENotFound)
	_, err = s.UpdateScript(ctx, id, picloud.ScriptUpdate{Source: ptr("1")})
	wantCode(t, err, picloud.ENotFound)
	_, err = s.Versions(ctx, id)
	wantCode(t, err, picloud.ENotFound)
	_, err = s.Execution(ctx, id)
	wantCode(t, err, picloud.ENotFound)
}

func testAdminToken(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	if h, err := s.AdminTokenHash(ctx); err != nil || h != "" {
		t.Fatalf("fresh hash = %q, %v", h, err)
	}
	for _, h := range []string{"one", "two"} {
		if err := s.SetAdminTokenHash(ctx, h); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AdminTokenHash(ctx); err != nil || got != h {
			t.Fatalf("hash = %q, %v; want %q", got, err, h)
		}
	}
}

// execLog makes a log for scriptID started at t.
func execLog(scriptID string, at time.Time, status picloud.ExecutionStatus) *picloud.ExecutionLog {
	id, _ := uuid.NewV7()
	return &picloud.ExecutionLog{
		ID: id.String(), ScriptID: scriptID, ScriptVersion: 1, Trigger: picloud.TriggerHTTP, Status: status,
		StartedAt: picloud.Time{Time: at}, DurationMS: 1.25, Operations: 42,
		Request: &picloud.RequestRecord{Method: "POST", Path: "/fn/x", Query: map[string]string{"a": "1"},
			Headers: map[string]string{"authorization": "[REDACTED]"}, Body: "hi\x00there", BodySize: 8},
		Response: &picloud.ResponseRecord{Status: 200, Headers: map[string]string{"content-type": "text/plain"}, Body: "ok"},
		Logs: []picloud.LogLine{{Level: "info", Message: "hello", Data: json.RawMessage(`{"k":[1,2]}`),
			Time: picloud.Time{Time: at}}},
	}
}

func testExecutions(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "x", "1")
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	var batch []*picloud.ExecutionLog
	for i := range 5 {
		l := execLog(sc.ID, base.Add(time.Duration(i)*time.Second), picloud.StatusSuccess)
		if i == 4 {
			l.Status = picloud.StatusError
			l.Error = &picloud.ExecError{Kind: "ErrorRuntime", Message: "boom", Line: 2, Column: 3}
			l.Response = nil
		}
		batch = append(batch, l)
	}
	if err := s.InsertExecutions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Inserting the same batch again is harmless (a retried write).
	if err := s.InsertExecutions(ctx, batch[:2]); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountExecutions(ctx, sc.ID); err != nil || n != 5 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if n, err := s.CountExecutions(ctx, ""); err != nil || n != 5 {
		t.Fatalf("count all = %d, %v", n, err)
	}
	list, err := s.ListExecutions(ctx, sc.ID, 2, 0)
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if list[0].ID != batch[4].ID || list[1].ID != batch[3].ID {
		t.Fatalf("not newest first: %s %s", list[0].ID, list[1].ID)
	}
	got := list[0]
	if got.Status != picloud.StatusError || got.Error == nil || *got.Error != *batch[4].Error || got.Response != nil {
		t.Fatalf("error row = %+v", got)
	}
	list, _ = s.ListExecutions(ctx, sc.ID, 10, 3)
	if len(list) != 2 || list[0].ID != batch[1].ID {
		t.Fatalf("offset 3 = %v", list)
	}
	one, err := s.Execution(ctx, batch[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	want := batch[0]
	if one.ScriptID != sc.ID || one.ScriptVersion != 1 || one.Trigger != picloud.TriggerHTTP || one.Operations != 42 ||
		one.DurationMS != 1.25 || !one.StartedAt.Equal(want.StartedAt.Time) {
		t.Fatalf("execution = %+v", one)
	}
	if fmt.Sprint(one.Request) != fmt.Sprint(want.Request) || fmt.Sprint(one.Response) != fmt.Sprint(want.Response) {
		t.Fatalf("request/response = %+v %+v", one.Request, one.Response)
	}
	if len(one.Logs) != 1 || one.Logs[0].Message != "hello" || string(one.Logs[0].Data) != `{"k":[1,2]}` ||
		!one.Logs[0].Time.Equal(want.StartedAt.Time) {
		t.Fatalf("logs = %+v", one.Logs)
	}
}

// A store may split a batch into several statements: every size must land
// whole, and a retried batch that overlaps one already written must not fail.
func testExecutionBatches(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "x", "1")
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	var all []*picloud.ExecutionLog
	total := 0
	for _, n := range []int{1, 2, 63, 64, 65, 129, 700} {
		batch := make([]*picloud.ExecutionLog, n)
		for i := range batch {
			batch[i] = execLog(sc.ID, base.Add(time.Duration(total+i)*time.Millisecond), picloud.StatusSuccess)
		}
		batch[n-1].Request, batch[n-1].Logs = nil, nil // NULL columns
		if err := s.InsertExecutions(ctx, batch); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
		total += n
		all = append(all, batch...)
		if got, err := s.CountExecutions(ctx, sc.ID); err != nil || got != int64(total) {
			t.Fatalf("after a batch of %d: count = %d, %v; want %d", n, got, err, total)
		}
	}
	if err := s.InsertExecutions(ctx, all[len(all)-100:]); err != nil {
		t.Fatal(err)
	}
	if got, err := s.CountExecutions(ctx, sc.ID); err != nil || got != int64(total) {
		t.Fatalf("after a retried batch: count = %d, %v; want %d", got, err, total)
	}
	last, err := s.Execution(ctx, all[len(all)-1].ID)
	if err != nil || last.Request != nil || len(last.Logs) != 0 || last.Response == nil {
		t.Fatalf("last row = %+v, %v", last, err)
	}
}

func testExecutionStats(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b, c := mustCreate(t, s, "a", "1"), mustCreate(t, s, "b", "1"), mustCreate(t, s, "c", "1")
	base := time.Now().UTC().Add(-time.Hour)
	var batch []*picloud.ExecutionLog
	for i := range 120 {
		st := picloud.StatusSuccess
		if i%4 == 0 { // i = 0, 4, ...: 25 of the newest 100 (i >= 20) fail
			st = picloud.StatusTimeout
		}
		batch = append(batch, execLog(a.ID, base.Add(time.Duration(i)*time.Millisecond), st))
	}
	batch = append(batch, execLog(b.ID, base, picloud.StatusError))
	if err := s.InsertExecutions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	stats, err := s.ExecutionStats(ctx, []string{a.ID, b.ID, c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if st := stats[a.ID]; st.Recent != 100 || st.RecentErrors != 25 || st.LastStatus != picloud.StatusSuccess ||
		!st.LastAt.Equal(batch[119].StartedAt.Truncate(time.Microsecond)) {
		t.Fatalf("stats a = %+v", st)
	}
	if st := stats[b.ID]; st.Recent != 1 || st.RecentErrors != 1 || st.LastStatus != picloud.StatusError {
		t.Fatalf("stats b = %+v", st)
	}
	if _, ok := stats[c.ID]; ok {
		t.Fatal("stats for a script without executions")
	}
}

func testPrune(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b := mustCreate(t, s, "a", "1"), mustCreate(t, s, "b", "1")
	now := time.Now().UTC()
	var batch []*picloud.ExecutionLog
	for i := range 10 { // a: 10 rows, one per hour back from now
		batch = append(batch, execLog(a.ID, now.Add(-time.Duration(i)*time.Hour), picloud.StatusSuccess))
	}
	for i := range 3 {
		batch = append(batch, execLog(b.ID, now.Add(-time.Duration(i)*time.Minute), picloud.StatusSuccess))
	}
	if err := s.InsertExecutions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Older than 5.5 hours: a's rows 6..9 go.
	n, err := s.PruneExecutions(ctx, now.Add(-5*time.Hour-30*time.Minute), 0)
	if err != nil || n != 4 {
		t.Fatalf("prune by age = %d, %v", n, err)
	}
	n, err = s.PruneExecutions(ctx, time.Time{}, 2)
	if err != nil || n != 5 { // a: 6 -> 2, b: 3 -> 2
		t.Fatalf("prune by count = %d, %v", n, err)
	}
	list, _ := s.ListExecutions(ctx, a.ID, 10, 0)
	if len(list) != 2 || list[0].ID != batch[0].ID || list[1].ID != batch[1].ID {
		t.Fatalf("kept = %v", list)
	}
}

func testDeleteCascades(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b := mustCreate(t, s, "a", "1"), mustCreate(t, s, "b", "1")
	s.UpdateScript(ctx, a.ID, picloud.ScriptUpdate{Source: ptr("2")})
	if err := s.InsertExecutions(ctx, []*picloud.ExecutionLog{
		execLog(a.ID, time.Now(), picloud.StatusSuccess), execLog(b.ID, time.Now(), picloud.StatusSuccess),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteScript(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountExecutions(ctx, ""); n != 1 {
		t.Fatalf("executions left = %d, want 1", n)
	}
	_, err := s.ScriptVersion(ctx, a.ID, 1)
	wantCode(t, err, picloud.ENotFound)
	// The name is free again.
	mustCreate(t, s, "a", "1")
}

// testScriptSettings: every setting round-trips at the edges of its valid
// range (picloud.ScriptUpdate.Validate), the same on every store.
func testScriptSettings(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := &picloud.Script{Name: "settings", Source: "1", MaxMemoryBytes: 1 << 20, MaxResponseBytes: 1 << 10, Unsandboxed: true}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	got, err := s.Script(ctx, sc.ID)
	if err != nil || got.MaxMemoryBytes != 1<<20 || got.MaxResponseBytes != 1<<10 || !got.Unsandboxed {
		t.Fatalf("created = %+v, %v", got, err)
	}
	u := picloud.ScriptUpdate{
		TimeoutMS: ptr(picloud.MaxTimeoutMS), MaxOperations: ptr(picloud.MaxOperationsLimit),
		MaxConcurrency: ptr(picloud.MaxConcurrencyLimit), MaxMemoryBytes: ptr(picloud.MaxMemoryBytesLimit),
		MaxResponseBytes: ptr(picloud.MaxResponseBytesLimit), Unsandboxed: ptr(false),
	}
	if err := u.Validate(); err != nil {
		t.Fatalf("the largest valid settings do not validate: %v", err)
	}
	up, err := s.UpdateScript(ctx, sc.ID, u)
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Script(ctx, sc.ID)
	if err != nil || !reflect.DeepEqual(got, up) || got.TimeoutMS != picloud.MaxTimeoutMS || got.MaxOperations != picloud.MaxOperationsLimit ||
		got.MaxConcurrency != picloud.MaxConcurrencyLimit || got.MaxMemoryBytes != picloud.MaxMemoryBytesLimit ||
		got.MaxResponseBytes != picloud.MaxResponseBytesLimit || got.Unsandboxed || got.Version != 1 {
		t.Fatalf("after update = %+v (update answered %+v), %v", got, up, err)
	}
}
