package manager

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// HandleGetDraft is GET /api/scripts/{id}/draft: the script's draft, 404
// not_found when it has none.
func (m *Manager) HandleGetDraft(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	d, err := m.store.Draft(r.Context(), sc.ID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
}

// HandlePutDraft is PUT /api/scripts/{id}/draft {"source"}: stores the draft,
// replacing any. The source must compile, as a deploy's must (400
// invalid_source with the line and column): a draft is only worth keeping if
// it can be promoted. It is never served.
func (m *Manager) HandlePutDraft(w http.ResponseWriter, r *http.Request) {
	var in picloud.DraftRequest
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if err := m.compile(sc.Name, *in.Source); err != nil {
		m.fail(w, r, err)
		return
	}
	var ok bool
	if sc, ok = m.confineScript(w, r, sc); !ok {
		return
	}
	d, err := m.store.PutDraft(r.Context(), sc.ID, *in.Source)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	note := map[string]any{"base_version": d.BaseVersion}
	if sc.ConfinedTo != "" {
		note["confined_to"] = sc.ConfinedTo
	}
	AuditNote(r.Context(), sc.Name, sc.ID, note)
	m.log.Info("draft saved", "script", sc.Name, "id", sc.ID, "base_version", d.BaseVersion)
	httpapi.WriteJSON(w, http.StatusOK, d)
}

// HandleDeleteDraft is DELETE /api/scripts/{id}/draft: 204, or 404 when the
// script has no draft.
func (m *Manager) HandleDeleteDraft(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if err := m.store.DeleteDraft(r.Context(), sc.ID); err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), sc.Name, sc.ID, nil)
	m.log.Info("draft dropped", "script", sc.Name, "id", sc.ID)
	w.WriteHeader(http.StatusNoContent)
}

// HandlePromoteDraft is POST /api/scripts/{id}/draft/promote: the draft
// becomes the script's next version (the updated script is the answer) and
// is dropped; 404 when there is no draft.
func (m *Manager) HandlePromoteDraft(w http.ResponseWriter, r *http.Request) {
	cur, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var ok bool
	if cur, ok = m.confineScript(w, r, cur); !ok {
		return
	}
	sc, err := m.store.PromoteDraft(r.Context(), cur.ID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.invoker.Invalidate(sc.ID)
	note := versionChange(cur.Version, sc.Version)
	if sc.ConfinedTo != "" {
		note["confined_to"] = sc.ConfinedTo
	}
	AuditNote(r.Context(), sc.Name, sc.ID, note)
	m.log.Info("draft promoted", "script", sc.Name, "id", sc.ID, "version", sc.Version)
	httpapi.WriteJSON(w, http.StatusOK, sc)
}

// withDraft is the script as GET /api/scripts/{id} shows it: with "draft",
// the Draft, when it has one (absent otherwise), so that an editor learns of
// a waiting draft without a request that fails when there is none.
func (m *Manager) withDraft(ctx context.Context, sc *picloud.Script) (json.RawMessage, error) {
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	d, err := m.store.Draft(ctx, sc.ID)
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return b, nil
	} else if err != nil {
		return nil, err
	}
	db, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	// b is a JSON object: "draft" goes in before its closing brace.
	out := append(b[:len(b)-1:len(b)-1], `,"draft":`...)
	out = append(out, db...)
	return append(out, '}'), nil
}
