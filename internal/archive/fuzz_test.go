package archive_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/archive"
)

// acceptAll is a picloud.Importer that takes every record (a func-field
// fake would add nothing: the fuzz target only looks for panics and hangs).
type acceptAll struct{}

func (acceptAll) Import(ctx context.Context, fn func(picloud.ImportTx) error) error {
	return fn(acceptAll{})
}
func (acceptAll) ImportScript(context.Context, *picloud.Script) error             { return nil }
func (acceptAll) ImportVersion(context.Context, *picloud.Version) error           { return nil }
func (acceptAll) ImportSchedule(context.Context, *picloud.Schedule) error         { return nil }
func (acceptAll) ImportKV(context.Context, string, *picloud.KVEntry) error        { return nil }
func (acceptAll) ImportSecret(context.Context, *picloud.SealedSecret) error       { return nil }
func (acceptAll) ImportExecutions(context.Context, []*picloud.ExecutionLog) error { return nil }
func (acceptAll) ImportAdminTokenHash(context.Context, string) error              { return nil }
func (acceptAll) ImportAPIToken(context.Context, *picloud.APIToken) error         { return nil }
func (acceptAll) ImportInvokeKey(context.Context, *picloud.InvokeKey) error       { return nil }

// FuzzImport feeds Import arbitrary files: it must answer an error or a
// summary, never panic. testdata/fuzz/FuzzImport/export is a whole archive
// (storetest.Populate's store, with executions) to start from.
func FuzzImport(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		archive.Import(context.Background(), bytes.NewReader(data), acceptAll{})
	})
}
