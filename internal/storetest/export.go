package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// Populate fills s with one of every kind of object picloud export moves,
// with every setting away from its default, several versions, times with
// microseconds, binary secrets, kv values spelt with spaces, expiring and
// expired keys, and execution logs of every trigger.
func Populate(t testing.TB, s picloud.Store) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := &picloud.Script{Name: "alpha", Source: "1", TimeoutMS: 1500, MaxOperations: 10_000, MaxConcurrency: 3,
		MaxMemoryBytes: 1 << 20, MaxResponseBytes: 4096, Unsandboxed: true, KVNamespaces: "orders,users",
		KVMaxKeys: 10, KVMaxBytes: 1 << 16, HTTPMaxRequests: 4, HTTPMaxResponseBytes: 2048, HTTPTimeoutMS: 900,
		EgressAllow: "example.com,10.0.0.0/8", MaxAttempts: 5, Subscriptions: []string{"order.created", "user_x"},
		Access: picloud.AccessKey, RateLimitRPS: 3.5, RateLimitBurst: 7, RateLimitBy: picloud.RateLimitByKey,
		ConfinedTo: "al*"}
	must(s.CreateScript(ctx, a))
	for _, src := range []string{"2", "3 // 😀 é"} {
		_, err := s.UpdateScript(ctx, a.ID, picloud.ScriptUpdate{Source: &src})
		must(err)
	}
	b := &picloud.Script{Name: "beta", Source: "fn x() { 1 }"}
	must(s.CreateScript(ctx, b))
	off := false
	_, err := s.UpdateScript(ctx, b.ID, picloud.ScriptUpdate{Enabled: &off, NewVersion: true})
	must(err)
	must(s.CreateScript(ctx, &picloud.Script{Name: "gamma", Source: ""}))

	s1 := &picloud.Schedule{ScriptID: a.ID, Cron: "*/5 * * * *", Timezone: "Europe/Paris", Body: "bin\x00ary", Enabled: true}
	must(s.CreateSchedule(ctx, s1))
	_, err = s.AdvanceSchedule(ctx, s1.ID, time.Date(2026, 12, 6, 10, 5, 0, 123456000, time.UTC))
	must(err)
	must(s.CreateSchedule(ctx, &picloud.Schedule{ScriptID: b.ID, Cron: "@every 1h", Enabled: false}))

	must(s.SetSecret(ctx, picloud.ScriptScope(a.ID), "API_KEY", []byte{1, 0xde, 0xad, 0xbe, 0xef, 0, 0xff, 'x'}))
	must(s.SetSecret(ctx, picloud.GlobalScope, "SHARED", []byte("sealed-bytes")))

	kv := func(ns, key, value string, exp time.Time) {
		t.Helper()
		must(s.KVSet(ctx, ns, key, picloud.KVWrite{Value: json.RawMessage(value), ExpiresAt: exp}))
	}
	kv(picloud.ScriptNamespace(a.ID), "count", "42", time.Time{})
	kv(picloud.ScriptNamespace(a.ID), "obj", `{"b": [1, 2],  "a": "é\u0000"}`, time.Time{})
	kv(picloud.ScriptNamespace(a.ID), "later", `"x"`, time.Now().Add(72*time.Hour))
	kv(picloud.SharedNamespace("orders"), "Z", "null", time.Time{})
	kv(picloud.SharedNamespace("orders"), "a/b c", "1.50", time.Now().Add(time.Hour))
	kv(picloud.SharedNamespace("orders"), "gone", "0", time.Now().Add(-time.Hour)) // expired, not yet purged

	base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	l1 := execLog(a.ID, base, picloud.StatusSuccess)
	l1.Outbound = []picloud.OutboundCall{{Method: "GET", Host: "example.com", Path: "/", Status: 200, DurationMS: 3.5, Bytes: 12}}
	l2 := execLog(a.ID, base.Add(1500*time.Microsecond), picloud.StatusError)
	l2.Trigger, l2.JobID, l2.Attempt, l2.ScheduleID = picloud.TriggerCron, "17", 2, s1.ID
	l2.Node = "web-1:8001" // moves with the executions (nodes themselves are not exported)
	l2.Error, l2.Response = &picloud.ExecError{Kind: "ErrorRuntime", Message: "boom", Line: 1, Column: 2}, nil
	l3 := execLog(b.ID, base.Add(time.Second), picloud.StatusTimeout)
	l3.Request, l3.Logs = nil, nil
	must(s.InsertExecutions(ctx, []*picloud.ExecutionLog{l1, l2, l3}))

	must(s.SetAdminTokenHash(ctx, "argon2id$v=19$m=65536,t=1,p=1$c2FsdA$aGFzaA"))

	exp := &picloud.Time{Time: time.Date(2027, 1, 2, 3, 4, 5, 678901000, time.UTC)}
	ci := &picloud.APIToken{Name: "ci", Prefix: "pct_0123abcd", Hash: "sha256:ci", Scopes: []string{"deploy", "invoke:alpha"},
		Scripts: "al*", ExpiresAt: exp}
	must(s.CreateAPIToken(ctx, ci))
	must(s.TouchAPIToken(ctx, ci.ID, time.Date(2026, 12, 6, 9, 0, 0, 1000, time.UTC)))
	must(s.CreateAPIToken(ctx, &picloud.APIToken{Name: "reader", Prefix: "pct_4567cdef", Hash: "sha256:reader", Scopes: []string{"read"}}))
	k := &picloud.InvokeKey{ScriptID: a.ID, Name: "partner", Prefix: "pck_0123abcd", Hash: "sha256:k1"}
	must(s.CreateInvokeKey(ctx, k))
	must(s.TouchInvokeKey(ctx, k.ID, time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)))
	must(s.CreateInvokeKey(ctx, &picloud.InvokeKey{ScriptID: a.ID, Prefix: "pck_4567cdef", Hash: "sha256:k2"}))
}

