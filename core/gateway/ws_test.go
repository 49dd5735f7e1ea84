package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
)

func (e *testEnv) token(name string, role auth.Role) string {
	e.t.Helper()
	tok, _, err := e.svc.CreateToken(context.Background(), auth.Local("test"), name, role, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// dial opens /ws with optional headers.
func (e *testEnv) dial(ctx context.Context, path string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, "ws://"+e.host+path, &websocket.DialOptions{HTTPHeader: hdr})
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func readFrame(t *testing.T, ctx context.Context, c *websocket.Conn) map[string]any {
	t.Helper()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return m
}

func send(t *testing.T, ctx context.Context, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// closeCode reads until the connection ends and returns its close code.
func closeCode(ctx context.Context, c *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestWebSocketTokenInHeader(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	tok := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, "/ws", bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	hello := readFrame(t, ctx, c)
	if hello["type"] != "hello" || hello["protocol"] != float64(ProtocolVersion) || hello["principal"].(map[string]any)["role"] != "agent" {
		t.Fatalf("hello: %v", hello)
	}
	send(t, ctx, c, map[string]any{"type": "request", "id": "1", "method": "ping"})
	if r := readFrame(t, ctx, c); r["type"] != "response" || r["id"] != "1" {
		t.Fatalf("ping: %v", r)
	}
	send(t, ctx, c, map[string]any{"type": "request", "id": "2", "method": "nope"})
	if r := readFrame(t, ctx, c); r["type"] != "error" || r["error"].(map[string]any)["code"] != CodeNotFound {
		t.Fatalf("unknown method: %v", r)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if r := readFrame(t, ctx, c); r["type"] != "error" {
		t.Fatalf("malformed frame: %v", r)
	}
	if !hasAction(e.auditActions(), "ws.connect:success") {
		t.Fatal("connection not audited")
	}
}

func TestWebSocketAuthFrame(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	access := e.login("alice", nil).AccessToken
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send(t, ctx, c, map[string]any{"type": "auth", "token": access})
	if hello := readFrame(t, ctx, c); hello["type"] != "hello" {
		t.Fatalf("hello: %v", hello)
	}
}

// A token in the URL is never read: the server still waits for the auth
// frame and gives up.
func TestWebSocketIgnoresTokenInURL(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.AuthTimeout = 200 * time.Millisecond }})
	tok := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, q := range []string{"?token=" + tok, "?access_token=" + tok} {
		c, _, err := e.dial(ctx, "/ws"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code := closeCode(ctx, c); code != CloseTimeout {
			t.Fatalf("%s: close code %d, want %d", q, code, CloseTimeout)
		}
	}
}

func TestWebSocketBadCredentialsAndRateLimit(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bad := "wgt_0123456789abcdef_" + strings.Repeat("Z", 43)
	// Bad token in the header: refused before the upgrade.
	if _, res, err := e.dial(ctx, "/ws", bearer(bad)); err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("bad header token: %v %v", err, res)
	}
	// Bad token in the first frame: closed with 4401.
	c, _, err := e.dial(ctx, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, c, map[string]any{"type": "auth", "token": bad})
	if code := closeCode(ctx, c); code != CloseUnauthenticated {
		t.Fatalf("bad frame token: close %d", code)
	}
	for range 3 {
		e.dial(ctx, "/ws", bearer(bad))
	}
	// Five failures: the next bad token is refused without a lookup, but
	// a good token still connects (a 256-bit secret is not guessable).
	_, res, err := e.dial(ctx, "/ws", bearer(bad))
	if err == nil || res == nil || res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit on upgrade: %v %v", err, res)
	}
	good := e.token("agent", auth.RoleAgent)
	c, _, err = e.dial(ctx, "/ws", bearer(good))
	if err != nil {
		t.Fatalf("a good token after the bad ones: %v", err)
	}
	c.CloseNow()
}

func TestWebSocketOrigin(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.AllowedOrigins = []string{"https://console.example"} }})
	tok := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for origin, want := range map[string]int{"https://evil.example": 403, "https://" + e.host: 403, "http://" + e.host: 101, "https://console.example": 101} {
		h := bearer(tok)
		h.Set("Origin", origin)
		c, res, err := e.dial(ctx, "/ws", h)
		got := 0
		if res != nil {
			got = res.StatusCode
		}
		if got != want {
			t.Errorf("origin %s: %d (%v), want %d", origin, got, err, want)
		}
		if c != nil {
			c.CloseNow()
		}
	}
	if !hasAction(e.auditActions(), "ws.connect:denied") {
		t.Fatal("refused origin not audited")
	}
}

