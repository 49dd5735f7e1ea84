package testscript

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/warden-sec/warden/internal/browsertest"
)

const browserLimit = 20 * time.Second

// The owner logs in to the dashboard in a real Chromium, then visits a
// page served from another port of 127.0.0.1: browsers scope cookies by
// host, not port, so that listener receives the dashboard's cookies.
// Replayed against the gateway every way they could be, they are refused:
// a session's cookies work only with the binding that only the gateway's
// own page holds. The owner's session is unharmed.
func TestAttackStolenDashboardCookies(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	g.addUser("alice", "admin")

	// The thief: a listener on another loopback port, as another local
	// user (or a sandboxed command with network) could start.
	var mu sync.Mutex
	var stolen []*http.Cookie
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen = append(stolen, r.Cookies()...)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><title>nothing to see</title><p id=x>hello</p>"))
	}))
	defer thief.Close()
	if h, _, _ := net.SplitHostPort(thief.Listener.Addr().String()); h != "127.0.0.1" {
		t.Fatalf("the thief listens on %s", h)
	}

	ctx := browsertest.Start(t, 1280, 800)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, browserLimit)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitJS := func(what, cond string) {
		t.Helper()
		deadline := time.Now().Add(browserLimit)
		for {
			c, cancel := context.WithTimeout(ctx, time.Second)
			ok, err := chromedp.Run(c, chromedp.Evaluate[bool]("!!("+cond+")"))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				c, cancel := context.WithTimeout(ctx, 5*time.Second)
				page, _ := chromedp.Run(c, chromedp.Evaluate[string]("document.body.innerText"))
				cancel()
				t.Fatalf("%s: not seen in %v (%v); the page shows:\n%s", what, browserLimit, err, page)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	loggedIn := `document.getElementById("user-name").textContent === "alice" && document.getElementById("live-status").textContent === "live"`

	run("open the dashboard", chromedp.Navigate(g.url+"/"))
	run("wait for the login form", chromedp.WaitVisible(chromedp.ID("login-form")))
	run("log in",
		chromedp.SetValue(chromedp.ID("login-username"), "alice"),
		chromedp.SetValue(chromedp.ID("login-password"), testPassword),
		chromedp.Click(chromedp.ID("login-submit")))
	waitJS("logged in with a live WebSocket", loggedIn)

	// The owner's browser visits the thief's page.
	run("visit the other port", chromedp.Navigate(thief.URL+"/"))
	mu.Lock()
	cookies := map[string]string{}
	for _, c := range stolen {
		cookies[c.Name] = c.Value
	}
	mu.Unlock()
	access, refresh := cookies["warden-access"], cookies["warden-refresh"]
	if access == "" || refresh == "" {
		t.Fatalf("the browser did not send the gateway's cookies to the other port (%v): the premise of the attack changed", cookies)
	}

	withCookies := func(h http.Header) { h.Set("Cookie", "warden-access="+access+"; warden-refresh="+refresh) }
	check := func(what string, r response) {
		t.Helper()
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s with stolen cookies: %d %s", what, r.status, r.body)
		}
	}
	check("GET /api/v1/me", g.request("GET", "/api/v1/me", nil, withCookies))
	check("GET /api/v1/me (bearer)", g.call("GET", "/api/v1/me", access, nil))
	check("POST /api/v1/exec", g.request("POST", "/api/v1/exec", map[string]any{"argv": []string{"id"}}, withCookies))
	check("POST /api/v1/exec (bearer)", g.call("POST", "/api/v1/exec", access, map[string]any{"argv": []string{"id"}}))
	check("GET /api/v1/sessions", g.request("GET", "/api/v1/sessions", nil, withCookies))
	check("POST /api/v1/auth/refresh (cookie)", g.request("POST", "/api/v1/auth/refresh", nil, withCookies))
	check("POST /api/v1/auth/refresh (body)", g.call("POST", "/api/v1/auth/refresh", "", map[string]any{"refreshToken": refresh}))
	check("POST /api/v1/auth/refresh (wrong binding)", g.request("POST", "/api/v1/auth/refresh", nil, func(h http.Header) {
		withCookies(h)
		h.Set("X-Warden-Binding", "guess")
	}))

	// The WebSocket: with the cookie on the upgrade, and with the access
	// token in the auth frame, no binding means no connection.
	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for name, dial := range map[string]struct {
		header http.Header
		frame  map[string]any
	}{
		"cookie":          {http.Header{"Cookie": {"warden-access=" + access}}, map[string]any{"type": "auth", "binding": "guess"}},
		"cookie, nothing": {http.Header{"Cookie": {"warden-access=" + access}}, map[string]any{"type": "auth"}},
		"frame token":     {nil, map[string]any{"type": "auth", "token": access}},
	} {
		c, _, err := websocket.Dial(wctx, "ws://"+g.addr+"/ws", &websocket.DialOptions{HTTPHeader: dial.header})
		if err != nil {
			continue // refused at the upgrade: fine
		}
		b, _ := json.Marshal(dial.frame)
		_ = c.Write(wctx, websocket.MessageText, b)
		_, data, err := c.Read(wctx)
		if err == nil {
			c.CloseNow()
			t.Fatalf("WebSocket (%s) with stolen cookies answered %s", name, data)
		}
		if code := websocket.CloseStatus(err); code != 4401 && code != websocket.StatusPolicyViolation {
			t.Errorf("WebSocket (%s): closed with %v", name, err)
		}
		c.CloseNow()
	}

	// The owner's page is unharmed: back on the dashboard, still logged
	// in (the refresh token was not rotated by the thief's attempts), and
	// the attempts are in the audit log.
	run("back to the dashboard", chromedp.Navigate(g.url+"/"))
	waitJS("still logged in", loggedIn)
	if r := g.request("GET", "/api/v1/me", nil, withCookies); r.status != http.StatusUnauthorized {
		t.Fatalf("after the owner came back: %d", r.status)
	}
	found := false
	for _, e := range g.audit("session.binding_failed") {
		if strings.Contains(e, "denied") {
			found = true
		}
	}
	if !found {
		t.Fatal("the stolen cookies' use is not in the audit log")
	}
	// The page the browser gets for a cross-origin read of the gateway:
	// the thief's page cannot read the gateway's answers either.
	c, cancelEval := context.WithTimeout(ctx, browserLimit)
	defer cancelEval()
	run("visit the other port again", chromedp.Navigate(thief.URL+"/"))
	got, err := chromedp.Run(c, chromedp.Evaluate[string](`fetch(`+jsQuote(g.url+"/api/v1/me")+`, {credentials: "include"}).then(r => r.text()).catch(e => "blocked: " + e)`,
		chromedp.EvalAwaitPromise))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "blocked") {
		t.Fatalf("the thief's page read the gateway's answer: %s", got)
	}
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
