package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
)

// ProtocolVersion is the WebSocket frame protocol (docs/protocol.md).
const ProtocolVersion = 1

// Close codes beyond RFC 6455's (the 4000-4999 range is the application's).
const (
	CloseUnauthenticated websocket.StatusCode = 4401 // bad credentials, or the session/token ended
	CloseForbidden       websocket.StatusCode = 4403
	CloseTimeout         websocket.StatusCode = 4408 // no auth frame in time, or idle
	CloseRateLimited     websocket.StatusCode = 4429
)

// inFrame is a frame from the client.
type inFrame struct {
	Type   string          `json:"type"`
	ID     string          `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Token  string          `json:"token,omitempty"`
	// Binding proves a browser session's page is the gateway's own
	// (auth.CheckBinding): the dashboard sends it in its first frame,
	// since a browser cannot add headers to the upgrade.
	Binding string `json:"binding,omitempty"`
}

// outFrame is a frame to the client.
type outFrame struct {
	Type      string          `json:"type"`
	ID        string          `json:"id,omitempty"`
	Result    any             `json:"result,omitempty"`
	Error     *errorDetail    `json:"error,omitempty"`
	Event     string          `json:"event,omitempty"`
	Stream    string          `json:"stream,omitempty"` // output frames: stdout or stderr
	Data      any             `json:"data,omitempty"`
	Protocol  int             `json:"protocol,omitempty"`
	Version   string          `json:"version,omitempty"`
	Principal *auth.Principal `json:"principal,omitempty"`
	Heartbeat *heartbeat      `json:"heartbeat,omitempty"`
}

type heartbeat struct {
	PingIntervalMS int64 `json:"pingIntervalMs"`
	IdleTimeoutMS  int64 `json:"idleTimeoutMs"`
}

// wsMethod is a request type: the permission it needs and what it does.
type wsMethod struct {
	perm auth.Permission
	call func(ctx context.Context, c *wsConn, id string, params json.RawMessage) (any, error)
	// async requests run beside the read loop (long ones such as exec),
	// so the connection keeps answering meanwhile.
	async bool
}

func (s *Server) wsMethods() map[string]wsMethod {
	return map[string]wsMethod{
		"ping": {perm: auth.PermReadOwn, call: func(context.Context, *wsConn, string, json.RawMessage) (any, error) {
			return map[string]any{"time": s.opts.Now().UTC()}, nil
		}},
		"me":   {perm: auth.PermReadOwn, call: func(_ context.Context, c *wsConn, _ string, _ json.RawMessage) (any, error) { return c.p, nil }},
		"exec": {perm: auth.PermExec, call: s.wsExec, async: true},
		// Each event checks its own permission.
		"subscribe": {perm: auth.PermReadOwn, call: s.wsSubscribe},
	}
}

// wsConn is one open WebSocket.
type wsConn struct {
	c        *websocket.Conn
	p        auth.Principal
	ip       string
	cancel   context.CancelFunc
	lastSeen atomic.Int64 // Unix ns of the last frame or pong received
	lastPing atomic.Int64
	pinging  atomic.Bool
	closing  atomic.Bool
	subs     atomic.Uint32 // the live events subscribed to (wsEvents bits)
}

// originPatterns turns allowed origins into coder/websocket patterns
// (path.Match syntax, so metacharacters such as IPv6 brackets are escaped).
func originPatterns(origins []string) []string {
	esc := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil {
			out = append(out, esc.Replace(u.Scheme+"://"+u.Host))
		}
	}
	return out
}

// websocket upgrades /ws. Credentials come from the Authorization header or
// the dashboard's cookie, or else in the first frame; never the URL.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ip := clientIP(r)
	if !s.originAllowed(r) {
		s.metrics.crossOriginDenied.Inc()
		s.record(r.Context(), "anonymous", "ws.connect", auditlog.OutcomeDenied, ip, map[string]any{"reason": "origin not allowed", "origin": r.Header.Get("Origin")})
		return &apiError{Status: http.StatusForbidden, Code: CodeCrossOriginDenied, Message: "origin not allowed"}
	}
	// No limit on the address itself: other clients' failed passwords or
	// tokens must not keep a valid token out. Bad tokens, on the upgrade
	// or in the auth frame, are limited by their own counter (per token id,
	// or per address for tokens that name none) and answered 429 or 4429.
	var p auth.Principal
	authed, pending := false, false
	if tok := s.credential(r); tok != "" {
		var err error
		if p, err = s.authToken(r.Context(), tok, ip); err != nil {
			return err
		}
		authed = true
		// A browser session's binding comes in the header (clients that
		// can set one) or, from the dashboard, in the first frame.
		if b := r.Header.Get(BindingHeader); b != "" || !p.Bound {
			if err := s.opts.Auth.CheckBinding(r.Context(), p, b, ip); err != nil {
				return err
			}
		} else {
			pending = true
		}
	}
	// The server's read and write timeouts must not cut a long-lived
	// connection; the heartbeat takes over from here.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn := &wsConn{ip: ip}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns: originPatterns(s.opts.AllowedOrigins),
		OnPongReceived: func(context.Context, []byte) { conn.lastSeen.Store(time.Now().UnixNano()) },
	})
	if err != nil {
		return nil // Accept has answered the request
	}
	c.SetReadLimit(s.opts.WS.MaxMessageBytes)
	conn.c = c
	// The connection outlives this handler: its context keeps the
	// request's values but not its cancellation.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	handedOff := false
	defer func() {
		if !handedOff {
			cancel()
		}
	}()
	conn.cancel = cancel

	if !authed || pending {
		if p, err = s.wsAuthFrame(ctx, c, ip, p, pending); err != nil {
			return nil
		}
	}
	if !p.Can(auth.PermReadOwn) {
		_ = c.Close(CloseForbidden, "forbidden")
		return nil
	}
	if !s.record(ctx, p.Actor(), "ws.connect", auditlog.OutcomeSuccess, ip, nil) {
		_ = c.Close(websocket.StatusInternalError, "audit log unavailable")
		return nil
	}
	conn.p = p
	now := time.Now().UnixNano()
	conn.lastSeen.Store(now)
	conn.lastPing.Store(now)
	if !s.hub.add(conn) {
		_ = c.Close(websocket.StatusGoingAway, "server shutting down")
		return nil
	}
	s.write(ctx, conn, outFrame{Type: "hello", Protocol: ProtocolVersion, Version: s.opts.Version, Principal: &p,
		Heartbeat: &heartbeat{PingIntervalMS: s.opts.WS.PingInterval.Milliseconds(), IdleTimeoutMS: s.opts.WS.IdleTimeout.Milliseconds()}})
	// The connection is hijacked, so the handler may return. Reading in a
	// goroutine of its own lets the request, the response and this
	// goroutine's deep stack go: an idle connection then costs about
	// half the memory (docs/performance.md).
	handedOff = true
	go func() {
		defer s.hub.remove(conn)
		defer cancel()
		s.readLoop(ctx, conn)
	}()
	return nil
}

// wsAuthFrame waits for {"type":"auth","token":…} (with "binding" when
// the token is a browser session's), or, when the upgrade's cookie named
// a browser session (pending), for {"type":"auth","binding":…}.
func (s *Server) wsAuthFrame(ctx context.Context, c *websocket.Conn, ip string, have auth.Principal, pending bool) (auth.Principal, error) {
	// Not a read deadline: coder/websocket drops the connection when a
	// read's context ends, and the client deserves a close code.
	timer := time.AfterFunc(s.opts.WS.AuthTimeout, func() { _ = c.Close(CloseTimeout, "no auth frame in time") })
	typ, data, err := c.Read(ctx)
	if !timer.Stop() || err != nil {
		if err == nil {
			err = errors.New("auth frame too late")
		}
		return auth.Principal{}, err
	}
	var f inFrame
	if typ != websocket.MessageText || json.Unmarshal(data, &f) != nil || f.Type != "auth" || (f.Token == "" && !pending) {
		_ = c.Close(websocket.StatusPolicyViolation, `first frame must be {"type":"auth","token":...}`)
		return auth.Principal{}, errors.New("no auth frame")
	}
	p := have
	if !pending {
		p, err = s.authToken(ctx, f.Token, ip)
	}
	if err == nil {
		if err = s.opts.Auth.CheckBinding(ctx, p, f.Binding, ip); err != nil {
			_ = c.Close(CloseUnauthenticated, "session binding missing or wrong")
			return auth.Principal{}, err
		}
	}
	if err != nil {
		// authToken has counted it (rate limited or failed).
		var rl *auth.RateLimitedError
		if errors.As(err, &rl) {
			_ = c.Close(CloseRateLimited, "rate limited")
		} else {
			_ = c.Close(CloseUnauthenticated, "authentication failed")
		}
		return auth.Principal{}, err
	}
	return p, nil
}

func (s *Server) readLoop(ctx context.Context, conn *wsConn) {
	methods := s.wsMethods()
	for {
		typ, data, err := conn.c.Read(ctx)
		if err != nil {
			return
		}
		conn.lastSeen.Store(time.Now().UnixNano())
		s.metrics.wsMessages.WithLabelValues("in").Inc()
		if typ != websocket.MessageText {
			_ = conn.c.Close(websocket.StatusUnsupportedData, "text frames only")
			return
		}
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.write(ctx, conn, outFrame{Type: "error", Error: &errorDetail{Code: CodeInvalidInput, Message: "malformed JSON frame"}})
			continue
		}
		if f.Type != "request" || f.ID == "" || f.Method == "" {
			s.write(ctx, conn, outFrame{Type: "error", ID: f.ID, Error: &errorDetail{Code: CodeInvalidInput,
				Message: `expected {"type":"request","id":...,"method":...}`}})
			continue
		}
		m, ok := methods[f.Method]
		if !ok {
			s.write(ctx, conn, outFrame{Type: "error", ID: f.ID, Error: &errorDetail{Code: CodeNotFound, Message: "unknown method " + f.Method}})
			continue
		}
		if !conn.p.Can(m.perm) {
			s.record(ctx, conn.p.Actor(), "authz.denied", auditlog.OutcomeDenied, conn.ip, map[string]any{"ws_method": f.Method})
			s.write(ctx, conn, outFrame{Type: "error", ID: f.ID, Error: &errorDetail{Code: CodeForbidden, Message: errForbidden.Message}})
			continue
		}
		if m.async {
			go s.answer(ctx, conn, m, f)
			continue
		}
		s.answer(ctx, conn, m, f)
	}
}

// answer runs one request and sends its response or error.
func (s *Server) answer(ctx context.Context, conn *wsConn, m wsMethod, f inFrame) {
	res, err := m.call(ctx, conn, f.ID, f.Params)
	if err != nil {
		ae := toAPIError(err)
		s.write(ctx, conn, outFrame{Type: "error", ID: f.ID, Error: &errorDetail{Code: ae.Code, Message: ae.Message, RetryAfter: ae.RetryAfter}})
		return
	}
	s.write(ctx, conn, outFrame{Type: "response", ID: f.ID, Result: res})
}

// write sends one frame, giving up after 10 s (a client that does not read
// is closed by the heartbeat).
func (s *Server) write(ctx context.Context, conn *wsConn, f outFrame) {
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if conn.c.Write(wctx, websocket.MessageText, b) == nil {
		s.metrics.wsMessages.WithLabelValues("out").Inc()
	}
}

// record appends an audit entry and reports whether it was written.
func (s *Server) record(ctx context.Context, actor, action, outcome, ip string, details map[string]any) bool {
	if _, err := s.opts.Auditor.Append(ctx, auditlog.Event{Actor: actor, Action: action, Outcome: outcome, SourceIP: ip, Details: details}); err != nil {
		s.log.Error("audit append failed", "action", action, "error", err)
		return false
	}
	return true
}

// hub tracks open WebSockets: it closes those whose session or token ended,
// pings them, closes idle ones, and drains them on shutdown.
type hub struct {
	s      *Server
	mu     sync.Mutex
	conns  map[*wsConn]struct{}
	closed bool
	wg     sync.WaitGroup
	feed   *auditFeed
}

func newHub(s *Server) *hub {
	return &hub{s: s, conns: map[*wsConn]struct{}{}, feed: &auditFeed{s: s, wake: make(chan struct{}, 1)}}
}

func (h *hub) add(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *hub) remove(c *wsConn) {
	h.mu.Lock()
	_, ok := h.conns[c]
	delete(h.conns, c)
	h.mu.Unlock()
	if ok {
		h.wg.Done()
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *hub) snapshot(match func(*wsConn) bool) []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*wsConn
	for c := range h.conns {
		if match == nil || match(c) {
			out = append(out, c)
		}
	}
	return out
}

// end tells a connection why it ends and closes it, once.
func (h *hub) end(c *wsConn, code websocket.StatusCode, reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.s.write(ctx, c, outFrame{Type: "event", Event: "closing", Data: map[string]any{"reason": reason}})
		_ = c.c.Close(code, reason)
		c.cancel()
	}()
}

func (h *hub) closeSession(sid, reason string) {
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.p.SessionID == sid }) {
		h.end(c, CloseUnauthenticated, reason)
	}
}

func (h *hub) closeUser(name, reason string) {
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.p.Kind == "user" && c.p.Name == name }) {
		h.end(c, CloseUnauthenticated, reason)
	}
}

// closeUserExcept closes a user's sessions' connections other than those
// of session keep (the caller's own, which stays).
func (h *hub) closeUserExcept(name, keep, reason string) {
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.p.Kind == "user" && c.p.Name == name && c.p.SessionID != keep }) {
		h.end(c, CloseUnauthenticated, reason)
	}
}

func (h *hub) closeToken(nameOrID, reason string) {
	for _, c := range h.snapshot(func(c *wsConn) bool {
		return c.p.Kind == "token" && (c.p.TokenID == nameOrID || c.p.Name == nameOrID)
	}) {
		h.end(c, CloseUnauthenticated, reason)
	}
}

// closeAll sends every connection a going-away close frame and waits for
// them to finish, or for ctx to end (then they are cut).
func (h *hub) closeAll(ctx context.Context) {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	for _, c := range h.snapshot(nil) {
		h.end(c, websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range h.snapshot(nil) {
			_ = c.c.CloseNow()
		}
	}
}

// run is the sweep: every SweepInterval it closes connections whose session
// or token ended (revoked here or by another process, expired, idle), closes
// connections that went quiet, and pings the others.
func (h *hub) run(ctx context.Context) {
	go h.feed.run(ctx, h.s.opts.WS.SweepInterval)
	t := time.NewTicker(h.s.opts.WS.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.sweep(ctx)
		}
	}
}

func (h *hub) sweep(ctx context.Context) {
	conns := h.snapshot(nil)
	if len(conns) == 0 {
		return
	}
	live := map[string]bool{}
	check := func(key string, f func() (bool, error)) bool {
		if v, ok := live[key]; ok {
			return v
		}
		v, err := f()
		if err != nil {
			h.s.log.Warn("websocket sweep", "error", err)
			v = true // a store hiccup does not drop every connection
		}
		live[key] = v
		return v
	}
	opts := h.s.opts.WS
	now := time.Now().UnixNano()
	for _, c := range conns {
		if c.closing.Load() {
			continue
		}
		ok := true
		switch {
		case c.p.SessionID != "":
			ok = check("s:"+c.p.SessionID, func() (bool, error) { return h.s.opts.Auth.SessionLive(ctx, c.p.SessionID) })
		case c.p.TokenID != "":
			ok = check("t:"+c.p.TokenID, func() (bool, error) { return h.s.opts.Auth.TokenLive(ctx, c.p.TokenID) })
		}
		if !ok {
			h.end(c, CloseUnauthenticated, "session ended")
			continue
		}
		if now-c.lastSeen.Load() > int64(opts.IdleTimeout) {
			h.end(c, CloseTimeout, "idle timeout")
			continue
		}
		if now-c.lastPing.Load() >= int64(opts.PingInterval) && c.pinging.CompareAndSwap(false, true) {
			c.lastPing.Store(now)
			go func() {
				defer c.pinging.Store(false)
				pctx, cancel := context.WithTimeout(ctx, opts.PingInterval)
				defer cancel()
				_ = c.c.Ping(pctx) // a missing pong shows as idleness
			}()
		}
	}
}

// Live events: a connection allowed to read the audit log may subscribe
// to the entries as they are appended ("audit") and to the commands view's
// rows ("commands", see api_commands.go). Subscribing is a read of the log
// and recorded as one (recordAuditRead, filters {"view": "live"}), before
// anything is sent; the entries pushed afterwards are not recorded one by
// one.
var wsEvents = map[string]struct {
	bit  uint32
	perm auth.Permission
}{
	"audit":    {1 << 0, auth.PermAuditRead},
	"commands": {1 << 1, auth.PermAuditRead},
}

type subscribeParams struct {
	Events []string `json:"events"`
}

func (s *Server) wsSubscribe(ctx context.Context, c *wsConn, _ string, params json.RawMessage) (any, error) {
	var req subscribeParams
	dec := json.NewDecoder(strings.NewReader(string(params)))
	dec.DisallowUnknownFields()
	if len(params) == 0 || dec.Decode(&req) != nil || len(req.Events) == 0 {
		return nil, errInput(`subscribe params: {"events": ["audit", "commands"]}`)
	}
	var bits uint32
	for _, name := range req.Events {
		ev, ok := wsEvents[name]
		if !ok {
			return nil, errInput("unknown event %q: subscribe to audit or commands", name)
		}
		if !c.p.Can(ev.perm) {
			s.record(ctx, c.p.Actor(), "authz.denied", auditlog.OutcomeDenied, c.ip, map[string]any{"ws_method": "subscribe", "event": name})
			return nil, errForbidden
		}
		bits |= ev.bit
	}
	events := append([]string(nil), req.Events...)
	sort.Strings(events)
	if err := s.recordAuditRead(ctx, c.p, c.ip, map[string]any{"view": "live", "events": strings.Join(events, ",")}); err != nil {
		return nil, err
	}
	bits, err := s.hub.feed.subscribe(ctx, c, bits)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, ev := range wsEvents {
		if bits&ev.bit != 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return map[string]any{"events": names}, nil
}

// feedBatch bounds the entries one push reads; a longer backlog is read
// by further pushes straight after.
const feedBatch = 500

var errFeedFull = errors.New("feed batch full")

// auditFeed follows the audit log's head while some connection subscribes
// and pushes what is appended. Entries appended through this process's
// Auditor wake it at once (Metrics.onAudit); entries from elsewhere (the
// command line, another replica, entries written together with another's
// commit) are found by a read of the entries past the last one sent,
// every WS.SweepInterval, which costs one indexed range query that finds
// nothing most of the time. Every entry is read from the log, in order,
// so none is sent twice or skipped, whichever way it came.
type auditFeed struct {
	s    *Server
	wake chan struct{}
	mu   sync.Mutex
	last uint64 // the newest entry sent
	on   bool   // following: last is current
}

// notify wakes the feed; it never blocks.
func (f *auditFeed) notify() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// subscribe adds events to a connection's subscriptions and returns them
// all; the feed starts following at the head unless it follows already.
// Both happen under the feed's lock, so that a push never sees the feed
// on without the subscriber, or the subscriber without the feed on.
func (f *auditFeed) subscribe(ctx context.Context, c *wsConn, bits uint32) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		h, err := f.s.opts.Audit.Head(ctx)
		if err != nil {
			return 0, err
		}
		f.last, f.on = h.Seq, true
	}
	return c.subs.Or(bits) | bits, nil
}

func (f *auditFeed) run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
		}
		if f.push(ctx) {
			f.notify() // a full batch: more is waiting
		}
	}
}

// push sends the entries appended since the last push to the connections
// that subscribe to them, and reports whether more may be waiting. With
// no subscriber left the feed stops following; the next subscription
// starts again at the head.
func (f *auditFeed) push(ctx context.Context) bool {
	f.mu.Lock()
	conns := f.s.hub.snapshot(func(c *wsConn) bool { return c.subs.Load() != 0 && !c.closing.Load() })
	if len(conns) == 0 || !f.on {
		f.on = false
		f.mu.Unlock()
		return false
	}
	var entries []auditlog.Entry
	err := f.s.opts.Audit.Each(ctx, f.last+1, time.Unix(0, 0), func(e auditlog.Entry) error {
		entries = append(entries, e)
		if len(entries) == feedBatch {
			return errFeedFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFeedFull) {
		f.mu.Unlock()
		f.s.log.Warn("live audit feed", "error", err)
		return false
	}
	if len(entries) > 0 {
		f.last = entries[len(entries)-1].Seq
	}
	f.mu.Unlock()
	if len(entries) == 0 {
		return false
	}
	type frame struct {
		bit uint32
		f   outFrame
	}
	frames := make([]frame, 0, len(entries))
	for _, e := range entries {
		frames = append(frames, frame{wsEvents["audit"].bit, outFrame{Type: "event", Event: "audit", Data: e}})
		if row, ok := commandFromEntry(e); ok {
			frames = append(frames, frame{wsEvents["commands"].bit, outFrame{Type: "event", Event: "command", Data: row}})
		}
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		subs := c.subs.Load()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, fr := range frames {
				if subs&fr.bit != 0 {
					f.s.write(ctx, c, fr.f)
				}
			}
		}()
	}
	wg.Wait()
	return len(entries) == feedBatch
}
