package postgres_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// TestExecutionNotifier: a store value hears the ids other store values of
// its schema announce, in order and whole across the payload chunks, and
// neither its own nor another schema's.
func TestExecutionNotifier(t *testing.T) {
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	t.Parallel()
	shared := pgtest.URL(t, dbURL)
	tag := "picloud-test-" + uuid.NewString()[:8]
	a := openAt(t, withAppName(t, shared, tag+"-a"))
	b := openAt(t, withAppName(t, shared, tag+"-b"))
	foreign := pgtest.Open(t, dbURL)
	db := adminConn(t, dbURL)

	heard := make(chan []string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.ListenExecutions(ctx, func(ids []string) { heard <- ids }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenExecutions returned %v", err)
		}
	})
	listenerPID(t, db, tag+"-a", "LISTEN picloud_executions")

	bg := context.Background()
	// Sent first: were they heard, they would come first.
	if err := foreign.NotifyExecutions(bg, []string{"foreign"}); err != nil {
		t.Fatal(err)
	}
	if err := a.NotifyExecutions(bg, []string{"own"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 250 {
		ids = append(ids, fmt.Sprintf("%08d-0000-7000-8000-000000000000", i))
	}
	if err := b.NotifyExecutions(bg, ids); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < len(ids) {
		select {
		case h := <-heard:
			got = append(got, h...)
		case <-time.After(converge):
			t.Fatalf("heard %d of %d ids", len(got), len(ids))
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("heard %v..., want b's ids in order", got[:3])
	}
}
