package orchestrator

import (
	"crypto/rand"
	"sync"

	"github.com/google/uuid"
)

// idSource makes the execution ids: UUIDv7 (time-ordered, as the stores'
// indexes want) whose random bits come from crypto/rand through a buffer,
// refilled 4 KiB at a time. uuid.NewV7 reads crypto/rand for every id, a
// getrandom system call per request on the hot path; here it is one per 256
// ids. The ids are not secrets (the caller of a failed execution is told its
// id), only unique.
type idSource struct {
	mu  sync.Mutex
	buf [4096]byte
	off int // bytes of buf used; len(buf) means refill first
}

func newIDSource() *idSource { return &idSource{off: 4096} }

// Read fills p with random bytes (p no longer than the buffer: uuid reads 16).
func (s *idSource) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off+len(p) > len(s.buf) {
		if _, err := rand.Read(s.buf[:]); err != nil {
			return 0, err
		}
		s.off = 0
	}
	n := copy(p, s.buf[s.off:])
	clear(s.buf[s.off : s.off+n]) // a byte is handed out once
	s.off += n
	return n, nil
}

// newID is a new execution id.
func (s *idSource) newID() string {
	id, err := uuid.NewV7FromReader(s)
	if err != nil {
		id = uuid.New()
	}
	return id.String()
}
