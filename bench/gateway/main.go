// Command gateway measures the gateway (core/gateway): authenticated
// GET /api/v1/me throughput and latency beside a bare net/http handler that
// returns the same bytes, and the memory each idle WebSocket costs with
// 10,000 of them open. The server under test and the client driving it are
// always separate processes. bench/gateway.sh runs every step and prints
// the Markdown table.
//
// Subcommands:
//
//	serve   run a server under test: -mode gateway (the real gateway over a
//	        fresh state dir) or -mode bare (a plain handler serving -body)
//	login   log in over HTTP; save the access token and the /me body
//	load    send GET requests over keep-alive connections; save the figures
//	ws      open idle WebSockets; save the server's memory before and after
//	report  print the Markdown table from the saved figures
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	rpprof "runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/gateway"
	"github.com/warden-sec/warden/core/store"
)

// The user the gateway server creates and the login step logs in as. The
// password passes the default policy and the context check.
const (
	benchUser     = "bench"
	benchPassword = "correct horse battery staple and then some"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gwbench: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: gwbench serve|login|load|ws|report [flags]")
	}
	cmds := map[string]func([]string) error{
		"serve": serveCmd, "login": loginCmd, "load": loadCmd, "ws": wsCmd, "report": reportCmd,
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		log.Fatalf("unknown subcommand %q: use serve, login, load, ws or report", os.Args[1])
	}
	if err := cmd(os.Args[2:]); err != nil {
		log.Fatalf("%s: %v", os.Args[1], err)
	}
}

// ---- serve ----

// memReport is the server's memory as its control endpoint reports it.
type memReport struct {
	RSSRawKB   int64  `json:"rssRawKB"` // VmRSS as found, before the collection below
	RSSKB      int64  `json:"rssKB"`    // VmRSS after a full GC that returns free memory to the OS
	HeapInuse  uint64 `json:"heapInuse"`
	StackInuse uint64 `json:"stackInuse"`
	HeapAlloc  uint64 `json:"heapAlloc"`
	Sys        uint64 `json:"sys"`
	Goroutines int    `json:"goroutines"`
	WebSockets int    `json:"webSockets"` // open WebSockets in the gateway; -1 for the bare server
}

func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	mode := fs.String("mode", "gateway", "gateway or bare")
	info := fs.String("info", "", "file to write addr=, ctl=, token= lines to once listening (default: stdout)")
	body := fs.String("body", "", "bare mode: the file whose bytes every response carries")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile to this file on exit")
	fs.Parse(args)
	if err := raiseNoFile(0); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := rpprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer rpprof.StopCPUProfile()
	}
	if *memprofile != "" {
		defer func() {
			if err := writeHeapProfile(*memprofile); err != nil {
				log.Print(err)
			}
		}()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	kv := []string{"addr", ln.Addr().String(), "pid", strconv.Itoa(os.Getpid())}
	wsCount := func() int { return -1 }
	var run func() error
	switch *mode {
	case "bare":
		if *body == "" {
			return errors.New("bare mode needs -body")
		}
		b, err := os.ReadFile(*body)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		run = func() error { return serveBare(ctx, ln, b) }
	case "gateway":
		g, err := newGatewayServer(ctx)
		if err != nil {
			return err
		}
		defer g.close()
		kv = append(kv, "token", g.token)
		wsCount = g.webSockets
		run = func() error { return g.srv.Serve(ctx, ln, nil, 5*time.Second) }
	default:
		return fmt.Errorf("unknown mode %q: use gateway or bare", *mode)
	}

	// Start from a clean heap: the setup's garbage (the argon2id hash of
	// the user's password alone takes 19 MiB) would otherwise sit in the
	// first "as found" RSS reading.
	runtime.GC()
	debug.FreeOSMemory()
	ctl, err := startControl(wsCount)
	if err != nil {
		return err
	}
	kv = append(kv, "ctl", ctl)
	if err := writeInfo(*info, kv); err != nil {
		return err
	}
	if err := run(); err != nil {
		return fmt.Errorf("%s server: %w", *mode, err)
	}
	return nil
}

// gatewayServer is the real gateway over a store, audit log and identity
// service in a temporary state dir, configured as warden serve configures
// them by default (production argon2id cost, rate limits on).
type gatewayServer struct {
	dir     string
	db      *store.Store
	log     *auditlog.Log
	srv     *gateway.Server
	metrics *gateway.Metrics
	token   string // a gateway token (role agent) for WebSocket clients
}

