package manager

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// The kv routes browse and edit a script's kv namespace, or with
// ?namespace=NAME one of the shared namespaces listed in its kv_namespaces
// setting. Writes obey the script's quota, as kv:: does.

// kvTarget is the namespace and quota a kv route works on.
func (m *Manager) kvTarget(r *http.Request) (string, picloud.KVQuota, error) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		return "", picloud.KVQuota{}, err
	}
	auditTarget(r.Context(), sc.Name, sc.ID) // a write's audit entry names the script; its detail the key
	q := m.exec.KVQuota(sc)
	name := r.URL.Query().Get("namespace")
	if name == "" {
		return picloud.ScriptNamespace(sc.ID), q, nil
	}
	if !slices.Contains(picloud.KVNamespaces(sc.KVNamespaces), name) {
		return "", q, &picloud.Error{Code: picloud.EInvalidRequest, Details: map[string]any{"field": "namespace"},
			Message: "namespace " + strconv.Quote(name) + " is not listed in the script's kv_namespaces setting"}
	}
	return picloud.SharedNamespace(name), q, nil
}

// HandleListKV is GET /api/scripts/{id}/kv?prefix=&limit=&cursor=: a page of
// keys in byte order and the namespace's usage.
func (m *Manager) HandleListKV(w http.ResponseWriter, r *http.Request) {
	ns, _, err := m.kvTarget(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := picloud.DefaultKVListSize
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > picloud.MaxKVListLimit {
			m.fail(w, r, &picloud.Error{Code: picloud.EInvalidRequest, Details: map[string]any{"field": "limit"},
				Message: "limit must be between 1 and " + strconv.Itoa(picloud.MaxKVListLimit)})
			return
		}
	}
	p, err := m.store.KVList(r.Context(), ns, q.Get("prefix"), q.Get("cursor"), limit)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	u, err := m.store.KVUsage(r.Context(), ns)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, picloud.KVListResponse{Keys: p.Keys, Cursor: p.Cursor, Usage: u})
}

// HandleGetKV is GET /api/scripts/{id}/kv/{key...}: the key's value (JSON),
// expiry and update time.
func (m *Manager) HandleGetKV(w http.ResponseWriter, r *http.Request) {
	ns, _, err := m.kvTarget(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	e, err := m.store.KVGet(r.Context(), ns, r.PathValue("key"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, e)
}

// HandlePutKV is PUT /api/scripts/{id}/kv/{key...} {"value": JSON,
// "ttl_seconds": n}: stores the value and answers the stored key.
func (m *Manager) HandlePutKV(w http.ResponseWriter, r *http.Request) {
	var in picloud.KVKeyRequest
	if err := m.decode(w, r, picloud.MaxKVValueBytes+64<<10, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	ns, quota, err := m.kvTarget(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	key := r.PathValue("key")
	wr := picloud.KVWrite{Value: in.Value, Quota: quota}
	if in.TTLSeconds > 0 {
		wr.ExpiresAt = time.Now().Add(time.Duration(in.TTLSeconds) * time.Second)
	}
	if err := m.store.KVSet(r.Context(), ns, key, wr); err != nil {
		m.fail(w, r, err)
		return
	}
	e, err := m.store.KVGet(r.Context(), ns, key)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	auditDetail(r.Context(), kvAuditDetail(r, key))
	m.log.Info("kv key set", "script", r.PathValue("id"), "namespace", ns, "bytes", len(in.Value))
	httpapi.WriteJSON(w, http.StatusOK, e)
}

// HandleDeleteKV is DELETE /api/scripts/{id}/kv/{key...}: 204, or 404 when
// there was no such key.
func (m *Manager) HandleDeleteKV(w http.ResponseWriter, r *http.Request) {
	ns, _, err := m.kvTarget(r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	key := r.PathValue("key")
	ok, err := m.store.KVDelete(r.Context(), ns, key)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if !ok {
		m.fail(w, r, picloud.Errorf(picloud.ENotFound, "kv: no key %q", key))
		return
	}
	auditDetail(r.Context(), kvAuditDetail(r, key))
	w.WriteHeader(http.StatusNoContent)
}
