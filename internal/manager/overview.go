package manager

import (
	"net/http"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// HandleOverview is GET /api/overview: this process's live figures (its
// concurrency gate and execution-log sink, from Config.Live), the version,
// how many scripts there are and how many cluster nodes are healthy. It
// reads no execution logs: the dashboard's home page calls it often.
func (m *Manager) HandleOverview(w http.ResponseWriter, r *http.Request) {
	var out picloud.Overview
	if m.live != nil {
		out = m.live()
	}
	out.Version = picloud.BuildVersion
	n, err := m.store.CountScripts(r.Context())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	out.Scripts = n
	nodes, err := m.store.ListNodes(r.Context())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	now := time.Now()
	out.Nodes = picloud.OverviewNodes{Total: len(nodes)}
	for _, nd := range nodes {
		if nd.Status == picloud.NodeOK && !nd.Lost(now) {
			out.Nodes.Healthy++
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, out)
}
