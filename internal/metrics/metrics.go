// Package metrics defines PiCloud's Prometheus metrics on a registry of their
// own, so that two applications in one process (tests) do not collide.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every collector the server updates.
type Metrics struct {
	Registry *prometheus.Registry

	Invocations    *prometheus.CounterVec   // script, status
	Duration       *prometheus.HistogramVec // script
	Operations     *prometheus.CounterVec   // script
	GateInFlight   prometheus.Gauge
	GateRejected   *prometheus.CounterVec // reason: server, script, memory
	GateWaiting    prometheus.Gauge       // requests waiting for a slot
	MemoryReserved prometheus.Gauge       // memory budgets of the running executions
	MemoryLimit    prometheus.Gauge       // the process memory ceiling (0: none)
	CacheStale     prometheus.Counter     // invocations served from a cached script the store could not confirm
	SinkWritten    prometheus.Counter
	SinkFailures   prometheus.Counter // rows lost: the journal could not take them
	JournalErrors  prometheus.Counter // journal writes or fsyncs that failed
	SinkRetries    prometheus.Counter
	Pruned         prometheus.Counter
	AuthFailures   *prometheus.CounterVec // reason: wrong_token, bad_scheme, unknown_session, csrf, rate_limited, session_limit, expired, forbidden, cluster_token, oidc_state, oidc_refused, oidc_not_granted
	InvokeDenied   *prometheus.CounterVec // reason: missing, unknown, forbidden, expired, rate_limited

	// The job queue's (internal/jobs). The queue depth is a gauge read when
	// scraped: see WatchJobs.
	JobLatency      *prometheus.HistogramVec // trigger: created -> first attempt's start
	JobsFinished    *prometheus.CounterVec   // trigger, result: succeeded, retried, dead, skipped
	JobsRefused     *prometheus.CounterVec   // reason: queue_full
	ScheduleFirings prometheus.Counter
	EventsEmitted   prometheus.Counter
	EventsDelivered prometheus.Counter // jobs queued by Publish

	// The live tail's (internal/tail).
	TailStreams prometheus.Gauge   // connected tail streams
	TailDropped prometheus.Counter // tail streams ended for falling behind

	scripts sync.Map // script name -> *scriptMetrics
}

// scriptMetrics are one script's children of the vectors, resolved once:
// WithLabelValues hashes its labels and takes a lock on every call.
type scriptMetrics struct {
	duration   prometheus.Observer
	operations prometheus.Counter
	mu         sync.Mutex
	statuses   map[string]prometheus.Counter // invocations by status
}

// Invoked counts one execution of script with its status, duration and
// operations.
func (m *Metrics) Invoked(script, status string, d time.Duration, ops uint64) {
	v, ok := m.scripts.Load(script)
	if !ok {
		v, _ = m.scripts.LoadOrStore(script, &scriptMetrics{
			duration:   m.Duration.WithLabelValues(script),
			operations: m.Operations.WithLabelValues(script),
			statuses:   map[string]prometheus.Counter{},
		})
	}
	sm := v.(*scriptMetrics)
	sm.mu.Lock()
	c := sm.statuses[status]
	if c == nil {
		c = m.Invocations.WithLabelValues(script, status)
		sm.statuses[status] = c
	}
	sm.mu.Unlock()
	c.Inc()
	sm.duration.Observe(d.Seconds())
	sm.operations.Add(float64(ops))
}

