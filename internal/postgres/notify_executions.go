package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
)

// executionsChannel is the NOTIFY channel of stored execution rows, scoped
// by schema like scriptsChannel.
const executionsChannel = "picloud_executions"

// notifyIDs is the most ids one NOTIFY carries: a payload must stay under
// PostgreSQL's 8000 bytes, and an id is 36 (a UUID) plus quoting.
const notifyIDs = 100

// executionsNotification is a NOTIFY payload of executionsChannel.
type executionsNotification struct {
	Schema string   `json:"schema"`
	Origin string   `json:"origin"` // the sending store value
	IDs    []string `json:"ids"`
}

var _ picloud.ExecutionNotifier = (*Store)(nil)

// NotifyExecutions implements picloud.ExecutionNotifier: one NOTIFY on
// picloud_executions per notifyIDs ids.
func (s *Store) NotifyExecutions(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), notifyIDs)
		payload, err := json.Marshal(executionsNotification{Schema: s.schema, Origin: s.origin, IDs: ids[:n]})
		if err != nil {
			return fmt.Errorf("postgres: notify executions: %w", err)
		}
		if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, executionsChannel, string(payload)); err != nil {
			return fmt.Errorf("postgres: notify executions: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// ListenExecutions implements picloud.ExecutionNotifier, on a connection of
// its own like ListenScriptChanges, reconnecting with the same backoff.
func (s *Store) ListenExecutions(ctx context.Context, fn func(ids []string)) error {
	backoff := listenBackoffMin
	for {
		conn, err := s.listenOn(ctx, executionsChannel)
		if err == nil {
			backoff = listenBackoffMin
			s.receiveExecutions(ctx, conn, fn)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancel()
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// receiveExecutions hands fn the ids other store values of this schema
// announce on conn, until ctx ends or conn fails.
func (s *Store) receiveExecutions(ctx context.Context, conn *pgx.Conn, fn func(ids []string)) error {
	for {
		n, err := s.nextNotification(ctx, conn)
		if err != nil {
			return err
		}
		var msg executionsNotification
		if json.Unmarshal([]byte(n.Payload), &msg) != nil || msg.Schema != s.schema || msg.Origin == s.origin || len(msg.IDs) == 0 {
			continue
		}
		fn(msg.IDs)
	}
}
