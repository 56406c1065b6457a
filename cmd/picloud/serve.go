package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/audit"
	"github.com/picloud/picloud/internal/dashboard"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/gcfloor"
	"github.com/picloud/picloud/internal/jobs"
	"github.com/picloud/picloud/internal/journal"
	"github.com/picloud/picloud/internal/manager"
	"github.com/picloud/picloud/internal/orchestrator"
	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/sqlite"
)

func version() string {
	if picloud.BuildVersion != "dev" {
		return picloud.BuildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return picloud.BuildVersion
}

// storeFlags are the flags that choose the database, shared by serve and token.
type storeFlags struct {
	dataDir, databaseURL string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", "./picloud-data", "directory of the embedded SQLite database and of the execution journal (PICLOUD_DATA_DIR)")
	fs.StringVar(&s.databaseURL, "database-url", "", "postgres://... to use PostgreSQL instead of SQLite (PICLOUD_DATABASE_URL)")
}

func (s *storeFlags) open(ctx context.Context) (picloud.Store, error) {
	if s.databaseURL != "" {
		return postgres.Open(ctx, s.databaseURL)
	}
	if was, err := sqlite.EnsureDir(s.dataDir); err != nil {
		return nil, err
	} else if was != 0 {
		fmt.Fprintf(os.Stderr, "picloud: the data directory %s was mode %04o; it is now 0700, as it holds the database\n", s.dataDir, was)
	}
	return sqlite.Open(ctx, filepath.Join(s.dataDir, "picloud.db"))
}

// dirIsNew says whether the data directory does not exist yet (open
// creates it).
func (s *storeFlags) dirIsNew() bool {
	_, err := os.Stat(s.dataDir)
	return errors.Is(err, os.ErrNotExist)
}

// logLocation says which data directory (and database) a server uses, and
// whether the directory was just created: a server started from another
// directory than usual otherwise silently starts empty.
func (s *storeFlags) logLocation(logger *slog.Logger, created bool) {
	dir, err := filepath.Abs(s.dataDir)
	if err != nil {
		dir = s.dataDir
	}
	if s.databaseURL != "" {
		logger.Info("using PostgreSQL; the data directory holds the execution journal and the secret key", "data_dir", dir, "created", created)
		return
	}
	if created {
		logger.Info("created a new data directory with an empty database", "data_dir", dir)
		return
	}
	logger.Info("using the data directory", "data_dir", dir, "created", false)
}

func (s *storeFlags) describe() string {
	if s.databaseURL != "" {
		return "postgres"
	}
	return filepath.Join(s.dataDir, "picloud.db")
}

// serveOptions are serve's flags. Their defaults are the constants the
// packages apply to a zero configuration, so that `picloud serve` with no
// flags runs what app.New(app.Config{}) builds (TestServeDefaultsMatchApp).
type serveOptions struct {
	sf              storeFlags
	cfg             app.Config
	addr            string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	flushTimeout    time.Duration
	// drain, when positive, is how long shutdown first lets drainHook's
	// health answer 503 while requests are still served, so that a
	// proxy's active health check takes the process out of rotation before
	// its listener closes (a node's --shutdown-drain).
	drain     time.Duration
	drainHook func()
	// Flags whose "0" means "off" where the configuration's 0 means "the
	// default" (appConfig maps them).
	gateWait         time.Duration
	retentionMaxAge  time.Duration
	retentionMaxRows int
	auditRetention   time.Duration
	memoryLimit      byteSize
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	o.sf.register(fs)
	fs.StringVar(&o.addr, "addr", ":8000", "address to listen on (PICLOUD_ADDR)")
	o.registerExecution(fs)
	o.registerControl(fs)
}

// registerExecution registers the flags of everything that runs scripts:
// logging, shutdown, the journal, the gate, request and response limits,
// script limits, events, metrics and proxies. serve, manager and node take
// them all (a node has no store, no job queue and no retention: it takes
// these and nothing of registerControl).
func (o *serveOptions) registerExecution(fs *flag.FlagSet) {
	c := &o.cfg
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error (PICLOUD_LOG_LEVEL)")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json (PICLOUD_LOG_FORMAT)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown waits for in-flight executions (PICLOUD_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&o.flushTimeout, "sink-flush-timeout", 10*time.Second, "how long shutdown then waits for the execution logs to reach the database; what does not stays in the journal for the next start (on a node: to reach the manager) (PICLOUD_SINK_FLUSH_TIMEOUT)")
	fs.StringVar(&c.Sink.Sync, "journal-sync", journal.SyncInterval, "when the execution journal is fsynced: interval (about every 100 ms) or always (before each response) (PICLOUD_JOURNAL_SYNC)")
	fs.Int64Var(&c.Sink.MaxJournalBytes, "journal-max-bytes", audit.DefaultMaxJournalBytes, "execution journal size past which new executions wait for the database, then get 503 (PICLOUD_JOURNAL_MAX_BYTES)")

	// The gate.
	fs.IntVar(&c.Orchestrator.MaxConcurrency, "max-concurrency", orchestrator.DefaultMaxConcurrency(), "executions at once, server-wide; the default is 4 per CPU (PICLOUD_MAX_CONCURRENCY)")
	fs.Float64Var(&c.Orchestrator.MaxScriptShare, "max-script-share", orchestrator.DefaultMaxScriptShare, "share of the server's slots one script may hold when it sets no max_concurrency (PICLOUD_MAX_SCRIPT_SHARE)")
	fs.IntVar(&c.Orchestrator.MaxScriptSlots, "max-script-slots", 0, "slots one script may hold when it sets no max_concurrency; 0 derives it from --max-script-share (PICLOUD_MAX_SCRIPT_SLOTS)")
	fs.DurationVar(&o.gateWait, "gate-wait", orchestrator.DefaultGateWait, "how long a request waits for a free slot before 429; 0 does not wait (PICLOUD_GATE_WAIT)")
	o.memoryLimit = byteSize(orchestrator.DefaultMemoryLimit())
	fs.Var(&o.memoryLimit, "memory-limit", "process memory ceiling: executions start while their memory budgets plus the heap stay under it (also GOMEMLIMIT unless set); the default is 80% of the cgroup limit, RLIMIT_AS or the machine's memory, whichever is least; none disables it (PICLOUD_MEMORY_LIMIT)")

	// Requests and responses.
	fs.Int64Var(&c.Orchestrator.MaxBodyBytes, "max-body-bytes", orchestrator.DefaultMaxBodyBytes, "request body limit (PICLOUD_MAX_BODY_BYTES)")
	fs.DurationVar(&c.Orchestrator.BodyReadTimeout, "body-read-timeout", orchestrator.DefaultBodyReadTimeout, "deadline for reading a request body (PICLOUD_BODY_READ_TIMEOUT)")
	fs.DurationVar(&c.Orchestrator.WriteTimeout, "write-timeout", orchestrator.DefaultWriteTimeout, "deadline for writing a script's response (PICLOUD_WRITE_TIMEOUT)")
	fs.IntVar(&c.Orchestrator.MaxLoggedBody, "max-logged-body-bytes", orchestrator.DefaultMaxLoggedBody, "request and response body bytes kept in the execution log, each (PICLOUD_MAX_LOGGED_BODY_BYTES)")
	fs.IntVar(&c.Orchestrator.MaxLoggedHeader, "max-logged-header-bytes", orchestrator.DefaultMaxLoggedHeader, "bytes of one request header kept in the execution log (PICLOUD_MAX_LOGGED_HEADER_BYTES)")
	fs.IntVar(&c.Orchestrator.MaxLoggedHeaders, "max-logged-headers-bytes", orchestrator.DefaultMaxLoggedHeaders, "bytes of all request headers kept in the execution log (PICLOUD_MAX_LOGGED_HEADERS_BYTES)")
	fs.IntVar(&c.Orchestrator.MaxLoggedQuery, "max-logged-query-bytes", orchestrator.DefaultMaxLoggedQuery, "bytes of the query string kept in the execution log (PICLOUD_MAX_LOGGED_QUERY_BYTES)")
	fs.StringVar(&c.Orchestrator.FunctionsOrigin, "functions-origin", "", "URL of a separate origin functions are served from (https://fn.example.com); only there may a script with unsandboxed drop the sandbox CSP (PICLOUD_FUNCTIONS_ORIGIN)")

	// Script limits.
	fs.DurationVar(&c.Executor.DefaultTimeout, "default-timeout", executor.DefaultTimeout, "a script's wall-clock limit when it sets no timeout_ms (PICLOUD_DEFAULT_TIMEOUT)")
	fs.Uint64Var(&c.Executor.DefaultMaxOperations, "default-max-operations", executor.DefaultMaxOperations, "a script's operation limit when it sets no max_operations (PICLOUD_DEFAULT_MAX_OPERATIONS)")
	fs.Int64Var(&c.Executor.DefaultMaxMemoryBytes, "default-max-memory-bytes", executor.DefaultMaxMemoryBytes, "a script's memory budget when it sets no max_memory_bytes (PICLOUD_DEFAULT_MAX_MEMORY_BYTES)")
	fs.Int64Var(&c.Executor.DefaultMaxResponseBytes, "default-max-response-bytes", executor.DefaultMaxResponseBytes, "a script's response size limit when it sets no max_response_bytes (PICLOUD_DEFAULT_MAX_RESPONSE_BYTES)")
	fs.Int64Var(&c.Executor.KV.MaxKeys, "default-kv-max-keys", picloud.DefaultKVMaxKeys, "keys a script may keep in one kv namespace when it sets no kv_max_keys (PICLOUD_DEFAULT_KV_MAX_KEYS)")
	fs.Int64Var(&c.Executor.KV.MaxBytes, "default-kv-max-bytes", picloud.DefaultKVMaxBytes, "bytes of keys and values a script may keep in one kv namespace when it sets no kv_max_bytes (PICLOUD_DEFAULT_KV_MAX_BYTES)")
	fs.Int64Var(&c.Executor.HTTP.MaxRequests, "default-http-max-requests", picloud.DefaultHTTPMaxRequests, "http:: requests per execution when a script sets no http_max_requests (PICLOUD_DEFAULT_HTTP_MAX_REQUESTS)")
	fs.Int64Var(&c.Executor.HTTP.MaxResponseBytes, "default-http-max-response-bytes", picloud.DefaultHTTPMaxResponseBytes, "bytes of one http:: response body when a script sets no http_max_response_bytes (PICLOUD_DEFAULT_HTTP_MAX_RESPONSE_BYTES)")
	fs.DurationVar(&c.Executor.HTTP.Timeout, "default-http-timeout", time.Duration(picloud.DefaultHTTPTimeoutMS)*time.Millisecond, "one http:: request's timeout when a script sets no http_timeout_ms, never beyond the script's own (PICLOUD_DEFAULT_HTTP_TIMEOUT)")
	fs.StringVar(&c.Executor.HTTP.Allow, "egress-allow", "", "destinations http:: may reach despite the egress guard (which refuses loopback, private, link-local, CGNAT, multicast and unspecified addresses): comma-separated hosts, host:port, addresses and CIDRs, for every script (PICLOUD_EGRESS_ALLOW)")
	fs.IntVar(&c.Executor.MaxCallDepth, "max-call-depth", 0, "nested function calls; 0 is Rhai's default, 64 (PICLOUD_MAX_CALL_DEPTH)")
	fs.IntVar(&c.Executor.MaxExprDepth, "max-expr-depth", 0, "expression nesting; 0 is Rhai's default, 64 (PICLOUD_MAX_EXPR_DEPTH)")
	fs.IntVar(&c.Executor.MaxStringSize, "max-string-size", executor.DefaultMaxStringSize, "bytes in one string (PICLOUD_MAX_STRING_SIZE)")
	fs.IntVar(&c.Executor.MaxArraySize, "max-array-size", executor.DefaultMaxArraySize, "elements in one array, bytes in one BLOB (PICLOUD_MAX_ARRAY_SIZE)")
	fs.IntVar(&c.Executor.MaxMapSize, "max-map-size", executor.DefaultMaxMapSize, "entries in one map (PICLOUD_MAX_MAP_SIZE)")
	fs.IntVar(&c.Executor.MaxLogLines, "max-log-lines", executor.DefaultMaxLogLines, "log lines kept per execution (PICLOUD_MAX_LOG_LINES)")
	fs.IntVar(&c.Executor.MaxLogBytes, "max-log-bytes", executor.DefaultMaxLogBytes, "log bytes kept per execution (PICLOUD_MAX_LOG_BYTES)")

	// Events.
	fs.IntVar(&c.Executor.MaxEmits, "max-emits", executor.DefaultMaxEmits, "events one execution may emit (PICLOUD_MAX_EMITS)")
	fs.IntVar(&c.Executor.MaxEventDepth, "max-event-depth", executor.DefaultMaxEventDepth, "longest event chain (an event emitted by a run an event triggered...): emitting beyond it fails (PICLOUD_MAX_EVENT_DEPTH)")

	// Metrics and proxies.
	fs.BoolVar(&c.PublicMetrics, "public-metrics", false, "serve /metrics without the admin token (on a node: without the cluster token) (PICLOUD_PUBLIC_METRICS)")
	fs.Var(&c.TrustedProxies, "trusted-proxies", "CIDRs of the reverse proxies in front of PiCloud (127.0.0.1/32,10.0.0.0/8): only from these peers is X-Forwarded-For read for the client address (PICLOUD_TRUSTED_PROXIES)")
}

// registerControl registers the flags of the control plane beside the
// store: the job queue and retention (serve and manager).
func (o *serveOptions) registerControl(fs *flag.FlagSet) {
	c := &o.cfg
	// Triggers: the job queue.
	fs.DurationVar(&c.Jobs.PollInterval, "jobs-poll-interval", jobs.DefaultPollInterval, "how often the job queue looks for due jobs (retries, jobs other processes queued on SQLite); it bounds the delay of a short retry (PICLOUD_JOBS_POLL_INTERVAL)")
	fs.IntVar(&c.Jobs.MaxQueuedPerScript, "max-queued-per-script", jobs.DefaultMaxQueuedPerScript, "unfinished asynchronous jobs one script may have; beyond it async invocations get 429 (PICLOUD_MAX_QUEUED_PER_SCRIPT)")
	fs.IntVar(&c.Jobs.MaxQueued, "max-queued", jobs.DefaultMaxQueued, "unfinished asynchronous jobs of all scripts; beyond it async invocations get 429 (PICLOUD_MAX_QUEUED)")
	fs.StringVar(&c.Jobs.MissedFirings, "missed-firings", jobs.MissedRunOnce, "schedule firings missed while the server was down: run-once (one catch-up firing at start) or skip (PICLOUD_MISSED_FIRINGS)")

	// Execution logs.
	fs.DurationVar(&o.retentionMaxAge, "retention-max-age", app.DefaultRetentionMaxAge, "delete execution logs older than this; 0 keeps them (PICLOUD_RETENTION_MAX_AGE)")
	fs.IntVar(&o.retentionMaxRows, "retention-max-rows", app.DefaultRetentionMaxRows, "keep at most this many execution logs per script; 0 keeps all (PICLOUD_RETENTION_MAX_ROWS)")
	fs.DurationVar(&c.RetentionInterval, "retention-interval", app.DefaultRetentionInterval, "how often retention runs (PICLOUD_RETENTION_INTERVAL)")
	registerOIDC(fs, &c.OIDC)
	fs.DurationVar(&o.auditRetention, "audit-retention", app.DefaultAuditRetention, "delete audit trail events (GET /api/audit) older than this; 0 keeps them (PICLOUD_AUDIT_RETENTION)")
}

// check refuses flag values the configuration would read as "the default"
// or cannot run with.
func (o *serveOptions) check() error {
	c := &o.cfg
	switch {
	case c.Jobs.PollInterval <= 0:
		return errors.New("--jobs-poll-interval must be positive")
	case c.Jobs.MaxQueuedPerScript < 1:
		return errors.New("--max-queued-per-script must be at least 1")
	case c.Jobs.MaxQueued < 1:
		return errors.New("--max-queued must be at least 1")
	case c.Jobs.MissedFirings != jobs.MissedRunOnce && c.Jobs.MissedFirings != jobs.MissedSkip:
		return fmt.Errorf("--missed-firings %q: want %s or %s", c.Jobs.MissedFirings, jobs.MissedRunOnce, jobs.MissedSkip)
	}
	return o.checkExecution()
}

// checkExecution is check for registerExecution's flags alone (a node's).
func (o *serveOptions) checkExecution() error {
	c := &o.cfg
	switch {
	case c.Executor.MaxEmits < 1:
		return errors.New("--max-emits must be at least 1")
	case c.Executor.MaxEventDepth < 1:
		return errors.New("--max-event-depth must be at least 1")
	}
	return checkOrigin(c.Orchestrator.FunctionsOrigin)
}

// appConfig is the application configuration the parsed flags describe.
func (o *serveOptions) appConfig() app.Config {
	cfg := o.cfg
	cfg.Sink.Dir = filepath.Join(o.sf.dataDir, "journal") // with PostgreSQL too: the journal is local
	cfg.Orchestrator.GateWait = offIfZero(o.gateWait)
	cfg.Orchestrator.MemoryLimit = int64(o.memoryLimit)
	cfg.RetentionMaxAge = offIfZero(o.retentionMaxAge)
	cfg.RetentionMaxRows = offIfZero(o.retentionMaxRows)
	cfg.AuditRetention = offIfZero(o.auditRetention)
	return cfg
}

// offIfZero maps a flag's 0 ("off") to the configuration's negative value
// (its 0 means "the default").
func offIfZero[T int | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o serveOptions
	o.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := checkAdminTokenEnv(); err != nil {
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
	if err := ensureAdminToken(ctx, store, stdout); err != nil {
		return err
	}
	if cfg.SecretBox, err = loadSecretBox(o.sf.dataDir, stderr); err != nil {
		return err
	}
	a, err := app.New(cfg, store)
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
	logger.Info("picloud listening", "addr", ln.Addr().String(), "database", o.sf.describe(), "version", version(),
		"max_concurrency", a.Config().Orchestrator.MaxConcurrency, "memory_limit", byteSize(a.Config().Orchestrator.MemoryLimit).String())
	return o.serve(ctx, ln, nil, a.Handler(), logger, a.CloseStreams, a.StopJobs, a.Stop)
}

// checkAdminTokenEnv refuses a PICLOUD_ADMIN_TOKEN too weak to keep, before
// anything is created.
func checkAdminTokenEnv() error {
	if t := os.Getenv("PICLOUD_ADMIN_TOKEN"); t != "" {
		return manager.CheckToken(t)
	}
	return nil
}

// ensureAdminToken makes sure the store has an admin token (PICLOUD_ADMIN_TOKEN
// replaces it) and prints a new one, the only time it is shown.
func ensureAdminToken(ctx context.Context, store picloud.Store, stdout io.Writer) error {
	token, err := manager.EnsureAdminToken(ctx, store, os.Getenv("PICLOUD_ADMIN_TOKEN"))
	if err != nil {
		return err
	}
	if token != "" {
		fmt.Fprintf(stdout, "\nA new admin token was created. It is shown only this once; keep it safe:\n\n    %s\n\n"+
			"Use it as PICLOUD_TOKEN for the CLI, or sign in to the dashboard with it.\n"+
			"Replace it with 'picloud token rotate'.\n\n", token)
	}
	return nil
}

// setMemoryLimit makes the process's memory ceiling the runtime's too
// (unless GOMEMLIMIT says otherwise): the runtime collects harder as the
// heap nears it, rather than letting garbage push the process past it. Under
// that ceiling, unless GOGC says otherwise, the heap gets a floor
// (gcfloor.DefaultFloor): a server with little live heap does not collect
// every few megabytes allocated. The returned func ends the floor, for when
// the server returns (in tests, the process goes on).
func setMemoryLimit(limit int64) (endFloor func()) {
	if limit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
	if gcfloor.Enabled(os.Getenv) {
		return gcfloor.Start(gcfloor.DefaultFloor)
	}
	return func() {}
}

// serve serves handler on ln (over TLS when tlsConfig is not nil) until ctx
// ends, then shuts down: onShutdown (nil: none) ends responses that would
// not end by themselves (live tail streams, a manager's change-feed streams); in-flight
// requests and stopJobs (job attempts, in-flight executions too; nil when
// there are none) share --shutdown-timeout, then stop (the sink's flush)
// gets --sink-flush-timeout.
func (o *serveOptions) serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, handler http.Handler, logger *slog.Logger,
	onShutdown func(), stopJobs, stop func(context.Context) error) error {
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if onShutdown != nil {
		srv.RegisterOnShutdown(onShutdown)
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in tlsConfig
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		fctx, fcancel := context.WithTimeout(context.Background(), o.flushTimeout)
		defer fcancel()
		stop(fctx)
		return err
	case <-ctx.Done():
	}
	if o.drain > 0 && o.drainHook != nil {
		o.drainHook()
		logger.Info("shutting down: draining (health answers 503, requests are still served)", "drain", o.drain)
		time.Sleep(o.drain)
	}
	logger.Info("shutting down: finishing in-flight executions")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx) // waits for handlers, which record their logs
	// Job attempts are in-flight executions too: they get what is left of
	// the same time.
	if stopJobs != nil {
		if jerr := stopJobs(sctx); jerr != nil {
			err = errors.Join(err, jerr)
		}
	}
	// The sink gets its own time: the shutdown timeout may be spent.
	fctx, fcancel := context.WithTimeout(context.Background(), o.flushTimeout)
	defer fcancel()
	if serr := stop(fctx); serr != nil {
		err = errors.Join(err, fmt.Errorf("flushing execution logs: %w", serr))
	}
	logger.Info("stopped")
	return err
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// mustExist refuses a database that does not exist yet: opening one
// creates it (the SQLite file, PostgreSQL's tables), which a command that
// only changes an existing database must not do.
func (s *storeFlags) mustExist(ctx context.Context) error {
	if s.databaseURL != "" {
		conn, err := pgx.Connect(ctx, s.databaseURL)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		defer conn.Close(ctx)
		var exists bool
		var schema string
		if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL, current_schema()`).Scan(&exists, &schema); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if !exists {
			return fmt.Errorf("the PostgreSQL database has no PiCloud tables (schema %q): run picloud serve (or manager) with this --database-url first", schema)
		}
		return nil
	}
	if st, err := os.Stat(s.dataDir); err != nil {
		return fmt.Errorf("the data directory %s does not exist: name the server's with --data-dir (or --database-url), or run picloud serve first", s.dataDir)
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", s.dataDir)
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "picloud.db")); err != nil {
		return fmt.Errorf("the data directory %s holds no database (picloud.db): name the server's with --data-dir (or --database-url), or run picloud serve first", s.dataDir)
	}
	return nil
}
