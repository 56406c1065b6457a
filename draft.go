package picloud

import "context"

// Draft is a script's unpublished source: stored beside the script, never
// served, until promoted to the next version. A script has at most one.
// BaseVersion is the script's version when the draft was last saved, so that
// an editor can tell a draft written against an older version.
type Draft struct {
	ScriptID    string `json:"script_id"`
	Source      string `json:"source"`
	BaseVersion int    `json:"base_version"`
	UpdatedAt   Time   `json:"updated_at"`
}

// DraftRequest is the body of PUT /api/scripts/{id}/draft.
type DraftRequest struct {
	Source *string `json:"source"`
}

// Validate requires the source.
func (r DraftRequest) Validate() error {
	if r.Source == nil {
		return fieldError("source", "source is required")
	}
	return nil
}

// DraftStore keeps drafts. A script's draft goes with the script.
type DraftStore interface {
	// PutDraft stores source as the script's draft, replacing any; ENotFound
	// when the script does not exist.
	PutDraft(ctx context.Context, scriptID, source string) (*Draft, error)
	// Draft returns the script's draft; ENotFound when it has none.
	Draft(ctx context.Context, scriptID string) (*Draft, error)
	// DeleteDraft drops the script's draft; ENotFound when it has none.
	DeleteDraft(ctx context.Context, scriptID string) error
	// PromoteDraft makes the draft's source the script's next version (a
	// new version even when the source is unchanged, as a rollback does)
	// and drops the draft, in one transaction; ENotFound when the script
	// has no draft.
	PromoteDraft(ctx context.Context, scriptID string) (*Script, error)
}
