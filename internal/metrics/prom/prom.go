// Package prom is the small part of a Prometheus client PiCloud uses:
// counters, gauges, histograms, their labelled vectors, gauges read when
// scraped, a registry and the text exposition format (version 0.0.4) that
// Prometheus scrapes. It imports only the standard library and does nothing
// at package initialisation, so a command that never serves /metrics (`picloud
// rhai run`) does not pay for it at start-up; the client library it replaces
// registered its runtime collectors and protobuf descriptors in init, ~1 ms of
// every command's start (docs/performance.md).
//
// The API follows client_golang's names (NewCounterVec, WithLabelValues,
// MustRegister, Gather with GetName/GetMetric/GetLabel getters) so that code
// and tests read the same.
package prom

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Collector is what a Registry gathers.
type Collector interface {
	// Describe names the families the collector reports (checked for
	// duplicates when registered).
	Describe() []string
	// Collect reports the families' current samples.
	Collect() []*Family
}

// Family is one metric family: its samples share a name, help and type.
type Family struct {
	Name, Help string
	Type       string // counter, gauge or histogram
	Metric     []*Sample
}

// Sample is one labelled sample of a family; one of Counter, Gauge and
// Histogram is set, as the family's type says.
type Sample struct {
	Label     []*LabelPair
	Counter   *Value
	Gauge     *Value
	Histogram *HistogramValue
}

// LabelPair is one label of a sample.
type LabelPair struct{ Name, Value string }

// Value is a counter's or a gauge's value.
type Value struct{ Value float64 }

// HistogramValue is a histogram's state: cumulative counts per upper bound.
type HistogramValue struct {
	Bounds     []float64 // upper bounds, ascending (+Inf implied)
	Cumulative []uint64  // samples ≤ each bound
	Count      uint64
	Sum        float64
}

// The getters are nil-safe, as protobuf's are, for tests that walk Gather's
// result.

func (f *Family) GetName() string        { return f.Name }
func (f *Family) GetMetric() []*Sample   { return f.Metric }
func (s *Sample) GetLabel() []*LabelPair { return s.Label }
func (s *Sample) GetCounter() *Value     { return s.Counter }
func (s *Sample) GetGauge() *Value       { return s.Gauge }
func (s *Sample) GetHistogram() *HistogramValue {
	return s.Histogram
}
func (l *LabelPair) GetName() string  { return l.Name }
func (l *LabelPair) GetValue() string { return l.Value }
func (v *Value) GetValue() float64 {
	if v == nil {
		return 0
	}
	return v.Value
}
func (h *HistogramValue) GetSampleCount() uint64 {
	if h == nil {
		return 0
	}
	return h.Count
}

// Opts name and describe a metric.
type Opts struct{ Name, Help string }

// CounterOpts, GaugeOpts: client_golang's names for Opts.
type (
	CounterOpts = Opts
	GaugeOpts   = Opts
)

// HistogramOpts are a histogram's name, help and bucket upper bounds.
type HistogramOpts struct {
	Name, Help string
	Buckets    []float64
}

// atomicFloat is a float64 updated with compare-and-swap.
type atomicFloat struct{ bits atomic.Uint64 }

func (a *atomicFloat) add(v float64) {
	for {
		old := a.bits.Load()
		if a.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}
func (a *atomicFloat) load() float64   { return math.Float64frombits(a.bits.Load()) }
func (a *atomicFloat) store(v float64) { a.bits.Store(math.Float64bits(v)) }

// Counter only goes up. A registered counter is its own Collector; a
// vector's child reports nothing itself (its vector does).
type Counter interface {
	Inc()
	Add(float64) // panics when negative
	Value() float64
	Collector
}

// Gauge goes up and down.
type Gauge interface {
	Set(float64)
	Inc()
	Dec()
	Add(float64)
	Sub(float64)
	Value() float64
	Collector
}

// Observer takes one sample (a histogram).
type Observer interface{ Observe(float64) }

type counter struct {
	v    atomicFloat
	opts *Opts // nil: a vector's child
}

func (c *counter) Inc() { c.v.add(1) }
func (c *counter) Add(v float64) {
	if v < 0 {
		panic("prom: a counter cannot decrease")
	}
	c.v.add(v)
}
func (c *counter) Value() float64 { return c.v.load() }
func (c *counter) Describe() []string {
	if c.opts == nil {
		return nil
	}
	return []string{c.opts.Name}
}
func (c *counter) Collect() []*Family {
	if c.opts == nil {
		return nil
	}
	return []*Family{{Name: c.opts.Name, Help: c.opts.Help, Type: "counter", Metric: []*Sample{{Counter: &Value{c.Value()}}}}}
}

type gauge struct {
	v    atomicFloat
	opts *Opts
}

func (g *gauge) Set(v float64)  { g.v.store(v) }
func (g *gauge) Inc()           { g.v.add(1) }
func (g *gauge) Dec()           { g.v.add(-1) }
func (g *gauge) Add(v float64)  { g.v.add(v) }
func (g *gauge) Sub(v float64)  { g.v.add(-v) }
func (g *gauge) Value() float64 { return g.v.load() }
func (g *gauge) Describe() []string {
	return []string{g.opts.Name}
}
func (g *gauge) Collect() []*Family {
	return []*Family{{Name: g.opts.Name, Help: g.opts.Help, Type: "gauge", Metric: []*Sample{{Gauge: &Value{g.Value()}}}}}
}

// NewCounter makes an unlabelled counter (register it to expose it).
func NewCounter(o CounterOpts) Counter { return &counter{opts: &o} }

// NewGauge makes an unlabelled gauge.
func NewGauge(o GaugeOpts) Gauge { return &gauge{opts: &o} }

type histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket (not cumulative); the last is +Inf
	count  atomic.Uint64
	sum    atomicFloat
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v) // first bound ≥ v: v ≤ bound
	h.counts[i].Add(1)
	h.sum.add(v)
	h.count.Add(1)
}

