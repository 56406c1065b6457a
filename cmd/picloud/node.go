package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/sqlite"
)

// managerCallTimeout bounds one call of a node to the manager (a script, a
// kv:: operation, a batch of rows, a heartbeat): a manager that accepts the
// connection and never answers must not hold an execution or the journal's
// delivery forever. The change feed's stream is not bounded by it.
const managerCallTimeout = 30 * time.Second

// envString is a string flag read from the environment variable env rather
// than the one envDefaults derives from its name (--manager is
// PICLOUD_MANAGER_URL: PICLOUD_MANAGER would read as a manager's name).
type envString struct {
	value, env string
}

func (s *envString) String() string {
	if s == nil { // flag's PrintDefaults calls it on a zero value
		return ""
	}
	return s.value
}

func (s *envString) Set(v string) error { s.value = v; return nil }
func (s *envString) envName() string    { return s.env }

// nodeOptions are node's flags: serve's execution flags (a node has no
// store, no job queue and no retention), its own address and journal, and
// the cluster's.
// DefaultShutdownDrain is a node's --shutdown-drain: twice the shipped
// Caddyfile's health-check interval.
const DefaultShutdownDrain = 2 * time.Second

type nodeOptions struct {
	serveOptions
	cluster   clusterFlags
	manager   envString
	name      envString
	advertise envString
}

func (o *nodeOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", ":8001", "address to listen on (PICLOUD_ADDR)")
	fs.StringVar(&o.sf.dataDir, "data-dir", "./picloud-node", "directory of the node's execution journal: rows not yet delivered to the manager (PICLOUD_DATA_DIR)")
	o.registerExecution(fs)
	fs.DurationVar(&o.drain, "shutdown-drain", DefaultShutdownDrain, "on SIGTERM, how long the node first answers health 503 while still serving requests, so that the proxy's active health check (deploy/Caddyfile.cluster: every 1 s) takes it out of rotation before its listener closes; 0 closes at once (PICLOUD_SHUTDOWN_DRAIN)")
	o.cluster.register(fs)
	o.manager.env, o.name.env, o.advertise.env = "PICLOUD_MANAGER_URL", "PICLOUD_NODE_NAME", "PICLOUD_ADVERTISE_URL"
	fs.Var(&o.manager, "manager", "`URL` of the manager (or of the proxy in front of the managers): http(s)://host:port; required (PICLOUD_MANAGER_URL)")
	fs.Var(&o.name, "name", "the node's `name` in the manager's list; a node restarted with the same name is the same node (default: the host name and the listening port, web-1:8001) (PICLOUD_NODE_NAME)")
	fs.Var(&o.advertise, "advertise", "`URL` the manager reaches this node at to run jobs (default: http(s)://the listening address:port, 127.0.0.1 when it listens on every interface) (PICLOUD_ADVERTISE_URL)")
}

func (o *nodeOptions) check() error {
	if err := o.checkExecution(); err != nil {
		return err
	}
	if o.manager.value == "" {
		return errors.New("--manager (or PICLOUD_MANAGER_URL) is required: the URL of the manager, http(s)://host:port")
	}
	if err := checkBaseURL(o.manager.value); err != nil {
		return fmt.Errorf("--manager %q: %w", o.manager.value, err)
	}
	if o.advertise.value != "" {
		if err := checkBaseURL(o.advertise.value); err != nil {
			return fmt.Errorf("--advertise %q: %w", o.advertise.value, err)
		}
	}
	if strings.TrimSpace(o.name.value) != o.name.value || strings.ContainsAny(o.name.value, "/?#") {
		return fmt.Errorf("--name %q: no spaces around it, and none of / ? #", o.name.value)
	}
	return o.cluster.check()
}

// checkBaseURL accepts an http(s) URL with a host and no query, fragment or
// credentials: a base the cluster API's paths are appended to.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL must not hold credentials (the cluster token authenticates)")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("the URL must not have a query or a fragment")
	}
	return nil
}

