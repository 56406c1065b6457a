package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/picloud/picloud"
)

// testHTTP: the http:: settings are kept on create and update, and an
// execution's outbound calls come back as written (none: an empty list).
func testHTTP(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	sc := &picloud.Script{Name: "http-settings", Source: "1", HTTPMaxRequests: 3, HTTPMaxResponseBytes: 4096,
		HTTPTimeoutMS: 250, EgressAllow: "api.example.com,10.0.0.0/8"}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	got, err := s.Script(ctx, sc.ID)
	if err != nil || got.HTTPMaxRequests != 3 || got.HTTPMaxResponseBytes != 4096 || got.HTTPTimeoutMS != 250 ||
		got.EgressAllow != "api.example.com,10.0.0.0/8" {
		t.Fatalf("created = %+v, %v", got, err)
	}
	u := picloud.ScriptUpdate{HTTPMaxRequests: ptr(picloud.MaxHTTPMaxRequestsLimit),
		HTTPMaxResponseBytes: ptr(picloud.MaxHTTPMaxResponseBytesLimit), HTTPTimeoutMS: ptr(picloud.MaxHTTPTimeoutMSLimit),
		EgressAllow: ptr(" Hooks.test:443 , ")}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateScript(ctx, sc.ID, u); err != nil {
		t.Fatal(err)
	}
	got, err = s.Script(ctx, sc.ID)
	if err != nil || got.HTTPMaxRequests != picloud.MaxHTTPMaxRequestsLimit || got.HTTPMaxResponseBytes != picloud.MaxHTTPMaxResponseBytesLimit ||
		got.HTTPTimeoutMS != picloud.MaxHTTPTimeoutMSLimit || got.EgressAllow != "hooks.test:443" {
		t.Fatalf("updated = %+v, %v", got, err)
	}

	with := execLog(sc.ID, got.CreatedAt.Time, picloud.StatusSuccess)
	with.Outbound = []picloud.OutboundCall{
		{Method: "GET", Host: "api.example.com", Path: "/v1/items", Status: 200, DurationMS: 12.5, Bytes: 1234},
		{Method: "POST", Host: "10.0.0.1:8080", Path: "/", DurationMS: 0.25, Error: "destination 10.0.0.1:8080 is refused: a private address"},
	}
	without := execLog(sc.ID, got.CreatedAt.Time, picloud.StatusSuccess)
	if err := s.InsertExecutions(ctx, []*picloud.ExecutionLog{with, without}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Execution(ctx, with.ID)
	if err != nil || !reflect.DeepEqual(l.Outbound, with.Outbound) {
		t.Fatalf("outbound = %+v, %v; want %+v", l.Outbound, err, with.Outbound)
	}
	l, err = s.Execution(ctx, without.ID)
	if err != nil || len(l.Outbound) != 0 {
		t.Fatalf("no outbound calls read back as %+v, %v", l.Outbound, err)
	}
}
