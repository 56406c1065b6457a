package manager

import (
	"context"

	"github.com/picloud/picloud"
)

// ResolveScript finds the script a reference names: the {id} of every
// /api/scripts/{id}/... route is a script's id or its name. A reference
// shaped like a UUID is an id (no name can have that shape: picloud.ValidName
// refuses it), anything else a name. Unknown either way is ENotFound.
func (m *Manager) ResolveScript(ctx context.Context, ref string) (*picloud.Script, error) {
	if picloud.LooksLikeUUID(ref) {
		return m.store.Script(ctx, ref)
	}
	return m.store.ScriptByName(ctx, ref)
}
