package audit

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/config"
)

// DeepOptions configure the probes of a running gateway.
type DeepOptions struct {
	// URL is the gateway's base URL; empty derives it from gateway.listen.
	URL string
	// Timeout bounds every single probe (default 5s).
	Timeout time.Duration
	// ProcNet is the directory holding tcp and tcp6 (default /proc/net);
	// tests point it elsewhere.
	ProcNet string
}

// ErrDeepUnreachable means --deep was asked for and the gateway did not answer.
var ErrDeepUnreachable = errors.New("the gateway did not answer the deep probe")

type deepConn struct {
	base    *url.URL
	client  *http.Client
	timeout time.Duration
	procNet string
}

// DeepURL is the URL the deep probes use for a listen address: the
// wildcard addresses become loopback.
func DeepURL(listen string, tlsOn bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func (e *env) connectDeep(ctx context.Context) error {
	d := e.o.Deep
	raw := d.URL
	if raw == "" {
		raw = DeepURL(e.listen(), e.tlsEnabled())
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", ErrDeepUnreachable, raw)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	procNet := d.ProcNet
	if procNet == "" {
		procNet = "/proc/net"
	}
	// The probes check the gateway's behaviour, not its certificate's
	// chain (often self-signed); they send no credentials.
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		DialContext: (&net.Dialer{Timeout: timeout}).DialContext, TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout}
	e.deep = &deepConn{base: u, timeout: timeout, procNet: procNet,
		client: &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := e.deep.get(ctx, "/healthz", nil)
	if err != nil {
		return fmt.Errorf("%w at %s: %v", ErrDeepUnreachable, u, err)
	}
	resp.Body.Close()
	return nil
}

func (d *deepConn) get(ctx context.Context, path string, hdr http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base.JoinPath(path).String(), nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := d.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body is the raw connection: never read it.
		_ = resp.Body.Close()
	} else {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{strings.NewReader(""), closerFunc(func() error { cancel(); return nil })}
	return resp, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func deepChecks() []Check {
	return []Check{
		{ID: "deep.auth", Severity: Critical, Deep: true, Title: "gateway answers unauthenticated requests",
			Description: "The running gateway must refuse an API request without credentials with 401.",
			run:         deepAuth},
		{ID: "deep.metrics", Severity: High, Deep: true, Title: "gateway serves /metrics without a token",
			Description: "Off loopback (or with require_token) the running gateway must refuse /metrics without a token.",
			run:         deepMetrics},
		{ID: "deep.headers", Severity: Medium, Deep: true, Title: "security headers missing from the gateway's responses",
			Description: "Every response must carry Content-Security-Policy, X-Content-Type-Options, X-Frame-Options and Referrer-Policy, and Strict-Transport-Security over TLS.",
			run:         deepHeaders},
		{ID: "deep.tls", Severity: High, Deep: true, Title: "gateway accepts TLS versions below the configured minimum",
			Description: "The running gateway must refuse handshakes below gateway.tls.min_version.",
			run:         deepTLS},
		{ID: "deep.ws_origin", Severity: High, Deep: true, Title: "gateway accepts WebSockets from a foreign Origin",
			Description: "A WebSocket handshake from an origin that is not allowed must be refused (cross-site WebSocket hijacking).",
			run:         deepWSOrigin},
		{ID: "deep.bind", Severity: High, Deep: true, Title: "the gateway's sockets do not match the configured bind",
			Description: "The sockets listening on the gateway's port must be bound where gateway.listen says; a wildcard bind exposes a gateway configured for loopback.",
			run:         deepBind},
	}
}

func deepAuth(ctx context.Context, e *env) outcome {
	resp, err := e.deep.get(ctx, "/api/v1/me", nil)
	if err != nil {
		return skip("GET /api/v1/me: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return pass()
	}
	return fail("", "upgrade warden and check for a proxy that adds credentials in front of the gateway",
		fmt.Sprintf("GET %s without credentials answered %d, not 401", e.deep.base.JoinPath("/api/v1/me"), resp.StatusCode))
}

func deepMetrics(ctx context.Context, e *env) outcome {
	host, _ := listenHost(e.listen())
	offLoopback := !config.IsLoopbackHost(host) || !config.IsLoopbackHost(e.deep.base.Hostname())
	required := e.boolean("gateway.metrics.require_token", e.cfg.Gateway.Metrics.RequireToken)
	if !offLoopback && !required {
		return pass() // allowed on loopback
	}
	resp, err := e.deep.get(ctx, "/metrics", nil)
	if err != nil {
		return skip("GET /metrics: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return fail("gateway.metrics.require_token", "set gateway.metrics.require_token: true and restart warden serve",
			fmt.Sprintf("GET %s without a token answered 200", e.deep.base.JoinPath("/metrics")))
	}
	return pass()
}

func deepHeaders(ctx context.Context, e *env) outcome {
	resp, err := e.deep.get(ctx, "/healthz", nil)
	if err != nil {
		return skip("GET /healthz: %v", err)
	}
	resp.Body.Close()
	want := map[string]string{"Content-Security-Policy": "", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "", "Referrer-Policy": ""}
	names := []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"}
	if e.deep.base.Scheme == "https" {
		want["Strict-Transport-Security"] = ""
		names = append(names, "Strict-Transport-Security")
	}
	var ev []string
	for _, h := range names {
		got := resp.Header.Get(h)
		switch {
		case got == "":
			ev = append(ev, h+" is missing")
		case want[h] != "" && !strings.EqualFold(got, want[h]):
			ev = append(ev, fmt.Sprintf("%s is %q, not %q", h, got, want[h]))
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", "check for a proxy that strips headers in front of the gateway, and upgrade warden", ev...)
}

var tlsNames = map[uint16]string{tls.VersionTLS10: "1.0", tls.VersionTLS11: "1.1", tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}

func deepTLS(ctx context.Context, e *env) outcome {
	if e.deep.base.Scheme != "https" {
		return skip("the gateway is probed over plain HTTP")
	}
	minV := uint16(tls.VersionTLS13)
	if e.str("gateway.tls.min_version", e.cfg.Gateway.TLS.MinVersion) == "1.2" {
		minV = tls.VersionTLS12
	}
	hs := func(lo, hi uint16) error {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: e.deep.timeout},
			Config: &tls.Config{InsecureSkipVerify: true, MinVersion: lo, MaxVersion: hi}} //nolint:gosec // a probe of versions, not identity
		cctx, cancel := context.WithTimeout(ctx, e.deep.timeout)
		defer cancel()
		c, err := d.DialContext(cctx, "tcp", e.deep.base.Host)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := hs(minV, tls.VersionTLS13); err != nil {
		return skip("TLS %s handshake: %v", tlsNames[minV], err)
	}
	below := minV - 1
	if below < tls.VersionTLS10 {
		return pass()
	}
	if err := hs(tls.VersionTLS10, below); err == nil {
		return fail("gateway.tls.min_version", "restart warden serve so it applies gateway.tls.min_version, and check the TLS terminator in front of it",
			fmt.Sprintf("a TLS %s handshake succeeded; gateway.tls.min_version is %s", tlsNames[below], tlsNames[minV]))
	}
	return pass()
}

func deepWSOrigin(ctx context.Context, e *env) outcome {
	hdr := http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"d2FyZGVuLWF1ZGl0LXByb2Jl"},
		"Origin":                {"https://audit-probe.invalid"},
	}
	resp, err := e.deep.get(ctx, "/ws", hdr)
	if err != nil {
		return skip("GET /ws: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return pass()
	}
	return fail("gateway.allowed_origins", "remove wildcard origins from gateway.allowed_origins and upgrade warden",
		"a WebSocket handshake from Origin https://audit-probe.invalid was accepted (101)")
}

// listener is one listening TCP socket from /proc/net.
type listener struct {
	ip   net.IP
	port int
}

func readListeners(dir string) ([]listener, error) {
	var out []listener
	found := false
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(dir + "/" + name)
		if err != nil {
			continue
		}
		found = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // LISTEN
				continue
			}
			addr, port, ok := strings.Cut(fields[1], ":")
			if !ok {
				continue
			}
			p, err := strconv.ParseUint(port, 16, 16)
			if err != nil {
				continue
			}
			if ip := procIP(addr); ip != nil {
				out = append(out, listener{ip: ip, port: int(p)})
			}
		}
		f.Close()
	}
	if !found {
		return nil, fmt.Errorf("no tcp tables in %s", dir)
	}
	return out, nil
}

// procIP decodes /proc/net/tcp's hex address: 32-bit words in host
// (little-endian) order.
func procIP(h string) net.IP {
	if len(h) != 8 && len(h) != 32 {
		return nil
	}
	b := make([]byte, len(h)/2)
	for i := range b {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil
		}
		b[i] = byte(v)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b)
}