func newGatewayServer(ctx context.Context) (*gatewayServer, error) {
	dir, err := os.MkdirTemp("", "warden-gwbench-")
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	g := &gatewayServer{dir: dir}
	if err := g.open(ctx); err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

func (g *gatewayServer) open(ctx context.Context) error {
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(g.dir, "warden.db")})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	g.db = db
	key := make([]byte, auditlog.KeySize)
	rand.Read(key)
	if g.log, err = auditlog.Open(ctx, db, key, auditlog.Options{HeadFile: filepath.Join(filepath.Dir(db.Path()), auditlog.HeadFileName)}); err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	g.metrics = gateway.NewMetrics()
	access, totpKey := make([]byte, auth.KeySize), make([]byte, 32)
	rand.Read(access)
	rand.Read(totpKey)
	svc, err := auth.New(auth.Options{
		DB: db, Audit: g.metrics.Auditor(g.log), AccessKey: access, TOTPKey: totpKey,
		Hasher:       password.NewHasher(password.Default(), 0),
		Policy:       password.Policy{MinLength: 32, MaxLength: 1024},
		IdleTimeout:  30 * time.Minute,
		RateLimit:    true,
		IPLimit:      ratelimit.Rule{Attempts: 5, Window: 5 * time.Minute},
		AccountLimit: ratelimit.Rule{Attempts: 100, Window: time.Hour},
	})
	if err != nil {
		return fmt.Errorf("identity service: %w", err)
	}
	if _, err := svc.CreateUser(ctx, auth.Local(benchUser), benchUser, auth.RoleAdmin, benchPassword); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if g.token, _, err = svc.CreateToken(ctx, auth.Local(benchUser), "bench", auth.RoleAgent, 0); err != nil {
		return fmt.Errorf("create gateway token: %w", err)
	}
	g.srv, err = gateway.New(gateway.Options{Auth: svc, Audit: g.log, Auditor: g.metrics.Auditor(g.log), DB: db,
		Metrics: g.metrics, Loopback: true, MetricsEnabled: true, Version: "bench"})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}

func (g *gatewayServer) close() {
	if g.log != nil {
		g.log.Close()
	}
	if g.db != nil {
		g.db.Close()
	}
	os.RemoveAll(g.dir)
}

// webSockets reads the gateway's open-WebSocket gauge.
func (g *gatewayServer) webSockets() int {
	mfs, err := g.metrics.Registry().Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() == "warden_websockets_active" && len(mf.GetMetric()) > 0 {
			return int(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	return -1
}

// serveBare answers every request with body as application/json: the
// floor the gateway is compared with.
func serveBare(ctx context.Context, ln net.Listener, body []byte) error {
	cl := strconv.Itoa(len(body))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", cl)
			w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// startControl serves the server's own figures on another loopback port:
// /mem (memory, see memReport) and /debug/pprof/.
func startControl(wsCount func() int) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("control listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		m, err := measureMem(wsCount)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go http.Serve(ln, mux)
	return ln.Addr().String(), nil
}

// measureMem reads VmRSS as it is, then collects garbage, returns free
// memory to the OS and reads VmRSS and the Go runtime's figures again.
func measureMem(wsCount func() int) (memReport, error) {
	var m memReport
	var err error
	if m.RSSRawKB, err = readRSSKB(); err != nil {
		return m, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	if m.RSSKB, err = readRSSKB(); err != nil {
		return m, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuse, m.StackInuse, m.HeapAlloc, m.Sys = ms.HeapInuse, ms.StackInuse, ms.HeapAlloc, ms.Sys
	m.Goroutines = runtime.NumGoroutine()
	m.WebSockets = wsCount()
	return m, nil
}

// readRSSKB returns the process's resident set size (VmRSS) in KiB.
func readRSSKB() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read RSS: %w", err)
			}
			return n, nil
		}
	}
	return 0, errors.New("read RSS: no VmRSS line in /proc/self/status")
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := rpprof.WriteHeapProfile(f); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}

// writeInfo writes key=value lines to path (atomically, so a reader never
// sees half of it), or to stdout when path is empty.
func writeInfo(path string, kv []string) error {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "%s=%s\n", kv[i], kv[i+1])
	}
	if path == "" {
		_, err := os.Stdout.WriteString(b.String())
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write info: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write info: %w", err)
	}
	return nil
}

// ---- login ----

