package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// The database holds the admin token's hash, session hashes and every logged
// request: only PiCloud's user may read it.
const (
	fileMode fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// EnsureDir creates dir (and its parents) with mode 0700, or tightens an
// existing dir that others may read or enter to 0700. It returns the mode an
// existing dir had when it tightened it, 0 otherwise, so that the caller can
// tell the operator.
func EnsureDir(dir string) (was fs.FileMode, err error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return 0, fmt.Errorf("sqlite: data directory: %w", err)
		}
		// MkdirAll's mode is filtered by the umask; say it exactly.
		if err := os.Chmod(dir, dirMode); err != nil {
			return 0, fmt.Errorf("sqlite: data directory: %w", err)
		}
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("sqlite: data directory: %w", err)
	}
	if !st.IsDir() {
		return 0, fmt.Errorf("sqlite: data directory %s is not a directory", dir)
	}
	if st.Mode().Perm()&0o077 == 0 {
		return 0, nil
	}
	if err := os.Chmod(dir, st.Mode().Perm()&dirMode); err != nil {
		return 0, fmt.Errorf("sqlite: data directory %s is mode %04o and cannot be made 0700: %w", dir, st.Mode().Perm(), err)
	}
	return st.Mode().Perm(), nil
}

// secureFile makes path exist with mode 0600 before SQLite opens it (SQLite
// would create it 0644 under the usual umask), and tightens an existing
// file that others may read. SQLite gives the -wal and -shm files it creates
// the database file's mode; secureSidecars checks them after opening.
func secureFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer f.Close()
	return tighten(f, path)
}

// secureSidecars tightens the -wal and -shm files, when they exist.
func secureSidecars(path string) error {
	for _, p := range []string{path + "-wal", path + "-shm"} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("sqlite: %s: %w", p, err)
		}
		err = tighten(f, p)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func tighten(f *os.File, path string) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if st.Mode().Perm()&^fileMode != 0 {
		if err := f.Chmod(st.Mode().Perm() & fileMode); err != nil {
			return fmt.Errorf("sqlite: %s is mode %04o and cannot be made 0600: %w", path, st.Mode().Perm(), err)
		}
	}
	return nil
}
