package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud"
)

func noDraft(scriptID string) error {
	return picloud.Errorf(picloud.ENotFound, "script %q has no draft", scriptID)
}

// PutDraft implements picloud.DraftStore.
func (s *Store) PutDraft(ctx context.Context, scriptID, source string) (*picloud.Draft, error) {
	d := &picloud.Draft{ScriptID: scriptID, Source: source}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT version FROM scripts WHERE id = ?`, scriptID).Scan(&d.BaseVersion)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("script", scriptID)
		} else if err != nil {
			return err
		}
		d.UpdatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
		_, err = tx.ExecContext(ctx, `INSERT INTO script_drafts (script_id, source, base_version, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (script_id) DO UPDATE SET source = excluded.source, base_version = excluded.base_version, updated_at = excluded.updated_at`,
			scriptID, source, d.BaseVersion, micros(d.UpdatedAt.Time))
		return err
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: put draft of %q: %w", scriptID, err)
	}
	return d, nil
}

// Draft implements picloud.DraftStore.
func (s *Store) Draft(ctx context.Context, scriptID string) (*picloud.Draft, error) {
	return draftFrom(s.r.QueryRowContext(ctx, `SELECT script_id, source, base_version, updated_at FROM script_drafts WHERE script_id = ?`, scriptID), scriptID)
}

func draftFrom(row scanner, scriptID string) (*picloud.Draft, error) {
	var d picloud.Draft
	var updated int64
	err := row.Scan(&d.ScriptID, &d.Source, &d.BaseVersion, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noDraft(scriptID)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: draft of %q: %w", scriptID, err)
	}
	d.UpdatedAt.Time = fromMicros(updated)
	return &d, nil
}

// DeleteDraft implements picloud.DraftStore.
func (s *Store) DeleteDraft(ctx context.Context, scriptID string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM script_drafts WHERE script_id = ?`, scriptID)
	if err != nil {
		return fmt.Errorf("sqlite: delete draft of %q: %w", scriptID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return noDraft(scriptID)
	}
	return nil
}

// PromoteDraft implements picloud.DraftStore.
func (s *Store) PromoteDraft(ctx context.Context, scriptID string) (*picloud.Script, error) {
	var out *picloud.Script
	err := s.tx(ctx, func(tx *sql.Tx) error {
		d, err := draftFrom(tx.QueryRowContext(ctx, `SELECT script_id, source, base_version, updated_at FROM script_drafts WHERE script_id = ?`, scriptID), scriptID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM script_drafts WHERE script_id = ?`, scriptID); err != nil {
			return err
		}
		out, err = updateScriptTx(ctx, tx, scriptID, picloud.ScriptUpdate{Source: &d.Source, NewVersion: true})
		return err
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: promote draft of %q: %w", scriptID, err)
	}
	return out, nil
}