func loginCmd(args []string) error {
	fs := flag.NewFlagSet("login", flag.ExitOnError)
	base := fs.String("url", "", "the gateway, http://host:port")
	user := fs.String("user", benchUser, "user name")
	pw := fs.String("password", benchPassword, "password")
	tokenOut := fs.String("token-out", "", "file to write the access token to")
	bodyOut := fs.String("body-out", "", "file to write the GET /api/v1/me response body to")
	fs.Parse(args)
	if *base == "" || *tokenOut == "" || *bodyOut == "" {
		return errors.New("-url, -token-out and -body-out are required")
	}
	req, _ := json.Marshal(map[string]string{"username": *user, "password": *pw, "deviceId": "gwbench"})
	res, err := http.Post(*base+"/api/v1/auth/login", "application/json", bytes.NewReader(req))
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("log in: %s: %s", res.Status, b)
	}
	var tokens struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(b, &tokens); err != nil || tokens.AccessToken == "" {
		return fmt.Errorf("log in: no access token in %s", b)
	}
	me, err := http.NewRequest("GET", *base+"/api/v1/me", nil)
	if err != nil {
		return fmt.Errorf("GET /api/v1/me: %w", err)
	}
	me.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	res, err = http.DefaultClient.Do(me)
	if err != nil {
		return fmt.Errorf("GET /api/v1/me: %w", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("GET /api/v1/me: %w", err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		return fmt.Errorf("GET /api/v1/me: %s %s: %s", res.Status, res.Header.Get("Content-Type"), body)
	}
	if err := os.WriteFile(*tokenOut, []byte(tokens.AccessToken), 0o600); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := os.WriteFile(*bodyOut, body, 0o600); err != nil {
		return fmt.Errorf("save body: %w", err)
	}
	return nil
}

// ---- load ----

// loadResult is what one load run measured.
type loadResult struct {
	Label     string         `json:"label"`
	URL       string         `json:"url"`
	Client    string         `json:"client"`
	Conns     int            `json:"conns"`
	WarmupS   float64        `json:"warmupS"`
	Seconds   float64        `json:"seconds"` // the measured window
	Requests  int64          `json:"requests"`
	Errors    int64          `json:"errors"` // transport errors (the connection is then redialled)
	Status    map[string]int `json:"status"` // status code -> count, measured window
	RPS       float64        `json:"rps"`
	P50US     float64        `json:"p50us"`
	P90US     float64        `json:"p90us"`
	P99US     float64        `json:"p99us"`
	MaxUS     float64        `json:"maxUs"`
	BodyBytes int            `json:"bodyBytes"`
}

// Phases of a load run, in order.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// worker is one connection's share of a load run.
type worker struct {
	lat    []time.Duration
	status map[int]int
	errs   int64
	body   int
}

func loadCmd(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	target := fs.String("url", "", "the URL to GET")
	token := fs.String("token", "", "bearer token (or @file to read it from a file)")
	conns := fs.Int("c", 64, "concurrent keep-alive connections, one request in flight on each")
	dur := fs.Duration("d", 10*time.Second, "measured duration")
	warm := fs.Duration("warmup", 2*time.Second, "warm-up before measuring (not counted)")
	client := fs.String("client", "raw", "raw (hand-written HTTP/1.1 over keep-alive TCP) or nethttp (net/http client)")
	label := fs.String("label", "", "name of the run in the report")
	out := fs.String("out", "", "file to write the result (JSON) to; default stdout")
	fs.Parse(args)
	if *target == "" {
		return errors.New("-url is required")
	}
	tok, err := readArg(*token)
	if err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("-url %q: want http://host:port/path", *target)
	}
	var do func(w *worker, phase *atomic.Int32)
	switch *client {
	case "raw":
		do = func(w *worker, phase *atomic.Int32) { rawLoop(w, phase, u, tok) }
	case "nethttp":
		tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true}
		hc := &http.Client{Transport: tr}
		do = func(w *worker, phase *atomic.Int32) { netHTTPLoop(w, phase, hc, *target, tok) }
	default:
		return fmt.Errorf("unknown -client %q: use raw or nethttp", *client)
	}

	var phase atomic.Int32
	workers := make([]*worker, *conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{status: map[int]int{}, lat: make([]time.Duration, 0, 1<<15)}
		workers[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); do(w, &phase) }()
	}
	time.Sleep(*warm)
	phase.Store(phaseMeasure)
	start := time.Now()
	time.Sleep(*dur)
	phase.Store(phaseStop)
	window := time.Since(start)
	wg.Wait()

	res := loadResult{Label: *label, URL: *target, Client: *client, Conns: *conns, WarmupS: warm.Seconds(), Seconds: window.Seconds(),
		Status: map[string]int{}}
	var lat []time.Duration
	for _, w := range workers {
		lat = append(lat, w.lat...)
		res.Errors += w.errs
		for code, n := range w.status {
			res.Status[strconv.Itoa(code)] += n
			res.Requests += int64(n)
		}
		res.BodyBytes = max(res.BodyBytes, w.body)
	}
	if len(lat) == 0 {
		return fmt.Errorf("no request completed in %s (%d transport errors)", *dur, res.Errors)
	}
	slices.Sort(lat)
	pct := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return float64(lat[max(0, i)]) / 1e3
	}
	res.RPS = float64(res.Requests) / window.Seconds()
	res.P50US, res.P90US, res.P99US, res.MaxUS = pct(0.50), pct(0.90), pct(0.99), float64(lat[len(lat)-1])/1e3
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintf(os.Stderr, "%s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, status %v, errors %d\n",
		*label, res.RPS, res.P50US/1e3, res.P99US/1e3, res.Status, res.Errors)
	if *out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// record counts a completed request if it both started and ended inside
