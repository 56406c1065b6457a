package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/picloud/picloud"
)

// The kv:: store. Every write runs in a transaction on the single writer
// connection (BEGIN IMMEDIATE), so incr and compare-and-set read and write
// with no other writer in between, and a quota is checked against the
// namespace as the write leaves it. Every read filters expired keys.

const live = `(expires_at IS NULL OR expires_at > ?)`

type kvRow struct {
	value   json.RawMessage
	size    int64
	expires sql.NullInt64
}

// kvCurrent reads the live row of ns/key in q (nil when absent or expired).
func kvCurrent(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ns, key string, now int64) (*kvRow, error) {
	var r kvRow
	var v string
	err := q.QueryRowContext(ctx, `SELECT value, size, expires_at FROM kv WHERE ns = ? AND key = ? AND `+live,
		ns, key, now).Scan(&v, &r.size, &r.expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	r.value = json.RawMessage(v)
	return &r, nil
}

// kvWrite runs fn on the current value of ns/key in a write transaction and
// stores what it returns (write false: nothing), checking the quota when the
// write grows the namespace.
func (s *Store) kvWrite(ctx context.Context, ns, key string, q picloud.KVQuota,
	fn func(cur *kvRow) (value json.RawMessage, expires sql.NullInt64, write bool, err error)) error {
	if err := picloud.ValidKVKey(key); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := micros(time.Now())
		cur, err := kvCurrent(ctx, tx, ns, key, now)
		if err != nil {
			return err
		}
		value, expires, write, err := fn(cur)
		if err != nil || !write {
			return err
		}
		if err := picloud.ValidKVValue(value); err != nil {
			return err
		}
		size := int64(len(key) + len(value))
		if cur == nil || size > cur.size {
			var u picloud.KVUsage
			if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM kv WHERE ns = ? AND `+live,
				ns, now).Scan(&u.Keys, &u.Bytes); err != nil {
				return err
			}
			if cur == nil {
				u.Keys++
				u.Bytes += size
			} else {
				u.Bytes += size - cur.size
			}
			if err := picloud.CheckKVQuota(q, u); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO kv (ns, key, value, size, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, size = excluded.size,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
			ns, key, string(value), size, expires, now)
		return err
	})
	if err != nil && errors.As(err, new(*picloud.Error)) {
		return err
	} else if err != nil {
		return fmt.Errorf("sqlite: kv write: %w", err)
	}
	return nil
}

func expiry(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// KVGet implements picloud.KVStore.
func (s *Store) KVGet(ctx context.Context, ns, key string) (*picloud.KVEntry, error) {
	var v string
	var expires sql.NullInt64
	var updated int64
	err := s.r.QueryRowContext(ctx, `SELECT value, expires_at, updated_at FROM kv WHERE ns = ? AND key = ? AND `+live,
		ns, key, micros(time.Now())).Scan(&v, &expires, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "kv: no key %q", key)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: kv get: %w", err)
	}
	e := &picloud.KVEntry{Key: key, Value: json.RawMessage(v), UpdatedAt: picloud.Time{Time: fromMicros(updated)}}
	if expires.Valid {
		e.ExpiresAt = &picloud.Time{Time: fromMicros(expires.Int64)}
	}
	return e, nil
}

// KVSet implements picloud.KVStore.
func (s *Store) KVSet(ctx context.Context, ns, key string, w picloud.KVWrite) error {
	return s.kvWrite(ctx, ns, key, w.Quota, func(*kvRow) (json.RawMessage, sql.NullInt64, bool, error) {
		return w.Value, expiry(w.ExpiresAt), true, nil
	})
}

// KVDelete implements picloud.KVStore.
func (s *Store) KVDelete(ctx context.Context, ns, key string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM kv WHERE ns = ? AND key = ? AND `+live, ns, key, micros(time.Now()))
	if err != nil {
		return false, fmt.Errorf("sqlite: kv delete: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// KVIncr implements picloud.KVStore.
func (s *Store) KVIncr(ctx context.Context, ns, key string, by int64, w picloud.KVWrite) (int64, error) {
	var out int64
	err := s.kvWrite(ctx, ns, key, w.Quota, func(cur *kvRow) (json.RawMessage, sql.NullInt64, bool, error) {
		var value json.RawMessage
		var expires sql.NullInt64
		if cur != nil {
			value, expires = cur.value, cur.expires
		}
		n, next, err := picloud.KVIncrement(key, value, by)
		if err != nil {
			return nil, expires, false, err
		}
		out = n
		return next, expires, true, nil
	})
	return out, err
}

// KVCompareAndSet implements picloud.KVStore.
func (s *Store) KVCompareAndSet(ctx context.Context, ns, key string, expected json.RawMessage, w picloud.KVWrite) (bool, error) {
	var done bool
	err := s.kvWrite(ctx, ns, key, w.Quota, func(cur *kvRow) (json.RawMessage, sql.NullInt64, bool, error) {
		var value json.RawMessage
		if cur != nil {
			value = cur.value
		}
		if !picloud.KVMatches(value, expected) {
			return nil, sql.NullInt64{}, false, nil
		}
		done = true
		return w.Value, expiry(w.ExpiresAt), true, nil
	})
	return done && err == nil, err
}

// KVList implements picloud.KVStore: keys in byte order (BINARY collation)
// from the prefix (or after the cursor), stopping at the first key that no
// longer starts with the prefix.
func (s *Store) KVList(ctx context.Context, ns, prefix, cursor string, limit int) (*picloud.KVPage, error) {
	limit = picloud.KVListSize(limit)
	q, from := `SELECT key FROM kv WHERE ns = ? AND key >= ? AND `+live+` ORDER BY key LIMIT ?`, prefix
	if cursor != "" && cursor >= prefix {
		q, from = strings.Replace(q, "key >= ?", "key > ?", 1), cursor
	}
	rows, err := s.r.QueryContext(ctx, q, ns, from, micros(time.Now()), limit+1)
	if err != nil {
		return nil, fmt.Errorf("sqlite: kv list: %w", err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlite: kv list: %w", err)
		}
		if !strings.HasPrefix(k, prefix) {
			break
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: kv list: %w", err)
	}
	return picloud.NewKVPage(keys, limit), nil
}

// KVUsage implements picloud.KVStore.
func (s *Store) KVUsage(ctx context.Context, ns string) (picloud.KVUsage, error) {
	var u picloud.KVUsage
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM kv WHERE ns = ? AND `+live,
		ns, micros(time.Now())).Scan(&u.Keys, &u.Bytes); err != nil {
		return u, fmt.Errorf("sqlite: kv usage: %w", err)
	}
	return u, nil
}

// DeleteKVNamespace implements picloud.KVStore.
func (s *Store) DeleteKVNamespace(ctx context.Context, ns string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM kv WHERE ns = ?`, ns); err != nil {
		return fmt.Errorf("sqlite: kv delete namespace: %w", err)
	}
	return nil
}

// PurgeKV implements picloud.KVStore.
func (s *Store) PurgeKV(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: kv purge: %w", err)
	}
	return res.RowsAffected()
}
