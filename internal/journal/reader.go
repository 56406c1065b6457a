package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// errCorrupt marks a record that is torn (cut short) or fails its checksum.
var errCorrupt = errors.New("journal: torn or corrupt record")

// readChunk is how much a reader reads at once.
const readChunk = 256 << 10

// reader reads records from one segment file below end, through a buffer.
type reader struct {
	f      *os.File
	end    int64
	buf    []byte
	bufOff int64
}

// at returns the n bytes at off, valid until the next call.
func (r *reader) at(off, n int64) ([]byte, error) {
	if off+n > r.end {
		return nil, io.ErrUnexpectedEOF
	}
	if off >= r.bufOff && off+n <= r.bufOff+int64(len(r.buf)) {
		return r.buf[off-r.bufOff : off-r.bufOff+n], nil
	}
	size := min(max(n, readChunk), r.end-off)
	if int64(cap(r.buf)) < size {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	m, err := r.f.ReadAt(r.buf, off)
	r.buf, r.bufOff = r.buf[:m], off
	if int64(m) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return r.buf[:n], nil
}

// record returns the payload of the record at off: io.EOF at the end,
// errCorrupt for a torn or damaged record, another error when reading fails.
func (r *reader) record(off int64) ([]byte, error) {
	if off == r.end {
		return nil, io.EOF
	}
	h, err := r.at(off, frameBytes)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errCorrupt
	} else if err != nil {
		return nil, err
	}
	n, sum := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:])
	if n == 0 || n > MaxRecordBytes {
		return nil, errCorrupt
	}
	p, err := r.at(off+frameBytes, int64(n))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errCorrupt
	} else if err != nil {
		return nil, err
	}
	var lb [4]byte
	binary.LittleEndian.PutUint32(lb[:], n)
	if crc32.Update(crc32.Checksum(lb[:], castagnoli()), castagnoli(), p) != sum {
		return nil, errCorrupt
	}
	return p, nil
}

// Reader reads a journal's records in order, from a position on. One
// goroutine uses a Reader; it reads while others write and acknowledge.
type Reader struct {
	j     *Journal
	next  uint64 // the next record wanted
	first uint64 // the segment open, by its first record
	seq   uint64 // the record at off
	off   int64
	r     reader
}

// NewReader returns a reader whose first record is from (or the first one
// kept after it).
func (j *Journal) NewReader(from uint64) *Reader { return &Reader{j: j, next: from} }

// Next is the sequence number from which the reader reads next.
func (r *Reader) Next() uint64 { return r.next }

// Read calls fn with up to max records, in order, among those written before
// Read was called; rec is valid only during the call. It returns how many
// records it passed to fn.
func (r *Reader) Read(max int, fn func(seq uint64, rec []byte)) (int, error) {
	r.j.mu.Lock()
	segs := make([]segment, len(r.j.segs))
	for i, s := range r.j.segs {
		segs[i] = *s
	}
	r.j.mu.Unlock()

	count := 0
	for count < max {
		i := len(segs) - 1
		for i >= 0 && segs[i].first > r.next {
			i--
		}
		if i < 0 { // acknowledged already: go on from the oldest kept
			if len(segs) == 0 {
				break
			}
			r.next, i = segs[0].first, 0
		}
		s := &segs[i]
		if r.next >= s.first+s.n { // the end, or a corrupt tail skipped on open
			if i+1 < len(segs) {
				r.next = segs[i+1].first
				continue
			}
			break
		}
		if r.r.f == nil || r.first != s.first || r.seq > r.next {
			if err := r.open(s); err != nil {
				return count, err
			}
		}
		r.r.end = s.size
		rec, err := r.r.record(r.off)
		if errors.Is(err, errCorrupt) || errors.Is(err, io.EOF) {
			// Checked on open or written since: the disk changed it under us.
			r.j.log.Error("journal: a record is unreadable; skipping the rest of its segment",
				"file", s.path, "seq", r.seq, "skipped_records", s.first+s.n-r.seq)
			r.next = s.first + s.n
			continue
		} else if err != nil {
			return count, fmt.Errorf("journal: read %s: %w", s.path, err)
		}
		r.off += frameBytes + int64(len(rec))
		seq := r.seq
		r.seq++
		if seq >= r.next {
			fn(seq, rec)
			count++
			r.next = seq + 1
		}
	}
	return count, nil
}

func (r *Reader) open(s *segment) error {
	r.Close()
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r.r = reader{f: f, end: s.size, buf: r.r.buf[:0]}
	r.first, r.seq, r.off = s.first, s.first, headerBytes
	return nil
}

// Close releases the reader's file.
func (r *Reader) Close() error {
	if r.r.f == nil {
		return nil
	}
	err := r.r.f.Close()
	r.r.f = nil
	return err
}
