package secretbox

import "encoding/hex"

// SealedKeyID is the id (hex) of the key a sealed value names, and false for
// bytes that are not a sealed value. picloud import reads it to tell the
// operator which key the target needs.
func SealedKeyID(sealed []byte) (string, bool) {
	if len(sealed) < header || sealed[0] != format {
		return "", false
	}
	return hex.EncodeToString(sealed[1 : 1+idSize]), true
}
