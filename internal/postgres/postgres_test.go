package postgres_test

import (
	"os"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/storetest"
)

func TestStore(t *testing.T) {
	url := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if url == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	storetest.Run(t, func(t *testing.T) picloud.Store {
		return pgtest.Open(t, url)
	})
}
