package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/cluster"
	"github.com/picloud/picloud/internal/dashboard"
)

// clusterFlags are the flags a manager and a node share: the cluster token
// they authenticate each other with, and TLS on either side.
type clusterFlags struct {
	token           string
	ca              string
	tlsCert, tlsKey string
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.token, "cluster-token", "", "the secret managers and nodes authenticate each other with (at least 16 bytes, the same on every manager and node; required) (PICLOUD_CLUSTER_TOKEN)")
	fs.StringVar(&c.ca, "cluster-ca", "", "PEM `file` of the CA certificate(s) to trust, beside the system's, when calling the other side over https (PICLOUD_CLUSTER_CA)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate `file` (chain first): serve HTTPS, with --tls-key (PICLOUD_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key `file` of --tls-cert (PICLOUD_TLS_KEY)")
}

// check refuses a missing or weak cluster token and half a TLS pair, before
// anything is created.
func (c *clusterFlags) check() error {
	if err := cluster.CheckToken(c.token); err != nil { // its message names the flag and the variable
		return err
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither")
	}
	return nil
}

// tlsConfig is the server's TLS configuration with --tls-cert's certificate;
// nil without one (plain HTTP).
func (c *clusterFlags) tlsConfig() (*tls.Config, error) {
	if c.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", c.tlsCert, c.tlsKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// httpClient is the client for the other side (a node's calls to the
// manager, the manager's dispatch to nodes), on the cluster's transport
// (enough idle connections for a node's concurrent kv:: calls), trusting
// --cluster-ca's certificates beside the system's. timeout bounds each call
// (0: none; the change feed's stream is never bounded by it).
func (c *clusterFlags) httpClient(timeout time.Duration) (*http.Client, error) {
	var tlsConfig *tls.Config
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return nil, fmt.Errorf("--cluster-ca: %w", err)
		}
		// The system's CAs stay trusted: a manager behind a public
		// certificate and nodes behind a private CA's can mix.
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cluster-ca %s: no PEM certificate in it", c.ca)
		}
		tlsConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: cluster.NewTransport(tlsConfig), Timeout: timeout}, nil
}

// managerOptions are manager's flags: every one of serve's, and the
// cluster's.
type managerOptions struct {
	serveOptions
	cluster clusterFlags
}

func (o *managerOptions) register(fs *flag.FlagSet) {
	o.serveOptions.register(fs)
	o.cluster.register(fs)
}

func (o *managerOptions) check() error {
	if err := o.serveOptions.check(); err != nil {
		return err
	}
	return o.cluster.check()
}

// runManager runs `picloud manager`: the all-in-one server's control plane
// (admin API, dashboard, store, job queue, retention) plus the cluster API
// the nodes use; invocations are served by the nodes, and job attempts are
// dispatched to them.
func runManager(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: picloud manager --cluster-token TOKEN [--database-url URL | --data-dir DIR] [--tls-cert F --tls-key F] [--cluster-ca F] [serve's flags]")
		fs.PrintDefaults()
	}
	var o managerOptions
	o.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("manager: unexpected argument %q (picloud manager -h)", pos[0])
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := checkAdminTokenEnv(); err != nil {
		return err
	}
	tlsConfig, err := o.cluster.tlsConfig()
	if err != nil {
		return err
	}
	// No overall timeout: a dispatched attempt lasts as long as its script
	// may, and the job's context bounds it.
	client, err := o.cluster.httpClient(0)
	if err != nil {
		return err
	}
	cfg := o.appConfig()
	logger, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.Dashboard = dashboard.FS()

	created := o.sf.dirIsNew()
	store, err := o.sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	o.sf.logLocation(logger, created)
	if o.sf.databaseURL == "" {
		// The change feed crosses managers through PostgreSQL; SQLite's is
		// in this process, and its file is this machine's.
		logger.Warn("the manager runs on SQLite: only one manager can run on it (use --database-url for more)", "database", o.sf.describe())
	}
	if err := ensureAdminToken(ctx, store, stdout); err != nil {
		return err
	}
	if cfg.SecretBox, err = loadSecretBox(o.sf.dataDir, stderr); err != nil {
		return err
	}
	a, err := app.NewManager(cfg, store, app.ClusterConfig{Token: o.cluster.token, HTTPClient: client})
	if err != nil {
		return err
	}
	defer setMemoryLimit(a.Config().Orchestrator.MemoryLimit)()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	logger.Info("picloud manager listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "database", o.sf.describe(), "version", version(),
		"max_concurrency", a.Config().Orchestrator.MaxConcurrency, "memory_limit", byteSize(a.Config().Orchestrator.MemoryLimit).String())
	return o.serve(ctx, ln, tlsConfig, a.Handler(), logger, a.CloseStreams, a.StopJobs, a.Stop)
}
