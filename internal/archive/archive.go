// Package archive writes and reads the file of `picloud export` and
// `picloud import`: a whole store (scripts with every version and setting,
// schedules, kv data with expiries, sealed secrets, the admin token's hash
// and, optionally, execution logs) as gzip-compressed JSON Lines, streamed
// both ways.
//
// The first line is a Header; then one record per object, {"kind": ...,
// "data": {...}}, in an order that satisfies the stores' references (a
// script before its versions and schedules); the last is an "end" record
// holding the count of each kind, so that a cut archive is told apart from a
// complete one. Times keep the stores' microseconds (RFC 3339 with
// nanoseconds), ids and version numbers are kept as they are. See
// docs/cluster.md.
package archive

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/secretbox"
)

// Format and Version identify the archive in its header. Import refuses a
// version it does not know (a newer PiCloud's archive).
const (
	Format  = "picloud-export"
	Version = 1
)

// Header is the archive's first line.
type Header struct {
	Format         string    `json:"format"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	Source         string    `json:"source"` // the store's kind: sqlite or postgres
	PicloudVersion string    `json:"picloud_version"`
	WithExecutions bool      `json:"with_executions"`
}

// Counts is how many objects of each kind an archive holds: the "end"
// record, and what Export and Import report.
type Counts struct {
	AdminToken bool  `json:"admin_token"`
	Scripts    int64 `json:"scripts"`
	Versions   int64 `json:"versions"`
	Schedules  int64 `json:"schedules"`
	Secrets    int64 `json:"secrets"`
	KV         int64 `json:"kv"`
	Executions int64 `json:"executions"`
	// Named API tokens and invoke keys (hashes only), since Step 12.
	APITokens  int64 `json:"api_tokens,omitempty"`
	InvokeKeys int64 `json:"invoke_keys,omitempty"`
}

// The record kinds, in the order Export writes them.
const (
	kindToken     = "admin_token"
	kindAPIToken  = "api_token"
	kindScript    = "script"
	kindVersion   = "version"
	kindInvokeKey = "invoke_key"
	kindSchedule  = "schedule"
	kindSecret    = "secret"
	kindKV        = "kv"
	kindExecution = "execution"
	kindEnd       = "end"
)

// Source is a store export reads.
type Source interface {
	picloud.Store
	picloud.Exporter
}

// Options tune Export. The zero value exports everything but execution logs.
type Options struct {
	// WithExecutions adds every execution log (they may be most of a
	// database; without them the target starts with none).
	WithExecutions bool
	// PicloudVersion goes into the header.
	PicloudVersion string
}

// Export writes the archive of src to w. It reads src with ordinary queries,
// one kind after another: the server must be stopped for the archive to be
// one consistent picture.
func Export(ctx context.Context, w io.Writer, src Source, opts Options) (Counts, error) {
	var n Counts
	bw := bufio.NewWriterSize(w, 64<<10)
	zw := gzip.NewWriter(bw)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	put := func(kind string, data any) error {
		if err := enc.Encode(line{Kind: kind, Data: data}); err != nil {
			return fmt.Errorf("archive: write %s: %w", kind, err)
		}
		return nil
	}
	h := Header{Format: Format, Version: Version, CreatedAt: time.Now().UTC(), Source: src.Kind(),
		PicloudVersion: opts.PicloudVersion, WithExecutions: opts.WithExecutions}
	if err := enc.Encode(h); err != nil {
		return n, fmt.Errorf("archive: write header: %w", err)
	}

	hash, err := src.AdminTokenHash(ctx)
	if err != nil {
		return n, err
	}
	if hash != "" {
		n.AdminToken = true
		if err := put(kindToken, tokenData{Hash: hash}); err != nil {
			return n, err
		}
	}
	tokens, err := src.APITokens(ctx)
	if err != nil {
		return n, err
	}
	for _, t := range tokens {
		if err := put(kindAPIToken, newAPITokenData(t)); err != nil {
			return n, err
		}
		n.APITokens++
	}
	// Scripts and schedules are listed whole (they are few and small); kv
	// and execution logs, which may be large, are streamed row by row.
	scripts, err := src.ListScripts(ctx, picloud.ScriptFilter{})
	if err != nil {
		return n, err
	}
	for _, sc := range scripts {
		if err := put(kindScript, newScriptData(sc)); err != nil {
			return n, err
		}
		n.Scripts++
		versions, err := src.Versions(ctx, sc.ID)
		if err != nil {
			return n, err
		}
		slices.SortFunc(versions, func(a, b *picloud.Version) int { return a.Version - b.Version })
		for _, v := range versions {
			if err := put(kindVersion, versionData{versionFields: (*versionFields)(v), CreatedAt: v.CreatedAt.Time}); err != nil {
				return n, err
			}
			n.Versions++
		}
		keys, err := src.InvokeKeys(ctx, sc.ID)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if err := put(kindInvokeKey, newInvokeKeyData(k)); err != nil {
				return n, err
			}
			n.InvokeKeys++
		}
	}
	schedules, err := src.ListSchedules(ctx, "")
	if err != nil {
		return n, err
	}
	for _, s := range schedules {
		if err := put(kindSchedule, newScheduleData(s)); err != nil {
			return n, err
		}
		n.Schedules++
	}
	if err := src.ExportSecrets(ctx, func(s *picloud.SealedSecret) error {
		n.Secrets++
		return put(kindSecret, secretData{Scope: s.Scope, Name: s.Name, Sealed: s.Sealed, UpdatedAt: s.UpdatedAt})
	}); err != nil {
		return n, err
	}
	if err := src.ExportKV(ctx, func(ns string, e *picloud.KVEntry) error {
		n.KV++
		d := kvData{NS: ns, Key: e.Key, Value: string(e.Value), UpdatedAt: e.UpdatedAt.Time}
		if e.ExpiresAt != nil {
			d.ExpiresAt = &e.ExpiresAt.Time
		}
		return put(kindKV, d)
	}); err != nil {
		return n, err
	}
	if opts.WithExecutions {
		if err := src.ExportExecutions(ctx, func(l *picloud.ExecutionLog) error {
			n.Executions++
			return put(kindExecution, executionData{executionFields: (*executionFields)(l), StartedAt: l.StartedAt.Time})
		}); err != nil {
			return n, err
		}
	}
	if err := put(kindEnd, n); err != nil {
		return n, err
	}
	if err := zw.Close(); err != nil {
		return n, fmt.Errorf("archive: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("archive: %w", err)
	}
	return n, nil
}

// Summary is what Import loaded.
type Summary struct {
	Header Header
	Counts Counts
	// KeyIDs are the ids of the secret keys the archive's secrets were
	// sealed with (normally one), sorted: the target must run with that key.
	KeyIDs []string
}

// importBatch is how many execution logs go to the store at once.
const importBatch = 256

// Import reads the archive from r into dst, which must be empty, in one
// transaction: an archive that is damaged, cut short or does not fit leaves
// dst as it was.
func Import(ctx context.Context, r io.Reader, dst picloud.Importer) (*Summary, error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("archive: not a picloud export (not gzip: %w)", err)
	}
	dec := json.NewDecoder(zr)
	sum := &Summary{}
	if err := dec.Decode(&sum.Header); err != nil {
		return nil, fmt.Errorf("archive: not a picloud export (no header: %w)", readError(err))
	}
	switch h := sum.Header; {
	case h.Format != Format:
		return nil, fmt.Errorf("archive: not a picloud export (format %q)", h.Format)
	case h.Version < 1 || h.Version > Version:
		return nil, fmt.Errorf("archive: version %d of the archive format is not known to this picloud (which reads %d; use the exporting release or a newer one)", h.Version, Version)
	}
	keys := map[string]bool{}
	err = dst.Import(ctx, func(tx picloud.ImportTx) error {
		n := &sum.Counts
		var batch []*picloud.ExecutionLog
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := tx.ImportExecutions(ctx, batch)
			batch = batch[:0]
			return err
		}
		for i := 2; ; i++ { // i is the line: the header is line 1
			var l struct {
				Kind string          `json:"kind"`
				Data json.RawMessage `json:"data"`
			}
			if err := dec.Decode(&l); errors.Is(err, io.EOF) {
				return fmt.Errorf("archive: the archive is truncated: it ends after line %d without its end record", i-1)
			} else if err != nil {
				return fmt.Errorf("archive: line %d: %w", i, readError(err))
			}
			if l.Kind != kindExecution {
				if err := flush(); err != nil {
					return err
				}
			}
			if err := importRecord(ctx, tx, l.Kind, l.Data, n, keys, &batch); err != nil {
				return fmt.Errorf("archive: line %d (%s): %w", i, l.Kind, err)
			}
			if len(batch) >= importBatch {
				if err := flush(); err != nil {
					return err
				}
			}
			if l.Kind != kindEnd {
				continue
			}
			var end Counts
			if err := json.Unmarshal(l.Data, &end); err != nil {
				return fmt.Errorf("archive: end record: %w", err)
			}
			if end != *n {
				return fmt.Errorf("archive: the archive is damaged: its end record counts %+v, the records read %+v", end, *n)
			}
			var extra json.RawMessage
			if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
				if err == nil {
					return errors.New("archive: the archive is damaged: records follow its end record")
				}
				return fmt.Errorf("archive: after the end record: %w", readError(err))
			}
			return nil
		}
	})
	if err != nil && !errors.Is(err, picloud.ErrNotEmpty) {
		// A record may fail for a cause further on: a damaged stream can
		// still decode for a while. Read the rest so that the gzip checksum
		// says whether the archive itself is at fault.
		if _, derr := io.Copy(io.Discard, zr); derr != nil && !strings.Contains(err.Error(), "the archive is") {
			return nil, fmt.Errorf("archive: %w; the import stopped at: %w", readError(derr), err)
		}
	}
	if err != nil {
		return nil, err
	}
	for k := range keys {
		sum.KeyIDs = append(sum.KeyIDs, k)
	}
	slices.Sort(sum.KeyIDs)
	return sum, nil
}

// readError names a cut or damaged gzip stream for what it is.
func readError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the archive is truncated (%w)", err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, new(flate.CorruptInputError)),
		errors.As(err, new(*json.SyntaxError)):
		return fmt.Errorf("the archive is damaged (%w)", err)
	}
	return err
}

func importRecord(ctx context.Context, tx picloud.ImportTx, kind string, data json.RawMessage, n *Counts,
	keys map[string]bool, batch *[]*picloud.ExecutionLog) error {
	switch kind {
	case kindToken:
		var d tokenData
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		n.AdminToken = true
		return tx.ImportAdminTokenHash(ctx, d.Hash)
	case kindAPIToken:
		var d apiTokenData
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		n.APITokens++
		return tx.ImportAPIToken(ctx, d.token())
	case kindInvokeKey:
		var d invokeKeyData
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		n.InvokeKeys++
		return tx.ImportInvokeKey(ctx, d.key())
	case kindScript:
		var d scriptData
		d.scriptFields = new(scriptFields)
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		n.Scripts++
		return tx.ImportScript(ctx, d.script())
	case kindVersion:
		v := new(picloud.Version)
		d := versionData{versionFields: (*versionFields)(v)}
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		v.CreatedAt.Time = d.CreatedAt
		n.Versions++
		return tx.ImportVersion(ctx, v)
	case kindSchedule:
		var d scheduleData
		d.scheduleFields = new(scheduleFields)
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		n.Schedules++
		return tx.ImportSchedule(ctx, d.schedule())
	case kindSecret:
		var d secretData
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		if id, ok := secretbox.SealedKeyID(d.Sealed); ok {
			keys[id] = true
		}
		n.Secrets++
		return tx.ImportSecret(ctx, &picloud.SealedSecret{Scope: d.Scope, Name: d.Name, Sealed: d.Sealed, UpdatedAt: d.UpdatedAt})
	case kindKV:
		var d kvData
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		e := &picloud.KVEntry{Key: d.Key, Value: json.RawMessage(d.Value), UpdatedAt: picloud.Time{Time: d.UpdatedAt}}
		if d.ExpiresAt != nil {
			e.ExpiresAt = &picloud.Time{Time: *d.ExpiresAt}
		}
		n.KV++
		return tx.ImportKV(ctx, d.NS, e)
	case kindExecution:
		l := new(picloud.ExecutionLog)
		d := executionData{executionFields: (*executionFields)(l)}
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		l.StartedAt.Time = d.StartedAt
		n.Executions++
		*batch = append(*batch, l)
		return nil
	case kindEnd:
		return nil
	}
	return fmt.Errorf("unknown record kind %q", kind)
}
