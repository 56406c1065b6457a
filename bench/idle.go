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
	fmt.Fprintf(out, "| %s | %d | %.0f s | %.0f ms | %.3f %% |\n", store, schedules, wall.Seconds(),
		used.Seconds()*1000, 100*used.Seconds()/wall.Seconds())
	return nil
}

// cpuTime is the user+system CPU time of process pid (fields 14 and 15 of
// /proc/PID/stat, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name (field 2) may hold spaces: fields are counted after its ')'.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
