package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/cluster"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/sqlite"
)

// A batch over the manager's body limit reaches the store in smaller
// batches, and a row over it alone arrives without its bodies and logs:
// nothing stays stuck in the journal.
func TestRowPosterSplitsRefusedBatches(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sc := &picloud.Script{ID: uuid.NewString(), Name: "big", Source: "1", Version: 1}
	if err := store.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	const token = "cluster-token-0123456789abcdef"
	const limit = 64 << 10
	// A manager whose batch limit is small: the real one's is far larger,
	// but a limit there is, and a batch over it must not stall the journal.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b cluster.ExecutionBatch
		if r.URL.Path != cluster.PathExecutions {
			httpapi.NotFound(w, r)
			return
		}
		if err := httpapi.Decode(w, r, limit, &b); err != nil {
			httpapi.WriteError(w, r, nil, err)
			return
		}
		if err := store.InsertExecutions(r.Context(), b.Items); err != nil {
			httpapi.WriteError(w, r, nil, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	client, err := cluster.NewClient(cluster.ClientConfig{ManagerURL: srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	row := func(body int) *picloud.ExecutionLog {
		return &picloud.ExecutionLog{ID: uuid.NewString(), ScriptID: sc.ID, ScriptVersion: 1, Trigger: picloud.TriggerHTTP,
			Status: picloud.StatusSuccess, StartedAt: picloud.Time{Time: time.Now().UTC()},
			Request:  &picloud.RequestRecord{Method: "POST", Path: "/fn/big", Body: strings.Repeat("x", body), BodySize: body},
			Response: &picloud.ResponseRecord{Status: 200, Body: "ok", BodySize: 2},
			Logs:     []picloud.LogLine{{Level: "info", Message: "hello"}}}
	}
	var batch []*picloud.ExecutionLog
	for range 12 {
		batch = append(batch, row(10<<10)) // 120 KiB in all: twice the limit
	}
	huge := row(limit)
	batch = append(batch, huge)

	if err := client.InsertExecutions(ctx, batch); picloud.ErrorCode(err) != picloud.EPayloadTooLarge {
		t.Fatalf("the whole batch through the bare client: %v, want payload_too_large", err)
	}
	if err := (rowPoster{client, slog.New(slog.DiscardHandler)}).InsertExecutions(ctx, batch); err != nil {
		t.Fatalf("through rowPoster: %v", err)
	}
	if n, err := store.CountExecutions(ctx, sc.ID); err != nil || n != int64(len(batch)) {
		t.Fatalf("rows stored: %d, %v, want %d", n, err, len(batch))
	}
	got, err := store.Execution(ctx, huge.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Request.Body != "" || !got.Request.BodyTruncated || got.Request.BodySize != limit || len(got.Logs) != 0 || got.Response.Status != 200 {
		t.Errorf("the row over the limit arrived as %+v %+v %v", got.Request, got.Response, got.Logs)
	}
	small, err := store.Execution(ctx, batch[0].ID)
	if err != nil || len(small.Request.Body) != 10<<10 || len(small.Logs) != 1 || small.Logs[0].Message != "hello" {
		t.Errorf("a row of a split batch arrived as %+v, %v", small, err)
	}
}
