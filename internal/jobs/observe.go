package jobs

import (
	"time"

	"github.com/picloud/picloud/internal/metrics"
)

// The results of an attempt, as picloud_jobs_finished_total counts them.
const (
	resultSucceeded = "succeeded" // the run succeeded
	resultRetried   = "retried"   // the run failed; another attempt follows
	resultDead      = "dead"      // the run failed (or cannot run): a dead letter
	resultSkipped   = "skipped"   // nothing ran: a disabled script's firing or event, a deleted schedule's firing
)

// queueMetrics updates the job metrics; a nil *metrics.Metrics makes every
// method a no-op. Jobs are not the invocation hot path: the children are
// looked up per call.
type queueMetrics struct{ m *metrics.Metrics }

func newQueueMetrics(m *metrics.Metrics) *queueMetrics { return &queueMetrics{m} }

func (qm *queueMetrics) finished(trigger, result string) {
	if qm.m != nil {
		qm.m.JobsFinished.WithLabelValues(trigger, result).Inc()
	}
}

func (qm *queueMetrics) latency(trigger string, d time.Duration) {
	if qm.m != nil {
		qm.m.JobLatency.WithLabelValues(trigger).Observe(max(d, 0).Seconds())
	}
}

func (qm *queueMetrics) refused(reason string) {
	if qm.m != nil {
		qm.m.JobsRefused.WithLabelValues(reason).Inc()
	}
}

func (qm *queueMetrics) fired() {
	if qm.m != nil {
		qm.m.ScheduleFirings.Inc()
	}
}

func (qm *queueMetrics) published(emitted, delivered int) {
	if qm.m != nil {
		qm.m.EventsEmitted.Add(float64(emitted))
		qm.m.EventsDelivered.Add(float64(delivered))
	}
}
