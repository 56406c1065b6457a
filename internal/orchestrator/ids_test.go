package orchestrator

import (
	"sync"
	"testing"

	"github.com/google/uuid"
)

// The execution ids from the buffered source are version-7 UUIDs, unique
// across concurrent callers and across refills of the buffer, and ordered
// by time as the stores' indexes expect.
func TestIDSource(t *testing.T) {
	s := newIDSource()
	const goroutines, each = 8, 1000 // 8,000 ids: about 31 refills of 256
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				ids[g] = append(ids[g], s.newID())
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, goroutines*each)
	for _, list := range ids {
		for i, id := range list {
			u, err := uuid.Parse(id)
			if err != nil {
				t.Fatalf("%q: %v", id, err)
			}
			if u.Version() != 7 || u.Variant() != uuid.RFC4122 {
				t.Fatalf("%s: version %d variant %v, want 7 RFC4122", id, u.Version(), u.Variant())
			}
			if seen[id] {
				t.Fatalf("%s handed out twice", id)
			}
			seen[id] = true
			if i > 0 && id <= list[i-1] {
				t.Fatalf("ids of one caller not increasing: %s after %s", id, list[i-1])
			}
		}
	}
	// The random bits differ between ids (not a buffer handed out twice).
	a, b := s.newID(), s.newID()
	if a[24:] == b[24:] {
		t.Fatalf("two ids share their random tail: %s %s", a, b)
	}
}