// New registers the collectors, plus the Go runtime and process collectors.
// sinkQueue reports the audit sink's queue depth when scraped.
func New(sinkQueue func() float64) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_invocations_total", Help: "Script executions by script and status.",
		}, []string{"script", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "picloud_invocation_duration_seconds", Help: "Script execution time.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"script"}),
		Operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_script_operations_total", Help: "Rhai operations used by executions.",
		}, []string{"script"}),
		GateInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "picloud_gate_in_flight", Help: "Executions holding a slot of the concurrency gate.",
		}),
		GateRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_gate_rejected_total", Help: "Requests answered 429 overloaded, by what was full: server, script or memory.",
		}, []string{"gate"}),
		GateWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "picloud_gate_waiting", Help: "Requests waiting for a slot of the concurrency gate.",
		}),
		MemoryReserved: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "picloud_memory_reserved_bytes", Help: "Memory budgets (max_memory_bytes) of the running executions.",
		}),
		MemoryLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "picloud_memory_limit_bytes", Help: "The process memory ceiling executions are admitted under (0: none).",
		}),
		CacheStale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_cache_stale_total", Help: "Invocations served from a cached script while the store could not be read.",
		}),
		SinkWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_sink_written_total", Help: "Execution logs written to the database.",
		}),
		SinkFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_sink_failures_total", Help: "Execution logs lost: the journal failed and the memory queue was full.",
		}),
		JournalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_journal_errors_total", Help: "Execution journal writes or fsyncs that failed.",
		}),
		SinkRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_sink_retries_total", Help: "Failed batch writes that were retried.",
		}),
		Pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_executions_pruned_total", Help: "Execution logs deleted by retention.",
		}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_auth_failures_total", Help: "Refused authentications by reason (rate_limited: refused unchecked after too many failures; session_limit: a right sign-in refused because its token or single sign-on user opened too many sessions; expired: a named token past its expiry; forbidden: a valid token without the route's scope or restricted to other scripts; cluster_token: a cluster API request without the cluster token; oidc_state, oidc_refused, oidc_not_granted: a single sign-on callback with a bad state, refused by the provider or failing verification, or matching no grant).",
		}, []string{"reason"}),
		InvokeDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_invoke_denied_total", Help: "Invocations refused before running (no execution row), by reason: missing, unknown, forbidden or expired credentials, rate_limited.",
		}, []string{"reason"}),
		JobLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "picloud_job_latency_seconds", Help: "Time from a job's creation to its first attempt's start, by trigger (async, event, cron).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"trigger"}),
		JobsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_jobs_finished_total", Help: "Job attempts by trigger and result (succeeded, retried, dead, skipped).",
		}, []string{"trigger", "result"}),
		JobsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_jobs_refused_total", Help: "Asynchronous invocations refused (429) by reason (queue_full).",
		}, []string{"reason"}),
		ScheduleFirings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_schedule_firings_total", Help: "Schedule firings this process queued (each scheduled time once across processes).",
		}),
		EventsEmitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_events_emitted_total", Help: "Events published by successful executions.",
		}),
		EventsDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_events_delivered_total", Help: "Subscriber runs queued for published events.",
		}),
		TailStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "picloud_tail_streams", Help: "Connected live tail streams (GET /api/tail, /api/scripts/{id}/tail).",
		}),
		TailDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_tail_dropped_total", Help: "Live tail streams ended because their consumer fell behind.",
		}),
	}
	reg.MustRegister(m.Invocations, m.Duration, m.Operations, m.GateInFlight, m.GateRejected,
		m.GateWaiting, m.MemoryReserved, m.MemoryLimit, m.CacheStale,
		m.SinkWritten, m.SinkFailures, m.JournalErrors, m.SinkRetries, m.Pruned, m.AuthFailures, m.InvokeDenied,
		m.JobLatency, m.JobsFinished, m.JobsRefused, m.ScheduleFirings, m.EventsEmitted, m.EventsDelivered,
		m.TailStreams, m.TailDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sinkQueue != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "picloud_sink_queue_depth", Help: "Execution logs waiting to be written.",
		}, sinkQueue))
	}
	return m
}

// KVOperations registers picloud_kv_operations_total{op} and returns what
// counts one kv:: call.
func (m *Metrics) KVOperations(ops ...string) func(op string) {
	return m.labelled("picloud_kv_operations_total", "kv:: calls by operation (get, set, delete, incr, list, cas, ns).", "op", ops)
}

// labelled registers a counter with one label whose values are known up
// front, resolves each child once (WithLabelValues hashes and locks on every
// call), and returns what counts one event of a value (others are ignored).
func (m *Metrics) labelled(name, help, label string, values []string) func(value string) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
	m.Registry.MustRegister(vec)
	children := make(map[string]prometheus.Counter, len(values))
	for _, v := range values {
		children[v] = vec.WithLabelValues(v)
	}
	return func(value string) {
		if c := children[value]; c != nil {
			c.Inc()
		}
	}
}

// HostCalls registers picloud_host_calls_total{module} and returns, for a
// module, what counts one call of it (the child resolved once).
func (m *Metrics) HostCalls() func(module string) func() {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "picloud_host_calls_total", Help: "Calls of the stateless host modules (crypto, hex, base64, time, webhook) by module.",
	}, []string{"module"})
	m.Registry.MustRegister(vec)
	return func(module string) func() { return vec.WithLabelValues(module).Inc }
}

// SecretReads registers picloud_secret_reads_total{result} and returns what
// counts one secret() call.
func (m *Metrics) SecretReads(results ...string) func(result string) {
	return m.labelled("picloud_secret_reads_total", "secret() calls by result (found, missing, error).", "result", results)
}