// defaultNodeName is hostname:port, the port the node listens on.
func defaultNodeName(hostname, listenAddr string) string {
	_, port, _ := net.SplitHostPort(listenAddr)
	if hostname == "" {
		hostname = "localhost"
	}
	return hostname + ":" + port
}

// defaultAdvertise is the URL of the listening address, with 127.0.0.1 for
// a wildcard host (a manager on the same machine reaches it there; one on
// another machine needs --advertise).
func defaultAdvertise(listenAddr string, tls bool) (u string, wildcard bool) {
	host, port, _ := net.SplitHostPort(listenAddr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host, wildcard = "127.0.0.1", true
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), wildcard
}

// runNode runs `picloud node`: an orchestrator and an executor serving
// /fn/ and /api/execute/ with the scripts, kv, secrets and job queue of a
// manager, journalling each execution locally until the manager has it.
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: picloud node --manager URL --cluster-token TOKEN [--addr :8001] [--data-dir ./picloud-node] [--name NAME] [--advertise URL] [--cluster-ca F] [--tls-cert F --tls-key F] [execution flags]")
		fs.PrintDefaults()
	}
	var o nodeOptions
	o.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("node: unexpected argument %q (picloud node -h)", pos[0])
	}
	if err := o.check(); err != nil {
		return err
	}
	tlsConfig, err := o.cluster.tlsConfig()
	if err != nil {
		return err
	}
	client, err := o.cluster.httpClient(managerCallTimeout)
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	// The journal holds requests' and responses' bodies until the manager
	// has them: the directory is the node's alone.
	if was, err := sqlite.EnsureDir(o.sf.dataDir); err != nil {
		return err
	} else if was != 0 {
		fmt.Fprintf(stderr, "picloud: the data directory %s was mode %04o; it is now 0700, as it holds the execution journal\n", o.sf.dataDir, was)
	}

	// Listen first: the default name and address take the port listened
	// on (--addr :0 picks one).
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	name, advertise := o.name.value, o.advertise.value
	if name == "" {
		host, _ := os.Hostname()
		name = defaultNodeName(host, ln.Addr().String())
	}
	if advertise == "" {
		var wildcard bool
		advertise, wildcard = defaultAdvertise(ln.Addr().String(), tlsConfig != nil)
		if wildcard {
			logger.Info("the manager is told to reach this node at "+advertise+"; set --advertise when it runs on another machine", "advertise", advertise)
		}
	}
	advertise = strings.TrimRight(advertise, "/")

	cfg := o.appConfig()
	sink := cfg.Sink
	sink.Dir = filepath.Join(o.sf.dataDir, "journal")
	n, err := app.NewNode(app.NodeConfig{
		Executor:       cfg.Executor,
		Orchestrator:   cfg.Orchestrator,
		Sink:           sink,
		ManagerURL:     strings.TrimRight(o.manager.value, "/"),
		Token:          o.cluster.token,
		Name:           name,
		Advertise:      advertise,
		HTTPClient:     client,
		PublicMetrics:  cfg.PublicMetrics,
		TrustedProxies: cfg.TrustedProxies,
		Logger:         logger,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer setMemoryLimit(n.Config().Orchestrator.MemoryLimit)()
	if err := n.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	logger.Info("picloud node listening", "name", name, "addr", ln.Addr().String(), "manager", o.manager.value, "advertise", advertise,
		"tls", tlsConfig != nil, "version", version(),
		"max_concurrency", n.Config().Orchestrator.MaxConcurrency, "memory_limit", byteSize(n.Config().Orchestrator.MemoryLimit).String())
	// Job attempts the manager dispatches are requests to this server:
	// shutting it down waits for them.
	o.drainHook = n.Drain
	return o.serve(ctx, ln, tlsConfig, n.Handler(), logger, nil, nil, n.Stop)
}
