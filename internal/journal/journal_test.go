package journal_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/internal/journal"
)

func open(t *testing.T, dir string, opts journal.Options) *journal.Journal {
	t.Helper()
	j, err := journal.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// readAll reads every record from seq from on.
func readAll(t *testing.T, j *journal.Journal, from uint64) (seqs []uint64, recs []string) {
	t.Helper()
	r := j.NewReader(from)
	defer r.Close()
	for {
		n, err := r.Read(3, func(seq uint64, rec []byte) {
			seqs = append(seqs, seq)
			recs = append(recs, string(rec))
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return seqs, recs
		}
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWriteReadReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := open(t, dir, journal.Options{SegmentBytes: 100})
	var want []string
	for i := range 20 {
		rec := fmt.Sprintf("record %d", i)
		seq, err := j.Append([]byte(rec))
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("Append %d = %d, %v", i, seq, err)
		}
		want = append(want, rec)
	}
	if n := len(segments(t, dir)); n < 3 {
		t.Fatalf("%d segments for 20 records at 100 bytes a segment: no roll", n)
	}
	if _, got := readAll(t, j, 1); !slices.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
	if seqs, _ := readAll(t, j, 15); !slices.Equal(seqs, []uint64{15, 16, 17, 18, 19, 20}) {
		t.Fatalf("read from 15: %v", seqs)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", st.Mode().Perm())
	}
	for _, p := range segments(t, dir) {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, st.Mode().Perm())
		}
	}

	// A crash: the files are left as they are, not closed by Close.
	j2 := open(t, dir, journal.Options{SegmentBytes: 100})
	if j2.First() != 1 || j2.Next() != 21 {
		t.Fatalf("reopened: [%d, %d), want [1, 21)", j2.First(), j2.Next())
	}
	if _, got := readAll(t, j2, 1); !slices.Equal(got, want) {
		t.Fatalf("after reopen read %q, want %q", got, want)
	}
	if seq, err := j2.Append([]byte("after")); err != nil || seq != 21 {
		t.Fatalf("Append after reopen = %d, %v", seq, err)
	}
}

func TestOpenTightensTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	open(t, dir, journal.Options{})
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v after Open, want 0700", st.Mode().Perm())
	}
}