func deepBind(_ context.Context, e *env) outcome {
	port, err := strconv.Atoi(e.deep.base.Port())
	if err != nil {
		if e.deep.base.Scheme == "https" {
			port = 443
		} else {
			port = 80
		}
	}
	ls, err := readListeners(e.deep.procNet)
	if err != nil {
		return skip("%v", err)
	}
	host, _ := listenHost(e.listen())
	wantLoopback := config.IsLoopbackHost(host)
	want := net.ParseIP(strings.Trim(host, "[]"))
	anyAddr := host == "" || (want != nil && want.IsUnspecified())
	var ev []string
	seen := false
	for _, l := range ls {
		if l.port != port {
			continue
		}
		seen = true
		var wrong bool
		switch {
		case anyAddr:
		case wantLoopback:
			wrong = !l.ip.IsLoopback()
		case want != nil:
			wrong = !l.ip.Equal(want)
		}
		if wrong {
			ev = append(ev, fmt.Sprintf("a socket listens on %s though gateway.listen is %s", net.JoinHostPort(l.ip.String(), strconv.Itoa(port)), e.listen()))
		}
	}
	if !seen {
		return skip("no socket listens on port %d in this network namespace", port)
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("gateway.listen", "restart warden serve with the configured listen address, and check for another process on the port (ss -ltnp)", ev...)
}
