package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/archive"
	"github.com/picloud/picloud/internal/postgres/pgtest"
	"github.com/picloud/picloud/internal/sqlite"
	"github.com/picloud/picloud/internal/storetest"
)

func openSQLite(t testing.TB) storetest.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "picloud.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func export(t *testing.T, s archive.Source, opts archive.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := archive.Export(context.Background(), &buf, s, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func load(t *testing.T, data []byte, dst picloud.Importer) *archive.Summary {
	t.Helper()
	sum, err := archive.Import(context.Background(), bytes.NewReader(data), dst)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func same(t *testing.T, want, got *storetest.Snapshot) {
	t.Helper()
	for _, d := range storetest.Diff(want, got) {
		t.Error(d)
	}
}

// TestRoundTrip moves a populated SQLite store to PostgreSQL and back to
// SQLite through archives, comparing every object field by field at each
// step. Without PICLOUD_TEST_DATABASE_URL it goes SQLite → SQLite.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	src := openSQLite(t)
	storetest.Populate(t, src)
	want := storetest.TakeSnapshot(t, src)

	var mid storetest.Store
	if url := os.Getenv("PICLOUD_TEST_DATABASE_URL"); url != "" {
		mid = pgtest.Open(t, url)
	} else {
		t.Log("PICLOUD_TEST_DATABASE_URL is not set: SQLite → SQLite only, PostgreSQL skipped")
		mid = openSQLite(t)
	}
	sum := load(t, export(t, src, archive.Options{WithExecutions: true, PicloudVersion: "test"}), mid)
	if sum.Header.Source != "sqlite" || sum.Header.PicloudVersion != "test" || !sum.Header.WithExecutions {
		t.Errorf("header = %+v", sum.Header)
	}
	wantCounts := archive.Counts{AdminToken: true, Scripts: 3, Versions: 6, Schedules: 2, Secrets: 2, KV: 6, Executions: 3, APITokens: 2, InvokeKeys: 2}
	if sum.Counts != wantCounts {
		t.Errorf("counts = %+v, want %+v", sum.Counts, wantCounts)
	}
	same(t, want, storetest.TakeSnapshot(t, mid))

	back := openSQLite(t)
	sum = load(t, export(t, mid, archive.Options{WithExecutions: true}), back)
	if sum.Header.Source != mid.Kind() {
		t.Errorf("source = %q, want %q", sum.Header.Source, mid.Kind())
	}
	same(t, want, storetest.TakeSnapshot(t, back))

	// The comparison does see a difference.
	changed := storetest.TakeSnapshot(t, back)
	changed.Scripts[0].UpdatedAt.Time = changed.Scripts[0].UpdatedAt.Add(1000)
	changed.KV[0].Entry.Value = append(changed.KV[0].Entry.Value, ' ')
	if d := storetest.Diff(want, changed); len(d) != 2 {
		t.Errorf("diff of a changed snapshot = %q, want 2 differences", d)
	}
}

// TestWithoutExecutions: by default execution logs stay behind.
func TestWithoutExecutions(t *testing.T) {
	t.Parallel()
	src := openSQLite(t)
	storetest.Populate(t, src)
	dst := openSQLite(t)
	sum := load(t, export(t, src, archive.Options{}), dst)
	if sum.Counts.Executions != 0 || sum.Header.WithExecutions {
		t.Fatalf("summary = %+v", sum)
	}
	want := storetest.TakeSnapshot(t, src)
	want.Executions = nil
	same(t, want, storetest.TakeSnapshot(t, dst))
}

func TestNotEmptyRefused(t *testing.T) {
	t.Parallel()
	src := openSQLite(t)
	storetest.Populate(t, src)
	data := export(t, src, archive.Options{})
	dst := openSQLite(t)
	if err := dst.CreateScript(context.Background(), &picloud.Script{Name: "mine", Source: "1"}); err != nil {
		t.Fatal(err)
	}
	before := storetest.TakeSnapshot(t, dst)
	_, err := archive.Import(context.Background(), bytes.NewReader(data), dst)
	if !errors.Is(err, picloud.ErrNotEmpty) || !strings.Contains(err.Error(), "(scripts: 1)") {
		t.Fatalf("import into a non-empty store = %v", err)
	}
	same(t, before, storetest.TakeSnapshot(t, dst))
}

func flip(data []byte, i int) []byte {
	out := bytes.Clone(data)
	out[i] ^= 0x55
	return out
}

// TestDamagedRefused: an archive cut anywhere, or altered, is refused with
// an error that says so, and leaves the target empty.
func TestDamagedRefused(t *testing.T) {
	t.Parallel()
	src := openSQLite(t)
	storetest.Populate(t, src)
	data := export(t, src, archive.Options{WithExecutions: true})

	// The uncompressed lines, to build archives that are valid gzip but
	// miss records.
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(plain), "\n"), "\n")
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	withoutLine := func(i int) string {
		return strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "")
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty file", "not gzip", nil},
		{"not gzip", "not gzip", []byte("picloud")},
		{"cut in half", "truncated", data[:len(data)/2]},
		{"cut before the gzip trailer", "truncated", data[:len(data)-4]},
		{"a byte changed", "damaged", flip(data, len(data)/2)},
		{"no end record", "without its end record", gz(strings.Join(lines[:len(lines)-1], ""))},
		{"a record missing", "damaged", gz(withoutLine(3))},
		{"records after the end", "follow its end record", gz(string(plain) + lines[2])},
		{"not JSON", "line 2: the archive is damaged", gz(lines[0] + "{nope\n")},
		{"unknown kind", "unknown record kind", gz(lines[0] + `{"kind":"widget","data":{}}` + "\n" + lines[len(lines)-1])},
		{"another format", "not a picloud export", gz(`{"format":"tar"}` + "\n")},
		{"a newer version", "version 2", gz(`{"format":"picloud-export","version":2}` + "\n")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := openSQLite(t)
			_, err := archive.Import(context.Background(), bytes.NewReader(c.data), dst)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("import = %v, want an error with %q", err, c.want)
			}
			if sn := storetest.TakeSnapshot(t, dst); len(sn.Scripts) != 0 || len(sn.KV) != 0 || sn.AdminTokenHash != "" {
				t.Fatalf("a refused archive left %d scripts, %d kv rows, token %q", len(sn.Scripts), len(sn.KV), sn.AdminTokenHash)
			}
		})
	}
}
