package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/archive"
	"github.com/picloud/picloud/internal/secretbox"
)

// runExport is `picloud export`: the whole store, as one archive file
// (docs/cluster.md). It reads the database directly: stop the server first.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("o", "", "the archive file to write (required)")
	withExec := fs.Bool("with-executions", false, "include the execution logs (left out by default)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: picloud export [--data-dir D | --database-url URL] [--with-executions] -o FILE")
		fmt.Fprintln(stderr, "Writes scripts (every version and setting), schedules, kv data, secrets (still sealed) and the")
		fmt.Fprintln(stderr, "admin token's hash to FILE, for 'picloud import'. Stop the server first.")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *out == "" {
		fs.Usage()
		return errors.New("export: -o FILE is required, and nothing else")
	}
	if sf.databaseURL == "" {
		// Opening would create an empty database: say there is none instead.
		if _, err := os.Stat(filepath.Join(sf.dataDir, "picloud.db")); err != nil {
			return fmt.Errorf("export: no database in %s: %w", sf.dataDir, err)
		}
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	src, ok := store.(archive.Source)
	if !ok {
		return fmt.Errorf("export: the %s store cannot export", store.Kind())
	}
	// Written beside FILE and renamed at the end, so that a failed export
	// leaves no partial archive under FILE's name. 0600: the archive holds
	// the token's hash, sealed secrets and kv data.
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := archive.Export(ctx, tmp, src, archive.Options{WithExecutions: *withExec, PicloudVersion: version()})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *out)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "exported %s from %s to %s\n", describeCounts(n), sf.describe(), *out)
	if !*withExec {
		fmt.Fprintln(stdout, "execution logs were left out (--with-executions includes them)")
	}
	return nil
}

// runImport is `picloud import`: an archive into an empty store, in one
// transaction. It writes the database directly: stop the server first.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: picloud import [--data-dir D | --database-url URL] FILE")
		fmt.Fprintln(stderr, "Loads an archive of 'picloud export' into an empty store (SQLite or PostgreSQL), all or nothing.")
		fmt.Fprintln(stderr, "Stop the server first; the target needs the source's secret key (docs/cluster.md).")
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("import: one archive FILE is required")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	dst, ok := store.(picloud.Importer)
	if !ok {
		return fmt.Errorf("import: the %s store cannot import", store.Kind())
	}
	sum, err := archive.Import(ctx, f, dst)
	if errors.Is(err, picloud.ErrNotEmpty) {
		return fmt.Errorf("import: %s is not empty; import needs a new database (nothing was changed): %w", sf.describe(), err)
	} else if err != nil {
		return fmt.Errorf("import: nothing was imported: %w", err)
	}
	fmt.Fprintf(stdout, "imported %s from %s (exported from %s by picloud %s at %s) into %s\n",
		describeCounts(sum.Counts), pos[0], sum.Header.Source, sum.Header.PicloudVersion,
		sum.Header.CreatedAt.Format("2006-01-02 15:04:05Z"), sf.describe())
	checkSecretKey(sum.KeyIDs, sf.dataDir, stderr)
	return nil
}

func describeCounts(n archive.Counts) string {
	token := "no admin token"
	if n.AdminToken {
		token = "the admin token's hash"
	}
	return fmt.Sprintf("%d scripts (%d versions), %d schedules, %d secrets, %d kv keys, %d execution logs and %s",
		n.Scripts, n.Versions, n.Schedules, n.Secrets, n.KV, n.Executions, token)
}

// checkSecretKey warns when the key the target server will use is not the
// one the imported secrets were sealed with. The server takes
// PICLOUD_SECRET_KEY, else <data-dir>/secret.key, which it creates with a
// new key when missing: import only reads, so that copying the source's
// file is still possible.
func checkSecretKey(archiveKeys []string, dataDir string, stderr io.Writer) {
	if len(archiveKeys) == 0 {
		return
	}
	ids := strings.Join(archiveKeys, ", ")
	keyFile := filepath.Join(dataDir, secretbox.KeyFileName)
	target, where := "", ""
	if box, ok, err := secretbox.FromEnv(); ok {
		if err != nil {
			fmt.Fprintf(stderr, "picloud: WARNING: %v\n", err)
			return
		}
		target, where = box.KeyID(), secretbox.EnvKey
	} else if data, err := os.ReadFile(keyFile); err == nil {
		key, err := secretbox.ParseKey(string(data))
		if err != nil {
			fmt.Fprintf(stderr, "picloud: WARNING: %s: %v\n", keyFile, err)
			return
		}
		box, _ := secretbox.New(key)
		target, where = box.KeyID(), keyFile
	} else if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "picloud: WARNING: %v\n", err)
		return
	}
	switch {
	case where == "":
		fmt.Fprintf(stderr, "picloud: WARNING: the imported secrets were sealed with key %s, and neither %s nor %s is there: "+
			"copy the source's secret.key to %s (mode 0600) or set %s before starting the server, "+
			"or it makes a new key and no secret opens\n", ids, secretbox.EnvKey, keyFile, keyFile, secretbox.EnvKey)
	case len(archiveKeys) > 1 || target != archiveKeys[0]:
		fmt.Fprintf(stderr, "picloud: WARNING: the imported secrets were sealed with key %s, but %s is key %s: "+
			"use the source's key (its secret.key or %s), or no secret opens\n", ids, where, target, secretbox.EnvKey)
	}
}
