package manager

import (
	"context"
	"net/http"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/tail"
)

// tailRecheckEvery is how often a live tail stream checks that the
// credential it was opened with still holds (from memory, mostly: see
// authState).
const tailRecheckEvery = time.Second

// whileAuthenticated returns r with a context that also ends once r's
// credential is refused (a token revoked, rotated or expired, a session
// signed out): Require checks a request once, at its start, and a stream
// lasts as long as its client. A store that cannot answer ends nothing.
func (m *Manager) whileAuthenticated(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	cred := readCredential(r)
	go func() {
		t := time.NewTicker(tailRecheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, reason, err := m.check(ctx, cred); err != nil && reason != "" {
					cancel()
					return
				}
			}
		}
	}()
	return r.WithContext(ctx), cancel
}

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
	r, cancel := m.whileAuthenticated(r)
	defer cancel()
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
	r, cancel := m.whileAuthenticated(r)
	defer cancel()
	ts.Serve(w, r, id)
}