func TestTornLastRecordIsCut(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, journal.Options{})
	for i := range 5 {
		if _, err := j.Append([]byte(fmt.Sprintf("record %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	seg := segments(t, dir)[0]
	st, _ := os.Stat(seg)
	// Cut the last record in its middle, as a crash during its write would.
	if err := os.Truncate(seg, st.Size()-3); err != nil {
		t.Fatal(err)
	}
	j2 := open(t, dir, journal.Options{})
	if _, got := readAll(t, j2, 1); !slices.Equal(got, []string{"record 0", "record 1", "record 2", "record 3"}) {
		t.Fatalf("after a torn record: %q", got)
	}
	if seq, err := j2.Append([]byte("next")); err != nil || seq != 5 {
		t.Fatalf("Append after the cut = %d, %v (want 5: the torn record's number)", seq, err)
	}
	if _, got := readAll(t, j2, 1); len(got) != 5 || got[4] != "next" {
		t.Fatalf("after appending past the cut: %q", got)
	}
}

func TestCorruptRecordEndsOlderSegment(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, journal.Options{SegmentBytes: 64})
	for i := range 8 {
		if _, err := j.Append([]byte(fmt.Sprintf("rec%d-%s", i, "xxxxxxxxxx"))); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	segs := segments(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	// Flip a byte in the last record of the first segment.
	b, _ := os.ReadFile(segs[0])
	b[len(b)-1] ^= 0xff
	os.WriteFile(segs[0], b, 0o600)

	j2 := open(t, dir, journal.Options{SegmentBytes: 64})
	seqs, _ := readAll(t, j2, 1)
	if len(seqs) != 7 || seqs[0] != 1 || seqs[len(seqs)-1] != 8 {
		t.Fatalf("read %v: want every record but the corrupt one", seqs)
	}
}

func TestAckDeletesStoredSegments(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, journal.Options{SegmentBytes: 64})
	for i := range 10 {
		if _, err := j.Append([]byte(fmt.Sprintf("record number %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	before, bytes := len(segments(t, dir)), j.Bytes()
	if before < 4 {
		t.Fatalf("%d segments", before)
	}
	j.Ack(4) // records 1..3 stored
	seqs, _ := readAll(t, j, 1)
	if seqs[0] > 4 || len(segments(t, dir)) >= before || j.Bytes() >= bytes {
		t.Fatalf("after Ack(4): %d segments (was %d), %d bytes (was %d), first record %d",
			len(segments(t, dir)), before, j.Bytes(), bytes, seqs[0])
	}
	j.Ack(j.Next())
	if n := len(segments(t, dir)); n != 1 {
		t.Fatalf("everything acknowledged: %d segments, want the one being written", n)
	}
	// Closed with everything acknowledged: nothing is left to replay.
	j.Close()
	if n := len(segments(t, dir)); n != 0 {
		t.Fatalf("closed with everything stored: %d segments left", n)
	}
	j2 := open(t, dir, journal.Options{})
	if j2.First() != j2.Next() {
		t.Fatalf("reopened: [%d, %d), want empty", j2.First(), j2.Next())
	}
}

func TestAlwaysWaitsForFsyncAndGroupsThem(t *testing.T) {
	var synced atomic.Uint64 // every record below it is durable
	var syncs atomic.Int64
	release := make(chan struct{})
	var first sync.Once
	j := open(t, t.TempDir(), journal.Options{Sync: journal.SyncAlways, OnSync: func(through uint64) {
		syncs.Add(1)
		synced.Store(max(synced.Load(), through))
		first.Do(func() { <-release }) // hold the first fsync while others write
	}})

	firstDone := make(chan uint64)
	go func() {
		seq, err := j.Append([]byte("first"))
		if err != nil {
			t.Error(err)
		}
		firstDone <- seq
	}()
	for syncs.Load() == 0 { // the first fsync has happened and is held
		runtime.Gosched()
	}
	const writers = 10
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq, err := j.Append([]byte(fmt.Sprintf("w%d", i)))
			if err != nil {
				t.Error(err)
				return
			}
			if synced.Load() <= seq {
				t.Errorf("Append of %d returned before an fsync covering it (synced below %d)", seq, synced.Load())
			}
		}()
	}
	for j.Next() != writers+2 { // every writer has written and waits for an fsync
		runtime.Gosched()
	}
	close(release)
	if seq := <-firstDone; synced.Load() <= seq {
		t.Errorf("first Append returned before its fsync")
	}
	wg.Wait()
	if n := syncs.Load(); n != 2 {
		t.Errorf("%d fsyncs for %d appends, want 2: the ten written during the first share the second", n, writers+1)
	}
}

func TestIntervalSyncsInBackground(t *testing.T) {
	done := make(chan uint64, 1)
	j := open(t, t.TempDir(), journal.Options{SyncInterval: time.Millisecond, OnSync: func(through uint64) {
		select {
		case done <- through:
		default:
		}
	}})
	seq, err := j.Append([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if through := <-done; through <= seq {
		t.Fatalf("background fsync through %d, want past %d", through, seq)
	}
}

// The sync loop sleeps without a timer while nothing is written (what that
// saves is measured by `cd bench && go run . idle`); this checks what the
// sleeping could break: a record written after a quiet spell, or while a
// sync runs, still becomes durable, and nothing is synced while idle.
func TestIntervalSleepsWhileIdle(t *testing.T) {
	var mu sync.Mutex
	var syncs []uint64
	j := open(t, t.TempDir(), journal.Options{SyncInterval: 2 * time.Millisecond, OnSync: func(through uint64) {
		mu.Lock()
		syncs = append(syncs, through)
		mu.Unlock()
	}})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(syncs) }
	waitThrough := func(seq uint64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; {
			mu.Lock()
			ok := len(syncs) > 0 && syncs[len(syncs)-1] > seq
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("record %d not synced within 5 s (syncs %v)", seq, syncs)
			}
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(30 * time.Millisecond)
	if n := count(); n != 0 {
		t.Fatalf("%d fsyncs with nothing written", n)
	}
	for round := range 3 {
		var last uint64
		for range 50 { // a burst: some records land while a sync runs
			seq, err := j.Append([]byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			last = seq
		}
		waitThrough(last)
		before := count()
		time.Sleep(30 * time.Millisecond) // 15 intervals of quiet
		if n := count(); n > before+1 {
			t.Fatalf("round %d: %d fsyncs while idle", round, n-before)
		}
	}
}

func TestRejectsBadInput(t *testing.T) {
	if _, err := journal.Open(t.TempDir(), journal.Options{Sync: "sometimes"}); err == nil {
		t.Error("an unknown sync policy was accepted")
	}
	j := open(t, t.TempDir(), journal.Options{})
	if _, err := j.Write(nil); err == nil {
		t.Error("an empty record was accepted")
	}
	j.Close()
	if _, err := j.Write([]byte("x")); err != journal.ErrClosed {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}
