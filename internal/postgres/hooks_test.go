package postgres

import "time"

// SetListenPing makes s's listener ping its connection after d of silence
// instead of listenPingEvery, so that a test sees pings happen.
func SetListenPing(s *Store, d time.Duration) { s.listenPing = d }
