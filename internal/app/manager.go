package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/cluster"
	"github.com/picloud/picloud/internal/httpapi"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/metrics"
	"github.com/picloud/picloud/internal/orchestrator"
)

// ClusterConfig is what `picloud manager` adds to serve's configuration.
type ClusterConfig struct {
	// Token is the cluster token nodes authenticate with, and the manager
	// with them when it dispatches (at least 16 bytes).
	Token string
	// HTTPClient dispatches job attempts to the nodes (TLS settings for
	// nodes served over HTTPS); nil takes the dispatcher's default.
	HTTPClient *http.Client
}

// NewManager wires `picloud manager` on store: the all-in-one application
// (admin API, dashboard, job queue, retention; test invocations run here)
// plus the cluster API under /cluster/v1/ for the nodes. The job queue's
// attempts are dispatched to the nodes, every script change made through
// this manager is announced on the change feed, and /fn/ and /api/execute/
// answer 404: invocations are the nodes'.
func NewManager(cfg Config, store picloud.Store, cc ClusterConfig) (*App, error) {
	return newApp(cfg, store, &cc)
}

// managerCluster is a manager's cluster side.
type managerCluster struct {
	cfg     ClusterConfig
	store   picloud.Store
	log     *slog.Logger
	feed    *cluster.Feed
	server  *cluster.Server
	metrics *metrics.Cluster
}

func newManagerCluster(store picloud.Store, cc ClusterConfig, log *slog.Logger) (*managerCluster, error) {
	if err := cluster.CheckToken(cc.Token); err != nil {
		return nil, fmt.Errorf("--cluster-token: %w", err)
	}
	// On PostgreSQL the store carries changes between managers (NOTIFY);
	// elsewhere the feed is this process's alone.
	var notifier picloud.ChangeNotifier
	if n, ok := store.(picloud.ChangeNotifier); ok {
		notifier = n
	}
	return &managerCluster{cfg: cc, store: store, log: log, feed: cluster.NewFeed(notifier, log)}, nil
}

// registerMetrics registers the manager's cluster metrics on m.
func (c *managerCluster) registerMetrics(m *metrics.Metrics) {
	c.metrics = m.NewManagerCluster(c.countNodes, c.feedStreams())
}

// dispatcher is the job runner of a manager's queue: attempts run on the
// nodes.
func (c *managerCluster) dispatcher() picloud.JobRunner {
	return cluster.NewDispatcher(cluster.DispatcherConfig{Token: c.cfg.Token, Nodes: c.store,
		HTTPClient: c.cfg.HTTPClient, Logger: c.log,
		OnDispatch: func(result string) { c.metrics.Dispatch.WithLabelValues(result).Inc() }})
}

// serve builds the cluster API on a's queue; secrets is what the nodes'
// secret() reads through (nil without a secret key).
func (c *managerCluster) serve(a *App, secrets picloud.SecretReader) {
	c.server = cluster.NewServer(cluster.ServerConfig{Token: c.cfg.Token, Store: c.store, Secrets: secrets,
		Queue: a.jobQueue(), Feed: c.feed, Version: picloud.BuildVersion,
		MaxBodyBytes: clusterBodyBytes(a.cfg.Orchestrator.MaxBodyBytes), Logger: c.log,
		OnIngest:      func(rows int) { c.metrics.IngestedRows.Add(float64(rows)) },
		OnStored:      a.tail.stored,
		OnAuthFailure: func() { a.metrics.AuthFailures.WithLabelValues("cluster_token").Inc() },
		// The nodes remember its answers for 5 s; it asks the store every
		// time, so that a revocation takes effect within those 5 s.
		Authorize: manager.NewInvokeAuth(c.store, -1, c.log).Authorize})
}

// clusterBodyBytes is the cluster API's body limit (the runs and events
// nodes queue): at least the cluster's default, and room for a request
// body of the invocation limit (base64 in JSON is 4/3 of it) with its
// envelope, so that a node with the same --max-body-bytes is never refused
// a run it accepted.
func clusterBodyBytes(maxBody int64) int64 {
	return max(cluster.DefaultMaxBodyBytes, 2*maxBody+1<<20)
}

// countNodes is picloud_cluster_nodes, read when scraped: nil when the
// store does not answer within a second.
func (c *managerCluster) countNodes() map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	nodes, err := c.store.ListNodes(ctx)
	if err != nil {
		return nil
	}
	now := time.Now()
	out := map[string]int{}
	for _, n := range nodes {
		if n.Lost(now) {
			out[picloud.NodeLost]++
		} else {
			out[n.Status]++
		}
	}
	return out
}

// feedStreams is picloud_cluster_feed_streams: the feed's subscribers are
// the open streams.
func (c *managerCluster) feedStreams() func() float64 {
	return func() float64 { return float64(c.feed.Subscribers()) }
}

// start starts listening for other managers' changes (PostgreSQL); the
// listener reconnects by itself, so this cannot fail.
func (c *managerCluster) start(ctx context.Context) error {
	c.feed.Start(context.WithoutCancel(ctx))
	return nil
}

// stop ends the change feed's streams and the feed. A nil c (serve) does
// nothing.
func (c *managerCluster) stop() {
	if c == nil {
		return
	}
	c.server.Close()
	c.feed.Stop()
}

// CloseStreams ends the open streams: the live tail's (clients reconnect
// with Last-Event-ID) and a manager's change feed's (nodes reconnect, to
// another manager or to this one restarted): an HTTP server's Shutdown waits
// for every request, and a stream does not end by itself. `picloud manager`
// and `picloud serve` register it with http.Server.RegisterOnShutdown.
func (a *App) CloseStreams() {
	a.tail.server.Close()
	if a.cluster != nil {
		a.cluster.server.Close()
	}
}

// announcer is the orchestrator as the manager's Invoker on a manager: each
// script change the admin API makes (it calls Invalidate) is also published
// on the change feed, so that the nodes drop their copy.
type announcer struct {
	*orchestrator.Orchestrator
	store picloud.ScriptStore
	feed  *cluster.Feed
	log   *slog.Logger
}

// announceTimeout bounds reading the changed script and publishing it; the
// admin call that made the change waits for it.
const announceTimeout = 2 * time.Second

// Invalidate drops the script from this manager's cache and announces the
// change: its name and version as stored now, or Deleted when it is gone.
// When the store cannot say, the id alone is announced (a node drops its
// copy by id).
func (n *announcer) Invalidate(id string) {
	n.Orchestrator.Invalidate(id)
	ctx, cancel := context.WithTimeout(context.Background(), announceTimeout)
	defer cancel()
	change := picloud.ScriptChange{ID: id}
	sc, err := n.store.Script(ctx, id)
	switch {
	case err == nil:
		change.Name, change.Version = sc.Name, sc.Version
	case picloud.ErrorCode(err) == picloud.ENotFound:
		change.Deleted = true
	default:
		n.log.Warn("cluster: the changed script cannot be read; announcing its id alone", "script_id", id, "err", err)
	}
	if err := n.feed.Publish(ctx, change); err != nil {
		// The nodes refresh it within their cache TTL, or on their next
		// reconnection.
		n.log.Warn("cluster: a script change was not announced", "script_id", id, "err", err)
	}
}

// notInvoked answers /fn/ and /api/execute/ on a manager: a proxy in front
// (deploy/Caddyfile.cluster) sends them to the nodes.
func (a *App) notInvoked(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteError(w, r, a.log, picloud.Errorf(picloud.ENotFound, "this is a manager: invocations are served by the nodes"))
}
