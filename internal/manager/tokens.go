package manager

import (
	"net/http"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// tokenPrefixLen is how much of a token or key the API shows to recognise it
// by ("pct_1a2b3c4d").
const tokenPrefixLen = 12

// TokenRequest is the body of POST /api/tokens.
type TokenRequest struct {
	Name      string        `json:"name"`
	Scopes    []string      `json:"scopes"`
	Scripts   string        `json:"scripts,omitempty"`    // a name pattern restricting the token; "" all scripts
	ExpiresAt *picloud.Time `json:"expires_at,omitempty"` // null or absent: never
}

// Validate checks the name (a slug, not "admin"), the scopes, the scripts
// pattern and that the expiry, when set, lies ahead.
func (in TokenRequest) Validate() error {
	if err := picloud.ValidateName(in.Name); err != nil {
		return err
	}
	if in.Name == picloud.AdminTokenID {
		return &picloud.Error{Code: picloud.EInvalidRequest, Message: `the name "admin" is the admin token's; choose another`,
			Details: map[string]any{"field": "name"}}
	}
	if err := picloud.ValidateScopes(in.Scopes); err != nil {
		return err
	}
	if err := picloud.ValidateScriptPattern(in.Scripts); err != nil {
		return err
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(time.Now()) {
		return &picloud.Error{Code: picloud.EInvalidRequest, Message: "expires_at is in the past",
			Details: map[string]any{"field": "expires_at"}}
	}
	return nil
}

// TokenSecret answers the routes that make a token (create, rotate): the
// token itself, shown this once, and its row.
type TokenSecret struct {
	picloud.APIToken
	Token string `json:"token"`
}

// TokenList answers GET /api/tokens.
type TokenList struct {
	Items []*picloud.APIToken `json:"items"`
}

// adminTokenRow is the admin token as GET /api/tokens lists it.
func adminTokenRow() *picloud.APIToken {
	return &picloud.APIToken{ID: picloud.AdminTokenID, Name: picloud.AdminTokenID, Scopes: []string{picloud.ScopeAdmin}}
}

// HandleListTokens is GET /api/tokens: the admin token (a row with id and
// name "admin") and the named tokens by name, without their secrets.
func (m *Manager) HandleListTokens(w http.ResponseWriter, r *http.Request) {
	list, err := m.store.APITokens(r.Context())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, TokenList{Items: append([]*picloud.APIToken{adminTokenRow()}, list...)})
}

// HandleCreateToken is POST /api/tokens {"name", "scopes", "scripts",
// "expires_at"}: 201 with the token, which is never shown again.
func (m *Manager) HandleCreateToken(w http.ResponseWriter, r *http.Request) {
	var in TokenRequest
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	token := NewToken()
	t := &picloud.APIToken{Name: in.Name, Scopes: in.Scopes, Scripts: in.Scripts, Prefix: token[:tokenPrefixLen], Hash: HashToken(token)}
	if in.ExpiresAt != nil && !in.ExpiresAt.IsZero() {
		t.ExpiresAt = &picloud.Time{Time: in.ExpiresAt.UTC().Truncate(time.Millisecond)}
	}
	if err := m.store.CreateAPIToken(r.Context(), t); err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), t.Name, t.ID, map[string]any{"scopes": t.Scopes, "scripts": t.Scripts, "expires_at": t.ExpiresAt})
	m.log.Info("API token created", "token", t.Name, "scopes", t.Scopes, "scripts", t.Scripts)
	httpapi.WriteJSON(w, http.StatusCreated, TokenSecret{APIToken: *t, Token: token})
}

// tokenRef finds the token {id} names: its id or its name. "admin" is the
// admin token, for which it returns nil.
func (m *Manager) tokenRef(r *http.Request) (*picloud.APIToken, error) {
	ref := r.PathValue("id")
	if ref == picloud.AdminTokenID {
		return nil, nil
	}
	if picloud.LooksLikeUUID(ref) {
		return m.store.APIToken(r.Context(), ref)
	}
	list, err := m.store.APITokens(r.Context())
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		if t.Name == ref {
			return t, nil
		}
	}
	return nil, picloud.Errorf(picloud.ENotFound, "no token named %q", ref)
}

// HandleDeleteToken is DELETE /api/tokens/{id} (an id or a name): it revokes
// the token and ends its sessions, at once in this process and within
// TokenRefresh elsewhere. The admin token cannot be revoked (rotate it).
func (m *Manager) HandleDeleteToken(w http.ResponseWriter, r *http.Request) {
	t, err := m.tokenRef(r)
	if err != nil {
		m.fail(w, r, err)
		return
	} else if t == nil {
		m.fail(w, r, &picloud.Error{Code: picloud.EInvalidRequest,
			Message: "the admin token cannot be revoked; rotate it instead (POST /api/tokens/admin/rotate)"})
		return
	}
	m.auth.forgetToken(t.ID, true) // first: even if the store fails, this process stops believing it
	err = m.store.DeleteAPIToken(r.Context(), t.ID)
	m.auth.forgetToken(t.ID, true) // a lookup that read the store before the delete caches nothing now
	if err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), t.Name, t.ID, nil)
	m.log.Info("API token revoked", "token", t.Name)
	w.WriteHeader(http.StatusNoContent)
}

// HandleRotateToken is POST /api/tokens/{id}/rotate (an id, a name, or
// "admin" for the admin token): the token gets a new secret, returned this
// once; the old one stops working and its sessions end.
func (m *Manager) HandleRotateToken(w http.ResponseWriter, r *http.Request) {
	t, err := m.tokenRef(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if t == nil {
		token, err := RotateToken(r.Context(), m.store)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		row := adminTokenRow()
		AuditNote(r.Context(), row.Name, row.ID, nil)
		m.log.Info("admin token rotated online; every session was signed out")
		httpapi.WriteJSON(w, http.StatusOK, TokenSecret{APIToken: *row, Token: token})
		return
	}
	token, id := NewToken(), t.ID
	m.auth.forgetToken(id, true)
	t, err = m.store.RotateAPIToken(r.Context(), id, HashToken(token), token[:tokenPrefixLen])
	m.auth.forgetToken(id, true)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), t.Name, t.ID, nil)
	m.log.Info("API token rotated; its sessions were signed out", "token", t.Name)
	httpapi.WriteJSON(w, http.StatusOK, TokenSecret{APIToken: *t, Token: token})
}
