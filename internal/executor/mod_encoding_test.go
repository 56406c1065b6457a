package executor

import (
	"testing"

	"github.com/picloud/picloud/rhai"
)

func TestEncodingModules(t *testing.T) {
	runHostCases(t, []hostCase{
		{name: "hex encode", src: `hex::encode("hi!")`, want: "686921"},
		{name: "hex encode blob", src: `let b = blob(3, 0xff); hex::encode(b)`, want: "ffffff"},
		{name: "hex encode empty", src: `hex::encode("")`, want: ""},
		{name: "hex decode", src: `let b = hex::decode("686921"); type_of(b) + " " + b.as_string()`, want: "blob hi!"},
		{name: "hex decode upper", src: `hex::encode(hex::decode("DEADbeef"))`, want: "deadbeef"},
		{name: "hex decode odd", src: `hex::decode("abc")`, kind: rhai.ErrRuntime, err: "hex::decode: invalid hex: odd length hex string"},
		{name: "hex decode bad", src: `hex::decode("zz")`, kind: rhai.ErrRuntime, err: "hex::decode: invalid hex: invalid byte: U+007A 'z'"},
		{name: "hex decode blob", src: `hex::decode(blob(2))`, kind: rhai.ErrFunctionNotFound, err: "hex::decode"},

		// RFC 4648 section 10 vectors.
		{name: "base64 encode", src: `base64::encode("") + "|" + base64::encode("f") + "|" + base64::encode("fo") + "|" + base64::encode("foo") + "|" + base64::encode("foobar")`, want: "|Zg==|Zm8=|Zm9v|Zm9vYmFy"},
		{name: "base64 encode blob", src: `base64::encode(hex::decode("fbff"))`, want: "+/8="},
		{name: "base64 decode", src: `base64::decode("Zm9vYmE=").as_string()`, want: "fooba"},
		{name: "base64 decode unpadded", src: `base64::decode("Zm9vYmE").as_string()`, want: "fooba"},
		{name: "base64 decode returns blob", src: `type_of(base64::decode("Zg=="))`, want: "blob"},
		{name: "base64 decode bad", src: `base64::decode("Zm9v!mFy")`, kind: rhai.ErrRuntime, err: "base64::decode: invalid base64: illegal base64 data at input byte 4"},
		{name: "base64 decode url alphabet refused", src: `base64::decode("-_8")`, kind: rhai.ErrRuntime, err: "base64::decode: invalid base64"},
		{name: "base64 decode bad padding", src: `base64::decode("Zg===")`, kind: rhai.ErrRuntime, err: "base64::decode: invalid base64: bad padding"},
		{name: "base64 decode misplaced padding", src: `base64::decode("Zg=a")`, kind: rhai.ErrRuntime, err: "base64::decode: invalid base64: illegal base64 data at input byte 2"},
		{name: "base64 encode_url", src: `base64::encode_url(hex::decode("fbff"))`, want: "-_8"},
		{name: "base64 encode_url unpadded", src: `base64::encode_url("f")`, want: "Zg"},
		{name: "base64 decode_url", src: `hex::encode(base64::decode_url("-_8"))`, want: "fbff"},
		{name: "base64 decode_url padded", src: `hex::encode(base64::decode_url("-_8="))`, want: "fbff"},
		{name: "base64 decode_url std alphabet refused", src: `base64::decode_url("+/8=")`, kind: rhai.ErrRuntime, err: "base64::decode_url: invalid base64: illegal base64 data at input byte 0"},
		{name: "base64 round trip", src: `let b = crypto::random_bytes(100); base64::decode(base64::encode(b)) == b && base64::decode_url(base64::encode_url(b)) == b`, want: "true"},
	})
}

func TestEncodingStringLimit(t *testing.T) {
	x := newTestExecutor(t, Config{MaxStringSize: 1000})
	res := run(t, x, `let b = crypto::random_bytes(600); hex::encode(b)`, Limits{}, Options{})
	if res.Err == nil || res.Err.Kind != rhai.ErrDataTooLarge {
		t.Fatalf("hex of 600 bytes under a 1000-byte string limit: %+v", res.Err)
	}
}
