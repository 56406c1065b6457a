package main

import (
	"context"
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

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/app"
	"github.com/picloud/picloud/internal/dashboard"
	"github.com/picloud/picloud/internal/manager"
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
	fs.StringVar(&s.dataDir, "data-dir", "./picloud-data", "directory of the embedded SQLite database (PICLOUD_DATA_DIR)")
	fs.StringVar(&s.databaseURL, "database-url", "", "postgres://... to use PostgreSQL instead of SQLite (PICLOUD_DATABASE_URL)")
}

func (s *storeFlags) open(ctx context.Context) (picloud.Store, error) {
	if s.databaseURL != "" {
		return postgres.Open(ctx, s.databaseURL)
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, filepath.Join(s.dataDir, "picloud.db"))
}

func (s *storeFlags) describe() string {
	if s.databaseURL != "" {
		return "postgres"
	}
	return filepath.Join(s.dataDir, "picloud.db")
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		sf              storeFlags
		cfg             app.Config
		addr            = fs.String("addr", ":8000", "address to listen on (PICLOUD_ADDR)")
		logLevel        = fs.String("log-level", "info", "debug, info, warn or error (PICLOUD_LOG_LEVEL)")
		logFormat       = fs.String("log-format", "text", "text or json (PICLOUD_LOG_FORMAT)")
		shutdownTimeout = fs.Duration("shutdown-timeout", 30*time.Second, "how long shutdown waits for in-flight executions and the sink (PICLOUD_SHUTDOWN_TIMEOUT)")
		maxOps          uint64
	)
	sf.register(fs)
	fs.IntVar(&cfg.Orchestrator.MaxConcurrency, "max-concurrency", 0, "executions at once, server-wide; 0 means 4 per CPU (PICLOUD_MAX_CONCURRENCY)")
	fs.DurationVar(&cfg.Orchestrator.GateWait, "gate-wait", 2*time.Second, "how long a request waits for a free slot before 429 (PICLOUD_GATE_WAIT)")
	fs.Int64Var(&cfg.Orchestrator.MaxBodyBytes, "max-body-bytes", 1<<20, "request body limit (PICLOUD_MAX_BODY_BYTES)")
	fs.DurationVar(&cfg.Executor.DefaultTimeout, "default-timeout", 5*time.Second, "a script's wall-clock limit when it sets no timeout_ms (PICLOUD_DEFAULT_TIMEOUT)")
	fs.Uint64Var(&maxOps, "default-max-operations", 10_000_000, "a script's operation limit when it sets no max_operations (PICLOUD_DEFAULT_MAX_OPERATIONS)")
	fs.IntVar(&cfg.Executor.MaxCallDepth, "max-call-depth", 64, "nested function calls (PICLOUD_MAX_CALL_DEPTH)")
	fs.IntVar(&cfg.Executor.MaxExprDepth, "max-expr-depth", 64, "expression nesting (PICLOUD_MAX_EXPR_DEPTH)")
	fs.IntVar(&cfg.Executor.MaxStringSize, "max-string-size", 4<<20, "bytes in one string (PICLOUD_MAX_STRING_SIZE)")
	fs.IntVar(&cfg.Executor.MaxArraySize, "max-array-size", 1_000_000, "elements in one array, bytes in one BLOB (PICLOUD_MAX_ARRAY_SIZE)")
	fs.IntVar(&cfg.Executor.MaxMapSize, "max-map-size", 100_000, "entries in one map (PICLOUD_MAX_MAP_SIZE)")
	fs.IntVar(&cfg.Executor.MaxLogLines, "max-log-lines", 100, "log lines kept per execution (PICLOUD_MAX_LOG_LINES)")
	fs.IntVar(&cfg.Executor.MaxLogBytes, "max-log-bytes", 64<<10, "log bytes kept per execution (PICLOUD_MAX_LOG_BYTES)")
	fs.DurationVar(&cfg.RetentionMaxAge, "retention-max-age", 30*24*time.Hour, "delete execution logs older than this; 0 keeps them (PICLOUD_RETENTION_MAX_AGE)")
	fs.IntVar(&cfg.RetentionMaxRows, "retention-max-rows", 10_000, "keep at most this many execution logs per script; 0 keeps all (PICLOUD_RETENTION_MAX_ROWS)")
	fs.DurationVar(&cfg.RetentionInterval, "retention-interval", 10*time.Minute, "how often retention runs (PICLOUD_RETENTION_INTERVAL)")
	fs.BoolVar(&cfg.PublicMetrics, "public-metrics", false, "serve /metrics without the admin token (PICLOUD_PUBLIC_METRICS)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg.Executor.DefaultMaxOperations = maxOps

	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cfg.Dashboard = dashboard.FS()

	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	token, err := manager.EnsureAdminToken(ctx, store, os.Getenv("PICLOUD_ADMIN_TOKEN"))
	if err != nil {
		return err
	}
	if token != "" {
		fmt.Fprintf(stdout, "\nA new admin token was created. It is shown only this once; keep it safe:\n\n    %s\n\n"+
			"Use it as PICLOUD_TOKEN for the CLI, or sign in to the dashboard with it.\n"+
			"Replace it with 'picloud token rotate'.\n\n", token)
	}

	a, err := app.New(cfg, store)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	a.Start(ctx)
	logger.Info("picloud listening", "addr", ln.Addr().String(), "database", sf.describe(), "version", version())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		a.Stop(context.Background())
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight executions")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx) // waits for handlers, which record their logs
	if serr := a.Stop(sctx); serr != nil {
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

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: picloud token rotate [--data-dir DIR | --database-url URL]")
		fs.PrintDefaults()
	}
	var sf storeFlags
	sf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "rotate" {
		fs.Usage()
		return errors.New("token: the only subcommand is rotate")
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	token, err := manager.RotateToken(ctx, store)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", token)
	fmt.Fprintln(stderr, "The admin token was replaced; the old one and every dashboard session stop working now.")
	return nil
}
