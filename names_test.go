package picloud

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The names' checks are written out (no regexp compiled at init); they must
// accept exactly what the documented patterns accept.
func TestNameChecksMatchTheirPatterns(t *testing.T) {
	checks := []struct {
		name    string
		pattern *regexp.Regexp
		check   func(string) bool
	}{
		{"script", regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`), func(s string) bool { return ValidName(s) || LooksLikeUUID(s) }},
		{"secret", regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`), ValidSecretName},
		{"topic", regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`), ValidTopic},
	}
	const alphabet = "az09AZ_-.é \n/"
	r := rand.New(rand.NewPCG(1, 2))
	fixed := []string{"", "a", "-a", "a-", "A", "_", "9", "a\n", strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("A", 64), strings.Repeat("A", 65), strings.Repeat("a", 128), strings.Repeat("a", 129),
		"order.created", "HTTP_TOKEN", "my-script", "0123e4567-e89b-12d3-a456-426614174000"}
	for _, c := range checks {
		inputs := append([]string(nil), fixed...)
		for range 20000 {
			n := r.IntN(135)
			var b strings.Builder
			for range n {
				if r.IntN(8) == 0 {
					b.WriteByte(alphabet[r.IntN(len(alphabet))])
				} else {
					b.WriteString(string("abcxyz0189ABCXYZ_-."[r.IntN(19)]))
				}
			}
			inputs = append(inputs, b.String())
		}
		accepted := 0
		for _, s := range inputs {
			want := c.pattern.MatchString(s)
			if c.name == "script" && LooksLikeUUID(s) {
				want = true // ValidName refuses UUIDs on top of the pattern
			}
			if got := c.check(s); got != want {
				t.Errorf("%s %q: got %v, the pattern says %v", c.name, s, got, want)
			}
			if want {
				accepted++
			}
		}
		if accepted < 100 {
			t.Errorf("%s: only %d inputs accepted: the test does not exercise acceptance", c.name, accepted)
		}
	}
	if ValidName("123e4567-e89b-12d3-a456-426614174000") {
		t.Error("a UUID-shaped name was accepted")
	}
}
