package tail

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/picloud/picloud"
)

// Stream defaults.
const (
	DefaultPingEvery = 15 * time.Second
	// ResumeLimit is the most stored rows a stream resumed with
	// Last-Event-ID replays before the live ones.
	ResumeLimit = 100
	// RetryMS is the reconnection delay the stream asks EventSource for.
	RetryMS = 2000
)

// Server serves tail streams: text/event-stream, one "execution" event per
// stored row (id: the execution's id, data: Summary's JSON), a ": ping"
// comment every PingEvery, and an "dropped" event ending the stream of a
// consumer that fell behind.
type Server struct {
	Hub   *Hub
	Store picloud.ExecutionStore // reads the rows a resumed stream missed
	// PingEvery is the heartbeat period (DefaultPingEvery).
	PingEvery time.Duration
	Logger    *slog.Logger

	closeOnce sync.Once
	closing   chan struct{}
	initOnce  sync.Once
}

func (s *Server) init() {
	s.initOnce.Do(func() { s.closing = make(chan struct{}) })
}

// Close ends every stream (at shutdown: a stream otherwise lasts as long as
// its client, and would hold the server's graceful shutdown).
func (s *Server) Close() {
	s.init()
	s.closeOnce.Do(func() { close(s.closing) })
}

// Summary is the row as a tail event carries it: everything but the request
// and response bodies (their sizes and the request line stay), which may be
// large and are one GET /api/executions/{id} away.
func Summary(l *picloud.ExecutionLog) *picloud.ExecutionLog {
	c := *l
	if l.Request != nil {
		r := *l.Request
		r.Body, r.BodyEncoding = "", ""
		c.Request = &r
	}
	if l.Response != nil {
		r := *l.Response
		r.Body, r.BodyEncoding = "", ""
		c.Response = &r
	}
	return &c
}

// Serve streams the rows of scriptID ("" for every script) to w until the
// client leaves, the consumer falls behind, or Close. With a Last-Event-ID
// header (or a last_event_id query parameter, for clients that cannot set
// headers) naming a stored execution, the stream first sends the rows
// started after it (the newest ResumeLimit of them, oldest first); an
// unknown id resumes nothing.
func (s *Server) Serve(w http.ResponseWriter, r *http.Request, scriptID string) {
	s.init()
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Subscribe before reading the store: a row stored in between is then
	// both read and published, and sent once.
	sub := s.Hub.Subscribe(Filter{ScriptID: scriptID})
	defer sub.Close()

	// The server's deadlines are for requests, not for a stream that lasts
	// as long as its client (see cluster's change stream for the read one).
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // a buffering proxy would hold the events back
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", RetryMS); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	sent := map[string]bool{}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	if last != "" {
		rows, err := s.missed(r, scriptID, last)
		if err != nil {
			log.Warn("tail: reading the rows a resumed stream missed", "err", err)
		}
		for _, l := range rows {
			if err := writeExecution(w, l); err != nil {
				return
			}
			sent[l.ID] = true
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}

	every := s.PingEvery
	if every <= 0 {
		every = DefaultPingEvery
	}
	ping := time.NewTicker(every)
	defer ping.Stop()
	for {
		select {
		case l := <-sub.C:
			if sent[l.ID] {
				delete(sent, l.ID)
				continue
			}
			if err := writeExecution(w, l); err != nil {
				return
			}
			// Send what else is waiting before flushing: one flush per burst.
			for more := true; more; {
				select {
				case l := <-sub.C:
					if sent[l.ID] {
						continue
					}
					if err := writeExecution(w, l); err != nil {
						return
					}
				default:
					more = false
				}
			}
			if rc.Flush() != nil {
				return
			}
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-sub.Dropped:
			io.WriteString(w, "event: dropped\ndata: {\"reason\":\"slow consumer\"}\n\n")
			rc.Flush()
			log.Info("tail: a stream fell behind and was dropped", "script", scriptID)
			return
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}

// missed reads the rows stored after execution last: those started after it
// (at the same instant: with a greater id), the newest ResumeLimit, oldest
// first.
func (s *Server) missed(r *http.Request, scriptID, last string) ([]*picloud.ExecutionLog, error) {
	if s.Store == nil {
		return nil, nil
	}
	from, err := s.Store.Execution(r.Context(), last)
	if picloud.ErrorCode(err) == picloud.ENotFound {
		return nil, nil // pruned, or never ours: nothing to resume from
	} else if err != nil {
		return nil, err
	}
	// Since is inclusive: rows of the same instant come back too, and the
	// id decides. One more than the limit, for the resumed row itself.
	rows, err := s.Store.QueryExecutions(r.Context(), picloud.ExecutionQuery{ScriptID: scriptID,
		Since: from.StartedAt.Time, Limit: ResumeLimit + 1})
	if err != nil {
		return nil, err
	}
	out := make([]*picloud.ExecutionLog, 0, len(rows))
	for i := len(rows) - 1; i >= 0; i-- { // oldest first
		l := rows[i]
		if l.StartedAt.Equal(from.StartedAt.Time) && l.ID <= from.ID {
			continue
		}
		out = append(out, l)
	}
	if len(out) > ResumeLimit {
		out = out[len(out)-ResumeLimit:]
	}
	return out, nil
}

func writeExecution(w io.Writer, l *picloud.ExecutionLog) error {
	b, err := json.Marshal(Summary(l))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %s\nevent: execution\ndata: %s\n\n", l.ID, b)
	return err
}
