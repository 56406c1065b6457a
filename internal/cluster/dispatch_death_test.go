package cluster

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// TestDispatcherNodeDiesMidAttempt: a node that took the attempt and died
// before answering (its connection closes under the request) has the
// attempt run on the next node in the same call, and gets no attempt while
// it is suspect.
func TestDispatcherNodeDiesMidAttempt(t *testing.T) {
	st := srvStore(t)
	var took atomic.Int32
	dying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the attempt arrived whole
		took.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // and the process is gone
		}
	}))
	defer dying.Close()
	backup := dspStartNode(t, "backup", srvToken)
	now := time.Now()
	dspRegister(t, st, "a-dying", dying.URL, picloud.NodeOK, now)
	dspRegister(t, st, "backup", backup.hs.URL, picloud.NodeOK, now)
	var res dspResults
	d := NewDispatcher(DispatcherConfig{Token: srvToken, Nodes: st, OnDispatch: res.add})

	log, err := d.RunJob(context.Background(), dspRun(0)) // a-dying comes first by name
	if err != nil {
		t.Fatalf("RunJob: %v, want the attempt run on the backup", err)
	}
	if log.Node != "backup" || backup.ran() != 1 || took.Load() == 0 {
		t.Fatalf("ran on %q; backup ran %d, the dying node took %d", log.Node, backup.ran(), took.Load())
	}
	if res.get(DispatchRetried) != 1 || res.get(DispatchOK) != 1 {
		t.Fatalf("results %v, want 1 retried and 1 ok", res.n)
	}
	// Suspect now: the round robin's next turn (a-dying's) skips it.
	before := took.Load()
	for i := 1; i < 3; i++ {
		if log, err := d.RunJob(context.Background(), dspRun(i)); err != nil || log.Node != "backup" {
			t.Fatalf("run %d: %+v, %v", i, log, err)
		}
	}
	if took.Load() != before || res.get(DispatchRetried) != 1 {
		t.Fatalf("the suspect node was tried again (took %d, results %v)", took.Load(), res.n)
	}
}