// HTTPRequests registers picloud_http_requests_total{script,result} and
// returns what counts one http:: call. Each script's children are resolved
// once (WithLabelValues hashes and locks on every call).
func (m *Metrics) HTTPRequests(results ...string) func(script, result string) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "picloud_http_requests_total", Help: "http:: calls by script and result (ok, refused, timeout, limit, error).",
	}, []string{"script", "result"})
	m.Registry.MustRegister(vec)
	var scripts sync.Map // script -> map[result]prometheus.Counter
	return func(script, result string) {
		v, ok := scripts.Load(script)
		if !ok {
			children := make(map[string]prometheus.Counter, len(results))
			for _, r := range results {
				children[r] = vec.WithLabelValues(script, r)
			}
			v, _ = scripts.LoadOrStore(script, children)
		}
		if c := v.(map[string]prometheus.Counter)[result]; c != nil {
			c.Inc()
		}
	}
}

// WatchJobs registers the job queue's depth (unfinished jobs), read when
// scraped.
func (m *Metrics) WatchJobs(queued func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "picloud_jobs_queued", Help: "Unfinished jobs: queued, scheduled, retrying or running.",
	}, queued))
}

// WatchJournal registers the execution journal's size, read when scraped.
func (m *Metrics) WatchJournal(bytes func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "picloud_journal_bytes", Help: "Size of the execution journal's files: rows not yet in the database, and up to one segment more.",
	}, bytes))
}

// Cluster is the cluster mode's metrics (Step 10), registered by
// NewManagerCluster on a manager and NewNodeCluster on a node; a field of
// the other role is nil.
type Cluster struct {
	// The manager's.
	IngestedRows prometheus.Counter     // execution rows nodes posted
	Dispatch     *prometheus.CounterVec // result: job attempts sent to nodes

	// The node's (picloud_cluster_manager_up is read when scraped).
	FeedReconnect prometheus.Counter // change-feed streams reopened
	ScriptChanges prometheus.Counter // change-feed entries received
}

// NodeStatuses are the label values of picloud_cluster_nodes, each reported
// (0 when no node is in it).
var NodeStatuses = []string{"ok", "degraded", "down", "lost"}

// NewManagerCluster registers a manager's cluster metrics on m:
// picloud_cluster_nodes{status} (nodes, by status, read when scraped),
// picloud_cluster_ingested_rows_total, picloud_cluster_dispatch_total{result}
// and picloud_cluster_feed_streams (read when scraped). Either function may
// be nil (that metric is not registered).
func (m *Metrics) NewManagerCluster(nodes func() map[string]int, feedStreams func() float64) *Cluster {
	c := &Cluster{
		IngestedRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_cluster_ingested_rows_total", Help: "Execution rows the nodes posted to this manager (duplicates included).",
		}),
		Dispatch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "picloud_cluster_dispatch_total", Help: "Job attempts this manager sent to nodes, by result.",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(c.IngestedRows, c.Dispatch)
	if nodes != nil {
		m.Registry.MustRegister(&nodesCollector{count: nodes, desc: prometheus.NewDesc("picloud_cluster_nodes",
			"Registered nodes by status (lost: no heartbeat for picloud.NodeLostAfter).", []string{"status"}, nil)})
	}
	if feedStreams != nil {
		m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "picloud_cluster_feed_streams", Help: "Change-feed streams open to nodes.",
		}, feedStreams))
	}
	return c
}

// NewNodeCluster registers a node's cluster metrics on m:
// picloud_cluster_manager_up (managerUp, read when scraped: 1 or 0),
// picloud_cluster_feed_reconnects_total and
// picloud_cluster_script_changes_total.
func (m *Metrics) NewNodeCluster(managerUp func() float64) *Cluster {
	c := &Cluster{
		FeedReconnect: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_cluster_feed_reconnects_total", Help: "Change-feed streams this node opened again after losing one (the first stream is not counted).",
		}),
		ScriptChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "picloud_cluster_script_changes_total", Help: "Script changes this node received on the change feed.",
		}),
	}
	m.Registry.MustRegister(c.FeedReconnect, c.ScriptChanges, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "picloud_cluster_manager_up", Help: "1 while the manager answers this node, 0 while it is unreachable.",
	}, managerUp))
	return c
}

// nodesCollector reports picloud_cluster_nodes from a count taken when
// scraped (the nodes' table is small; the count must see a node become lost
// without any event).
type nodesCollector struct {
	count func() map[string]int
	desc  *prometheus.Desc
}

func (c *nodesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *nodesCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.count()
	if counts == nil {
		return // the store did not answer: no sample rather than a false zero
	}
	for _, s := range NodeStatuses {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}