// Snapshot is everything picloud export moves, read back from a store.
type Snapshot struct {
	AdminTokenHash string
	Scripts        []*picloud.Script
	Versions       [][]*picloud.Version // per script, in Scripts' order
	Schedules      []*picloud.Schedule
	Secrets        []*picloud.SealedSecret
	KV             []KVRow
	Executions     []*picloud.ExecutionLog
	APITokens      []*picloud.APIToken
	InvokeKeys     [][]*picloud.InvokeKey // per script, in Scripts' order
}

// KVRow is one kv row with its namespace.
type KVRow struct {
	NS    string
	Entry picloud.KVEntry
}

// Store is a store that can export and import (both stores).
type Store interface {
	picloud.Store
	picloud.Exporter
	picloud.Importer
}

// TakeSnapshot reads everything picloud export moves from s.
func TakeSnapshot(t testing.TB, s interface {
	picloud.Store
	picloud.Exporter
}) *Snapshot {
	t.Helper()
	ctx := context.Background()
	var sn Snapshot
	var err error
	if sn.AdminTokenHash, err = s.AdminTokenHash(ctx); err != nil {
		t.Fatal(err)
	}
	if sn.Scripts, err = s.ListScripts(ctx, picloud.ScriptFilter{}); err != nil {
		t.Fatal(err)
	}
	for _, sc := range sn.Scripts {
		v, err := s.Versions(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		sn.Versions = append(sn.Versions, v)
		keys, err := s.InvokeKeys(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		sn.InvokeKeys = append(sn.InvokeKeys, keys)
	}
	if sn.APITokens, err = s.APITokens(ctx); err != nil {
		t.Fatal(err)
	}
	if sn.Schedules, err = s.ListSchedules(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportSecrets(ctx, func(sec *picloud.SealedSecret) error {
		sn.Secrets = append(sn.Secrets, sec)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportKV(ctx, func(ns string, e *picloud.KVEntry) error {
		sn.KV = append(sn.KV, KVRow{NS: ns, Entry: *e})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportExecutions(ctx, func(l *picloud.ExecutionLog) error {
		sn.Executions = append(sn.Executions, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return &sn
}

// Diff lists the differences between two snapshots, field by field ("" when
// they are equal). Times compare with Equal, everything else deeply.
func Diff(want, got *Snapshot) []string {
	var out []string
	diffValue(&out, "snapshot", reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem())
	return out
}

var timeType = reflect.TypeOf(time.Time{})

func diffValue(out *[]string, path string, a, b reflect.Value) {
	if a.Type() == timeType {
		if ta, tb := a.Interface().(time.Time), b.Interface().(time.Time); !ta.Equal(tb) {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", path, ta.Format(time.RFC3339Nano), tb.Format(time.RFC3339Nano)))
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, a.Interface(), b.Interface()))
			}
			return
		}
		diffValue(out, path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				diffValue(out, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	case reflect.Slice:
		if a.Type().Elem().Kind() == reflect.Uint8 || a.Len() != b.Len() {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, a.Interface(), b.Interface()))
			}
			return
		}
		for i := range a.Len() {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: want %#v, got %#v", path, a.Interface(), b.Interface()))
		}
	}
}

// Copy copies src into the empty dst through picloud.Exporter and
// picloud.Importer, as picloud export and import do without the file.
func Copy(ctx context.Context, src interface {
	picloud.Store
	picloud.Exporter
}, dst picloud.Importer) error {
	sn := &Snapshot{}
	var err error
	if sn.AdminTokenHash, err = src.AdminTokenHash(ctx); err != nil {
		return err
	}
	return dst.Import(ctx, func(tx picloud.ImportTx) error {
		if sn.AdminTokenHash != "" {
			if err := tx.ImportAdminTokenHash(ctx, sn.AdminTokenHash); err != nil {
				return err
			}
		}
		scripts, err := src.ListScripts(ctx, picloud.ScriptFilter{})
		if err != nil {
			return err
		}
		for _, sc := range scripts {
			if err := tx.ImportScript(ctx, sc); err != nil {
				return err
			}
			vs, err := src.Versions(ctx, sc.ID)
			if err != nil {
				return err
			}
			for _, v := range vs {
				if err := tx.ImportVersion(ctx, v); err != nil {
					return err
				}
			}
			keys, err := src.InvokeKeys(ctx, sc.ID)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := tx.ImportInvokeKey(ctx, k); err != nil {
					return err
				}
			}
		}
		tokens, err := src.APITokens(ctx)
		if err != nil {
			return err
		}
		for _, tk := range tokens {
			if err := tx.ImportAPIToken(ctx, tk); err != nil {
				return err
			}
		}
		schedules, err := src.ListSchedules(ctx, "")
		if err != nil {
			return err
		}
		for _, s := range schedules {
			if err := tx.ImportSchedule(ctx, s); err != nil {
				return err
			}
		}
		if err := src.ExportSecrets(ctx, func(s *picloud.SealedSecret) error { return tx.ImportSecret(ctx, s) }); err != nil {
			return err
		}
		if err := src.ExportKV(ctx, func(ns string, e *picloud.KVEntry) error { return tx.ImportKV(ctx, ns, e) }); err != nil {
			return err
		}
		return src.ExportExecutions(ctx, func(l *picloud.ExecutionLog) error {
			return tx.ImportExecutions(ctx, []*picloud.ExecutionLog{l})
		})
	})
}

// testExportImport copies a populated store into a fresh one through the
// Exporter and Importer and compares every object field by field; then
// checks that a non-empty store refuses an import and that a failed import
// leaves nothing behind.
func testExportImport(t *testing.T, newStore func(t *testing.T) picloud.Store) {
	ctx := context.Background()
	src, ok := newStore(t).(Store)
	if !ok {
		t.Fatal("the store implements no picloud.Exporter or picloud.Importer")
	}
	Populate(t, src)
	dst, ok := newStore(t).(Store)
	if !ok {
		t.Fatal("the store implements no picloud.Exporter or picloud.Importer")
	}
	// A server started once has an admin token: that does not make the
	// store non-empty, and the imported hash replaces it.
	if err := dst.SetAdminTokenHash(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if err := Copy(ctx, src, dst); err != nil {
		t.Fatal(err)
	}
	want, got := TakeSnapshot(t, src), TakeSnapshot(t, dst)
	if len(want.Scripts) != 3 || len(want.Schedules) != 2 || len(want.Secrets) != 2 || len(want.KV) != 6 || len(want.Executions) != 3 ||
		len(want.APITokens) != 2 || len(want.InvokeKeys[0]) != 2 {
		t.Fatalf("populated store: %d scripts, %d schedules, %d secrets, %d kv, %d executions",
			len(want.Scripts), len(want.Schedules), len(want.Secrets), len(want.KV), len(want.Executions))
	}
	for _, d := range Diff(want, got) {
		t.Error(d)
	}
	// The copy works as a store: reads, kv expiry, secrets, versions.
	a, err := dst.ScriptByName(ctx, "alpha")
	if err != nil || a.Version != 3 || a.ConfinedTo != "al*" {
		t.Fatalf("alpha = %+v, %v", a, err)
	}
	if _, err := dst.KVGet(ctx, picloud.SharedNamespace("orders"), "gone"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("expired key: %v", err)
	}
	if u, err := dst.KVUsage(ctx, picloud.ScriptNamespace(a.ID)); err != nil || u.Keys != 3 {
		t.Fatalf("usage = %+v, %v", u, err)
	}
	if _, err := dst.UpdateScript(ctx, a.ID, picloud.ScriptUpdate{Source: ptr("4")}); err != nil {
		t.Fatalf("update after import: %v", err)
	}

	// A store that holds anything refuses, and is left as it was.
	err = Copy(ctx, src, dst)
	if !errors.Is(err, picloud.ErrNotEmpty) {
		t.Fatalf("import into a non-empty store: %v", err)
	}

	// A failed import leaves nothing.
	empty, _ := newStore(t).(Store)
	boom := errors.New("boom")
	err = empty.Import(ctx, func(tx picloud.ImportTx) error {
		if err := tx.ImportAdminTokenHash(ctx, "h"); err != nil {
			return err
		}
		if err := tx.ImportScript(ctx, a); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("import = %v, want boom", err)
	}
	if sn := TakeSnapshot(t, empty); len(sn.Scripts) != 0 || sn.AdminTokenHash != "" {
		t.Fatalf("a failed import left %d scripts, token %q", len(sn.Scripts), sn.AdminTokenHash)
	}
}
