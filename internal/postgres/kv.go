package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
)

// The kv:: store. Every write runs in a transaction that first takes the
// namespace's advisory lock, so incr and compare-and-set read and write with
// no other writer of the namespace in between, and a quota is checked
// against the namespace as the write leaves it. Every read filters expired
// keys (against this process's clock, as the other store does).

// live keeps the rows not expired at $3 (live2: at $2).
const (
	live  = `(expires_at IS NULL OR expires_at > $3)`
	live2 = `(expires_at IS NULL OR expires_at > $2)`
)

type kvRow struct {
	value   json.RawMessage
	size    int64
	expires *time.Time
}

// kvWrite runs fn on the current value of ns/key in a locked transaction and
// stores what it returns (write false: nothing), checking the quota when the
// write grows the namespace.
func (s *Store) kvWrite(ctx context.Context, ns, key string, q picloud.KVQuota,
	fn func(cur *kvRow) (value json.RawMessage, expires *time.Time, write bool, err error)) error {
	if err := picloud.ValidKVKey(key); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockNamespace(ctx, tx, ns); err != nil {
			return err
		}
		now := time.Now().UTC()
		var cur *kvRow
		var r kvRow
		var v string
		err := tx.QueryRow(ctx, `SELECT value, size, expires_at FROM kv WHERE ns = $1 AND key = $2 AND `+live,
			ns, key, now).Scan(&v, &r.size, &r.expires)
		switch {
		case err == nil:
			r.value, cur = json.RawMessage(v), &r
		case !errors.Is(err, pgx.ErrNoRows):
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
			if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM kv WHERE ns = $1 AND `+live2,
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
		_, err = tx.Exec(ctx, `INSERT INTO kv (ns, key, value, size, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, size = excluded.size,
			expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
			ns, key, string(value), size, expires, now)
		return err
	})
	if err != nil && errors.As(err, new(*picloud.Error)) {
		return err
	} else if err != nil {
		return fmt.Errorf("postgres: kv write: %w", err)
	}
	return nil
}

func expiry(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// KVGet implements picloud.KVStore.
func (s *Store) KVGet(ctx context.Context, ns, key string) (*picloud.KVEntry, error) {
	var v string
	var expires *time.Time
	var updated time.Time
	err := s.pool.QueryRow(ctx, `SELECT value, expires_at, updated_at FROM kv WHERE ns = $1 AND key = $2 AND `+live,
		ns, key, time.Now().UTC()).Scan(&v, &expires, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, picloud.Errorf(picloud.ENotFound, "kv: no key %q", key)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: kv get: %w", err)
	}
	e := &picloud.KVEntry{Key: key, Value: json.RawMessage(v), UpdatedAt: picloud.Time{Time: updated.UTC()}}
	if expires != nil {
		e.ExpiresAt = &picloud.Time{Time: expires.UTC()}
	}
	return e, nil
}

// KVSet implements picloud.KVStore.
func (s *Store) KVSet(ctx context.Context, ns, key string, w picloud.KVWrite) error {
	return s.kvWrite(ctx, ns, key, w.Quota, func(*kvRow) (json.RawMessage, *time.Time, bool, error) {
		return w.Value, expiry(w.ExpiresAt), true, nil
	})
}

// lockNamespace serialises the writes of one namespace (incr, cas, the quota
// check and delete read then write) until tx ends.
func lockNamespace(ctx context.Context, tx pgx.Tx, ns string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7431011))`, ns)
	return err
}

// KVDelete implements picloud.KVStore. It takes the namespace's lock like
// every other write, so that a delete cannot land between an incr's or a
// cas's read and its write (the key would come back after the delete
// reported it gone).
func (s *Store) KVDelete(ctx context.Context, ns, key string) (bool, error) {
	var deleted bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockNamespace(ctx, tx, ns); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM kv WHERE ns = $1 AND key = $2 AND `+live, ns, key, time.Now().UTC())
		deleted = err == nil && tag.RowsAffected() > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: kv delete: %w", err)
	}
	return deleted, nil
}

// KVIncr implements picloud.KVStore.
func (s *Store) KVIncr(ctx context.Context, ns, key string, by int64, w picloud.KVWrite) (int64, error) {
	var out int64
	err := s.kvWrite(ctx, ns, key, w.Quota, func(cur *kvRow) (json.RawMessage, *time.Time, bool, error) {
		var value json.RawMessage
		var expires *time.Time
		if cur != nil {
			value, expires = cur.value, cur.expires
		}
		n, next, err := picloud.KVIncrement(key, value, by)
		if err != nil {
			return nil, nil, false, err
		}
		out = n
		return next, expires, true, nil
	})
	return out, err
}

// KVCompareAndSet implements picloud.KVStore.
func (s *Store) KVCompareAndSet(ctx context.Context, ns, key string, expected json.RawMessage, w picloud.KVWrite) (bool, error) {
	var done bool
	err := s.kvWrite(ctx, ns, key, w.Quota, func(cur *kvRow) (json.RawMessage, *time.Time, bool, error) {
		var value json.RawMessage
		if cur != nil {
			value = cur.value
		}
		if !picloud.KVMatches(value, expected) {
			return nil, nil, false, nil
		}
		done = true
		return w.Value, expiry(w.ExpiresAt), true, nil
	})
	return done && err == nil, err
}

// KVList implements picloud.KVStore: keys in byte order (COLLATE "C") from
// the prefix (or after the cursor), stopping at the first key that no longer
// starts with the prefix.
func (s *Store) KVList(ctx context.Context, ns, prefix, cursor string, limit int) (*picloud.KVPage, error) {
	limit = picloud.KVListSize(limit)
	op, from := ">=", prefix
	if cursor != "" && cursor >= prefix {
		op, from = ">", cursor
	}
	rows, err := s.pool.Query(ctx, `SELECT key FROM kv WHERE ns = $1 AND key `+op+` $2 AND `+live+` ORDER BY key LIMIT $4`,
		ns, from, time.Now().UTC(), limit+1)
	if err != nil {
		return nil, fmt.Errorf("postgres: kv list: %w", err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("postgres: kv list: %w", err)
		}
		if !strings.HasPrefix(k, prefix) {
			break
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: kv list: %w", err)
	}
	return picloud.NewKVPage(keys, limit), nil
}

// KVUsage implements picloud.KVStore.
func (s *Store) KVUsage(ctx context.Context, ns string) (picloud.KVUsage, error) {
	var u picloud.KVUsage
	if err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM kv WHERE ns = $1 AND `+live2,
		ns, time.Now().UTC()).Scan(&u.Keys, &u.Bytes); err != nil {
		return u, fmt.Errorf("postgres: kv usage: %w", err)
	}
	return u, nil
}

// DeleteKVNamespace implements picloud.KVStore.
func (s *Store) DeleteKVNamespace(ctx context.Context, ns string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM kv WHERE ns = $1`, ns); err != nil {
		return fmt.Errorf("postgres: kv delete namespace: %w", err)
	}
	return nil
}

// PurgeKV implements picloud.KVStore.
func (s *Store) PurgeKV(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1`, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("postgres: kv purge: %w", err)
	}
	return tag.RowsAffected(), nil
}
