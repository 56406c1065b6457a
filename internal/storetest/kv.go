package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// testKV covers picloud.KVStore: get/set/delete, expiry (invisible at once,
// then purged), incr and compare-and-set (also under concurrency), listing in
// byte order with prefix and cursor, the limits and quotas (a write over one
// changes nothing), namespaces kept apart, the kv settings stored with the
// script, and deleting a script deleting its own namespace only.
func testKV(t *testing.T, s picloud.Store) {
	ctx := context.Background()
	const ns = "script:test"
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	set := func(key, value string, expires time.Time) {
		t.Helper()
		if err := s.KVSet(ctx, ns, key, picloud.KVWrite{Value: raw(value), ExpiresAt: expires}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	get := func(key string) string {
		t.Helper()
		e, err := s.KVGet(ctx, ns, key)
		if picloud.ErrorCode(err) == picloud.ENotFound {
			return "<none>"
		} else if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return string(e.Value)
	}

	// Set, get, overwrite, delete.
	set("a", `{"x":[1,2.5,"s",null,true]}`, time.Time{})
	if got := get("a"); !picloud.KVEqual(raw(got), raw(`{"x":[1,2.5,"s",null,true]}`)) {
		t.Fatalf("get a = %s", got)
	}
	set("a", `"two"`, time.Time{})
	if got := get("a"); got != `"two"` {
		t.Fatalf("overwritten a = %s", got)
	}
	if got := get("missing"); got != "<none>" {
		t.Fatalf("missing = %s", got)
	}
	if ok, err := s.KVDelete(ctx, ns, "a"); err != nil || !ok {
		t.Fatalf("delete a = %v, %v", ok, err)
	}
	if ok, err := s.KVDelete(ctx, ns, "a"); err != nil || ok {
		t.Fatalf("delete a again = %v, %v", ok, err)
	}
	if got := get("a"); got != "<none>" {
		t.Fatalf("deleted a = %s", got)
	}

	// Expiry: a key past its expiry is gone for every read at once, and is
	// then purged; a key with a future expiry reports it.
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	set("exp-past", `1`, time.Now().Add(-time.Millisecond))
	set("exp-future", `2`, future)
	if got := get("exp-past"); got != "<none>" {
		t.Fatalf("expired key = %s", got)
	}
	if e, err := s.KVGet(ctx, ns, "exp-future"); err != nil || e.ExpiresAt == nil || !e.ExpiresAt.Equal(future) {
		t.Fatalf("future key = %+v, %v", e, err)
	}
	if p, err := s.KVList(ctx, ns, "exp-", "", 10); err != nil || strings.Join(p.Keys, ",") != "exp-future" {
		t.Fatalf("list hides expired = %+v, %v", p, err)
	}
	if u, err := s.KVUsage(ctx, ns); err != nil || u.Keys != 1 {
		t.Fatalf("usage counts expired = %+v, %v", u, err)
	}
	if ok, err := s.KVDelete(ctx, ns, "exp-past"); err != nil || ok {
		t.Fatalf("delete of an expired key = %v, %v", ok, err)
	}
	if n, err := s.PurgeKV(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("purge = %d, %v", n, err)
	}
	if n, err := s.PurgeKV(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("purge again = %d, %v", n, err)
	}
	// Setting an expired key again makes it live.
	set("exp-past", `3`, time.Time{})
	if got := get("exp-past"); got != "3" {
		t.Fatalf("reset expired key = %s", got)
	}

	// Incr: absent counts from 0, keeps the expiry, refuses non-integers
	// and overflow without writing.
	for i, want := range []int64{5, 3} {
		n, err := s.KVIncr(ctx, ns, "n", []int64{5, -2}[i], picloud.KVWrite{})
		if err != nil || n != want {
			t.Fatalf("incr %d = %d, %v; want %d", i, n, err, want)
		}
	}
	if n, err := s.KVIncr(ctx, ns, "exp-future", 1, picloud.KVWrite{}); err != nil || n != 3 {
		t.Fatalf("incr exp-future = %d, %v", n, err)
	}
	if e, _ := s.KVGet(ctx, ns, "exp-future"); e == nil || e.ExpiresAt == nil || !e.ExpiresAt.Equal(future) {
		t.Fatalf("incr dropped the expiry: %+v", e)
	}
	set("s", `"text"`, time.Time{})
	if _, err := s.KVIncr(ctx, ns, "s", 1, picloud.KVWrite{}); picloud.ErrorCode(err) != picloud.EInvalidRequest {
		t.Fatalf("incr of a string = %v", err)
	}
	set("big", `9223372036854775807`, time.Time{})
	if _, err := s.KVIncr(ctx, ns, "big", 1, picloud.KVWrite{}); picloud.ErrorCode(err) != picloud.EInvalidRequest || get("big") != `9223372036854775807` {
		t.Fatalf("incr overflow = %v, %s", err, get("big"))
	}

	// Compare-and-set: absent (nil expected), equal as JSON, unequal.
	cas := func(key string, expected json.RawMessage, value string) bool {
		t.Helper()
		ok, err := s.KVCompareAndSet(ctx, ns, key, expected, picloud.KVWrite{Value: raw(value)})
		if err != nil {
			t.Fatalf("cas %s: %v", key, err)
		}
		return ok
	}
	if !cas("c", nil, `{"a":1,"b":2}`) || cas("c", nil, `0`) {
		t.Fatal("cas on an absent key")
	}
	if !cas("c", raw(`{ "b": 2, "a": 1 }`), `"next"`) || get("c") != `"next"` {
		t.Fatalf("cas with an equal value: %s", get("c"))
	}
	if cas("c", raw(`"other"`), `"no"`) || get("c") != `"next"` {
		t.Fatalf("cas with a different value wrote: %s", get("c"))
	}
	if cas("nothing", raw(`1`), `2`) || get("nothing") != "<none>" {
		t.Fatal("cas on an absent key with an expected value")
	}
	// A JSON null expected matches an absent key or a stored null (kv::
	// reads both as ()); nil matches only an absent one.
	if !cas("null", raw(`null`), `null`) || get("null") != "null" {
		t.Fatalf("cas null on an absent key: %s", get("null"))
	}
	if cas("null", nil, `1`) || !cas("null", raw(`null`), `2`) || get("null") != "2" {
		t.Fatalf("cas on a stored null: %s", get("null"))
	}

	// Listing: byte order, prefix, pages with a cursor.
	const lns = "ns:list"
	keys := []string{"b", "a/2", "a/10", "a/1", "B", "a", "é", "a0", "ab"}
	for _, k := range keys {
		if err := s.KVSet(ctx, lns, k, picloud.KVWrite{Value: raw(`0`)}); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := s.KVList(ctx, lns, "", "", 0); err != nil || strings.Join(p.Keys, " ") != "B a a/1 a/10 a/2 a0 ab b é" || p.Cursor != "" {
		t.Fatalf("list all = %+v, %v", p, err)
	}
	var pages []string
	cursor := ""
	for i := 0; ; i++ {
		p, err := s.KVList(ctx, lns, "a/", cursor, 2)
		if err != nil || i > 3 {
			t.Fatalf("page %d: %+v, %v", i, p, err)
		}
		pages = append(pages, strings.Join(p.Keys, ","))
		if cursor = p.Cursor; cursor == "" {
			break
		}
	}
	if got := strings.Join(pages, " | "); got != "a/1,a/10 | a/2" {
		t.Fatalf("pages = %s", got)
	}
	if p, err := s.KVList(ctx, lns, "zz", "", 5); err != nil || len(p.Keys) != 0 || p.Keys == nil {
		t.Fatalf("list of no key = %+v, %v", p, err)
	}

	// Limits: keys and values over the limit, invalid keys and values.
	for _, k := range []string{"", strings.Repeat("k", picloud.MaxKVKeyBytes+1), "nul\x00", "\xff"} {
		if err := s.KVSet(ctx, ns, k, picloud.KVWrite{Value: raw(`1`)}); err == nil {
			t.Fatalf("key %q accepted", k)
		}
	}
	if err := s.KVSet(ctx, ns, strings.Repeat("k", picloud.MaxKVKeyBytes), picloud.KVWrite{Value: raw(`1`)}); err != nil {
		t.Fatalf("key of the largest size: %v", err)
	}
	big := `"` + strings.Repeat("v", picloud.MaxKVValueBytes-1) + `"`
	if err := s.KVSet(ctx, ns, "big", picloud.KVWrite{Value: raw(big)}); picloud.ErrorCode(err) != picloud.EPayloadTooLarge || get("big") != `9223372036854775807` {
		t.Fatalf("value over the limit = %v", err)
	}
	if err := s.KVSet(ctx, ns, "bad", picloud.KVWrite{Value: raw(`{nope`)}); picloud.ErrorCode(err) != picloud.EInvalidRequest {
		t.Fatalf("value not JSON = %v", err)
	}

	// Quotas: a write over them changes nothing; replacing a key within
	// them is fine.
	const qns = "ns:quota"
	q := picloud.KVQuota{MaxKeys: 2, MaxBytes: 20}
	for _, k := range []string{"k1", "k2"} {
		if err := s.KVSet(ctx, qns, k, picloud.KVWrite{Value: raw(`1`), Quota: q}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KVSet(ctx, qns, "k3", picloud.KVWrite{Value: raw(`1`), Quota: q}); picloud.ErrorCode(err) != picloud.EPayloadTooLarge {
		t.Fatalf("third key = %v", err)
	}
	if _, err := s.KVIncr(ctx, qns, "k3", 1, picloud.KVWrite{Quota: q}); picloud.ErrorCode(err) != picloud.EPayloadTooLarge {
		t.Fatalf("third key by incr = %v", err)
	}
	if err := s.KVSet(ctx, qns, "k1", picloud.KVWrite{Value: raw(`"` + strings.Repeat("x", 20) + `"`), Quota: q}); picloud.ErrorCode(err) != picloud.EPayloadTooLarge {
		t.Fatalf("bytes over = %v", err)
	}
	if err := s.KVSet(ctx, qns, "k1", picloud.KVWrite{Value: raw(`"abc"`), Quota: q}); err != nil {
		t.Fatalf("replace within quota: %v", err)
	}
	if u, err := s.KVUsage(ctx, qns); err != nil || u != (picloud.KVUsage{Keys: 2, Bytes: 2 + 5 + 2 + 1}) {
		t.Fatalf("usage = %+v, %v", u, err)
	}
	if e, err := s.KVGet(ctx, qns, "k3"); err == nil {
		t.Fatalf("k3 written over quota: %+v", e)
	}

	// Concurrent incr and cas loops lose no update.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := s.KVIncr(ctx, "ns:race", "incr", 1, picloud.KVWrite{}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 20; {
				var cur json.RawMessage
				n := 0
				if e, err := s.KVGet(ctx, "ns:race", "cas"); err == nil {
					cur = e.Value
					fmt.Sscan(string(e.Value), &n)
				}
				ok, err := s.KVCompareAndSet(ctx, "ns:race", "cas", cur, picloud.KVWrite{Value: raw(fmt.Sprint(n + 1))})
				if err != nil {
					errs <- err
					return
				}
				if ok {
					i++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, k := range []string{"incr", "cas"} {
		if e, err := s.KVGet(ctx, "ns:race", k); err != nil || string(e.Value) != "320" {
			t.Fatalf("%s after 320 concurrent increments = %+v, %v", k, e, err)
		}
	}

	// The kv settings are stored; deleting a script deletes its namespace
	// and nothing else.
	sc := &picloud.Script{Name: "kv-owner", Source: "1", KVNamespaces: "orders,users", KVMaxKeys: 7, KVMaxBytes: 1 << 20}
	if err := s.CreateScript(ctx, sc); err != nil {
		t.Fatal(err)
	}
	up, err := s.UpdateScript(ctx, sc.ID, picloud.ScriptUpdate{KVNamespaces: ptr(" orders , billing "), KVMaxKeys: ptr(int64(9))})
	if err != nil || up.KVNamespaces != "orders,billing" || up.KVMaxKeys != 9 || up.KVMaxBytes != 1<<20 {
		t.Fatalf("kv settings after update = %+v, %v", up, err)
	}
	if got, err := s.Script(ctx, sc.ID); err != nil || got.KVNamespaces != "orders,billing" || got.KVMaxKeys != 9 || got.KVMaxBytes != 1<<20 {
		t.Fatalf("kv settings stored = %+v, %v", got, err)
	}
	own := picloud.ScriptNamespace(sc.ID)
	if err := s.KVSet(ctx, own, "mine", picloud.KVWrite{Value: raw(`1`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteScript(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVGet(ctx, own, "mine"); picloud.ErrorCode(err) != picloud.ENotFound {
		t.Fatalf("own namespace after delete: %v", err)
	}
	if u, err := s.KVUsage(ctx, lns); err != nil || u.Keys != int64(len(keys)) {
		t.Fatalf("a shared namespace after delete = %+v, %v", u, err)
	}
	if err := s.DeleteKVNamespace(ctx, lns); err != nil {
		t.Fatal(err)
	}
	if u, err := s.KVUsage(ctx, lns); err != nil || u.Keys != 0 {
		t.Fatalf("deleted namespace = %+v, %v", u, err)
	}
}
