package app_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/picloud/picloud/internal/app"
)

func fstestFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                             {Data: []byte("<html>INDEX</html>")},
		"app.js":                                 {Data: []byte("// JS")},
		"_app/immutable/entry/start.Bx1c2d3e.js": {Data: []byte("// IMMUTABLE")},
	}
}

func newServer(t *testing.T, a *app.App) string {
	a.Start(context.Background())
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Stop(context.Background()) })
	return srv.URL
}
