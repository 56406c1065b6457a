// Package journal is a local append-only log of records, as a database's
// write-ahead log: the audit sink writes every execution row here before the
// response is sent, feeds the store from it, and trims what the store has
// committed.
//
// The journal is a directory (0700) of segment files (0600) named by the
// sequence number of their first record. A segment starts with an 8-byte magic
// and holds records framed as
//
//	length uint32 LE | crc32c(length bytes, payload) uint32 LE | payload
//
// Each record is written with one write system call, so once Write returns
// the record survives the process being killed (the operating system holds
// the page). Surviving power loss takes an fsync: with [SyncInterval] a
// background loop fsyncs about every 100 ms; with [SyncAlways] WaitDurable
// returns only after an fsync covering the record, and concurrent writers
// share one fsync (group commit).
//
// On Open every segment is read and checked: a torn or corrupt record at the
// end of the newest segment (a write cut by a crash) is logged and cut off;
// a corrupt record in an older segment ends that segment (logged). Sequence
// numbers start at 1 and are never reused while records remain; a segment is
// deleted once every record in it is acknowledged ([Journal.Ack]).
package journal

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sync policies.
const (
	SyncInterval = "interval" // fsync in the background about every Options.SyncInterval
	SyncAlways   = "always"   // WaitDurable fsyncs (one fsync for concurrent writers)
)

// Defaults of Options.
const (
	DefaultSyncInterval = 100 * time.Millisecond
	DefaultSegmentBytes = 16 << 20
	// MaxRecordBytes bounds one record; a larger length read back is corruption.
	MaxRecordBytes = 64 << 20
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("journal: closed")

const (
	magic       = "PCJRNL01"
	headerBytes = int64(len(magic))
	frameBytes  = 8 // length and checksum before each payload
	segmentExt  = ".journal"
)

// castagnoli is made on first use: making it fills tables, which every
// command of the binary would pay for at start-up.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// Options tune a journal; zero fields take the defaults.
type Options struct {
	Sync         string        // SyncInterval (default) or SyncAlways
	SyncInterval time.Duration // DefaultSyncInterval
	// SegmentBytes is the size at which the next write starts a new segment
	// (DefaultSegmentBytes). Only whole segments are deleted, so up to one
	// segment of stored records stays on disk and is replayed after a crash.
	SegmentBytes int64
	// OnSync is called after each successful fsync with the sequence number
	// below which every record is durable (tests, metrics); nil is fine.
	OnSync func(through uint64)
	Logger *slog.Logger
}

// segment is one file of the journal.
type segment struct {
	first uint64 // sequence number of its first record
	n     uint64 // valid records
	size  int64  // bytes up to the end of its last valid record
	bytes int64  // bytes of the file, a skipped corrupt tail included
	path  string
}

// Journal is an open journal. Its methods are safe for concurrent use.
type Journal struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond // signalled when an fsync ends
	segs    []*segment // oldest first; the last is the one written
	f       *os.File   // the last segment, opened for appending
	next    uint64     // sequence number of the next record
	synced  uint64     // every record below it is durable
	syncing bool       // an fsync of f runs without mu
	bytes   int64      // size of every segment
	acked   uint64     // every record below it is stored elsewhere
	err     error      // sticky: a failed fsync leaves the journal unusable
	closed  bool

	frames   sync.Pool // *[]byte
	stopSync chan struct{}
	syncDone chan struct{}
	// dirty wakes the sync loop (SyncInterval) when a write leaves records
	// not yet durable: an idle journal has no timer running at all.
	dirty chan struct{}
}

// Open opens the journal in dir, creating it (0700) when missing, and checks
// every record already there.
func Open(dir string, opts Options) (*Journal, error) {
	opts.Sync = cmp.Or(opts.Sync, SyncInterval)
	if opts.Sync != SyncInterval && opts.Sync != SyncAlways {
		return nil, fmt.Errorf("journal: sync policy %q: want %s or %s", opts.Sync, SyncInterval, SyncAlways)
	}
	opts.SyncInterval = cmp.Or(opts.SyncInterval, DefaultSyncInterval)
	opts.SegmentBytes = cmp.Or(opts.SegmentBytes, DefaultSegmentBytes)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	// The rows hold requests and responses: only the server's user reads
	// them, whatever the umask or an older directory's mode.
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	} else if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	j := &Journal{dir: dir, opts: opts, log: opts.Logger, next: 1}
	j.cond = sync.NewCond(&j.mu)
	if err := j.load(); err != nil {
		return nil, err
	}
	if len(j.segs) == 0 {
		if err := j.create(1); err != nil {
			return nil, err
		}
	} else {
		last := j.segs[len(j.segs)-1]
		f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		j.f = f
		j.next = last.first + last.n
	}
	j.synced = j.next // what a previous run left is as durable as it will get
	j.stopSync = make(chan struct{})
	j.syncDone = make(chan struct{})
	j.dirty = make(chan struct{}, 1)
	if opts.Sync == SyncInterval {
		go j.syncLoop()
	} else {
		close(j.syncDone)
	}
	return j, nil
}

