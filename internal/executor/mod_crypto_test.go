package executor

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// hostCase is a script and the response body it must produce, or the error
// kind and message fragment it must fail with.
type hostCase struct {
	name, src string
	want      string // the body, when err is ""
	kind, err string
}

// runHostCases runs each case as a script on a GET / request.
func runHostCases(t *testing.T, cases []hostCase) {
	t.Helper()
	x := newTestExecutor(t, Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, x, tc.src, Limits{}, Options{})
			checkHostCase(t, res, tc)
		})
	}
}

func checkHostCase(t *testing.T, res *Result, tc hostCase) {
	t.Helper()
	if tc.err == "" {
		if res.Status != picloud.StatusSuccess {
			t.Fatalf("%s: status %s, error %+v", tc.src, res.Status, res.Err)
		}
		if got := string(res.Response.Body); got != tc.want {
			t.Fatalf("%s: got %q, want %q", tc.src, got, tc.want)
		}
		return
	}
	if res.Status == picloud.StatusSuccess {
		t.Fatalf("%s: succeeded with %q, want an error %q", tc.src, res.Response.Body, tc.err)
	}
	if res.Err == nil || res.Err.Kind != tc.kind || !strings.Contains(res.Err.Message, tc.err) {
		t.Fatalf("%s: error %+v, want kind %s containing %q", tc.src, res.Err, tc.kind, tc.err)
	}
}

func hmacHex(key, data string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil))
}

