package reliability

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite", to read the server's file
)

// backend is the store one scenario runs on, with what the scenario needs to
// reach it behind the server's back.
type backend struct {
	kind    string // "sqlite" or "postgres"
	dataDir string // the server's data directory (its journal, and SQLite's file)
	dbURL   string // postgres: the scenario's own database, reached directly
	proxied string // postgres: the same database through proxy, what the server uses
	proxy   *proxy // postgres: the TCP proxy the scenario can cut
}

// args are the server flags that put it on this backend. Retention is off so
// that no row the scenario counts is pruned.
func (b *backend) args() []string {
	a := []string{"--data-dir", b.dataDir, "--retention-max-age", "0", "--retention-max-rows", "0"}
	if b.kind == "postgres" {
		a = append(a, "--database-url", b.proxied)
	}
	return a
}

// eachStore runs fn as a subtest on SQLite, and on PostgreSQL when
// PICLOUD_TEST_DATABASE_URL is set.
func eachStore(t *testing.T, fn func(t *testing.T, b *backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteBackend(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresBackend(t)) })
}

func sqliteBackend(t *testing.T) *backend {
	return &backend{kind: "sqlite", dataDir: filepath.Join(t.TempDir(), "data")}
}

// postgresBackend makes a fresh database for the scenario (dropped when it
// ends) and a proxy in front of it. It skips the test when
// PICLOUD_TEST_DATABASE_URL is not set.
func postgresBackend(t *testing.T) *backend {
	t.Helper()
	admin := os.Getenv("PICLOUD_TEST_DATABASE_URL")
	if admin == "" {
		t.Skip("PICLOUD_TEST_DATABASE_URL is not set: this scenario's PostgreSQL run is skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "picloud_rel_" + randomHex(6)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("postgres: creating the scenario's database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("postgres: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE ends the connections a killed server may have left behind.
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("postgres: dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	u.Path = "/" + name
	direct := u.String()
	p := newProxy(t, u.Host)
	u.Host = p.addr()
	return &backend{kind: "postgres", dataDir: filepath.Join(t.TempDir(), "data"), dbURL: direct, proxied: u.String(), proxy: p}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// proxy is a TCP proxy between the server and PostgreSQL. Cut closes every
// connection and refuses new ones (accepts and closes them at once, as a
// database that went away would); Restore lets connections through again.
// Only the proxy goes down: the shared PostgreSQL server is never touched.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		if up != nil {
			up.Close()
		}
		p.drop(c)
		return
	}
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go copyHalf(up, c)
	go copyHalf(c, up)
	<-done // either side ending ends both
	p.drop(c)
	p.drop(up)
	<-done
}

// track registers a connection; it refuses it while the proxy is cut.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// Cut closes every connection through the proxy and refuses new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (p *proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// dbRow is an execution row read from the database directly.
type dbRow struct {
	id, marker string
}

// executionRows reads a script's execution rows from the database itself, not
// through the server: what is in the store, whatever the server believes.
func (b *backend) executionRows(ctx context.Context, scriptID string) ([]dbRow, error) {
	var rows []dbRow
	add := func(id string, req *string) {
		var r struct {
			Query map[string]string `json:"query"`
		}
		if req != nil {
			json.Unmarshal([]byte(*req), &r)
		}
		rows = append(rows, dbRow{id: id, marker: r.Query["k"]})
	}
	if b.kind == "postgres" {
		conn, err := pgx.Connect(ctx, b.dbURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		defer conn.Close(ctx)
		rs, err := conn.Query(ctx, "SELECT id::text, request FROM executions WHERE script_id::text = $1", scriptID)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			var req *string
			if err := rs.Scan(&id, &req); err != nil {
				return nil, fmt.Errorf("postgres: %w", err)
			}
			add(id, req)
		}
		return rows, rs.Err()
	}
	db, err := openSQLite(b.dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rs, err := db.QueryContext(ctx, "SELECT id, request FROM executions WHERE script_id = ?", scriptID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var req *string
		if err := rs.Scan(&id, &req); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		add(id, req)
	}
	return rows, rs.Err()
}

// openSQLite opens the server's database file read-only, as a backup reader
// or another process on the machine would.
func openSQLite(dataDir string) (*sql.DB, error) {
	path := filepath.Join(dataDir, "picloud.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return db, nil
}

// allText returns every text value in every table of the database: what
// anyone who can read the database, or a backup of it, sees.
func (b *backend) allText(ctx context.Context) ([]string, error) {
	var out []string
	collect := func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []byte:
			out = append(out, string(v))
		case fmt.Stringer:
			out = append(out, v.String())
		}
	}
	if b.kind == "postgres" {
		conn, err := pgx.Connect(ctx, b.dbURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		defer conn.Close(ctx)
		var tables []string
		rs, err := conn.Query(ctx, "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'")
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		for rs.Next() {
			var n string
			rs.Scan(&n)
			tables = append(tables, n)
		}
		rs.Close()
		for _, tb := range tables {
			rs, err := conn.Query(ctx, "SELECT * FROM "+tb)
			if err != nil {
				return nil, fmt.Errorf("postgres: %s: %w", tb, err)
			}
			for rs.Next() {
				vals, err := rs.Values()
				if err != nil {
					rs.Close()
					return nil, fmt.Errorf("postgres: %s: %w", tb, err)
				}
				for _, v := range vals {
					collect(v)
				}
			}
			rs.Close()
		}
		return out, nil
	}
	db, err := openSQLite(b.dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var tables []string
	rs, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	for rs.Next() {
		var n string
		rs.Scan(&n)
		tables = append(tables, n)
	}
	rs.Close()
	for _, tb := range tables {
		rs, err := db.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(tb, `"`, `""`)+`"`)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", tb, err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				rs.Close()
				return nil, fmt.Errorf("sqlite: %s: %w", tb, err)
			}
			for _, v := range vals {
				collect(v)
			}
		}
		rs.Close()
	}
	return out, nil
}
