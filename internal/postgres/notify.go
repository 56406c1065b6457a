package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/picloud/picloud"
)

// scriptsChannel is the NOTIFY channel of script changes. A channel is
// database-wide, so each payload names the schema of the store that sent
// it, and a listener keeps only its own schema's: two PiCloud installations
// (or two tests) in one database do not hear each other.
const scriptsChannel = "picloud_scripts"

// Listener timing: how long the listening connection may stay silent before
// it is pinged (a connection dropped without a reset would otherwise wait
// forever), how long the ping may take, and the reconnection backoff.
const (
	listenPingEvery   = 30 * time.Second
	listenPingTimeout = 5 * time.Second
	listenBackoffMin  = 100 * time.Millisecond
	listenBackoffMax  = 5 * time.Second
)

// notification is a NOTIFY payload: the change, and the sending store's
// schema.
type notification struct {
	picloud.ScriptChange
	Schema string `json:"schema"`
}

var _ picloud.ChangeNotifier = (*Store)(nil)

// NotifyScriptChange implements picloud.ChangeNotifier: a NOTIFY on
// picloud_scripts, which PostgreSQL delivers to every session listening on
// the database (this process's listener too) once it commits, here at once.
func (s *Store) NotifyScriptChange(ctx context.Context, c picloud.ScriptChange) error {
	payload, err := json.Marshal(notification{ScriptChange: c, Schema: s.schema})
	if err != nil {
		return fmt.Errorf("postgres: notify script change %s: %w", c.ID, err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, scriptsChannel, string(payload)); err != nil {
		return fmt.Errorf("postgres: notify script change %s: %w", c.ID, err)
	}
	return nil
}

// ListenScriptChanges implements picloud.ChangeNotifier. It listens on a
// connection of its own, outside the pool (a LISTEN holds its session for
// as long as it lasts, and a session that listened must not go back to the
// pool). Each time it is listening — the first time, and again after its
// connection was lost (or could not be opened) and came back after a
// backoff from 100 ms doubling to 5 s — it calls fn(ScriptChange{}, false):
// whatever was announced before is not going to be heard. The first call
// matters too: a manager's change streams that opened before its listener
// must resynchronise, or a change made through another manager in between
// would be missed. A payload it cannot read is reported the same way. It
// returns nil when ctx ends.
func (s *Store) ListenScriptChanges(ctx context.Context, fn func(c picloud.ScriptChange, ok bool)) error {
	backoff := listenBackoffMin
	missed := true // not listening yet
	for {
		conn, err := s.listen(ctx)
		if err == nil {
			backoff = listenBackoffMin
			if missed {
				fn(picloud.ScriptChange{}, false)
				missed = false
			}
			err = s.receive(ctx, conn, fn)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return nil
		}
		missed = true
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listen opens the listening connection, with the pool's settings.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	return s.listenOn(ctx, scriptsChannel)
}

// listenOn opens a connection listening on channel.
func (s *Store) listenOn(ctx context.Context, channel string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// nextNotification waits for the next notification on conn, until ctx
// ends or conn fails. After listenPingEvery of silence it pings conn, so
// that a connection dropped without a reset is noticed.
func (s *Store) nextNotification(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	every := listenPingEvery
	if s.listenPing > 0 {
		every = s.listenPing
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, every)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && wctx.Err() != nil {
			pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return nil, err
			}
			continue
		}
		return n, err
	}
}

// receive hands fn every change of this store's schema heard on conn, until
// ctx ends or conn fails.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, fn func(c picloud.ScriptChange, ok bool)) error {
	for {
		n, err := s.nextNotification(ctx, conn)
		if err != nil {
			return err
		}
		var msg notification
		if err := json.Unmarshal([]byte(n.Payload), &msg); err != nil {
			fn(picloud.ScriptChange{}, false) // a change we cannot name: resynchronise
			continue
		}
		if msg.Schema != s.schema {
			continue
		}
		fn(msg.ScriptChange, true)
	}
}
