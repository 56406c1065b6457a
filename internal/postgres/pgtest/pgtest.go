// Package pgtest opens PostgreSQL stores for tests, each in a schema of its own.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud/internal/postgres"
)

// Open opens a store in a new schema of the database at dbURL, dropped when
// the test ends, so that tests (and packages run in parallel) never see each
// other's rows.
func Open(t testing.TB, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), URL(t, dbURL))
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// URL creates a new schema in the database at dbURL, dropped when the test
// ends, and returns dbURL with search_path set to it: for tests that hand a
// URL to the binary.
func URL(t testing.TB, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	schema := "test_" + uuid.NewString()[:8]
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, dbURL); err == nil {
			c.Exec(ctx, fmt.Sprintf(`DROP SCHEMA %s CASCADE`, schema))
			c.Close(ctx)
		}
	})
	return u.String()
}