func (h *histogram) value() *HistogramValue {
	hv := &HistogramValue{Bounds: h.bounds, Cumulative: make([]uint64, len(h.bounds))}
	var run uint64
	for i := range h.bounds {
		run += h.counts[i].Load()
		hv.Cumulative[i] = run
	}
	hv.Count = run + h.counts[len(h.bounds)].Load()
	hv.Sum = h.sum.load()
	return hv
}

// GaugeFunc is a gauge whose value is read when scraped.
type GaugeFunc struct {
	Opts
	f func() float64
}

// NewGaugeFunc makes a gauge read from f when scraped.
func NewGaugeFunc(o GaugeOpts, f func() float64) *GaugeFunc { return &GaugeFunc{o, f} }

func (g *GaugeFunc) Describe() []string { return []string{g.Name} }
func (g *GaugeFunc) Collect() []*Family {
	return []*Family{{Name: g.Name, Help: g.Help, Type: "gauge", Metric: []*Sample{{Gauge: &Value{g.f()}}}}}
}

// vec holds the children of a labelled metric by their label values.
type vec[T any] struct {
	name, help, typ string
	labels          []string
	make            func() T
	mu              sync.RWMutex
	children        map[string]*child[T]
}

type child[T any] struct {
	values []string
	m      T
}

func (v *vec[T]) with(values []string) T {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("prom: %s has %d labels, got %d values", v.name, len(v.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	v.mu.RLock()
	c, ok := v.children[key]
	v.mu.RUnlock()
	if ok {
		return c.m
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.children[key]; ok {
		return c.m
	}
	c = &child[T]{values: slices.Clone(values), m: v.make()}
	v.children[key] = c
	return c.m
}

func (v *vec[T]) Describe() []string { return []string{v.name} }

func (v *vec[T]) collect(sample func(T) *Sample) []*Family {
	v.mu.RLock()
	cs := make([]*child[T], 0, len(v.children))
	for _, c := range v.children {
		cs = append(cs, c)
	}
	v.mu.RUnlock()
	// Labels are written sorted by name, and samples sorted by their values
	// in that order, as Prometheus clients do.
	order := make([]int, len(v.labels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(v.labels[a], v.labels[b]) })
	sorted := func(c *child[T]) []string {
		out := make([]string, len(order))
		for i, j := range order {
			out[i] = c.values[j]
		}
		return out
	}
	slices.SortFunc(cs, func(a, b *child[T]) int { return slices.Compare(sorted(a), sorted(b)) })
	f := &Family{Name: v.name, Help: v.help, Type: v.typ}
	for _, c := range cs {
		s := sample(c.m)
		for _, j := range order {
			s.Label = append(s.Label, &LabelPair{v.labels[j], c.values[j]})
		}
		f.Metric = append(f.Metric, s)
	}
	return []*Family{f}
}

// CounterVec is counters by label values.
type CounterVec struct{ v *vec[*counter] }

// NewCounterVec makes counters labelled with labels.
func NewCounterVec(o CounterOpts, labels []string) *CounterVec {
	return &CounterVec{&vec[*counter]{name: o.Name, help: o.Help, typ: "counter", labels: labels,
		make: func() *counter { return &counter{} }, children: map[string]*child[*counter]{}}}
}

// WithLabelValues is the counter of these label values (made on first use).
func (c *CounterVec) WithLabelValues(values ...string) Counter { return c.v.with(values) }

func (c *CounterVec) Describe() []string { return c.v.Describe() }
func (c *CounterVec) Collect() []*Family {
	return c.v.collect(func(m *counter) *Sample { return &Sample{Counter: &Value{m.Value()}} })
}

// HistogramVec is histograms by label values.
type HistogramVec struct{ v *vec[*histogram] }

// NewHistogramVec makes histograms labelled with labels.
func NewHistogramVec(o HistogramOpts, labels []string) *HistogramVec {
	bounds := slices.Clone(o.Buckets)
	slices.Sort(bounds)
	return &HistogramVec{&vec[*histogram]{name: o.Name, help: o.Help, typ: "histogram", labels: labels,
		make: func() *histogram { return newHistogram(bounds) }, children: map[string]*child[*histogram]{}}}
}

// WithLabelValues is the histogram of these label values.
func (h *HistogramVec) WithLabelValues(values ...string) Observer { return h.v.with(values) }

func (h *HistogramVec) Describe() []string { return h.v.Describe() }
func (h *HistogramVec) Collect() []*Family {
	return h.v.collect(func(m *histogram) *Sample { return &Sample{Histogram: m.value()} })
}

// Registry holds collectors and gathers their families.
type Registry struct {
	mu         sync.Mutex
	collectors []Collector
	names      map[string]bool
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{names: map[string]bool{}} }

// MustRegister adds collectors; a family name registered twice panics.
func (r *Registry) MustRegister(cs ...Collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		for _, n := range c.Describe() {
			if r.names[n] {
				panic("prom: duplicate metric " + n)
			}
			r.names[n] = true
		}
		r.collectors = append(r.collectors, c)
	}
}

// Gather collects every family, sorted by name (families without samples
// left out).
func (r *Registry) Gather() ([]*Family, error) {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	var fs []*Family
	for _, c := range cs {
		for _, f := range c.Collect() {
			if len(f.Metric) > 0 {
				fs = append(fs, f)
			}
		}
	}
	slices.SortFunc(fs, func(a, b *Family) int { return strings.Compare(a.Name, b.Name) })
	return fs, nil
}
