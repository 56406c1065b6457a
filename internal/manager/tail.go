package manager

import (
	"net/http"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/tail"
)

// tailServer is Config.Tail, or nil.
func (m *Manager) tailServer(w http.ResponseWriter, r *http.Request) *tail.Server {
	if m.tail == nil {
		m.fail(w, r, picloud.Errorf(picloud.EUnavailable, "the live tail is not configured on this server"))
	}
	return m.tail
}

// HandleTail is GET /api/scripts/{id}/tail: the script's executions as
// they are stored, as server-sent events (internal/tail).
func (m *Manager) HandleTail(w http.ResponseWriter, r *http.Request) {
	ts := m.tailServer(w, r)
	if ts == nil {
		return
	}
	sc, err := m.ResolveScript(r.Context(), r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	ts.Serve(w, r, sc.ID)
}

// HandleAllTail is GET /api/tail: every script's executions, or with
// script=REF (an id or a name) one's.
func (m *Manager) HandleAllTail(w http.ResponseWriter, r *http.Request) {
	ts := m.tailServer(w, r)
	if ts == nil {
		return
	}
	id := ""
	if ref := r.URL.Query().Get("script"); ref != "" {
		sc, err := m.ResolveScript(r.Context(), ref)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		id = sc.ID
	}
	ts.Serve(w, r, id)
}