// the measured window.
func (w *worker) record(started int32, phase *atomic.Int32, status int, d time.Duration) {
	if started == phaseMeasure && phase.Load() == phaseMeasure {
		w.lat = append(w.lat, d)
		w.status[status]++
	}
}

// rawLoop sends the same prebuilt request over one keep-alive connection
// and reads each response (status line, headers, Content-Length body)
// before sending the next. A transport error redials.
func rawLoop(w *worker, phase *atomic.Int32, u *url.URL, token string) {
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gwbench\r\nAccept: application/json\r\n", u.RequestURI(), u.Host)
	if token != "" {
		fmt.Fprintf(&req, "Authorization: Bearer %s\r\n", token)
	}
	req.WriteString("\r\n")
	raw := req.Bytes()
	var conn net.Conn
	var br *bufio.Reader
	for {
		p := phase.Load()
		if p == phaseStop {
			break
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			if err != nil {
				w.errs++
				time.Sleep(10 * time.Millisecond)
				continue
			}
			conn, br = c, bufio.NewReaderSize(c, 16<<10)
		}
		t0 := time.Now()
		status, n, keep, err := func() (int, int, bool, error) {
			if _, err := conn.Write(raw); err != nil {
				return 0, 0, false, err
			}
			return readResponse(br)
		}()
		d := time.Since(t0)
		if err != nil {
			w.errs++
			conn.Close()
			conn = nil
			continue
		}
		w.body = n
		w.record(p, phase, status, d)
		if !keep {
			conn.Close()
			conn = nil
		}
	}
	if conn != nil {
		conn.Close()
	}
}

// readResponse reads one HTTP/1.1 response and discards its body, which
// must have a Content-Length. It returns the status, the body length and
// whether the connection stays open.
func readResponse(br *bufio.Reader) (status, n int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, false, fmt.Errorf("malformed status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, 0, false, fmt.Errorf("malformed status line %q", line)
	}
	n, keep = -1, true
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if n, err = strconv.Atoi(string(value)); err != nil {
				return 0, 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		}
	}
	if n < 0 {
		return 0, 0, false, errors.New("response without Content-Length")
	}
	if _, err := br.Discard(n); err != nil {
		return 0, 0, false, err
	}
	return status, n, keep, nil
}

// netHTTPLoop sends requests through a net/http client whose transport
// keeps one idle connection per worker.
func netHTTPLoop(w *worker, phase *atomic.Int32, hc *http.Client, target, token string) {
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		w.errs++
		return
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for {
		p := phase.Load()
		if p == phaseStop {
			return
		}
		t0 := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			w.errs++
			time.Sleep(time.Millisecond)
			continue
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(t0)
		if err != nil {
			w.errs++
			continue
		}
		w.body = int(n)
		w.record(p, phase, res.StatusCode, d)
	}
}

