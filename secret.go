package picloud

import (
	"context"
	"fmt"
)

// GlobalScope is the scope of the secrets every script can read.
const GlobalScope = "global"

// ScriptScope is the scope of one script's own secrets.
func ScriptScope(scriptID string) string { return "script:" + scriptID }

// MaxSecretBytes bounds a secret's value (before sealing).
const MaxSecretBytes = 64 << 10

// Secret is what lists show of a secret: never its value.
type Secret struct {
	Name      string `json:"name"`
	UpdatedAt Time   `json:"updated_at"`
}

// SecretValue is the body of PUT .../secrets/{name}. It is write-only: no
// route ever answers with a value.
type SecretValue struct {
	Value *string `json:"value"`
}

// Validate checks that a value is given and within MaxSecretBytes.
func (v SecretValue) Validate() error {
	if v.Value == nil {
		return fieldError("value", "value is required")
	}
	if len(*v.Value) > MaxSecretBytes {
		return &Error{Code: EPayloadTooLarge, Message: fmt.Sprintf("a secret's value is at most %d bytes", MaxSecretBytes),
			Details: map[string]any{"field": "value"}}
	}
	return nil
}

// ValidSecretName reports whether name is a secret's name: upper-case
// letters, digits and underscores, not starting with a digit, at most 64.
func ValidSecretName(name string) bool {
	return slug(name, upperDigits[:26]+"_", upperDigits+"_", 64)
}

// ValidateSecretName is ValidSecretName as an invalid_request *Error.
func ValidateSecretName(name string) error {
	if !ValidSecretName(name) {
		return fieldError("name", "secret name %q is not valid ([A-Z_][A-Z0-9_]{0,63})", name)
	}
	return nil
}

// SecretStore keeps sealed secrets (internal/secretbox seals them; stores
// never see a plaintext) by scope (GlobalScope or ScriptScope(id)) and name.
// Secrets are not versioned: a rollback never brings one back, and deleting
// a script deletes its secrets.
type SecretStore interface {
	// SetSecret creates or replaces a secret's sealed value.
	SetSecret(ctx context.Context, scope, name string, sealed []byte) error
	// SecretValue returns the sealed value; ENotFound when there is none.
	SecretValue(ctx context.Context, scope, name string) ([]byte, error)
	// ListSecrets lists a scope's secrets by name, without values.
	ListSecrets(ctx context.Context, scope string) ([]*Secret, error)
	// DeleteSecret removes a secret; ENotFound when there is none.
	DeleteSecret(ctx context.Context, scope, name string) error
}

// SecretReader gives scripts their secrets in plaintext (internal/secretbox
// implements it over a SecretStore).
type SecretReader interface {
	// Secret returns the script's own secret name, else the global one;
	// ENotFound when neither exists.
	Secret(ctx context.Context, scriptID, name string) (string, error)
}

// OwnSecretReader is a SecretReader that also reads a script's own secret
// alone, without the global fallback: what a confined script
// (Script.ConfinedTo) gets. A reader without it gives confined scripts no
// secrets at all.
type OwnSecretReader interface {
	SecretReader
	// OwnSecret returns the script's own secret name; ENotFound when it has
	// none (whether or not a global one exists).
	OwnSecret(ctx context.Context, scriptID, name string) (string, error)
}

// SecretList is the body of GET .../secrets.
type SecretList struct {
	Items []*Secret `json:"items"`
}
