package manager

import (
	"net/http"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// Secret routes: write-only. A value goes in with PUT and never comes out of
// any route; lists show names and update times. Values are sealed with
// Config.Secrets (internal/secretbox) before they reach the store.

// secretScope is the scope a route names: the script's (which must exist)
// or, without {id}, the global one.
func (m *Manager) secretScope(r *http.Request) (string, error) {
	ref := r.PathValue("id")
	if ref == "" {
		return picloud.GlobalScope, nil
	}
	sc, err := m.ResolveScript(r.Context(), ref)
	if err != nil {
		return "", err
	}
	auditDetail(r.Context(), map[string]any{"script": sc.Name}) // a write's audit entry: the secret's name, never its value
	return picloud.ScriptScope(sc.ID), nil
}

// HandleListSecrets is GET /api/scripts/{id}/secrets and GET /api/secrets.
func (m *Manager) HandleListSecrets(w http.ResponseWriter, r *http.Request) {
	scope, err := m.secretScope(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	list, err := m.store.ListSecrets(r.Context(), scope)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*picloud.Secret{}
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.SecretList{Items: list})
}

// HandlePutSecret is PUT /api/scripts/{id}/secrets/{name} and PUT
// /api/secrets/{name} with {"value": "..."}: 204, no body.
func (m *Manager) HandlePutSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := picloud.ValidateSecretName(name); err != nil {
		m.fail(w, r, err)
		return
	}
	if m.secrets == nil {
		m.fail(w, r, picloud.Errorf(picloud.EUnavailable, "secrets are not configured on this server (no secret key)"))
		return
	}
	scope, err := m.secretScope(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var in picloud.SecretValue
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	sealed, err := m.secrets.Seal(scope, name, []byte(*in.Value))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if err := m.store.SetSecret(r.Context(), scope, name, sealed); err != nil {
		m.fail(w, r, err)
		return
	}
	auditTarget(r.Context(), name, "")
	m.log.Info("secret set", "scope", scope, "name", name)
	w.WriteHeader(http.StatusNoContent)
}

// HandleDeleteSecret is DELETE /api/scripts/{id}/secrets/{name} and DELETE
// /api/secrets/{name}.
func (m *Manager) HandleDeleteSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := picloud.ValidateSecretName(name); err != nil {
		m.fail(w, r, err)
		return
	}
	scope, err := m.secretScope(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if err := m.store.DeleteSecret(r.Context(), scope, name); err != nil {
		m.fail(w, r, err)
		return
	}
	auditTarget(r.Context(), name, "")
	m.log.Info("secret deleted", "scope", scope, "name", name)
	w.WriteHeader(http.StatusNoContent)
}

// Sealer seals a secret's value for its place (internal/secretbox.Box).
type Sealer interface {
	Seal(scope, name string, plaintext []byte) ([]byte, error)
}
