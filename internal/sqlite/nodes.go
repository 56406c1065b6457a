package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/picloud/picloud"
)

// nodeCols are the nodes table's columns in scanNode's order.
const nodeCols = `name, address, version, capacity, load, status, components, journal_bytes, started_at, last_heartbeat, registered_at`

// SaveNode implements picloud.NodeStore: one upsert that leaves
// registered_at as the first save wrote it and returns it. A first save
// registers the node at its LastHeartbeat (the manager's clock when the
// report arrived), or now when that is unset.
func (s *Store) SaveNode(ctx context.Context, n *picloud.Node) error {
	if n.Name == "" {
		return picloud.Errorf(picloud.EInvalidRequest, "a node needs a name")
	}
	comps, err := encodeComponents(n.Components)
	if err != nil {
		return fmt.Errorf("sqlite: save node %q: %w", n.Name, err)
	}
	reg := n.LastHeartbeat.Time
	if reg.IsZero() {
		reg = time.Now()
	}
	var registered int64
	err = s.w.QueryRowContext(ctx, `INSERT INTO nodes (`+nodeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET address = excluded.address, version = excluded.version,
			capacity = excluded.capacity, load = excluded.load, status = excluded.status,
			components = excluded.components, journal_bytes = excluded.journal_bytes,
			started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat
		RETURNING registered_at`,
		n.Name, n.Address, n.Version, n.Capacity, n.Load, n.Status, comps, n.JournalBytes,
		micros(n.StartedAt.Time), micros(n.LastHeartbeat.Time), micros(reg)).Scan(&registered)
	if err != nil {
		return fmt.Errorf("sqlite: save node %q: %w", n.Name, err)
	}
	n.RegisteredAt.Time = fromMicros(registered)
	return nil
}

// ListNodes implements picloud.NodeStore.
func (s *Store) ListNodes(ctx context.Context) ([]*picloud.Node, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+nodeCols+` FROM nodes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list nodes: %w", err)
	}
	defer rows.Close()
	list := []*picloud.Node{}
	for rows.Next() {
		var n picloud.Node
		var comps string
		var started, beat, registered int64
		if err := rows.Scan(&n.Name, &n.Address, &n.Version, &n.Capacity, &n.Load, &n.Status, &comps,
			&n.JournalBytes, &started, &beat, &registered); err != nil {
			return nil, fmt.Errorf("sqlite: list nodes: %w", err)
		}
		if n.Components, err = decodeComponents(comps); err != nil {
			return nil, fmt.Errorf("sqlite: list nodes: node %q: %w", n.Name, err)
		}
		n.StartedAt.Time, n.LastHeartbeat.Time, n.RegisteredAt.Time = fromMicros(started), fromMicros(beat), fromMicros(registered)
		list = append(list, &n)
	}
	return list, rows.Err()
}

// DeleteNode implements picloud.NodeStore.
func (s *Store) DeleteNode(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM nodes WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("sqlite: delete node %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("node", name)
	}
	return nil
}

// encodeComponents is a node's health components as the components column
// stores them: a JSON object, '{}' for none.
func encodeComponents(c map[string]picloud.HealthComponent) (string, error) {
	if len(c) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("components: %w", err)
	}
	return string(b), nil
}

// decodeComponents reads the components column back; '{}' is nil, as a node
// that reported none was saved.
func decodeComponents(s string) (map[string]picloud.HealthComponent, error) {
	var c map[string]picloud.HealthComponent
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return nil, fmt.Errorf("components: %w", err)
	}
	if len(c) == 0 {
		return nil, nil
	}
	return c, nil
}
