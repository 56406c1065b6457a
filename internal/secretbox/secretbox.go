// Package secretbox seals the platform's secrets at rest: AES-256-GCM with a
// random nonce per value, the value bound to where it is stored (scope and
// name, as additional data) so a sealed value copied to another secret does
// not open. The key comes from PICLOUD_SECRET_KEY or from a key file in the
// data directory (LoadOrCreateKeyFile).
//
// A sealed value is
//
//	format (1 byte, 1) | key id (4 bytes) | nonce (12 bytes) | ciphertext and tag
//
// The key id is the first 4 bytes of SHA-256 of the key: it tells "sealed
// with another key" apart from "damaged", and lets a later rotation keep
// several keys and pick the one a value names.
package secretbox

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/picloud/picloud"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// EnvKey is the environment variable that holds the key (base64 or hex of
// 32 bytes).
const EnvKey = "PICLOUD_SECRET_KEY"

// KeyFileName is the key file's name in the data directory.
const KeyFileName = "secret.key"

const (
	format    = 1
	idSize    = 4
	nonceSize = 12
	header    = 1 + idSize + nonceSize
)

// ErrWrongKey is returned by Open for a value sealed with another key.
var ErrWrongKey = errors.New("secretbox: the value was sealed with another key")

// ErrDamaged is returned by Open for a value that is not a sealed value or
// fails authentication (tampered with, or bound to another secret).
var ErrDamaged = errors.New("secretbox: the sealed value is damaged or belongs to another secret")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// New makes a box from a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: the key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	b := &Box{aead: aead}
	sum := sha256.Sum256(key)
	copy(b.id[:], sum[:idSize])
	return b, nil
}

// KeyID is the key's id as hex (what sealed values carry), for logs.
func (b *Box) KeyID() string { return hex.EncodeToString(b.id[:]) }

// Seal encrypts plaintext for the secret at (scope, name).
func (b *Box) Seal(scope, name string, plaintext []byte) ([]byte, error) {
	out := make([]byte, header, header+len(plaintext)+b.aead.Overhead())
	out[0] = format
	copy(out[1:], b.id[:])
	if _, err := rand.Read(out[1+idSize : header]); err != nil {
		return nil, fmt.Errorf("secretbox: nonce: %w", err)
	}
	return b.aead.Seal(out, out[1+idSize:header], plaintext, aad(scope, name)), nil
}

// Open decrypts a value sealed for the secret at (scope, name).
func (b *Box) Open(scope, name string, sealed []byte) ([]byte, error) {
	if len(sealed) < header+b.aead.Overhead() || sealed[0] != format {
		return nil, ErrDamaged
	}
	if !bytes.Equal(sealed[1:1+idSize], b.id[:]) {
		return nil, ErrWrongKey
	}
	pt, err := b.aead.Open(nil, sealed[1+idSize:header], sealed[header:], aad(scope, name))
	if err != nil {
		return nil, ErrDamaged
	}
	return pt, nil
}

func aad(scope, name string) []byte { return []byte(scope + "\x00" + name) }

// ParseKey reads a key written as base64 (standard or URL-safe, padded or
// not) or hex of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secretbox: the key must be base64 or hex of %d bytes (e.g. `openssl rand -base64 32`)", KeySize)
}

// FromEnv makes a box from PICLOUD_SECRET_KEY; ok is false when it is unset
// or empty.
func FromEnv() (b *Box, ok bool, err error) {
	s := os.Getenv(EnvKey)
	if s == "" {
		return nil, false, nil
	}
	k, err := ParseKey(s)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", EnvKey, err)
	}
	b, err = New(k)
	return b, true, err
}

// LoadOrCreateKeyFile reads the key file at path, or creates it with a new
// random key and mode 0600 when it does not exist. A file others may read is
// tightened to 0600 and tightened reports its former mode (0 otherwise), so
// the caller can warn: the key may have been copied meanwhile.
func LoadOrCreateKeyFile(path string) (b *Box, tightened fs.FileMode, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, 0, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, 0, fmt.Errorf("secretbox: key file: %w", err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(path, 0o600) // O_CREATE's mode is filtered by the umask
		}
		if werr != nil {
			os.Remove(path)
			return nil, 0, fmt.Errorf("secretbox: key file: %w", werr)
		}
		b, err = New(key)
		return b, 0, err
	} else if err != nil {
		return nil, 0, fmt.Errorf("secretbox: key file: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("secretbox: key file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, 0, fmt.Errorf("secretbox: key file %s is mode %04o and cannot be made 0600: %w", path, perm, err)
		}
		tightened = perm
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, 0, fmt.Errorf("secretbox: key file %s: %w", path, err)
	}
	b, err = New(key)
	return b, tightened, err
}

// Reader opens secrets from a store with a box: the picloud.SecretReader the
// executor reads scripts' secrets through.
type Reader struct {
	Store picloud.SecretStore
	Box   *Box
}

// Secret implements picloud.SecretReader: the script's own secret, else the
// global one of that name.
func (r Reader) Secret(ctx context.Context, scriptID, name string) (string, error) {
	return r.read(ctx, scriptID, name, picloud.ScriptScope(scriptID), picloud.GlobalScope)
}

// OwnSecret implements picloud.OwnSecretReader: the script's own secret
// only (a confined script's).
func (r Reader) OwnSecret(ctx context.Context, scriptID, name string) (string, error) {
	if scriptID == "" {
		return "", picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
	}
	return r.read(ctx, scriptID, name, picloud.ScriptScope(scriptID))
}

func (r Reader) read(ctx context.Context, scriptID, name string, scopes ...string) (string, error) {
	for _, scope := range scopes {
		if scriptID == "" && scope != picloud.GlobalScope {
			continue
		}
		sealed, err := r.Store.SecretValue(ctx, scope, name)
		if picloud.ErrorCode(err) == picloud.ENotFound {
			continue
		} else if err != nil {
			return "", err
		}
		pt, err := r.Box.Open(scope, name, sealed)
		if err != nil {
			return "", fmt.Errorf("secret %s (%s): %w", name, scope, err)
		}
		return string(pt), nil
	}
	return "", picloud.Errorf(picloud.ENotFound, "no secret named %s", name)
}
