package executor

import (
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/picloud/picloud/rhai"
)

// hexModule is hex::encode(string|BLOB) → lowercase hex string and
// hex::decode(string) → BLOB (either case accepted).
func hexModule(count func()) *rhai.Module {
	m := newHostModule(count)
	for _, t := range byteTypes {
		m.SetFn("encode", []rhai.Type{t}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			b := bytesOf(a[0])
			if err := encodeCheck(c, len(b), hex.EncodedLen(len(b))); err != nil {
				return rhai.Unit, err
			}
			return rhai.String(hex.EncodeToString(b)), nil
		})
	}
	m.SetFn("decode", []rhai.Type{rhai.TypeString}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
		s := a[0].AsString()
		if err := charge(c, len(s)); err != nil {
			return rhai.Unit, err
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return rhai.Unit, decodeError("hex::decode", "hex", err)
		}
		return rhai.NewBlob(b), nil
	})
	return m.Module
}

// base64Module is base64::encode/decode (standard alphabet, padded) and
// base64::encode_url/decode_url (URL-safe alphabet, unpadded). Both decoders
// accept their input with or without padding.
func base64Module(count func()) *rhai.Module {
	m := newHostModule(count)
	codecs := []struct {
		suffix string
		enc    *base64.Encoding // what encode writes
		raw    *base64.Encoding // what decode reads, padding stripped
	}{
		{"", base64.StdEncoding, base64.RawStdEncoding},
		{"_url", base64.RawURLEncoding, base64.RawURLEncoding},
	}
	for _, cd := range codecs {
		for _, t := range byteTypes {
			m.SetFn("encode"+cd.suffix, []rhai.Type{t}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
				b := bytesOf(a[0])
				if err := encodeCheck(c, len(b), cd.enc.EncodedLen(len(b))); err != nil {
					return rhai.Unit, err
				}
				return rhai.String(cd.enc.EncodeToString(b)), nil
			})
		}
		name := "base64::decode" + cd.suffix
		m.SetFn("decode"+cd.suffix, []rhai.Type{rhai.TypeString}, func(c *rhai.Context, a []rhai.Value) (rhai.Value, error) {
			s := a[0].AsString()
			if err := charge(c, len(s)); err != nil {
				return rhai.Unit, err
			}
			// Padding is optional, but only where it belongs: at most two
			// '=' completing a 4-character group.
			trimmed := strings.TrimRight(s, "=")
			if pad := len(s) - len(trimmed); pad > 0 && (pad > 2 || len(s)%4 != 0) {
				return rhai.Unit, rhai.NewError(rhai.ErrRuntime, "%s: invalid base64: bad padding", name)
			}
			b, err := cd.raw.DecodeString(trimmed)
			if err != nil {
				return rhai.Unit, decodeError(name, "base64", err)
			}
			return rhai.NewBlob(b), nil
		})
	}
	return m.Module
}

// encodeCheck charges an encoding of n bytes and refuses an output over the
// engine's string limit before it is built.
func encodeCheck(c *rhai.Context, n, out int) error {
	if err := charge(c, n); err != nil {
		return err
	}
	return c.CheckStringSize(out)
}

// decodeError is a decoder's error as a runtime error naming the function;
// the standard library's messages give the offending byte's offset, which
// is what a script's author needs.
func decodeError(fn, what string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "encoding/hex: ")
	return rhai.NewError(rhai.ErrRuntime, "%s: invalid %s: %s", fn, what, msg)
}