// load reads the segments in dir.
func (j *Journal) load() error {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, segmentExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 10, 64)
		if err != nil || first == 0 {
			j.log.Warn("journal: ignoring a file that is not a segment", "file", name)
			continue
		}
		j.segs = append(j.segs, &segment{first: first, path: filepath.Join(j.dir, name)})
	}
	slices.SortFunc(j.segs, func(a, b *segment) int { return cmp.Compare(a.first, b.first) })
	for i, s := range j.segs {
		last := i == len(j.segs)-1
		if err := j.check(s, last); err != nil {
			return err
		}
		if !last && s.first+s.n > j.segs[i+1].first {
			return fmt.Errorf("journal: segment %s overlaps the next one", s.path)
		}
		j.bytes += s.bytes
	}
	return nil
}

// check counts s's valid records. A bad record ends the segment: in the last
// segment it is a write cut by a crash, and the file is cut there.
func (j *Journal) check(s *segment, last bool) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	s.bytes = st.Size()
	r := reader{f: f, end: st.Size()}
	hdr, err := r.at(0, headerBytes)
	if err == nil && string(hdr) == magic {
		s.size = headerBytes
		for {
			rec, err := r.record(s.size)
			if errors.Is(err, io.EOF) || errors.Is(err, errCorrupt) {
				break
			} else if err != nil {
				return fmt.Errorf("journal: %s: %w", s.path, err)
			}
			s.size += frameBytes + int64(len(rec))
			s.n++
		}
	} else if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("journal: %s: %w", s.path, err)
	}
	if s.size == st.Size() {
		return nil
	}
	if !last {
		j.log.Error("journal: corrupt record; the rest of the segment is skipped",
			"file", s.path, "records", s.n, "offset", s.size, "skipped_bytes", st.Size()-s.size)
		return nil
	}
	j.log.Warn("journal: cutting a torn or corrupt last record",
		"file", s.path, "records", s.n, "offset", s.size, "cut_bytes", st.Size()-s.size)
	if s.size == 0 { // not even a whole header: start the file again
		if err := os.WriteFile(s.path, []byte(magic), 0o600); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		s.size = headerBytes
	} else if err := os.Truncate(s.path, s.size); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	s.bytes = s.size
	return nil
}

