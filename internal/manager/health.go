package manager

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/httpapi"
)

// HealthCheck is one component /api/health reports. Check returns nil while
// the component works; an error makes it "down". The manager bounds each
// call with its health timeout and runs the checks concurrently, so a check
// that hangs costs the caller one timeout, not more.
type HealthCheck struct {
	Name string // the key in components: "store", "journal", ...
	Kind string // what it is, reported beside the status ("sqlite", "file")
	// Critical marks a component without which the process cannot run
	// scripts: while it is down, health answers 503 "down". A non-critical
	// component down makes the answer 200 "degraded".
	Critical bool
	Check    func(ctx context.Context) error
}

// StoreCheck is the store's health check: a ping. It is not critical: the
// orchestrator serves cached scripts and the journal keeps execution rows
// while the database is away.
func StoreCheck(s picloud.Store) HealthCheck {
	return HealthCheck{Name: "store", Kind: s.Kind(), Check: s.Ping}
}

// health runs the checks and remembers each one's last state, so that a
// component going down or coming back is logged once, not on every poll.
type health struct {
	checks  []HealthCheck
	timeout time.Duration
	log     *slog.Logger

	mu   sync.Mutex
	down map[string]bool
}

func newHealth(checks []HealthCheck, timeout time.Duration, log *slog.Logger) *health {
	return &health{checks: checks, timeout: timeout, log: log, down: map[string]bool{}}
}

// report runs every check and returns the answer and its HTTP status.
func (h *health) report(ctx context.Context) (picloud.Health, int) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	errs := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runCheck(ctx, c)
		}()
	}
	wg.Wait()

	out := picloud.Health{Service: "picloud", Status: picloud.HealthOK, Version: picloud.BuildVersion,
		Components: make(map[string]picloud.HealthComponent, len(h.checks))}
	code := http.StatusOK
	for i, c := range h.checks {
		comp := picloud.HealthComponent{Status: picloud.HealthOK, Kind: c.Kind}
		if err := errs[i]; err != nil {
			comp.Status, comp.Message = picloud.HealthDown, publicMessage(err)
			if c.Critical {
				out.Status, code = picloud.HealthDown, http.StatusServiceUnavailable
			} else if out.Status == picloud.HealthOK {
				out.Status = picloud.HealthDegraded
			}
		}
		h.transition(c.Name, errs[i])
		out.Components[c.Name] = comp
	}
	return out, code
}

// runCheck calls c.Check under ctx and gives up when ctx ends, even when the
// check ignores its context: the late result is dropped.
func runCheck(ctx context.Context, c HealthCheck) error {
	done := make(chan error, 1) // buffered: a late check never blocks
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- errors.New("manager: health check panicked")
			}
		}()
		done <- c.Check(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return picloud.Errorf(picloud.EUnavailable, "no answer within the health timeout")
	}
}

// publicMessage is what a public caller may read about a failed check: the
// message of a *picloud.Error, "unreachable" for anything else (a driver's
// error can name hosts, users and files).
func publicMessage(err error) string {
	var e *picloud.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "unreachable"
}

// transition logs a component that goes down or comes back.
func (h *health) transition(name string, err error) {
	h.mu.Lock()
	was := h.down[name]
	h.down[name] = err != nil
	h.mu.Unlock()
	switch {
	case err != nil && !was:
		h.log.Warn("health: component down", "component", name, "err", err)
	case err == nil && was:
		h.log.Info("health: component back", "component", name)
	}
}

// HandleHealth is GET /api/health, public: 200 "ok" or "degraded" while the
// process can run scripts, 503 "down" when a critical component is down.
func (m *Manager) HandleHealth(w http.ResponseWriter, r *http.Request) {
	m.health.serve(w, r)
}

func (h *health) serve(w http.ResponseWriter, r *http.Request) {
	out, code := h.report(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, code, out)
}

// Health reports the components as GET /api/health does, for a process
// that has no manager (a cluster node, whose heartbeat carries its health).
type Health struct{ h *health }

// NewHealth makes the health of checks, each bounded by timeout (1 s when
// zero), transitions logged to logger (nil: not logged).
func NewHealth(checks []HealthCheck, timeout time.Duration, logger *slog.Logger) *Health {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if timeout <= 0 {
		timeout = time.Second
	}
	return &Health{newHealth(checks, timeout, logger)}
}

// Report runs the checks: the answer and its HTTP status.
func (h *Health) Report(ctx context.Context) (picloud.Health, int) { return h.h.report(ctx) }

// Handle is GET /api/health on checks.
func (h *Health) Handle(w http.ResponseWriter, r *http.Request) { h.h.serve(w, r) }

// NewHealthHandler is GET /api/health on checks, without a manager.
func NewHealthHandler(checks []HealthCheck, timeout time.Duration, logger *slog.Logger) http.HandlerFunc {
	return NewHealth(checks, timeout, logger).Handle
}
