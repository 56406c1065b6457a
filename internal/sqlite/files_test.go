package sqlite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/sqlite"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestFileModes: the database, its -wal and -shm files are 0600 and the data
// directory 0700, whatever the umask would have made them; existing looser
// ones are tightened.
func TestFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data", "nested")
	if was, err := sqlite.EnsureDir(dir); err != nil || was != 0 {
		t.Fatalf("EnsureDir new = %v, %v", was, err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("new data dir mode %04o, want 0700", m)
	}
	path := filepath.Join(dir, "picloud.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A write, so that the WAL exists.
	if err := s.CreateScript(ctx, &picloud.Script{Name: "x", Source: "1"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), m)
		}
	}

	// A database and directory left readable by an older release.
	old := filepath.Join(t.TempDir(), "old")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(old, 0o755)
	oldDB := filepath.Join(old, "picloud.db")
	if err := os.WriteFile(oldDB, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(oldDB, 0o644)
	if was, err := sqlite.EnsureDir(old); err != nil || was != 0o755 {
		t.Fatalf("EnsureDir existing = %04o, %v; want it to report 0755", was, err)
	}
	if m := mode(t, old); m != 0o700 {
		t.Fatalf("tightened dir mode %04o", m)
	}
	if was, err := sqlite.EnsureDir(old); err != nil || was != 0 {
		t.Fatalf("EnsureDir again = %04o, %v", was, err)
	}
	s2, err := sqlite.Open(ctx, oldDB)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if m := mode(t, oldDB); m != 0o600 {
		t.Fatalf("existing database mode %04o, want 0600", m)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := sqlite.EnsureDir(file); err == nil {
		t.Fatal("a file was accepted as the data directory")
	}
}