// create starts a new segment whose first record is first, and makes its
// directory entry durable. It is called with mu held or before the journal
// is shared.
func (j *Journal) create(first uint64) error {
	path := filepath.Join(j.dir, fmt.Sprintf("%020d%s", first, segmentExt))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := f.Write([]byte(magic)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	j.segs = append(j.segs, &segment{first: first, size: headerBytes, bytes: headerBytes, path: path})
	j.bytes += headerBytes
	j.f = f
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Write appends rec as one record with one write system call and returns its
// sequence number. It does not wait for an fsync: see WaitDurable.
func (j *Journal) Write(rec []byte) (uint64, error) {
	if len(rec) == 0 || len(rec) > MaxRecordBytes {
		return 0, fmt.Errorf("journal: a record of %d bytes (want 1 to %d)", len(rec), MaxRecordBytes)
	}
	fp, _ := j.frames.Get().(*[]byte)
	if fp == nil {
		fp = new([]byte)
	}
	defer j.frames.Put(fp)
	frame := append((*fp)[:0], make([]byte, frameBytes)...)
	binary.LittleEndian.PutUint32(frame, uint32(len(rec)))
	frame = append(frame, rec...)
	crc := crc32.Update(crc32.Checksum(frame[:4], castagnoli()), castagnoli(), rec)
	binary.LittleEndian.PutUint32(frame[4:], crc)
	*fp = frame

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return 0, ErrClosed
	}
	if j.err != nil {
		return 0, j.err
	}
	s := j.segs[len(j.segs)-1]
	if s.n > 0 && s.size+int64(len(frame)) > j.opts.SegmentBytes {
		if err := j.roll(); err != nil {
			return 0, err
		}
		s = j.segs[len(j.segs)-1]
	}
	if n, err := j.f.Write(frame); err != nil {
		// Cut what was written, so that the records after it stay readable.
		if n > 0 {
			if terr := j.f.Truncate(s.size); terr != nil {
				j.err = fmt.Errorf("journal: a partial write could not be cut: %w", terr)
			}
		}
		return 0, fmt.Errorf("journal: write: %w", err)
	}
	seq := j.next
	j.next++
	// Wake the sync loop; a token already waiting (a write since its last
	// look) does the same, so this never blocks.
	select {
	case j.dirty <- struct{}{}:
	default:
	}
	s.n++
	s.size += int64(len(frame))
	s.bytes += int64(len(frame))
	j.bytes += int64(len(frame))
	return seq, nil
}

// roll closes the written segment durably and starts the next. mu is held.
func (j *Journal) roll() error {
	for j.syncing { // the fsync in flight uses j.f
		j.cond.Wait()
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("journal: fsync: %w", err)
		return j.err
	}
	j.synced = j.next
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.f = nil
	if err := j.create(j.next); err != nil {
		j.err = err // no file to write to
		return err
	}
	return nil
}

// WaitDurable waits until the record seq survives power loss, when the
// policy is SyncAlways; with SyncInterval it returns at once (the record
// will be fsynced within about one interval).
func (j *Journal) WaitDurable(seq uint64) error {
	if j.opts.Sync != SyncAlways {
		return nil
	}
	return j.syncThrough(seq + 1)
}

// Append writes rec and waits as WaitDurable does.
func (j *Journal) Append(rec []byte) (uint64, error) {
	seq, err := j.Write(rec)
	if err != nil {
		return 0, err
	}
	return seq, j.WaitDurable(seq)
}

// Sync makes every record written so far durable.
func (j *Journal) Sync() error {
	j.mu.Lock()
	next := j.next
	j.mu.Unlock()
	return j.syncThrough(next)
}

// syncThrough returns when every record below through is durable. One caller
// fsyncs for everyone waiting (group commit): records written while an fsync
// runs are covered by the next one, which one of their writers starts.
func (j *Journal) syncThrough(through uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.synced < through {
		if j.err != nil {
			return j.err
		}
		if j.syncing {
			j.cond.Wait()
			continue
		}
		if j.f == nil {
			return ErrClosed
		}
		j.syncing = true
		target, f := j.next, j.f
		j.mu.Unlock()
		err := f.Sync()
		if err == nil && j.opts.OnSync != nil {
			j.opts.OnSync(target)
		}
		j.mu.Lock()
		j.syncing = false
		j.cond.Broadcast()
		if err != nil {
			// After a failed fsync the kernel may have dropped the pages:
			// retrying could report success for data that is gone.
			j.err = fmt.Errorf("journal: fsync: %w", err)
			j.log.Error("journal: fsync failed; the journal stops accepting records", "err", err)
			return j.err
		}
		j.synced = max(j.synced, target)
	}
	return nil
}

// syncLoop fsyncs about every SyncInterval while records are written, and
// sleeps without a timer while none are (the promise of an idle server
// that costs nothing).
func (j *Journal) syncLoop() {
	defer close(j.syncDone)
	t := time.NewTimer(j.opts.SyncInterval)
	t.Stop()
	for {
		select {
		case <-j.stopSync:
			return
		case <-j.dirty:
		}
		t.Reset(j.opts.SyncInterval)
		select {
		case <-j.stopSync:
			t.Stop()
			return
		case <-t.C:
		}
		j.mu.Lock()
		next, idle := j.next, j.synced >= j.next || j.err != nil
		j.mu.Unlock()
		if !idle {
			j.syncThrough(next) // a failure is sticky and logged
		}
	}
}

// Ack says that every record below through is stored elsewhere: the
// segments holding only such records are deleted. The segment being written
// is kept.
func (j *Journal) Ack(through uint64) {
	j.mu.Lock()
	j.acked = max(j.acked, through)
	var gone []*segment
	for len(j.segs) > 1 && j.segs[1].first <= through {
		gone = append(gone, j.segs[0])
		j.bytes -= j.segs[0].bytes
		j.segs = j.segs[1:]
	}
	j.mu.Unlock()
	for _, s := range gone {
		if err := os.Remove(s.path); err != nil {
			// Left behind, it is replayed again on the next start: harmless.
			j.log.Warn("journal: could not delete a stored segment", "file", s.path, "err", err)
		}
	}
}

// First is the sequence number of the oldest record kept: the journal holds
// the records in [First, Next), less the ones skipped as corrupt.
func (j *Journal) First() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.segs) == 0 {
		return j.next
	}
	return j.segs[0].first
}

// Next is the sequence number the next Write gets.
func (j *Journal) Next() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next
}

// Bytes is the size of the journal's files.
func (j *Journal) Bytes() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.bytes
}

// Close fsyncs what was written and closes the journal. When every record
// was acknowledged it deletes the segments, so that the next Open replays
// nothing. It is idempotent.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	close(j.stopSync)
	<-j.syncDone
	err := j.Sync()
	if errors.Is(err, ErrClosed) {
		err = nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.syncing {
		j.cond.Wait()
	}
	if j.f != nil {
		err = errors.Join(err, j.f.Close())
		j.f = nil
	}
	if err == nil && j.err == nil && j.acked >= j.next {
		for _, s := range j.segs {
			err = errors.Join(err, os.Remove(s.path))
		}
		j.segs, j.bytes = nil, 0
	}
	return err
}
