package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/picloud/picloud"
)

// nodeCols are the nodes table's columns in ListNodes's scan order.
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
		return fmt.Errorf("postgres: save node %q: %w", n.Name, err)
	}
	reg := n.LastHeartbeat.Time
	if reg.IsZero() {
		reg = time.Now()
	}
	var registered time.Time
	err = s.pool.QueryRow(ctx, `INSERT INTO nodes (`+nodeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (name) DO UPDATE SET address = excluded.address, version = excluded.version,
			capacity = excluded.capacity, load = excluded.load, status = excluded.status,
			components = excluded.components, journal_bytes = excluded.journal_bytes,
			started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat
		RETURNING registered_at`,
		n.Name, n.Address, n.Version, int64(n.Capacity), int64(n.Load), n.Status, comps, n.JournalBytes,
		n.StartedAt.UTC(), n.LastHeartbeat.UTC(), reg.UTC()).Scan(&registered)
	if err != nil {
		return fmt.Errorf("postgres: save node %q: %w", n.Name, err)
	}
	n.RegisteredAt.Time = registered.UTC()
	return nil
}

// ListNodes implements picloud.NodeStore.
func (s *Store) ListNodes(ctx context.Context) ([]*picloud.Node, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+nodeCols+` FROM nodes ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list nodes: %w", err)
	}
	defer rows.Close()
	list := []*picloud.Node{}
	for rows.Next() {
		var n picloud.Node
		var comps string
		var capacity, load int64
		if err := rows.Scan(&n.Name, &n.Address, &n.Version, &capacity, &load, &n.Status, &comps,
			&n.JournalBytes, &n.StartedAt.Time, &n.LastHeartbeat.Time, &n.RegisteredAt.Time); err != nil {
			return nil, fmt.Errorf("postgres: list nodes: %w", err)
		}
		if n.Components, err = decodeComponents(comps); err != nil {
			return nil, fmt.Errorf("postgres: list nodes: node %q: %w", n.Name, err)
		}
		n.Capacity, n.Load = int(capacity), int(load)
		n.StartedAt.Time, n.LastHeartbeat.Time, n.RegisteredAt.Time = n.StartedAt.UTC(), n.LastHeartbeat.UTC(), n.RegisteredAt.UTC()
		list = append(list, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list nodes: %w", err)
	}
	return list, nil
}

// DeleteNode implements picloud.NodeStore.
func (s *Store) DeleteNode(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM nodes WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("postgres: delete node %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
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