func TestCryptoModule(t *testing.T) {
	const (
		abc256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // FIPS 180-2, "abc"
		abc1   = "a9993e364706816aba3e25717850c26c9cd0d89d"                         // FIPS 180-1, "abc"
		empty  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		// RFC 4231 test case 2 (HMAC-SHA-256) and RFC 2202 test case 2 (HMAC-SHA-1).
		jefe256 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
		jefe1   = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
	)
	sum1 := sha1.Sum([]byte("héllo"))
	runHostCases(t, []hostCase{
		{name: "sha256", src: `crypto::sha256("abc")`, want: abc256},
		{name: "sha256 empty", src: `crypto::sha256("")`, want: empty},
		{name: "sha256 blob", src: `crypto::sha256("abc".to_blob())`, want: abc256},
		{name: "sha256_bytes", src: `let b = crypto::sha256_bytes("abc"); type_of(b) + " " + b.len() + " " + hex::encode(b)`, want: "blob 32 " + abc256},
		{name: "sha1", src: `crypto::sha1("abc")`, want: abc1},
		{name: "sha1 utf8", src: `crypto::sha1("héllo")`, want: hex.EncodeToString(sum1[:])},
		{name: "sha1_bytes blob", src: `hex::encode(crypto::sha1_bytes("abc".to_blob()))`, want: abc1},
		{name: "hmac_sha256 rfc4231", src: `crypto::hmac_sha256("Jefe", "what do ya want for nothing?")`, want: jefe256},
		{name: "hmac_sha256 blob key", src: `crypto::hmac_sha256("Jefe".to_blob(), "what do ya want for nothing?")`, want: jefe256},
		{name: "hmac_sha256 blob data", src: `crypto::hmac_sha256("Jefe", "what do ya want for nothing?".to_blob())`, want: jefe256},
		{name: "hmac_sha256 blobs", src: `hex::encode(crypto::hmac_sha256_bytes("Jefe".to_blob(), "what do ya want for nothing?".to_blob()))`, want: jefe256},
		{name: "hmac_sha256 rfc4231 case 1", src: `crypto::hmac_sha256(hex::decode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), "Hi There")`,
			want: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{name: "hmac_sha1 rfc2202", src: `crypto::hmac_sha1("Jefe", "what do ya want for nothing?")`, want: jefe1},
		{name: "hmac_sha1_bytes", src: `hex::encode(crypto::hmac_sha1_bytes("Jefe", "what do ya want for nothing?".to_blob()))`, want: jefe1},
		{name: "equal", src: `crypto::equal("abc", "abc")`, want: "true"},
		{name: "equal differs", src: `crypto::equal("abc", "abd")`, want: "false"},
		{name: "equal lengths", src: `crypto::equal("abc", "abcd")`, want: "false"},
		{name: "equal string blob", src: `crypto::equal("abc", "abc".to_blob())`, want: "true"},
		{name: "equal blobs", src: `crypto::equal(crypto::sha256_bytes("a"), crypto::sha256_bytes("b"))`, want: "false"},
		{name: "random_bytes", src: `let b = crypto::random_bytes(16); type_of(b) + " " + b.len()`, want: "blob 16"},
		{name: "random_bytes zero", src: `crypto::random_bytes(0).len()`, want: "0"},
		{name: "random_bytes differ", src: `crypto::random_bytes(32) != crypto::random_bytes(32)`, want: "true"},
		{name: "random_bytes max", src: `crypto::random_bytes(65536).len()`, want: "65536"},
		{name: "random_bytes over", src: `crypto::random_bytes(65537)`, kind: rhai.ErrRuntime, err: "crypto::random_bytes: 65537 bytes asked, the limit is 0 to 65536"},
		{name: "random_bytes negative", src: `crypto::random_bytes(-1)`, kind: rhai.ErrRuntime, err: "the limit is 0 to"},
		{name: "uuids differ", src: `crypto::uuid() != crypto::uuid()`, want: "true"},
		{name: "wrong type", src: `crypto::sha256(42)`, kind: rhai.ErrFunctionNotFound, err: "crypto::sha256"},
	})
}

func TestCryptoUUID(t *testing.T) {
	x := newTestExecutor(t, Config{})
	for fn, version := range map[string]uuid.Version{"uuid": 4, "uuid_v7": 7} {
		res := run(t, x, `crypto::`+fn+`()`, Limits{}, Options{})
		if res.Status != picloud.StatusSuccess {
			t.Fatalf("%s: %+v", fn, res.Err)
		}
		s := string(res.Response.Body)
		id, err := uuid.Parse(s)
		if err != nil || id.Version() != version || id.Variant() != uuid.RFC4122 || s != strings.ToLower(s) || len(s) != 36 {
			t.Fatalf("%s() = %q (%v), want a lower-case version %d UUID", fn, s, err, version)
		}
	}
	// v7 ids sort by creation time.
	res := run(t, x, `let a = crypto::uuid_v7(); let b = crypto::uuid_v7(); a < b`, Limits{}, Options{})
	if res.Status != picloud.StatusSuccess || string(res.Response.Body) != "true" {
		t.Fatalf("uuid_v7 not increasing: %+v %v", res.Err, res.Response)
	}
}

// TestHostCallsCharged: every host call costs operations in proportion to
// the bytes it processes, so hashing in a loop meets the operation budget.
func TestHostCallsCharged(t *testing.T) {
	x := newTestExecutor(t, Config{})
	ops := func(src string) uint64 {
		t.Helper()
		res := run(t, x, src, Limits{}, Options{})
		if res.Status != picloud.StatusSuccess {
			t.Fatalf("%s: %+v", src, res.Err)
		}
		return res.Operations
	}
	const n = 64 << 10
	small := ops(`crypto::sha256(""); ()`)
	big := ops(`let s = ""; s.pad(65536, "x"); crypto::sha256(s); ()`)
	pad := ops(`let s = ""; s.pad(65536, "x"); ""; ()`)
	if big-pad < n/bytesPerOp {
		t.Fatalf("hashing %d bytes cost %d operations, want at least %d", n, big-pad, n/bytesPerOp)
	}
	if small == 0 {
		t.Fatal("no operations counted")
	}
	// 200 calls on 4 KiB cost ~25,600 operations charged, over the budget
	// of 20,000; uncharged, the loop itself is ~2,000 and would succeed.
	for _, call := range []string{
		`crypto::sha256(s)`,
		`crypto::hmac_sha256(s, "k")`,
		`crypto::equal(s, s)`,
		`crypto::random_bytes(4096)`,
		`hex::encode(s)`,
		`base64::decode_url(s)`,
		`time::parse(s)`,
		`webhook::verify_github(s, #{raw_body: s})`,
	} {
		src := `let s = ""; s.pad(4096, "x"); for i in 0..200 { try { ` + call + `; } catch {} }`
		res := run(t, x, src, Limits{MaxOperations: 20_000}, Options{})
		wantStatus(t, res, picloud.StatusBudgetExceeded, picloud.EBudgetExceeded, rhai.ErrTooManyOperations)
	}
}

// request runs src on a POST carrying body and headers.
func runRequest(t *testing.T, x *Executor, src string, body string, header http.Header) *Result {
	t.Helper()
	p := x.Compile("test", src)
	if err := p.Err(); err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	return x.Execute(context.Background(), p, Limits{}, &Request{Method: "POST", Path: "/", Header: header, Body: []byte(body)}, Options{})
}