// readArg returns s, or the contents of file f when s is @f.
func readArg(s string) (string, error) {
	f, ok := strings.CutPrefix(s, "@")
	if !ok {
		return s, nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", f, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ---- ws ----

// wsResult is what the WebSocket run measured.
type wsResult struct {
	Conns    int       `json:"conns"`
	Parallel int       `json:"parallel"`
	OpenS    float64   `json:"openS"` // time to open them all, hello frames received
	Failures int       `json:"failures"`
	Before   memReport `json:"before"`
	After    memReport `json:"after"`
	// Per open connection, in bytes.
	RSSPerConn        float64 `json:"rssPerConn"`       // VmRSS delta after a forced GC and scavenge
	RSSRawPerConn     float64 `json:"rssRawPerConn"`    // VmRSS delta as found
	HeapStackPerConn  float64 `json:"heapStackPerConn"` // HeapInuse+StackInuse delta
	GoroutinesPerConn float64 `json:"goroutinesPerConn"`
}

func wsCmd(args []string) error {
	fs := flag.NewFlagSet("ws", flag.ExitOnError)
	target := fs.String("url", "", "the WebSocket endpoint, ws://host:port/ws")
	token := fs.String("token", "", "gateway token sent as Authorization: Bearer (or @file)")
	ctl := fs.String("ctl", "", "the server's control address (host:port) that answers /mem")
	n := fs.Int("n", 10_000, "connections to open")
	par := fs.Int("p", 50, "connections opened at a time")
	settle := fs.Duration("settle", 2*time.Second, "wait after the last hello before measuring")
	out := fs.String("out", "", "file to write the result (JSON) to; default stdout")
	heapProfile := fs.String("heapprofile", "", "save the server's heap profile, taken with the connections open, to this file")
	fs.Parse(args)
	if *target == "" || *ctl == "" {
		return errors.New("-url and -ctl are required")
	}
	tok, err := readArg(*token)
	if err != nil {
		return err
	}
	if err := raiseNoFile(uint64(*n) + 100); err != nil {
		return err
	}
	res := wsResult{Conns: *n, Parallel: *par}
	if res.Before, err = fetchMem(*ctl); err != nil {
		return err
	}

	conns := make([]*websocket.Conn, *n)
	var next atomic.Int64
	var failures atomic.Int64
	var firstErr sync.Once
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	start := time.Now()
	var wg sync.WaitGroup
	for range *par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				c, err := dialHello(*target, hdr)
				if err != nil {
					failures.Add(1)
					firstErr.Do(func() { log.Printf("ws: connection %d: %v", i, err) })
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	res.OpenS = time.Since(start).Seconds()
	res.Failures = int(failures.Load())
	fmt.Fprintf(os.Stderr, "ws: %d connections open in %.1f s (%d failed)\n", *n-res.Failures, res.OpenS, res.Failures)
	time.Sleep(*settle)
	if res.After, err = fetchMem(*ctl); err != nil {
		return err
	}
	open := float64(*n - res.Failures)
	if open > 0 {
		res.RSSPerConn = float64(res.After.RSSKB-res.Before.RSSKB) * 1024 / open
		res.RSSRawPerConn = float64(res.After.RSSRawKB-res.Before.RSSRawKB) * 1024 / open
		res.HeapStackPerConn = (float64(res.After.HeapInuse+res.After.StackInuse) - float64(res.Before.HeapInuse+res.Before.StackInuse)) / open
		res.GoroutinesPerConn = float64(res.After.Goroutines-res.Before.Goroutines) / open
	}
	if *heapProfile != "" {
		if err := saveURL("http://"+*ctl+"/debug/pprof/heap", *heapProfile); err != nil {
			log.Print(err)
		}
	}
	fmt.Fprintf(os.Stderr, "ws: per connection: RSS %.1f KiB (as found %.1f KiB), heap+stack %.1f KiB, %.2f goroutines; server counts %d open\n",
		res.RSSPerConn/1024, res.RSSRawPerConn/1024, res.HeapStackPerConn/1024, res.GoroutinesPerConn, res.After.WebSockets)
	b, _ := json.MarshalIndent(res, "", "  ")
	if *out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
	} else if err = os.WriteFile(*out, append(b, '\n'), 0o600); err != nil {
		err = fmt.Errorf("write result: %w", err)
	}
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
	return err
}

// dialHello opens one WebSocket and waits for the server's hello frame;
// the connection then stays idle, answering pings in the background.
func dialHello(target string, hdr http.Header) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, target, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	typ, data, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("read hello: %w", err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if typ != websocket.MessageText || json.Unmarshal(data, &f) != nil || f.Type != "hello" {
		c.CloseNow()
		return nil, fmt.Errorf("first frame is not hello: %.200s", data)
	}
	c.CloseRead(context.Background())
	return c, nil
}

// saveURL writes the body of a GET to path.
func saveURL(u, path string) error {
	res, err := http.Get(u)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save %s: %w", u, err)
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return fmt.Errorf("save %s: %w", u, err)
	}
	return f.Close()
}

func fetchMem(ctl string) (memReport, error) {
	var m memReport
	res, err := http.Get("http://" + ctl + "/mem")
	if err != nil {
		return m, fmt.Errorf("server memory: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return m, fmt.Errorf("server memory: %s: %s", res.Status, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return m, fmt.Errorf("server memory: %w", err)
	}
	return m, nil
}

// ---- report ----

// Goals from the issue.
const (
	goalShare     = 0.50 // gateway throughput / bare throughput
	goalP99       = 10 * time.Millisecond
	goalPerConnWS = 40_000 // bytes per idle WebSocket: 40 kB (39.1 KiB)
)

func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	bareF := fs.String("bare", "", "load result of the bare handler")
	gwF := fs.String("gateway", "", "load result of the gateway")
	wsF := fs.String("ws", "", "WebSocket result")
	fs.Parse(args)
	var bare, gw loadResult
	var ws wsResult
	for _, x := range []struct {
		path string
		v    any
	}{{*bareF, &bare}, {*gwF, &gw}, {*wsF, &ws}} {
		if x.path == "" {
			return errors.New("-bare, -gateway and -ws are required")
		}
		b, err := os.ReadFile(x.path)
		if err != nil {
			return fmt.Errorf("read result: %w", err)
		}
		if err := json.Unmarshal(b, x.v); err != nil {
			return fmt.Errorf("read result %s: %w", x.path, err)
		}
	}
	pass := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "**FAIL**"
	}
	ms := func(us float64) string { return fmt.Sprintf("%.2f ms", us/1e3) }
	kib := func(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }
	share := gw.RPS / bare.RPS
	fmt.Printf("| measurement | result | goal | pass |\n|---|---|---|---|\n")
	fmt.Printf("| bare net/http handler, the same %d JSON bytes, %d conns, %.0f s | %s req/s, p50 %s, p99 %s%s | — | |\n",
		bare.BodyBytes, bare.Conns, bare.Seconds, thousands(bare.RPS), ms(bare.P50US), ms(bare.P99US), statusNote(bare))
	fmt.Printf("| gateway `GET /api/v1/me` (bearer access token), %d conns, %.0f s | %s req/s, %.0f%% of bare%s | >= %.0f%% of bare | %s |\n",
		gw.Conns, gw.Seconds, thousands(gw.RPS), 100*share, statusNote(gw), 100*goalShare, pass(share >= goalShare && gw.Errors == 0 && okOnly(gw)))
	fmt.Printf("| gateway latency | p50 %s, p90 %s, p99 %s | p99 < %d ms | %s |\n",
		ms(gw.P50US), ms(gw.P90US), ms(gw.P99US), goalP99.Milliseconds(), pass(gw.P99US*1e3 < float64(goalP99)))
	fmt.Printf("| %s idle WebSockets (gateway token), opened %d at a time | open in %.1f s, %d failed, server counts %s | — | |\n",
		thousands(float64(ws.Conns)), ws.Parallel, ws.OpenS, ws.Failures, thousands(float64(ws.After.WebSockets)))
	fmt.Printf("| memory per idle WebSocket: VmRSS delta / conns (after GC) | %s (as found: %s) | < 40 kB (39.1 KiB) | %s |\n",
		kib(ws.RSSPerConn), kib(ws.RSSRawPerConn), pass(ws.Failures == 0 && ws.RSSPerConn < goalPerConnWS))
	fmt.Printf("| memory per idle WebSocket: Go HeapInuse+StackInuse delta / conns | %s (%.1f goroutines each) | < 40 kB (39.1 KiB) | %s |\n",
		kib(ws.HeapStackPerConn), ws.GoroutinesPerConn, pass(ws.Failures == 0 && ws.HeapStackPerConn < goalPerConnWS))
	return nil
}

// okOnly reports whether every measured response was 200.
func okOnly(r loadResult) bool {
	for code := range r.Status {
		if code != "200" {
			return false
		}
	}
	return true
}

// statusNote mentions non-200 answers and transport errors, if any.
func statusNote(r loadResult) string {
	var parts []string
	for code, n := range r.Status {
		if code != "200" {
			parts = append(parts, fmt.Sprintf("%d × %s", n, code))
		}
	}
	slices.Sort(parts)
	if r.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d transport errors", r.Errors))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// thousands formats v rounded, with commas.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
