package reliability

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hogSource grows an array of 4 MB strings without end. The string is 4 MB,
// not 4 MiB: the default string size limit is 4 MiB and `s + n` must stay
// under it, so that memory, not the string limit, is what stops the script.
// (pad changes the string it is called on and returns nothing.)
const hogSource = `
let s = "x";
s.pad(4000000, "x");
let a = [];
loop { a.push(s + a.len()); }
`

// addressSpace is the process limit the memory scenario runs under: 4 GiB of
// address space (RLIMIT_AS), and a 2 GiB --memory-limit when the build has the
// flag (the default is derived from RLIMIT_AS too, but this keeps the run
// independent of how).
const (
	addressSpace = 4 << 30
	memoryLimit  = 2 << 30
)

// limitWrap is the command prefix that starts the server under RLIMIT_AS:
// prlimit when the machine has it, else the shell's ulimit (KiB). Both exec
// the server, so the process id is the server's.
func limitWrap() []string {
	if p, err := exec.LookPath("prlimit"); err == nil {
		return []string{p, fmt.Sprintf("--as=%d", addressSpace)}
	}
	return []string{"sh", "-c", fmt.Sprintf(`ulimit -v %d && exec "$@"`, addressSpace>>10), "sh"}
}

// TestMemoryUnderLimit runs the server under a 4 GiB address-space limit with
// three callers repeatedly running a script that grows an array of 4 MB
// strings without end, and a fourth calling a hello script, for 10 s: the
// process must survive (still running, health answering), every hog request
// must get a result or a limit error (503 budget_exceeded, 429 overloaded or
// 504 timeout) and every hello request 200. The peak RSS is logged.
func TestMemoryUnderLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, b *backend) {
		ctx := scenario(t)
		args := b.args()
		if hasFlag("memory-limit") {
			args = append(args, "--memory-limit", strconv.Itoa(memoryLimit))
		}
		s := startServer(ctx, t, "limited", limitWrap(), args...)
		c := newClient(s.base, 8)
		if _, err := c.deploy(ctx, "hog", hogSource, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.deploy(ctx, "hello", helloSource, nil); err != nil {
			t.Fatal(err)
		}

		// 10 s of load: the duration of the scenario, not an assertion.
		until := time.Now().Add(10 * time.Second)
		var mu sync.Mutex
		hog, hello := map[string]int{}, map[string]int{}
		var wg sync.WaitGroup
		call := func(path string, into map[string]int) {
			defer wg.Done()
			for time.Now().Before(until) && ctx.Err() == nil && s.running() {
				r, err := c.get(ctx, path, nil)
				var what string
				switch {
				case err != nil:
					what = "no answer"
				case r.status >= 200 && r.status < 300:
					what = "2xx"
				default:
					what = fmt.Sprintf("%d %s", r.status, r.errorBody().Error.Code)
				}
				mu.Lock()
				into[what]++
				mu.Unlock()
			}
		}
		for range 3 {
			wg.Add(1)
			go call("/fn/hog", hog)
		}
		wg.Add(1)
		go call("/fn/hello?k=hello", hello)
		// The peak, sampled as the load runs too: a process that dies takes
		// its /proc entry with it.
		var peak int64
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for s.running() && time.Now().Before(until) {
				peak = max(peak, procStatus(s.pid(), "VmHWM"))
				time.Sleep(100 * time.Millisecond)
			}
		}()
		wg.Wait()
		<-sampled

		peak, rss := max(peak, procStatus(s.pid(), "VmHWM")), procStatus(s.pid(), "VmRSS")
		alive := s.running()
		if !alive {
			code, _ := s.wait(ctx)
			t.Errorf("the server died under memory pressure (exit %d: %v)", code, s.err)
		} else if st, _, err := healthNow(ctx, c); err != nil || st != http.StatusOK {
			t.Errorf("after the load /api/health answered %d, %v; want 200", st, err)
		}

		allowed := map[string]bool{"2xx": true, "503 budget_exceeded": true, "429 overloaded": true, "504 timeout": true}
		for what, n := range hog {
			if !allowed[what] {
				t.Errorf("hog: %s, %d times; want a result or a limit error (503 budget_exceeded, 429 overloaded, 504 timeout)", what, n)
			}
		}
		for what, n := range hello {
			if what != "2xx" {
				t.Errorf("hello: %s, %d times; want 200 throughout", what, n)
			}
		}
		if sum(hog) == 0 || hello["2xx"] == 0 {
			t.Errorf("the load did not run: hog %v, hello %v", hog, hello)
		}
		t.Logf("RESULT scenario=memory store=%s limit_as=%d memory_limit_flag=%v alive=%v rss_peak_mib=%.0f rss_end_mib=%.0f hog=%s hello=%s",
			b.kind, addressSpace, hasFlag("memory-limit"), alive, float64(peak)/(1<<20), float64(rss)/(1<<20), summary(hog), summary(hello))
	})
}

// procStatus reads a "kB" field of /proc/PID/status, in bytes (0 when the
// process is gone).
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	return 0
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// summary is a map of counts as "what:n,..." without spaces, for RESULT lines.
func summary(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", strings.ReplaceAll(k, " ", "_"), m[k])
	}
	return b.String()
}
