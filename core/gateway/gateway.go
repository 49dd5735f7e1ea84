// Package gateway is warden serve's HTTP and WebSocket server: the JSON API
// under /api/v1, the WebSocket endpoint /ws, health and metrics endpoints
// and the embedded dashboard. Every decision goes through core/auth; every
// route declares the permission it needs in one table (routes.go).
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/runner"
	"github.com/warden-sec/warden/core/store"
)

// Options configure a Server.
type Options struct {
	Auth    *auth.Service
	Audit   *auditlog.Log // searched and verified through the API
	Auditor auth.Auditor  // where the gateway records its own decisions; default Audit
	DB      *store.Store  // checked by /readyz
	Logger  *slog.Logger
	Metrics *Metrics // default: a new set

	// TLS says the gateway is served over TLS: cookies get Secure and the
	// __Host- prefix, responses get HSTS.
	TLS bool
	// Loopback says the listener is bound to a loopback address only; then
	// /metrics needs no token unless MetricsRequireToken.
	Loopback            bool
	MetricsEnabled      bool
	MetricsRequireToken bool

	// AllowedOrigins are browser origins besides the gateway's own that may
	// call the API and open WebSockets (exact scheme://host[:port]).
	AllowedOrigins []string
	// Hosts are the names clients may use in the Host header besides
	// IP literals, localhost and the allowed origins' hosts (gateway.hosts
	// and the certificate's names). Any other name is refused: a page
	// that rebinds its own DNS name to 127.0.0.1 is not the gateway's
	// origin, whatever its Origin header says.
	Hosts []string
	// ListenAddr is the address the gateway listens on (for docs and
	// logs; the Host check accepts every IP literal).
	ListenAddr net.Addr
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
	MaxBodyBytes   int64 // default 1 MiB

	// Runner runs commands for POST /api/v1/exec and the exec request on
	// /ws; nil answers them with SANDBOX_UNAVAILABLE.
	Runner *runner.Runner

	WS      WSOptions
	Version string
	Now     func() time.Time
}

// WSOptions tune WebSocket connections.
type WSOptions struct {
	MaxMessageBytes int64         // default 64 KiB
	AuthTimeout     time.Duration // to send the auth frame; default 10 s
	PingInterval    time.Duration // default 30 s
	IdleTimeout     time.Duration // no frame or pong for this long closes; default 90 s
	SweepInterval   time.Duration // how often ended sessions are looked for; default 1 s
}

// Server is the gateway.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	handler http.Handler
	hub     *hub
	routes  []route
	cookies cookieNames
	hosts   map[string]bool
	ready   atomic.Bool
}

// New builds a Server; Serve runs it.
func New(opts Options) (*Server, error) {
	if opts.Auth == nil || opts.Audit == nil || opts.DB == nil {
		return nil, errors.New("gateway: auth service, audit log and store are required")
	}
	if opts.Auditor == nil {
		opts.Auditor = opts.Audit
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ws := &opts.WS
	if ws.MaxMessageBytes <= 0 {
		ws.MaxMessageBytes = 64 << 10
	}
	if ws.AuthTimeout <= 0 {
		ws.AuthTimeout = 10 * time.Second
	}
	if ws.PingInterval <= 0 {
		ws.PingInterval = 30 * time.Second
	}
	if ws.IdleTimeout <= 0 {
		ws.IdleTimeout = 3 * ws.PingInterval
	}
	if ws.SweepInterval <= 0 {
		ws.SweepInterval = time.Second
	}
	for _, o := range opts.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: opts.Metrics, cookies: newCookieNames(opts.TLS), hosts: allowedHostNames(opts)}
	s.hub = newHub(s)
	s.metrics.observeServer(s)
	s.routes = s.routeTable()
	h, err := s.buildHandler()
	if err != nil {
		return nil, err
	}
	s.handler = h
	s.ready.Store(true)
	return s, nil
}

// Handler is the whole gateway as an http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve answers on ln until ctx ends, then shuts down gracefully within
// grace: it stops accepting, sends every WebSocket a close frame, and waits
// for requests in flight. tlsConfig, when set, wraps ln. A clean shutdown
// returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, grace time.Duration) error {
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSweep()
	go s.hub.run(sweepCtx)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan struct{})
	go func() { s.hub.closeAll(sctx); close(done) }()
	err := srv.Shutdown(sctx)
	<-done
	<-errc
	if err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}
