package prom

import (
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The exposition must be what client_golang (which this package replaced)
// serves for the same metrics and updates, byte for byte.
func TestTextMatchesClientGolang(t *testing.T) {
	ours, theirs := NewRegistry(), prometheus.NewRegistry()
	buckets := []float64{.001, .01, .1, 1, 2.5, 10}

	c1, c2 := NewCounter(CounterOpts{Name: "t_plain_total", Help: "A counter.\nWith a \\ and a newline."}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "t_plain_total", Help: "A counter.\nWith a \\ and a newline."})
	g1, g2 := NewGauge(GaugeOpts{Name: "t_gauge", Help: "A gauge."}), prometheus.NewGauge(prometheus.GaugeOpts{Name: "t_gauge", Help: "A gauge."})
	v1, v2 := NewCounterVec(CounterOpts{Name: "t_vec_total", Help: "By labels."}, []string{"trigger", "result"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t_vec_total", Help: "By labels."}, []string{"trigger", "result"})
	h1, h2 := NewHistogramVec(HistogramOpts{Name: "t_seconds", Help: "Durations.", Buckets: buckets}, []string{"script"}),
		prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "t_seconds", Help: "Durations.", Buckets: buckets}, []string{"script"})
	empty1, empty2 := NewCounterVec(CounterOpts{Name: "t_empty_total", Help: "No children."}, []string{"x"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t_empty_total", Help: "No children."}, []string{"x"})
	ours.MustRegister(c1, g1, v1, h1, empty1, NewGaugeFunc(GaugeOpts{Name: "t_func", Help: "Read when scraped."}, func() float64 { return 42.5 }))
	theirs.MustRegister(c2, g2, v2, h2, empty2, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "t_func", Help: "Read when scraped."}, func() float64 { return 42.5 }))

	c1.Add(3.25)
	c2.Add(3.25)
	c1.Inc()
	c2.Inc()
	g1.Set(-7)
	g2.Set(-7)
	g1.Add(0.5)
	g2.Add(0.5)
	for _, l := range [][2]string{{"b", "ok"}, {"a", "error"}, {`q"uo\te`, "new\nline"}, {"a", "ok"}, {"b", "ok"}, {"c", "a"}, {"a", "zz"}} {
		v1.WithLabelValues(l[0], l[1]).Inc()
		v2.WithLabelValues(l[0], l[1]).Inc()
	}
	for _, x := range []float64{0.0005, 0.001, 0.05, 0.7, 3, 100, 1e-9} {
		h1.WithLabelValues("s1").Observe(x)
		h2.WithLabelValues("s1").Observe(x)
	}
	h1.WithLabelValues("s0").Observe(math.Inf(1))
	h2.WithLabelValues("s0").Observe(math.Inf(1))

	var got strings.Builder
	fs, _ := ours.Gather()
	if err := WriteText(&got, fs); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(theirs, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if got.String() != rec.Body.String() {
		t.Errorf("exposition differs from client_golang's\n--- ours\n%s\n--- client_golang\n%s", got.String(), rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("client_golang's content type %q: ours is %q", ct, ContentType)
	}
	rec = httptest.NewRecorder()
	Handler(ours).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Body.String() != got.String() || rec.Header().Get("Content-Type") != ContentType {
		t.Errorf("Handler: %q %q", rec.Header().Get("Content-Type"), rec.Body.String())
	}
	if err := GatherAndCompare(ours, strings.NewReader("\n# HELP t_func Read when scraped.\n# TYPE t_func gauge\nt_func 42.5\n"), "t_func"); err != nil {
		t.Error(err)
	}
	// Families in any order.
	if err := GatherAndCompare(ours, strings.NewReader("# HELP t_plain_total A counter.\\nWith a \\\\ and a newline.\n# TYPE t_plain_total counter\nt_plain_total 4.25\n"+
		"# HELP t_func Read when scraped.\n# TYPE t_func gauge\nt_func 42.5\n"), "t_func", "t_plain_total"); err != nil {
		t.Error(err)
	}
	if err := GatherAndCompare(ours, strings.NewReader("# HELP t_func x\n# TYPE t_func gauge\nt_func 42.5\n"), "t_func"); err == nil {
		t.Error("GatherAndCompare accepted a different help text")
	}
}

func TestRegistryAndValues(t *testing.T) {
	r := NewRegistry()
	c := NewCounter(CounterOpts{Name: "x_total"})
	r.MustRegister(c)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("registering x_total twice did not panic")
			}
		}()
		r.MustRegister(NewGauge(GaugeOpts{Name: "x_total"}))
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a negative Add did not panic")
			}
		}()
		c.Add(-1)
	}()
	v := NewCounterVec(CounterOpts{Name: "v_total"}, []string{"a"})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("wrong label count did not panic")
			}
		}()
		v.WithLabelValues("1", "2")
	}()
	// Concurrent updates are not lost.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Inc()
				v.WithLabelValues("k").Add(0.5)
			}
		})
	}
	wg.Wait()
	if c.Value() != 8000 || v.WithLabelValues("k").Value() != 4000 {
		t.Errorf("counter %g, vec %g; want 8000, 4000", c.Value(), v.WithLabelValues("k").Value())
	}
	if c.Describe() == nil || v.WithLabelValues("k").Describe() != nil {
		t.Error("a registered counter names its family; a vector's child names none")
	}
}

func TestRuntimeCollectors(t *testing.T) {
	r := NewRegistry()
	r.MustRegister(NewGoCollector(), NewProcessCollector())
	fs, _ := r.Gather()
	byName := map[string]*Family{}
	for _, f := range fs {
		byName[f.Name] = f
	}
	if f := byName["go_goroutines"]; f == nil || f.Metric[0].GetGauge().GetValue() < 1 {
		t.Errorf("go_goroutines: %+v", f)
	}
	if f := byName["process_resident_memory_bytes"]; f == nil || f.Metric[0].GetGauge().GetValue() < 1<<20 {
		t.Errorf("process_resident_memory_bytes: %+v", f)
	}
	if f := byName["process_start_time_seconds"]; f == nil || f.Metric[0].GetGauge().GetValue() < 1.7e9 {
		t.Errorf("process_start_time_seconds: %+v", f)
	}
	if f := byName["process_cpu_seconds_total"]; f == nil || f.Type != "counter" {
		t.Errorf("process_cpu_seconds_total: %+v", f)
	}
}
