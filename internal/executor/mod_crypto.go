package executor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"

	"github.com/google/uuid"
	"github.com/picloud/picloud/rhai"
)

// MaxRandomBytes is the most bytes one crypto::random_bytes call returns:
// Web Crypto's getRandomValues limit, plenty for keys, nonces and tokens.
const MaxRandomBytes = 64 << 10

// byteTypes are the types a host function accepts where it wants bytes: a
// string (its UTF-8 bytes) or a BLOB.
var byteTypes = []rhai.Type{rhai.TypeString, rhai.TypeBlob}

// bytesOf is the bytes of a string or a BLOB argument (a BLOB's are
// borrowed: callers only read them).
func bytesOf(v rhai.Value) []byte {
	if v.Type() == rhai.TypeBlob {
		return v.AsBlob().B
	}
	return []byte(v.AsString())
}

// charge accounts for a host call that processes n bytes: one operation per
// bytesPerOp bytes, at least one per call. It runs before the work, so a
// script over its budget stops before the bytes are processed.
func charge(c *rhai.Context, n int) error {
	return c.Tick(max(1, n/bytesPerOp))
}

// cryptoModule is crypto::sha256/sha1/hmac_sha256/hmac_sha1 (hex digests,
// and _bytes variants returning BLOBs), crypto::equal, crypto::random_bytes,
// crypto::uuid and crypto::uuid_v7.
func cryptoModule(count func()) *rhai.Module {
	m := newHostModule(count)
	hashes := []struct {
		name string
		new  func() hash.Hash
	}{{"sha256", sha256.New}, {"sha1", sha1.New}}
	for _, h := range hashes {
		for _, t := range byteTypes {
			m.SetFn(h.name, []rhai.Type{t}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
				sum, err := digest(c, h.new, a[0])
				return rhai.String(hex.EncodeToString(sum)), err
			})
			m.SetFn(h.name+"_bytes", []rhai.Type{t}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
				sum, err := digest(c, h.new, a[0])
				return rhai.NewBlob(sum), err
			})
			for _, u := range byteTypes {
				m.SetFn("hmac_"+h.name, []rhai.Type{t, u}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
					sum, err := mac(c, h.new, a[0], a[1])
					return rhai.String(hex.EncodeToString(sum)), err
				})
				m.SetFn("hmac_"+h.name+"_bytes", []rhai.Type{t, u}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
					sum, err := mac(c, h.new, a[0], a[1])
					return rhai.NewBlob(sum), err
				})
			}
		}
	}
	for _, t := range byteTypes {
		for _, u := range byteTypes {
			m.SetFn("equal", []rhai.Type{t, u}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
				x, y := bytesOf(a[0]), bytesOf(a[1])
				if err := charge(c, max(len(x), len(y))); err != nil {
					return rhai.Unit, err
				}
				return rhai.Bool(subtle.ConstantTimeCompare(x, y) == 1), nil
			})
		}
	}
	m.SetFn("random_bytes", []rhai.Type{rhai.TypeInt}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		n := a[0].AsInt()
		if n < 0 || n > MaxRandomBytes {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "crypto::random_bytes: %d bytes asked, the limit is 0 to %d", n, MaxRandomBytes)
		}
		if err := c.CheckArraySize(int(n)); err != nil {
			return rhai.Unit, err
		}
		if err := charge(c, int(n)); err != nil {
			return rhai.Unit, err
		}
		b := make([]byte, n)
		_, _ = rand.Read(b) // never fails (crypto/rand since Go 1.24)
		return rhai.NewBlob(b), nil
	})
	m.SetFn("uuid", nil, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		if err := charge(c, 0); err != nil {
			return rhai.Unit, err
		}
		id, err := uuid.NewRandom()
		if err != nil {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "crypto::uuid: %v", err)
		}
		return rhai.String(id.String()), nil
	})
	m.SetFn("uuid_v7", nil, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		if err := charge(c, 0); err != nil {
			return rhai.Unit, err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "crypto::uuid_v7: %v", err)
		}
		return rhai.String(id.String()), nil
	})
	return m.Module
}

func digest(c *rhai.Context, newHash func() hash.Hash, data rhai.Value) ([]byte, error) {
	b := bytesOf(data)
	if err := charge(c, len(b)); err != nil {
		return nil, err
	}
	h := newHash()
	h.Write(b)
	return h.Sum(nil), nil
}

func mac(c *rhai.Context, newHash func() hash.Hash, key, data rhai.Value) ([]byte, error) {
	k, b := bytesOf(key), bytesOf(data)
	if err := charge(c, len(k)+len(b)); err != nil {
		return nil, err
	}
	return hmacSum(newHash, k, b), nil
}

func hmacSum(newHash func() hash.Hash, key, data []byte) []byte {
	h := hmac.New(newHash, key)
	h.Write(data)
	return h.Sum(nil)
}
