package manager

import (
	"net/netip"
	"testing"
	"time"

	"github.com/picloud/picloud"
)

// TestFailedSignInSampling: one failed sign-in per client a minute is
// recorded; an IPv6 client counts by its /64; a sampler full of clients
// seen within the minute records none, and makes room once they age.
func TestFailedSignInSampling(t *testing.T) {
	m := &Manager{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ffff:1")
	for _, c := range []struct {
		client netip.Addr
		at     time.Duration
		want   bool
	}{
		{a, 0, true}, {a, time.Second, false}, {b, time.Second, true}, {a, 59 * time.Second, false},
		{a, time.Minute, true}, {v6a, 0, true}, {v6b, time.Second, false},
	} {
		if got := m.sampleFailedSignIn(c.client, t0.Add(c.at)); got != c.want {
			t.Errorf("%v at +%v: %v, want %v", c.client, c.at, got, c.want)
		}
	}

	m = &Manager{}
	for i := range failedSignInClients {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if !m.sampleFailedSignIn(addr, t0) {
			t.Fatalf("client %d refused", i)
		}
	}
	if m.sampleFailedSignIn(a, t0.Add(time.Second)) {
		t.Error("a full sampler recorded a new client")
	}
	if !m.sampleFailedSignIn(a, t0.Add(time.Minute)) || len(m.audit.failed) != 1 {
		t.Errorf("after a minute: %d clients remembered, want 1", len(m.audit.failed))
	}
}

// TestScriptChanges: only the settings that changed, before and after, and
// the versions when the source made a new one.
func TestScriptChanges(t *testing.T) {
	before := &picloud.Script{ID: "x", Name: "a", Source: "1", Version: 1, TimeoutMS: 100, Subscriptions: []string{"t"}}
	same := *before
	same.UpdatedAt = picloud.Time{Time: time.Now()}
	if d := scriptChanges(before, &same); d != nil {
		t.Errorf("nothing changed: %v", d)
	}
	after := *before
	after.Source, after.Version, after.Disabled, after.Subscriptions = "2", 2, true, []string{"t", "u"}
	d := scriptChanges(before, &after)
	b, a := d["before"].(map[string]any), d["after"].(map[string]any)
	if len(b) != 2 || b["enabled"] != true || a["enabled"] != false || len(a["subscriptions"].([]any)) != 2 ||
		d["version"] != 2 || d["from_version"] != 1 {
		t.Errorf("changes: %v", d)
	}
	if _, ok := a["source"]; ok {
		t.Errorf("the source is in the detail: %v", d)
	}
}
