package metrics

import "github.com/prometheus/client_golang/prometheus"

// AuditWriteFailures registers picloud_audit_write_failures_total and
// returns it: audit events the store could not record (the request they
// describe succeeded regardless). Call it once per Metrics.
func (m *Metrics) AuditWriteFailures() prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "picloud_audit_write_failures_total",
		Help: "Audit trail events that could not be recorded (the administrative action itself succeeded; the failure is logged).",
	})
	m.Registry.MustRegister(c)
	return c
}
