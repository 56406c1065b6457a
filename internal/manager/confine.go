package manager

import (
	"net/http"

	"github.com/picloud/picloud"
)

// confine applies the rule of confined scripts (picloud.Script.ConfinedTo)
// to an update (or create) in: a token restricted to some scripts confines
// every script it writes to its pattern and may not send another value; a
// token for every script may set or clear it, or leave it as it is. It
// answers 403 forbidden and returns false when refused.
func (m *Manager) confine(w http.ResponseWriter, r *http.Request, in *picloud.ScriptUpdate) bool {
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.Scripts == "" {
		return true
	}
	if in.ConfinedTo != nil && *in.ConfinedTo != p.Scripts {
		m.auth.count(ReasonForbidden)
		m.fail(w, r, picloud.Errorf(picloud.EForbidden,
			"this token is restricted to the scripts matching %q; the scripts it writes are confined to that pattern, and changing confined_to needs a token for every script", p.Scripts))
		return false
	}
	pattern := p.Scripts
	in.ConfinedTo = &pattern
	return true
}

// confineScript confines the stored script cur before a restricted token
// changes its code by another route (a draft saved or promoted): the draft
// becomes code the script runs, whoever promotes it. Confining first errs on
// the safe side if the change then fails.
func (m *Manager) confineScript(w http.ResponseWriter, r *http.Request, cur *picloud.Script) (*picloud.Script, bool) {
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.Scripts == "" || cur.ConfinedTo == p.Scripts {
		return cur, true
	}
	pattern := p.Scripts
	sc, err := m.store.UpdateScript(r.Context(), cur.ID, picloud.ScriptUpdate{ConfinedTo: &pattern})
	if err != nil {
		m.fail(w, r, err)
		return nil, false
	}
	m.invoker.Invalidate(sc.ID)
	m.log.Info("script confined", "script", sc.Name, "id", sc.ID, "confined_to", pattern)
	return sc, true
}
