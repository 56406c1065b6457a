package app_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

// TestOpenAPIScriptFields checks that the document's Script and ScriptUpdate
// schemas describe every JSON field of the Go types the API reads and writes:
// a setting added to the store and the API but not to openapi.json fails
// here, not in a client generated from the document.
func TestOpenAPIScriptFields(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"Script":       reflect.TypeFor[picloud.Script](),
		"ScriptUpdate": reflect.TypeFor[picloud.ScriptUpdate](),
	} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Fatalf("openapi.json has no schema %s", name)
		}
		props := ref.Value.Properties
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			if _, ok := props[tag]; !ok {
				t.Errorf("schema %s does not describe %s's field %q (json %q)", name, typ.Name(), f.Name, tag)
			}
		}
	}
	// Script's "enabled" is written by its MarshalJSON, not a field.
	if _, ok := doc.Components.Schemas["Script"].Value.Properties["enabled"]; !ok {
		t.Error("schema Script does not describe enabled")
	}
}
