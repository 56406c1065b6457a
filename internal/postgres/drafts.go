package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
)

func noDraft(scriptID string) error {
	return picloud.Errorf(picloud.ENotFound, "script %q has no draft", scriptID)
}

const draftCols = `script_id, source, base_version, updated_at`

// PutDraft implements picloud.DraftStore.
func (s *Store) PutDraft(ctx context.Context, scriptID, source string) (*picloud.Draft, error) {
	d := &picloud.Draft{ScriptID: scriptID, Source: source}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// FOR SHARE: the script cannot be deleted or promoted under us, so
		// base_version is the version the draft was saved against.
		err := tx.QueryRow(ctx, `SELECT version FROM scripts WHERE id = $1 FOR SHARE`, scriptID).Scan(&d.BaseVersion)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("script", scriptID)
		} else if err != nil {
			return err
		}
		d.UpdatedAt.Time = time.Now().UTC().Truncate(time.Microsecond)
		_, err = tx.Exec(ctx, `INSERT INTO script_drafts (`+draftCols+`) VALUES ($1, $2, $3, $4)
			ON CONFLICT (script_id) DO UPDATE SET source = excluded.source, base_version = excluded.base_version, updated_at = excluded.updated_at`,
			scriptID, source, d.BaseVersion, d.UpdatedAt.Time)
		return err
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("postgres: put draft of %q: %w", scriptID, err)
	}
	return d, nil
}

// Draft implements picloud.DraftStore.
func (s *Store) Draft(ctx context.Context, scriptID string) (*picloud.Draft, error) {
	return draftFrom(s.pool.QueryRow(ctx, `SELECT `+draftCols+` FROM script_drafts WHERE script_id = $1`, scriptID), scriptID)
}

func draftFrom(row pgx.Row, scriptID string) (*picloud.Draft, error) {
	var d picloud.Draft
	err := row.Scan(&d.ScriptID, &d.Source, &d.BaseVersion, &d.UpdatedAt.Time)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, noDraft(scriptID)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: draft of %q: %w", scriptID, err)
	}
	d.UpdatedAt.Time = d.UpdatedAt.UTC()
	return &d, nil
}

// DeleteDraft implements picloud.DraftStore.
func (s *Store) DeleteDraft(ctx context.Context, scriptID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM script_drafts WHERE script_id = $1`, scriptID)
	if err != nil {
		return fmt.Errorf("postgres: delete draft of %q: %w", scriptID, err)
	}
	if tag.RowsAffected() == 0 {
		return noDraft(scriptID)
	}
	return nil
}

// PromoteDraft implements picloud.DraftStore.
func (s *Store) PromoteDraft(ctx context.Context, scriptID string) (*picloud.Script, error) {
	var out *picloud.Script
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// DELETE ... RETURNING takes the draft and its row lock at once: of
		// two concurrent promotes, one makes the version, the other finds
		// no draft.
		d, err := draftFrom(tx.QueryRow(ctx, `DELETE FROM script_drafts WHERE script_id = $1 RETURNING `+draftCols, scriptID), scriptID)
		if err != nil {
			return err
		}
		out, err = updateScriptTx(ctx, tx, scriptID, picloud.ScriptUpdate{Source: &d.Source, NewVersion: true})
		return err
	})
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("postgres: promote draft of %q: %w", scriptID, err)
	}
	return out, nil
}
