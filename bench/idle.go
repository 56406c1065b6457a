package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runIdle is the `idle` subcommand: the CPU a running PiCloud spends while
// nobody calls it. It starts the real binary, lets it settle, then reads the
// process's user+system CPU time (/proc/PID/stat) at the start and the end
// of the window. With -schedules N it first creates a script with N paused
// schedules (what the planner must look at without firing); nothing is
// queued either way.
//
//	cd bench && go run . idle [-seconds 60] [-database-url postgres://...]
func runIdle(args []string) int {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	var o serverOpts
	seconds := fs.Int("seconds", 60, "length of the measured window")
	settle := fs.Duration("settle", 5*time.Second, "wait after start before measuring")
	schedules := fs.Int("schedules", 0, "paused schedules to create before measuring")
	fs.StringVar(&o.binary, "picloud", "", "a built picloud binary (default: build ../cmd/picloud)")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("PICLOUD_BENCH_DATABASE_URL"), "postgres://... to run on PostgreSQL")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := benchIdle(o, *seconds, *settle, *schedules, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench idle:", err)
		return 1
	}
	return 0
}

func benchIdle(o serverOpts, seconds int, settle time.Duration, schedules int, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "picloud-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.binary == "" {
		o.binary = filepath.Join(tmp, "picloud")
		logf("building ../cmd/picloud")
		build := exec.Command("go", "build", "-o", o.binary, "./cmd/picloud")
		build.Dir, build.Stdout, build.Stderr = "..", os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	srv, err := startPiCloud(o, tmp)
	if err != nil {
		return err
	}
	defer srv.stop()
	if schedules > 0 {
		id, err := srv.deploy("idle", `#{ok: true}`, 0)
		if err != nil {
			return err
		}
		for i := range schedules {
			body := map[string]any{"cron": fmt.Sprintf("%d 3 * * *", i%60), "enabled": false}
			if err := srv.admin("POST", "/api/scripts/"+id+"/schedules", body, nil); err != nil {
				return fmt.Errorf("creating schedule %d: %w", i, err)
			}
		}
	}
	time.Sleep(settle)
	pid := srv.cmd.Process.Pid
	t0, err := cpuTime(pid)
	if err != nil {
		return err
	}
	w0 := time.Now()
	time.Sleep(time.Duration(seconds) * time.Second)
	t1, err := cpuTime(pid)
	if err != nil {
		return err
	}
	wall := time.Since(w0)
	store := "SQLite"
	if o.databaseURL != "" {
		store = "PostgreSQL"
	}
	used := t1 - t0
	fmt.Fprintf(out, "| store | schedules (paused) | window | CPU used | CPU share of one core |\n|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| %s | %d | %.0f s | %.1f ms | %.4f %% |\n", store, schedules, wall.Seconds(),
		used.Seconds()*1000, 100*used.Seconds()/wall.Seconds())
	return nil
}

// cpuTime is the CPU time process pid has run: the sum over its threads of
// /proc/PID/task/TID/schedstat's first field (nanoseconds; /proc/PID/stat
// counts in 10 ms ticks, too coarse for an idle process). Threads that ended
// are not counted, which an idle window's Go runtime threads do not do.
func cpuTime(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return 0, fmt.Errorf("bad schedstat of task %s", t.Name())
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad schedstat of task %s: %w", t.Name(), err)
		}
		total += ns
	}
	return time.Duration(total), nil
}
