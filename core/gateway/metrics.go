package gateway

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
)

// Metrics are the gateway's Prometheus metrics, in a registry of their own.
type Metrics struct {
	reg               *prometheus.Registry
	requests          *prometheus.CounterVec
	latency           *prometheus.HistogramVec
	authFailures      *prometheus.CounterVec
	rateLimited       prometheus.Counter
	forbidden         prometheus.Counter
	crossOriginDenied prometheus.Counter
	hostDenied        prometheus.Counter
	auditAppends      prometheus.Counter
	auditFailures     prometheus.Counter
	wsMessages        *prometheus.CounterVec

	once sync.Once
	h    http.Handler

	// onAudit, once a server is built, is told of every entry appended
	// through Auditor: it wakes the live audit feed (ws.go), so that this
	// process's entries reach subscribed WebSockets without waiting for
	// the feed's poll of the log's head.
	onAudit atomic.Pointer[func()]
}

// NewMetrics makes the metric set.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "warden_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_auth_failures_total",
			Help: "Failed authentications by kind (login, totp, access_token, gateway_token, ...)."}, []string{"kind"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_rate_limited_total",
			Help: "Requests refused because the client or account used up its failed attempts."}),
		forbidden: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_forbidden_total",
			Help: "Authenticated requests refused for the caller's role."}),
		crossOriginDenied: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_cross_origin_denied_total",
			Help: "State-changing requests refused by cross-origin protection."}),
		hostDenied: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_host_denied_total",
			Help: "Requests refused because their Host header names a host that is not the gateway's (DNS rebinding)."}),
		auditAppends: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_audit_appends_total",
			Help: "Audit log entries written."}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_audit_append_failures_total",
			Help: "Audit log appends that failed (the action was refused)."}),
		wsMessages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_websocket_messages_total",
			Help: "WebSocket messages by direction."}, []string{"direction"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.authFailures, m.rateLimited, m.forbidden, m.crossOriginDenied,
		m.hostDenied, m.auditAppends, m.auditFailures, m.wsMessages,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where more metrics can be registered.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) handler() http.Handler {
	m.once.Do(func() { m.h = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) })
	return m.h
}

// observeServer adds the gauges that read the server's state.
func (m *Metrics) observeServer(s *Server) {
	notify := s.hub.feed.notify
	m.onAudit.Store(&notify)
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "warden_websockets_active",
		Help: "Open WebSocket connections."}, func() float64 { return float64(s.hub.count()) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "warden_sessions_active",
		Help: "Login sessions neither revoked nor expired."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := s.opts.Auth.CountLiveSessions(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

func (m *Metrics) observeRequest(pattern string, status int, d time.Duration) {
	if pattern == "" {
		pattern = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(pattern).Observe(d.Seconds())
}

// Auditor wraps an audit log so appends and failures are counted.
func (m *Metrics) Auditor(a auth.Auditor) auth.Auditor { return &countingAuditor{a: a, m: m} }

type countingAuditor struct {
	a auth.Auditor
	m *Metrics
}

func (c *countingAuditor) Append(ctx context.Context, ev auditlog.Event) (auditlog.Entry, error) {
	e, err := c.a.Append(ctx, ev)
	if err != nil {
		c.m.auditFailures.Inc()
	} else {
		c.m.auditAppends.Inc()
		if f := c.m.onAudit.Load(); f != nil {
			(*f)()
		}
	}
	return e, err
}
