package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/postgres"
	"github.com/picloud/picloud/internal/postgres/pgtest"
)

// heard is one call of a ListenScriptChanges callback.
type heard struct {
	c  picloud.ScriptChange
	ok bool
}

// converge bounds the waits for something to happen: generous, since a
// slow machine only makes the tests slower, never wrong.
const converge = 20 * time.Second

// withAppName returns dbURL with application_name set, so that a test
// finds its listener's session in pg_stat_activity.
func withAppName(t *testing.T, dbURL, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func openAt(t *testing.T, dbURL string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listen runs s.ListenScriptChanges until the test ends, waits until it
// listens (its first call, ok false), and checks that it returns nil once
// its context is cancelled.
func listen(t *testing.T, s *postgres.Store) <-chan heard {
	t.Helper()
	ch := make(chan heard, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.ListenScriptChanges(ctx, func(c picloud.ScriptChange, ok bool) { ch <- heard{c, ok} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ListenScriptChanges returned %v after its context ended, want nil", err)
			}
		case <-time.After(converge):
			t.Errorf("ListenScriptChanges did not return after its context ended")
		}
	})
	// Listening begins with ok false: what was announced before it is not
	// going to be heard, and a manager's feed resynchronises its streams.
	if h := next(t, "a new listener", ch); h.ok || h.c != (picloud.ScriptChange{}) {
		t.Fatalf("a new listener first heard %+v (ok %v), want ok false once it listens", h.c, h.ok)
	}
	return ch
}

// listenerPID waits until the session named app has last run one of
// queries (the listener's LISTEN, or a ping after it) and is idle, and
// returns its pid.
func listenerPID(t *testing.T, db *pgx.Conn, app string, queries ...string) int32 {
	t.Helper()
	deadline := time.Now().Add(converge)
	for {
		var pid int32
		err := db.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND query = ANY($2) AND state = 'idle'`, app, queries).Scan(&pid)
		if err == nil {
			return pid
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle session %q has last run any of %q", app, queries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func next(t *testing.T, who string, ch <-chan heard) heard {
	t.Helper()
	select {
	case h := <-ch:
		return h
	case <-time.After(converge):
		t.Fatalf("%s heard nothing", who)
		return heard{}
	}
}

func wantChange(t *testing.T, who string, ch <-chan heard, want picloud.ScriptChange) {
	t.Helper()
	if h := next(t, who, ch); !h.ok || h.c != want {
		t.Fatalf("%s heard %+v (ok %v), want %+v", who, h.c, h.ok, want)
	}
}

func adminConn(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	db, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// TestChangeNotifier: two stores on one database (two managers) hear each
// other's changes and their own; a store in another schema of the same
// database is not heard; a listener whose connection is killed comes back,
// says changes may have been missed, and hears the later ones.
func TestChangeNotifier(t *testing.T) {
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	t.Parallel()
	shared := pgtest.URL(t, dbURL)
	tag := "picloud-test-" + uuid.NewString()[:8]
	a := openAt(t, withAppName(t, shared, tag+"-a"))
	b := openAt(t, withAppName(t, shared, tag+"-b"))
	foreign := pgtest.Open(t, dbURL) // another schema: another installation
	db := adminConn(t, dbURL)

	la, lb := listen(t, a), listen(t, b)
	listenerPID(t, db, tag+"-a", "LISTEN picloud_scripts")
	pidB := listenerPID(t, db, tag+"-b", "LISTEN picloud_scripts")

	// The foreign change commits first: were it heard, it would come first.
	if err := foreign.NotifyScriptChange(context.Background(), picloud.ScriptChange{ID: "foreign", Name: "x", Version: 9}); err != nil {
		t.Fatal(err)
	}
	c1 := picloud.ScriptChange{ID: uuid.NewString(), Name: "hello", Version: 2}
	if err := a.NotifyScriptChange(context.Background(), c1); err != nil {
		t.Fatal(err)
	}
	wantChange(t, "a's listener", la, c1)
	wantChange(t, "b's listener", lb, c1)
	c2 := picloud.ScriptChange{ID: uuid.NewString(), Name: "gone-é", Deleted: true}
	if err := b.NotifyScriptChange(context.Background(), c2); err != nil {
		t.Fatal(err)
	}
	wantChange(t, "a's listener", la, c2)
	wantChange(t, "b's listener", lb, c2)

	// b's listening session dies: b's listener reconnects and reports that
	// it may have missed changes, then hears the next one; a's listener
	// just hears the next one.
	if _, err := db.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pidB); err != nil {
		t.Fatal(err)
	}
	if h := next(t, "b's listener", lb); h.ok || h.c != (picloud.ScriptChange{}) {
		t.Fatalf("after its connection was killed b's listener heard %+v (ok %v), want ok false", h.c, h.ok)
	}
	c3 := picloud.ScriptChange{ID: uuid.NewString(), Name: "later", Version: 3}
	if err := a.NotifyScriptChange(context.Background(), c3); err != nil {
		t.Fatal(err)
	}
	wantChange(t, "b's listener", lb, c3)
	wantChange(t, "a's listener", la, c3)

	// A payload that is not a change (someone's NOTIFY by hand) cannot be
	// named: the listeners resynchronise.
	if _, err := db.Exec(context.Background(), `SELECT pg_notify('picloud_scripts', 'not json')`); err != nil {
		t.Fatal(err)
	}
	for who, ch := range map[string]<-chan heard{"a's listener": la, "b's listener": lb} {
		if h := next(t, who, ch); h.ok {
			t.Fatalf("%s heard %+v from a payload that is not JSON, want ok false", who, h.c)
		}
	}
}

// TestChangeListenerPings: a listener pings its connection after a silence
// (to notice a connection dropped without a reset), and keeps listening on
// it afterwards.
func TestChangeListenerPings(t *testing.T) {
	dbURL := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set")
	}
	t.Parallel()
	app := "picloud-test-" + uuid.NewString()[:8]
	s := openAt(t, withAppName(t, pgtest.URL(t, dbURL), app))
	postgres.SetListenPing(s, 20*time.Millisecond)
	db := adminConn(t, dbURL)
	ch := listen(t, s)
	// The first ping may come before the LISTEN is seen.
	pid := listenerPID(t, db, app, "LISTEN picloud_scripts", "-- ping")
	if got := listenerPID(t, db, app, "-- ping"); got != pid {
		t.Fatalf("the ping ran on session %d, the listener is %d", got, pid)
	}
	c := picloud.ScriptChange{ID: uuid.NewString(), Name: "after-ping", Version: 1}
	if err := s.NotifyScriptChange(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	wantChange(t, "the listener", ch, c)
	select {
	case h := <-ch:
		t.Fatalf("the listener also heard %+v (ok %v)", h.c, h.ok)
	default:
	}
}
