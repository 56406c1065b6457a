package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// testNodes: SaveNode inserts then replaces a node's record but keeps the
// time of its first save, ListNodes orders by name, DeleteNode forgets one
// and answers ENotFound for a name it does not know.
func testNodes(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	if list, err := s.ListNodes(ctx); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("empty list = %#v, %v (want an empty, non-nil list)", list, err)
	}
	first := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Minute)
	n := &picloud.Node{
		Name: "web-2:8001", Address: "http://10.0.0.2:8001", Version: "1.0.0", Capacity: 8, Load: 3,
		Status:       picloud.NodeDegraded,
		Components:   map[string]picloud.HealthComponent{"journal": {Status: "ok"}, "manager": {Status: "down", Message: "unreachable"}},
		JournalBytes: 4096,
		StartedAt:    picloud.Time{Time: first.Add(-time.Hour)},
		// RegisteredAt from the caller is not what the store keeps: the
		// first save registers the node at its heartbeat.
		LastHeartbeat: picloud.Time{Time: first},
		RegisteredAt:  picloud.Time{Time: first.Add(-24 * time.Hour)},
	}
	if err := s.SaveNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if !n.RegisteredAt.Equal(first) {
		t.Fatalf("first save: registered_at = %v, want the heartbeat %v", n.RegisteredAt, first)
	}
	other := &picloud.Node{Name: "web-1:8001", Address: "http://10.0.0.1:8001", Status: picloud.NodeOK,
		StartedAt: picloud.Time{Time: first}, LastHeartbeat: picloud.Time{Time: first}}
	if err := s.SaveNode(ctx, other); err != nil {
		t.Fatal(err)
	}

	// A later heartbeat replaces every field but the registration time.
	later := first.Add(10 * time.Second)
	upd := &picloud.Node{
		Name: n.Name, Address: "http://10.0.0.20:8001", Version: "1.1.0", Capacity: 16, Load: 0,
		Status: picloud.NodeOK, Components: map[string]picloud.HealthComponent{"journal": {Status: "ok"}},
		JournalBytes: 0, StartedAt: picloud.Time{Time: later}, LastHeartbeat: picloud.Time{Time: later},
	}
	if err := s.SaveNode(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if !upd.RegisteredAt.Equal(first) {
		t.Fatalf("second save: registered_at = %v, want the first save's %v", upd.RegisteredAt, first)
	}

	list, err := s.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "web-1:8001" || list[1].Name != "web-2:8001" {
		t.Fatalf("list = %+v, want web-1:8001 then web-2:8001", list)
	}
	if !reflect.DeepEqual(list[1], upd) {
		t.Fatalf("listed node\n got %+v\nwant %+v", list[1], upd)
	}
	if got := list[0]; got.Components != nil || got.Version != "" || !got.StartedAt.Equal(first) || !got.RegisteredAt.Equal(first) {
		t.Fatalf("node without components = %+v", got)
	}

	// A node saved with no heartbeat time is registered now.
	before := time.Now().Add(-time.Second)
	bare := &picloud.Node{Name: "bare", Status: picloud.NodeOK}
	if err := s.SaveNode(ctx, bare); err != nil {
		t.Fatal(err)
	}
	if bare.RegisteredAt.Before(before) || bare.RegisteredAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("registered_at without a heartbeat = %v, want about now", bare.RegisteredAt)
	}

	wantCode(t, s.SaveNode(ctx, &picloud.Node{Status: picloud.NodeOK}), picloud.EInvalidRequest)

	if err := s.DeleteNode(ctx, n.Name); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteNode(ctx, n.Name), picloud.ENotFound)
	wantCode(t, s.DeleteNode(ctx, "never-seen"), picloud.ENotFound)
	if list, err = s.ListNodes(ctx); err != nil || len(list) != 2 || list[0].Name != "bare" || list[1].Name != "web-1:8001" {
		t.Fatalf("after delete: %+v, %v", list, err)
	}

	// A node that registers again after being forgotten is new.
	again := &picloud.Node{Name: n.Name, LastHeartbeat: picloud.Time{Time: later.Add(time.Minute)}}
	if err := s.SaveNode(ctx, again); err != nil {
		t.Fatal(err)
	}
	if !again.RegisteredAt.Equal(later.Add(time.Minute)) {
		t.Fatalf("re-registered at %v, want %v", again.RegisteredAt, later.Add(time.Minute))
	}
}

// testExecutionNode: the node that ran an execution comes back from every
// read (by id, by script, by query), and ” for a row without one.
func testExecutionNode(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := mustCreate(t, s, "noded", "1")
	base := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	local := execLog(sc.ID, base, picloud.StatusSuccess)
	remote := execLog(sc.ID, base.Add(time.Second), picloud.StatusSuccess)
	remote.Node = "web-1:8001"
	job := execLog(sc.ID, base.Add(2*time.Second), picloud.StatusError)
	job.Node, job.Trigger, job.JobID, job.Attempt = "node-é/2", picloud.TriggerAsync, "42", 1
	if err := s.InsertExecutions(ctx, []*picloud.ExecutionLog{local, remote, job}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{local.ID: "", remote.ID: "web-1:8001", job.ID: "node-é/2"}
	for id, node := range want {
		l, err := s.Execution(ctx, id)
		if err != nil || l.Node != node {
			t.Fatalf("execution %s: node = %q, %v; want %q", id, l.Node, err, node)
		}
	}
	list, err := s.ListExecutions(ctx, sc.ID, 10, 0)
	if err != nil || len(list) != 3 {
		t.Fatalf("list = %d rows, %v", len(list), err)
	}
	for _, l := range list {
		if l.Node != want[l.ID] {
			t.Fatalf("listed %s: node = %q, want %q", l.ID, l.Node, want[l.ID])
		}
	}
	q, err := s.QueryExecutions(ctx, picloud.ExecutionQuery{JobID: "42"})
	if err != nil || len(q) != 1 || q[0].Node != "node-é/2" {
		t.Fatalf("query by job = %+v, %v", q, err)
	}
}