func TestWebSocketMessageLimit(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.MaxMessageBytes = 1024 }})
	tok := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, "/ws", bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, ctx, c)
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"request","id":"1","method":"ping","params":"`+strings.Repeat("x", 4096)+`"}`))
	if code := closeCode(ctx, c); code != websocket.StatusMessageTooBig {
		t.Fatalf("close %d, want %d", code, websocket.StatusMessageTooBig)
	}
}

// Revoking a session closes its WebSockets: at once through the API, and
// within the sweep interval when another process (warden sessions revoke)
// does it.
func TestRevocationClosesWebSockets(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.SweepInterval = 100 * time.Millisecond }})
	e.addUser("admin", auth.RoleAdmin)
	e.addUser("bob", auth.RoleViewer)
	adm := e.login("admin", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(tok string) *websocket.Conn {
		c, _, err := e.dial(ctx, "/ws", bearer(tok))
		if err != nil {
			t.Fatal(err)
		}
		readFrame(t, ctx, c)
		return c
	}
	bob := e.login("bob", nil)
	c := open(bob.AccessToken)
	if r := e.call("DELETE", "/api/v1/sessions/"+bob.Session.ID, adm.AccessToken, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if ev := readFrame(t, ctx, c); ev["type"] != "event" || ev["event"] != "closing" {
		t.Fatalf("no closing event: %v", ev)
	}
	if code := closeCode(ctx, c); code != CloseUnauthenticated {
		t.Fatalf("close %d after API revoke", code)
	}
	// Another process revokes: a second Service over the same database.
	bob = e.login("bob", map[string]any{"deviceId": "other"})
	c = open(bob.AccessToken)
	other, err := auth.New(auth.Options{DB: e.db, Audit: e.log, AccessKey: make([]byte, 32), TOTPKey: make([]byte, 32), Hasher: password.NewHasher(password.Default(), 1)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := other.RevokeSession(ctx, auth.Local("root"), bob.Session.ID, ""); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(ctx, c); code != CloseUnauthenticated {
		t.Fatalf("close %d after revoke by another process", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// A revoked gateway token's connection closes too.
	tok := e.token("agent", auth.RoleAgent)
	c = open(tok)
	if r := e.call("DELETE", "/api/v1/tokens/agent", adm.AccessToken, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if code := closeCode(ctx, c); code != CloseUnauthenticated {
		t.Fatalf("close %d after token revoke", code)
	}
}

// A client that stops answering pings is closed.
func TestWebSocketIdleTimeout(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) {
		o.WS.PingInterval, o.WS.IdleTimeout, o.WS.SweepInterval = 100*time.Millisecond, time.Second, 50*time.Millisecond
	}})
	tok := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A reading client answers pings and stays.
	live, _, err := e.dial(ctx, "/ws", bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer live.CloseNow()
	readFrame(t, ctx, live)
	rctx := live.CloseRead(ctx)
	// A client that never reads never answers a ping.
	dead, _, err := e.dial(ctx, "/ws", bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.CloseNow()
	// Both connections are registered first (the upgrade returns before
	// the server has recorded the connection).
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.hub.count() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := e.srv.hub.count(); n != 2 {
		t.Fatalf("%d connections registered, want 2", n)
	}
	// Idle after 1 s; the close handshake then waits up to 5 s for a
	// close frame the silent client never sends.
	deadline = time.Now().Add(15 * time.Second)
	for e.srv.hub.count() != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.srv.hub.count(); n != 1 {
		t.Fatalf("%d connections open; the silent one should be closed", n)
	}
	if rctx.Err() != nil {
		t.Fatal("the answering client was closed too")
	}
}

// Shutdown sends every WebSocket a going-away close and returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	tok := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, "/ws", bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	readFrame(t, ctx, c)
	codes := make(chan websocket.StatusCode, 1)
	go func() { codes <- closeCode(ctx, c) }()
	if err := e.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if code := <-codes; code != websocket.StatusGoingAway {
		t.Fatalf("close %d, want going away", code)
	}
	if _, err := http.Get(e.url + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}
