package storetest

import (
	"context"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
)

// The Step 9 cases (schedules, the job fields of executions, the script
// settings behind events), run by Run with the others.

// testSchedules covers picloud.ScheduleStore's CRUD: create (ENotFound for
// an unknown script), read back exactly (a body with NUL bytes and non-ASCII
// text too), list per script and for all, oldest first, partial update,
// delete, and not_found everywhere an id is unknown.
func testSchedules(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b := mustCreate(t, s, "alpha", "1"), mustCreate(t, s, "beta", "1")
	unknown := uuid.NewString()
	wantCode(t, s.CreateSchedule(ctx, &picloud.Schedule{ScriptID: unknown, Cron: "* * * * *", Enabled: true}), picloud.ENotFound)

	first := &picloud.Schedule{ScriptID: a.ID, Cron: "*/5 * * * *", Timezone: "Europe/Paris",
		Body: "{\"k\":\"v\x00é\u2028\"}", Enabled: true}
	if err := s.CreateSchedule(ctx, first); err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.CreatedAt.IsZero() || !first.UpdatedAt.Equal(first.CreatedAt.Time) || !first.LastScheduledAt.IsZero() {
		t.Fatalf("created = %+v", first)
	}
	got, err := s.Schedule(ctx, first.ID)
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("read back = %+v, %v; want %+v", got, err, first)
	}
	second := &picloud.Schedule{ScriptID: b.ID, Cron: "@hourly"} // disabled, empty body and time zone
	third := &picloud.Schedule{ScriptID: a.ID, Cron: "*/2 * * * * *", Enabled: true}
	for _, sc := range []*picloud.Schedule{second, third} {
		if err := s.CreateSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Schedule(ctx, second.ID); err != nil || got.Enabled || got.Body != "" || got.Timezone != "" {
		t.Fatalf("second = %+v, %v", got, err)
	}
	ids := func(list []*picloud.Schedule, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, sc := range list {
			out = append(out, sc.ID)
		}
		return out
	}
	if got, want := ids(s.ListSchedules(ctx, a.ID)), []string{first.ID, third.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("alpha's schedules = %v, want %v (oldest first)", got, want)
	}
	if got, want := ids(s.ListSchedules(ctx, "")), []string{first.ID, second.ID, third.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("all schedules = %v, want %v (oldest first)", got, want)
	}
	if got := ids(s.ListSchedules(ctx, unknown)); len(got) != 0 {
		t.Fatalf("schedules of an unknown script = %v", got)
	}

	// A partial update changes what it names and moves updated_at only.
	up, err := s.UpdateSchedule(ctx, first.ID, picloud.ScheduleUpdate{Enabled: ptr(false), Cron: ptr(" 0 9 * * 1-5 ")})
	if err != nil || up.Enabled || up.Cron != "0 9 * * 1-5" || up.Body != first.Body || up.Timezone != "Europe/Paris" ||
		up.ScriptID != a.ID || !up.CreatedAt.Equal(first.CreatedAt.Time) || up.UpdatedAt.Before(first.UpdatedAt.Time) {
		t.Fatalf("update = %+v, %v", up, err)
	}
	if got, err := s.Schedule(ctx, first.ID); err != nil || !reflect.DeepEqual(got, up) {
		t.Fatalf("after update = %+v, %v; the update answered %+v", got, err, up)
	}
	up, err = s.UpdateSchedule(ctx, first.ID, picloud.ScheduleUpdate{Body: ptr(""), Timezone: ptr("UTC"), Enabled: ptr(true)})
	if err != nil || !up.Enabled || up.Body != "" || up.Timezone != "UTC" || up.Cron != "0 9 * * 1-5" {
		t.Fatalf("second update = %+v, %v", up, err)
	}

	_, err = s.Schedule(ctx, unknown)
	wantCode(t, err, picloud.ENotFound)
	_, err = s.UpdateSchedule(ctx, unknown, picloud.ScheduleUpdate{Enabled: ptr(true)})
	wantCode(t, err, picloud.ENotFound)
	wantCode(t, s.DeleteSchedule(ctx, unknown), picloud.ENotFound)

	if err := s.DeleteSchedule(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Schedule(ctx, first.ID)
	wantCode(t, err, picloud.ENotFound)
	wantCode(t, s.DeleteSchedule(ctx, first.ID), picloud.ENotFound)
	if got, want := ids(s.ListSchedules(ctx, "")), []string{second.ID, third.ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after delete = %v, want %v", got, want)
	}
}

// testScheduleCascade: deleting a script deletes its schedules, and only
// its own.
func testScheduleCascade(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b := mustCreate(t, s, "alpha", "1"), mustCreate(t, s, "beta", "1")
	sa := &picloud.Schedule{ScriptID: a.ID, Cron: "* * * * *", Enabled: true}
	sb := &picloud.Schedule{ScriptID: b.ID, Cron: "* * * * *", Enabled: true}
	for _, sc := range []*picloud.Schedule{sa, sb} {
		if err := s.CreateSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteScript(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.Schedule(ctx, sa.ID)
	wantCode(t, err, picloud.ENotFound)
	list, err := s.ListSchedules(ctx, "")
	if err != nil || len(list) != 1 || list[0].ID != sb.ID {
		t.Fatalf("schedules left = %v, %v; want only %s", list, err, sb.ID)
	}
	// A script of the same name is a new script: it has no schedules.
	again := mustCreate(t, s, "alpha", "1")
	if list, err := s.ListSchedules(ctx, again.ID); err != nil || len(list) != 0 {
		t.Fatalf("the new alpha's schedules = %v, %v", list, err)
	}
}

// testAdvanceSchedule: AdvanceSchedule moves last_scheduled_at forward only,
// reports whether it did, is not_found for an unknown schedule, survives
// updates of the schedule, and of processes racing to plan one firing
// exactly one wins.
func testAdvanceSchedule(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, "alpha", "1")
	sc := &picloud.Schedule{ScriptID: a.ID, Cron: "* * * * * *", Enabled: true}
	if err := s.CreateSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	_, err := s.AdvanceSchedule(ctx, uuid.NewString(), time.Now())
	wantCode(t, err, picloud.ENotFound)

	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	advance := func(at time.Time, want bool) {
		t.Helper()
		ok, err := s.AdvanceSchedule(ctx, sc.ID, at)
		if err != nil || ok != want {
			t.Fatalf("advance to %v = %v, %v; want %v", at, ok, err, want)
		}
	}
	last := func() time.Time {
		t.Helper()
		got, err := s.Schedule(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastScheduledAt.Time
	}
	advance(t0, true) // unset: set
	if got := last(); !got.Equal(t0) {
		t.Fatalf("last_scheduled_at = %v, want %v", got, t0)
	}
	advance(t0, false)                      // the same firing: planned already
	advance(t0.Add(-time.Minute), false)    // an earlier one
	advance(t0.Add(time.Microsecond), true) // a later one, however close
	t1 := t0.Add(time.Minute).In(time.FixedZone("X", 3600))
	advance(t1, true)
	if got := last(); !got.Equal(t1) || got.Location() != time.UTC {
		t.Fatalf("last_scheduled_at = %v, want %v in UTC", got, t1)
	}
	// Editing the schedule keeps what was planned.
	if _, err := s.UpdateSchedule(ctx, sc.ID, picloud.ScheduleUpdate{Cron: ptr("*/10 * * * * *"), Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(t1) {
		t.Fatalf("after an update last_scheduled_at = %v, want %v", got, t1)
	}

	// Racing planners: for each firing, exactly one of them advances.
	const planners, firings = 8, 5
	for f := range firings {
		at := t1.Add(time.Duration(f+1) * time.Second)
		var wg sync.WaitGroup
		wins := make(chan bool, planners)
		start := make(chan struct{})
		for range planners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := s.AdvanceSchedule(ctx, sc.ID, at)
				if err != nil {
					t.Errorf("advance: %v", err)
				}
				wins <- ok
			}()
		}
		close(start)
		wg.Wait()
		close(wins)
		n := 0
		for ok := range wins {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("firing %d: %d planners advanced, want exactly 1", f, n)
		}
		if got := last(); !got.Equal(at) {
			t.Fatalf("firing %d: last_scheduled_at = %v, want %v", f, got, at)
		}
	}
}

// testTriggerSettings: disabled, max_attempts and subscriptions round-trip
// through create, update, read and list; a new script is enabled with none.
func testTriggerSettings(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	plain := mustCreate(t, s, "plain", "1")
	got, err := s.Script(ctx, plain.ID)
	if err != nil || got.Disabled || got.MaxAttempts != 0 || len(got.Subscriptions) != 0 {
		t.Fatalf("defaults = %+v, %v", got, err)
	}
	sc := &picloud.Script{Name: "settings", Source: "1", Disabled: true, MaxAttempts: 7,
		Subscriptions: []string{"order.created", "stock_low", "a-b"}}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	got, err = s.Script(ctx, sc.ID)
	if err != nil || !got.Disabled || got.MaxAttempts != 7 ||
		!reflect.DeepEqual(got.Subscriptions, []string{"order.created", "stock_low", "a-b"}) {
		t.Fatalf("created = %+v, %v", got, err)
	}
	u := picloud.ScriptUpdate{Enabled: ptr(true), MaxAttempts: ptr[int64](picloud.MaxMaxAttemptsLimit),
		Subscriptions: &[]string{" x.y ", "z", "x.y"}}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	up, err := s.UpdateScript(ctx, sc.ID, u)
	if err != nil || up.Disabled || up.MaxAttempts != picloud.MaxMaxAttemptsLimit ||
		!reflect.DeepEqual(up.Subscriptions, []string{"x.y", "z"}) || up.Version != 1 {
		t.Fatalf("update = %+v, %v", up, err)
	}
	got, err = s.Script(ctx, sc.ID)
	if err != nil || !reflect.DeepEqual(got, up) {
		t.Fatalf("after update = %+v, %v; the update answered %+v", got, err, up)
	}
	// An update that leaves the settings alone keeps them.
	if up, err = s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Source: ptr("2")}); err != nil ||
		up.MaxAttempts != picloud.MaxMaxAttemptsLimit || !reflect.DeepEqual(up.Subscriptions, []string{"x.y", "z"}) {
		t.Fatalf("source update = %+v, %v", up, err)
	}
	// No subscriptions read back the same way as a new script's.
	up, err = s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{Enabled: ptr(false), Subscriptions: &[]string{}})
	if err != nil || !up.Disabled || len(up.Subscriptions) != 0 {
		t.Fatalf("clear = %+v, %v", up, err)
	}
	got, _ = s.Script(ctx, sc.ID)
	plainGot, _ := s.Script(ctx, plain.ID)
	if !reflect.DeepEqual(got.Subscriptions, plainGot.Subscriptions) || !reflect.DeepEqual(got.Subscriptions, up.Subscriptions) {
		t.Fatalf("no subscriptions read back as %#v, a new script's as %#v, the update answered %#v",
			got.Subscriptions, plainGot.Subscriptions, up.Subscriptions)
	}
	list, err := s.ListScripts(ctx, picloud.ScriptFilter{Name: "settings"})
	if err != nil || len(list) != 1 || !list[0].Disabled || list[0].MaxAttempts != picloud.MaxMaxAttemptsLimit {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

// testSubscribedScripts: a topic matches a subscription exactly: not a
// prefix, a suffix or a LIKE pattern ('_' is one of its wildcards, '%' the
// other), in any position of the list; disabled scripts are left out.
func testSubscribedScripts(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	create := func(name string, disabled bool, subs ...string) {
		t.Helper()
		if err := s.CreateScript(ctx, &picloud.Script{Name: name, Source: "1", Disabled: disabled, Subscriptions: subs}); err != nil {
			t.Fatal(err)
		}
	}
	create("dot", false, "order.created")
	create("underscore", false, "order_created")
	create("dash", false, "order-created")
	create("middle", false, "a", "order.created", "b")
	create("last", false, "a", "order_created")
	create("longer", false, "order.created.v2", "x.order.created", "order.create")
	create("off", true, "order.created", "order_created")
	create("none", false)
	names := func(topic string) []string {
		t.Helper()
		list, err := s.SubscribedScripts(ctx, topic)
		if err != nil {
			t.Fatalf("subscribed to %q: %v", topic, err)
		}
		out := []string{}
		for _, sc := range list {
			if len(sc.Subscriptions) == 0 {
				t.Fatalf("subscribed to %q: %s without its subscriptions", topic, sc.Name)
			}
			out = append(out, sc.Name)
		}
		sort.Strings(out)
		return out
	}
	for _, c := range []struct {
		topic string
		want  []string
	}{
		{"order.created", []string{"dot", "middle"}},
		{"order_created", []string{"last", "underscore"}},
		{"order-created", []string{"dash"}},
		{"order.created.v2", []string{"longer"}},
		{"order.create", []string{"longer"}},
		{"order", []string{}},
		{"created", []string{}},
		{"a", []string{"last", "middle"}},
		{"order%", []string{}},
		{"%", []string{}},
		{"_", []string{}},
		{"a,order.created", []string{}},
		{"", []string{}},
	} {
		if got := names(c.topic); !reflect.DeepEqual(got, c.want) {
			t.Errorf("subscribed to %q = %v, want %v", c.topic, got, c.want)
		}
	}
}

// testQueryExecutions: the job fields round-trip, and QueryExecutions
// filters by script, trigger, job and schedule (together too), newest
// first, with a limit (0: 50) and an offset.
func testQueryExecutions(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	a, b := mustCreate(t, s, "alpha", "1"), mustCreate(t, s, "beta", "1")
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	n := 0
	mk := func(script string, trig picloud.Trigger, job string, attempt int, schedule string) *picloud.ExecutionLog {
		l := execLog(script, base.Add(time.Duration(n)*time.Second), picloud.StatusSuccess)
		n++
		l.Trigger, l.JobID, l.Attempt, l.ScheduleID = trig, job, attempt, schedule
		return l
	}
	var batch []*picloud.ExecutionLog
	for range 60 { // http runs of alpha
		batch = append(batch, mk(a.ID, picloud.TriggerHTTP, "", 0, ""))
	}
	job1 := []*picloud.ExecutionLog{mk(a.ID, picloud.TriggerAsync, "17", 1, ""), mk(a.ID, picloud.TriggerAsync, "17", 2, ""),
		mk(a.ID, picloud.TriggerAsync, "17", 3, "")}
	job1[0].Status, job1[1].Status = picloud.StatusError, picloud.StatusTimeout
	cron := []*picloud.ExecutionLog{mk(b.ID, picloud.TriggerCron, "170", 1, "sched-1"), mk(b.ID, picloud.TriggerCron, "171", 1, "sched-1"),
		mk(b.ID, picloud.TriggerCron, "172", 1, "sched_2")}
	event := mk(b.ID, picloud.TriggerEvent, "1", 1, "")
	batch = append(batch, job1...)
	batch = append(batch, cron...)
	batch = append(batch, event, mk(b.ID, picloud.TriggerTest, "", 0, ""))
	if err := s.InsertExecutions(ctx, batch); err != nil {
		t.Fatal(err)
	}

	// The fields come back from every read.
	one, err := s.Execution(ctx, cron[0].ID)
	if err != nil || one.JobID != "170" || one.Attempt != 1 || one.ScheduleID != "sched-1" || one.Trigger != picloud.TriggerCron {
		t.Fatalf("execution = %+v, %v", one, err)
	}
	if one, err = s.Execution(ctx, batch[0].ID); err != nil || one.JobID != "" || one.Attempt != 0 || one.ScheduleID != "" {
		t.Fatalf("http execution = %+v, %v", one, err)
	}
	listed, err := s.ListExecutions(ctx, a.ID, 1, 0)
	if err != nil || len(listed) != 1 || listed[0].ID != job1[2].ID || listed[0].JobID != "17" || listed[0].Attempt != 3 {
		t.Fatalf("list = %+v, %v", listed, err)
	}

	query := func(q picloud.ExecutionQuery) []string {
		t.Helper()
		list, err := s.QueryExecutions(ctx, q)
		if err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		out := []string{}
		for _, l := range list {
			out = append(out, l.ID)
		}
		return out
	}
	idsOf := func(logs ...*picloud.ExecutionLog) []string {
		out := []string{}
		for i := len(logs) - 1; i >= 0; i-- { // newest first
			out = append(out, logs[i].ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    picloud.ExecutionQuery
		want []string
	}{
		{"job", picloud.ExecutionQuery{JobID: "17"}, idsOf(job1...)},
		{"job and script", picloud.ExecutionQuery{JobID: "17", ScriptID: a.ID}, idsOf(job1...)},
		{"job of another script", picloud.ExecutionQuery{JobID: "17", ScriptID: b.ID}, []string{}},
		{"job, a prefix of others", picloud.ExecutionQuery{JobID: "1"}, idsOf(event)},
		{"unknown job", picloud.ExecutionQuery{JobID: "99"}, []string{}},
		{"schedule", picloud.ExecutionQuery{ScheduleID: "sched-1"}, idsOf(cron[0], cron[1])},
		{"schedule with _", picloud.ExecutionQuery{ScheduleID: "sched_2"}, idsOf(cron[2])},
		{"schedule, limit", picloud.ExecutionQuery{ScheduleID: "sched-1", Limit: 1}, idsOf(cron[1])},
		{"schedule, offset", picloud.ExecutionQuery{ScheduleID: "sched-1", Offset: 1}, idsOf(cron[0])},
		{"trigger", picloud.ExecutionQuery{Trigger: picloud.TriggerCron}, idsOf(cron...)},
		{"trigger and script", picloud.ExecutionQuery{Trigger: picloud.TriggerAsync, ScriptID: b.ID}, []string{}},
		{"trigger, job", picloud.ExecutionQuery{Trigger: picloud.TriggerEvent, JobID: "1"}, idsOf(event)},
		{"script", picloud.ExecutionQuery{ScriptID: b.ID}, idsOf(batch[63:]...)},
		{"script, limit, offset", picloud.ExecutionQuery{ScriptID: a.ID, Limit: 2, Offset: 3}, idsOf(batch[58:60]...)},
		{"default limit", picloud.ExecutionQuery{}, idsOf(batch[len(batch)-50:]...)},
		{"everything", picloud.ExecutionQuery{Limit: 1000}, idsOf(batch...)},
		{"past the end", picloud.ExecutionQuery{ScriptID: b.ID, Offset: 10}, []string{}},
	} {
		if got := query(c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v = %v, want %v", c.name, c.q, got, c.want)
		}
	}
	// The rows QueryExecutions reads are whole.
	list, err := s.QueryExecutions(ctx, picloud.ExecutionQuery{JobID: "17", Limit: 1})
	if err != nil || len(list) != 1 || list[0].Attempt != 3 || list[0].Request == nil || len(list[0].Logs) != 1 ||
		list[0].Trigger != picloud.TriggerAsync || list[0].Status != picloud.StatusSuccess {
		t.Fatalf("queried row = %+v, %v", list, err)
	}
}
