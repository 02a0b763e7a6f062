// Package metrics is pspsim's Prometheus instrumentation: what the sandbox
// served, sent and faked, in the shape a CI dashboard or an alert reads.
//
// One Metrics is built per process and shared by every simulator in it (a
// namespace is a whole simulator): collectors can be registered only once
// on a registry, so each simulator takes a Scope — the same collectors with
// its namespace label bound — instead of making its own. State that already
// lives in a simulator (objects per kind, journal size) is not counted on the
// hot path: each simulator adds a Source that the registry reads at scrape
// time.
package metrics

import (
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultNamespace labels the series of a simulator without a namespace.
const DefaultNamespace = "default"

// buckets are the request latency buckets, in seconds: a sandbox answers in
// well under a millisecond unless a fault holds it, so the low end is fine
// and the high end reaches the holds and delays faults add.
var buckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds the collectors of one process and the registry they are on.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	faults     *prometheus.CounterVec
	state      *stateCollector
}

// New builds the collectors on a registry of their own (never the global
// one: tests build many in one process), with the Go runtime and process
// collectors beside them.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pspsim_http_requests_total",
			Help: "Requests served, by namespace, system, operation (the spec's operationId, or CodePay's method) and HTTP status.",
		}, []string{"namespace", "system", "operation", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pspsim_http_request_duration_seconds",
			Help:    "Time to answer a request (wall time, faults' delays included), by namespace, system and operation.",
			Buckets: buckets,
		}, []string{"namespace", "system", "operation"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pspsim_delivery_attempts_total",
			Help: "Attempts to deliver what the simulator sends (requests to apps, notifications, webhooks), by namespace, system, message kind and outcome (delivered, retry, final).",
		}, []string{"namespace", "system", "kind", "outcome"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pspsim_faults_fired_total",
			Help: "Fault rules that fired, by namespace, rule id and action.",
		}, []string{"namespace", "rule", "action"}),
		state: &stateCollector{
			objects: prometheus.NewDesc("pspsim_objects", "Objects the store holds, by namespace and kind (read at scrape time).", []string{"namespace", "kind"}, nil),
			events:  prometheus.NewDesc("pspsim_journal_events", "Events the journal holds, by namespace (read at scrape time).", []string{"namespace"}, nil),
			sources: map[*Source]string{},
		},
	}
	m.reg.MustRegister(m.requests, m.latency, m.deliveries, m.faults, m.state,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, to gather from or to add collectors to.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Scope returns the collectors with namespace bound ("" is
// DefaultNamespace). Scopes of one namespace share their series.
func (m *Metrics) Scope(namespace string) *Scope {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Scope{m: m, ns: namespace, ops: map[opKey]*opSeries{}}
}

// Scope counts for one namespace. A nil *Scope counts nothing, so code that
// is handed none need not check.
type Scope struct {
	m  *Metrics
	ns string

	mu  sync.RWMutex
	ops map[opKey]*opSeries // the series of each system, operation and status, looked up once
}

type opKey struct {
	system, operation string
	status            int
}

type opSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// Namespace returns the namespace label.
func (s *Scope) Namespace() string { return s.ns }

// Request counts one answered request and its latency. status 0 means the
// connection was cut before any answer (a fault's reset).
func (s *Scope) Request(system, operation string, status int, d time.Duration) {
	if s == nil {
		return
	}
	k := opKey{system, operation, status}
	s.mu.RLock()
	o := s.ops[k]
	s.mu.RUnlock()
	if o == nil {
		o = s.series(k)
	}
	o.count.Inc()
	o.latency.Observe(d.Seconds())
}

// series finds or makes the series of k. The label values are hashed once
// per key, not once per request: the lookup is most of a labelled
// counter's cost.
func (s *Scope) series(k opKey) *opSeries {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.ops[k]; o != nil {
		return o
	}
	o := &opSeries{
		count:   s.m.requests.WithLabelValues(s.ns, k.system, k.operation, statusLabel(k.status)),
		latency: s.m.latency.WithLabelValues(s.ns, k.system, k.operation),
	}
	s.ops[k] = o
	return o
}

func statusLabel(status int) string {
	if status == 0 {
		return "none"
	}
	return strconv.Itoa(status)
}

// Delivery counts one delivery attempt and how it was judged.
func (s *Scope) Delivery(system, kind, outcome string) {
	if s == nil {
		return
	}
	s.m.deliveries.WithLabelValues(s.ns, system, kind, outcome).Inc()
}

// Fault counts one firing of a fault rule.
func (s *Scope) Fault(rule, action string) {
	if s == nil {
		return
	}
	s.m.faults.WithLabelValues(s.ns, rule, action).Inc()
}

// Source is what a simulator lets the registry read at scrape time.
type Source struct {
	Objects func() map[string]int // objects per store kind; nil: not reported
	Events  func() int            // events the journal holds; nil: not reported
}

// Watch reads src at every scrape, under the scope's namespace, until the
// returned function is called (when the simulator closes).
func (s *Scope) Watch(src Source) (stop func()) {
	if s == nil {
		return func() {}
	}
	p := &src
	st := s.m.state
	st.mu.Lock()
	st.sources[p] = s.ns
	st.mu.Unlock()
	return func() {
		st.mu.Lock()
		delete(st.sources, p)
		st.mu.Unlock()
	}
}

// stateCollector reads the watched sources at scrape time.
type stateCollector struct {
	objects, events *prometheus.Desc

	mu      sync.Mutex
	sources map[*Source]string // source → namespace
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.objects
	ch <- c.events
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	type watched struct {
		src *Source
		ns  string
	}
	list := make([]watched, 0, len(c.sources))
	for src, ns := range c.sources {
		list = append(list, watched{src, ns})
	}
	c.mu.Unlock()
	// Two sources of one namespace (a simulator rebuilt in place) would
	// make duplicate series, which the registry refuses: sum them.
	objects := map[string]map[string]int{}
	events := map[string]int{}
	for _, w := range list {
		if w.src.Objects != nil {
			if objects[w.ns] == nil {
				objects[w.ns] = map[string]int{}
			}
			for kind, n := range w.src.Objects() {
				objects[w.ns][kind] += n
			}
		}
		if w.src.Events != nil {
			events[w.ns] += w.src.Events()
		}
	}
	for _, ns := range sortedKeys(objects) {
		for _, kind := range sortedKeys(objects[ns]) {
			ch <- prometheus.MustNewConstMetric(c.objects, prometheus.GaugeValue, float64(objects[ns][kind]), ns, kind)
		}
	}
	for _, ns := range sortedKeys(events) {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(events[ns]), ns)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
