package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
	"github.com/picloud/picloud/internal/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) picloud.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "picloud.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	sc := &picloud.Script{Name: "keep", Source: "1"}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path) // migrations run again: a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Script(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
}
