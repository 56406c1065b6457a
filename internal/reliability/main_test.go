package reliability

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scenarioBound is the most one scenario (one store) may take, setup included.
const scenarioBound = 30 * time.Second

// adminToken is the admin token every server of the suite starts with
// (PICLOUD_ADMIN_TOKEN), so that the tests know it. It is shaped like a real
// one (pct_ and 64 hex digits) because the credential stripping recognises
// PiCloud's credentials by prefix.
const adminToken = "pct_5e1fab1e5e1fab1e0123456789abcdef0123456789abcdef0123456789abcdef"

var (
	binPath   string // the picloud binary TestMain built
	serveHelp string // what `picloud serve -h` prints: which flags this build has
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if binPath = os.Getenv("PICLOUD_RELIABILITY_BINARY"); binPath == "" {
		dir, err := os.MkdirTemp("", "picloud-reliability-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "reliability:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if binPath, err = build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "reliability:", err)
			return 1
		}
	}
	// serve -h prints its usage and flags (on stdout, exit 0); only the text matters.
	help, _ := exec.Command(binPath, "serve", "-h").CombinedOutput()
	serveHelp = string(help)
	return m.Run()
}

// build builds the real binary into dir, once for the whole run: the
// scenarios test the process an operator runs, flags, signals and all.
// PICLOUD_RELIABILITY_BINARY names a binary to test instead (a release build).
func build(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "picloud")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/picloud")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building picloud: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the directory of go.mod above the package directory (the
// working directory of `go test`).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the package directory")
		}
		dir = parent
	}
}

// hasFlag reports whether this build's `picloud serve` has the flag.
func hasFlag(name string) bool {
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(serveHelp)
}

// scenario returns the context that bounds one scenario.
func scenario(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), scenarioBound)
	t.Cleanup(cancel)
	return ctx
}

// server is one picloud serve process.
type server struct {
	t      *testing.T
	label  string
	cmd    *exec.Cmd
	addr   string
	base   string // http://127.0.0.1:PORT
	out    *outputBuffer
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// startServer runs `picloud serve` on a free loopback port with args, behind
// the command prefix wrap (e.g. prlimit), and waits until /api/health answers.
// The process is killed when the test ends; its output is logged if the test
// failed.
func startServer(ctx context.Context, t *testing.T, label string, wrap []string, args ...string) *server {
	t.Helper()
	for try := 1; ; try++ {
		s, err := launch(ctx, t, label, wrap, args)
		if err == nil {
			return s
		}
		// The free port was taken between finding it and listening on it:
		// another one.
		if try < 3 && strings.Contains(s.out.String(), "address already in use") {
			continue
		}
		t.Fatal(err)
	}
}

func launch(ctx context.Context, t *testing.T, label string, wrap, args []string) (*server, error) {
	t.Helper()
	addr := freeAddr(t)
	return spawn(ctx, t, label, addr, wrap, append([]string{"serve", "--addr", addr}, args...))
}

// spawn runs the binary with args (its command first: serve, manager, node),
// listening on addr, and waits until /api/health answers there. The process
// is killed when the test ends; its output is logged if the test failed.
func spawn(ctx context.Context, t *testing.T, label, addr string, wrap, args []string) (*server, error) {
	t.Helper()
	argv := append(append(append([]string{}, wrap...), binPath), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = serverEnv()
	out := &outputBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	s := &server{t: t, label: label, cmd: cmd, addr: addr, base: "http://" + addr, out: out, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return s, fmt.Errorf("starting %s server: %w", label, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("%s server (%s) output:\n%s", label, strings.Join(argv, " "), out.String())
		}
	})
	c := newClient(s.base, 2)
	for {
		resp, err := c.get(ctx, "/api/health", nil)
		// Any answer means it listens: a node refused by its manager
		// answers 503 (down) for as long as it runs.
		if err == nil && (resp.status < 500 || resp.status == http.StatusServiceUnavailable) && s.running() {
			return s, nil
		}
		select {
		case <-s.exited:
			return s, fmt.Errorf("%s server exited before answering /api/health: %v", label, s.err)
		case <-ctx.Done():
			return s, fmt.Errorf("%s server did not answer /api/health: %v (last: %v)", label, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// running reports whether the process has not exited.
func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	if s.running() {
		s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.exited
}

// signal sends sig to the process.
func (s *server) signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// wait waits for the process to exit and returns its exit code (-1 when a
// signal killed it).
func (s *server) wait(ctx context.Context) (int, error) {
	select {
	case <-s.exited:
	case <-ctx.Done():
		return 0, fmt.Errorf("%s server still running: %w", s.label, ctx.Err())
	}
	if s.err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, s.err
}

// serverEnv is the test's environment without any PICLOUD_ setting (the
// scenario passes what it means as flags) plus the known admin token.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PICLOUD_") {
			env = append(env, kv)
		}
	}
	return append(env, "PICLOUD_ADMIN_TOKEN="+adminToken)
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// outputBuffer keeps a process's output for the test log: the beginning and
// the end, so that a long run under load cannot fill the memory.
type outputBuffer struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte
	dropped int
}

const (
	outputHead = 64 << 10
	outputTail = 256 << 10
)

func (b *outputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := outputHead - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - outputTail; over > 0 {
		b.dropped += over
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

func (b *outputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped == 0 {
		return string(b.head) + string(b.tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes left out ...]\n%s", b.head, b.dropped, b.tail)
}

// statusText is how failures name a status.
func statusText(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }
