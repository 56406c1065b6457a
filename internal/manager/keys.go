package manager

import (
	"net/http"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// keyPrefix starts every invoke key, so that one is easy to spot in a leaked
// file and is stripped from what scripts see and redacted from the log.
const keyPrefix = "pck_"

// invokeKeyGeneration changes whenever this process revokes an invoke key:
// whatever caches keys in this process (the invocation authorizer) drops
// what it holds when it sees a new value, so that a revoked key stops
// working here at once (elsewhere within the cache's lifetime). Revoking or
// rotating a named token changes apiTokenGeneration likewise.
var invokeKeyGeneration atomic.Uint64

// NewInvokeKey returns a fresh invoke key: 32 random bytes, hex, after
// keyPrefix.
func NewInvokeKey() string { return keyPrefix + randomHex() }

// KeyRequest is the body of POST /api/scripts/{id}/keys.
type KeyRequest struct {
	Name string `json:"name"` // an optional label
}

// Validate bounds the label: at most picloud.MaxInvokeKeyName bytes of
// printable UTF-8.
func (in KeyRequest) Validate() error {
	bad := len(in.Name) > picloud.MaxInvokeKeyName || !utf8.ValidString(in.Name) ||
		strings.ContainsFunc(in.Name, func(r rune) bool { return r < 0x20 || r == 0x7f })
	if bad {
		return &picloud.Error{Code: picloud.EInvalidRequest, Details: map[string]any{"field": "name"},
			Message: "a key's name is at most 64 bytes of printable text"}
	}
	return nil
}

// KeySecret answers POST /api/scripts/{id}/keys: the key itself, shown this
// once, and its row.
type KeySecret struct {
	picloud.InvokeKey
	Key string `json:"key"`
}

// KeyList answers GET /api/scripts/{id}/keys.
type KeyList struct {
	Items []*picloud.InvokeKey `json:"items"`
}

// HandleListKeys is GET /api/scripts/{id}/keys: the script's invoke keys by
// creation time, without their secrets.
func (m *Manager) HandleListKeys(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	list, err := m.store.InvokeKeys(r.Context(), sc.ID)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*picloud.InvokeKey{}
	}
	httpapi.WriteJSON(w, http.StatusOK, KeyList{Items: list})
}

// HandleCreateKey is POST /api/scripts/{id}/keys {"name"}: 201 with a new
// invoke key, which is never shown again. Keys work whatever the script's
// access, but are only asked for when it is "key".
func (m *Manager) HandleCreateKey(w http.ResponseWriter, r *http.Request) {
	var in KeyRequest
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	key := NewInvokeKey()
	k := &picloud.InvokeKey{ScriptID: sc.ID, Name: in.Name, Prefix: key[:tokenPrefixLen], Hash: HashToken(key)}
	if err := m.store.CreateInvokeKey(r.Context(), k); err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), sc.Name, sc.ID, map[string]any{"key_id": k.ID, "prefix": k.Prefix, "name": k.Name})
	m.log.Info("invoke key created", "script", sc.Name, "key", k.Prefix)
	httpapi.WriteJSON(w, http.StatusCreated, KeySecret{InvokeKey: *k, Key: key})
}

// HandleDeleteKey is DELETE /api/scripts/{id}/keys/{key}: it revokes one of
// the script's keys, named by its id or its prefix ("pck_1a2b3c4d").
func (m *Manager) HandleDeleteKey(w http.ResponseWriter, r *http.Request) {
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	ref, id := r.PathValue("key"), ""
	if picloud.LooksLikeUUID(ref) {
		id = ref
	} else {
		list, err := m.store.InvokeKeys(r.Context(), sc.ID)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		var k *picloud.InvokeKey
		for _, c := range list {
			if c.Prefix == ref {
				k = c
				break
			}
		}
		if k == nil {
			m.fail(w, r, picloud.Errorf(picloud.ENotFound, "script %q has no key %q", sc.Name, ref))
			return
		}
		id = k.ID
	}
	err = m.store.DeleteInvokeKey(r.Context(), sc.ID, id)
	invokeKeyGeneration.Add(1) // also after a failure: the store's state is then unknown
	if err != nil {
		m.fail(w, r, err)
		return
	}
	AuditNote(r.Context(), sc.Name, sc.ID, map[string]any{"key_id": id})
	m.log.Info("invoke key revoked", "script", sc.Name, "key_id", id)
	w.WriteHeader(http.StatusNoContent)
}
