package manager

import (
	"net/http"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// HandleListNodes is GET /api/nodes: the cluster's nodes as they last
// reported, by name, each whose heartbeat is older than
// picloud.NodeLostAfter marked picloud.NodeLost. An all-in-one server has
// none.
func (m *Manager) HandleListNodes(w http.ResponseWriter, r *http.Request) {
	nodes, err := m.store.ListNodes(r.Context())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	now := time.Now()
	out := picloud.NodeList{Items: make([]*picloud.Node, 0, len(nodes))}
	for _, n := range nodes {
		if n.Lost(now) {
			n.Status = picloud.NodeLost
		}
		out.Items = append(out.Items, n)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// HandleDeleteNode is DELETE /api/nodes/{name}: forgets a node (one that is
// gone for good). A node still running registers again at its next
// heartbeat.
func (m *Manager) HandleDeleteNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := m.store.DeleteNode(r.Context(), name); err != nil {
		m.fail(w, r, err)
		return
	}
	m.log.Info("node forgotten", "node", name)
	w.WriteHeader(http.StatusNoContent)
}
