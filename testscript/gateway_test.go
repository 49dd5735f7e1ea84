package testscript

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testPassword passes the password policy.
const testPassword = "correct horse battery staple and then some"

// liveGateway is a real `warden serve` (this test binary as warden, as
// the scripts run it) on a fresh HOME, for attack tests that need more
// than a script: concurrency, a browser, a WebSocket client.
type liveGateway struct {
	t      *testing.T
	dir    string
	home   string
	env    []string
	url    string // http://127.0.0.1:PORT
	addr   string // 127.0.0.1:PORT
	stderr *lockedBuffer
}

type gatewayOptions struct {
	initArgs []string                 // more flags for warden init
	config   func(yaml string) string // edits warden.yaml after init
	env      []string                 // more environment for serve only
}

// startGateway runs warden init, then warden serve on a free loopback
// port, and stops it (SIGINT) when the test ends.
func startGateway(t *testing.T, o gatewayOptions) *liveGateway {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	g := &liveGateway{t: t, dir: dir, home: home, stderr: &lockedBuffer{}}
	g.env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"), "WARDEN_CONFIG=", "WARDEN_STATE_DIR=")
	g.warden("", append([]string{"init", "--non-interactive"}, o.initArgs...)...)
	if o.config != nil {
		path := filepath.Join(home, ".config", "warden", "warden.yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(o.config(string(b))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command("warden", "serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile)
	cmd.Env = append(append([]string(nil), g.env...), o.env...)
	cmd.Stdout, cmd.Stderr = io.Discard, g.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-waited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-waited
			t.Errorf("warden serve did not stop on SIGINT within 20 s")
		}
		if t.Failed() {
			t.Logf("warden serve's stderr:\n%s", g.stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			g.addr = string(bytes.TrimSpace(b))
			g.url = "http://" + g.addr
			if res, err := http.Get(g.url + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return g
				}
			}
		}
		select {
		case err := <-waited:
			t.Fatalf("warden serve exited: %v\n%s", err, g.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("warden serve not ready in 30 s:\n%s", g.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// warden runs a warden command on the gateway's HOME and returns its
// stdout; a failure fails the test.
func (g *liveGateway) warden(stdin string, args ...string) string {
	g.t.Helper()
	out, err := g.wardenErr(stdin, args...)
	if err != nil {
		g.t.Fatalf("warden %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (g *liveGateway) wardenErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command("warden", args...)
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func (g *liveGateway) addUser(name, role string) {
	g.t.Helper()
	g.warden(testPassword+"\n", "users", "add", name, "--role", role)
}

// token creates a gateway token.
func (g *liveGateway) token(name, role string) string {
	g.t.Helper()
	return strings.TrimSpace(g.warden("", "tokens", "create", "--name", name, "--role", role))
}

// login logs in over the API (tokens in the body) and returns the
// access token and the session id.
func (g *liveGateway) login(user string) (string, string) {
	g.t.Helper()
	r := g.call("POST", "/api/v1/auth/login", "", map[string]any{"username": user, "password": testPassword, "deviceId": "attack-test"})
	var out struct {
		AccessToken string `json:"accessToken"`
		Session     struct {
			ID string `json:"id"`
		} `json:"session"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &out) != nil || out.AccessToken == "" {
		g.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	return out.AccessToken, out.Session.ID
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(v any) error { return json.Unmarshal(r.body, v) }

// call sends a request with a bearer token ("" for none) and a JSON body
// (nil for none).
func (g *liveGateway) call(method, path, token string, body any) response {
	g.t.Helper()
	return g.request(method, path, body, func(h http.Header) {
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
	})
}

func (g *liveGateway) request(method, path string, body any, edit func(http.Header)) response {
	g.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			g.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.url+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req.Header)
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// auditDetails returns the details of the audit entries with action, as
// the CLI prints them, one string per entry.
func (g *liveGateway) audit(action string) []string {
	g.t.Helper()
	out := g.warden("", "log", "search", "--action", action, "--limit", "200", "--format", "json")
	var doc struct {
		Entries []struct {
			Actor   string          `json:"actor"`
			Outcome string          `json:"outcome"`
			Details json.RawMessage `json:"details"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		g.t.Fatalf("log search: %v\n%s", err, out)
	}
	var res []string
	for _, e := range doc.Entries {
		var compact bytes.Buffer
		_ = json.Compact(&compact, e.Details)
		res = append(res, e.Actor+" "+e.Outcome+" "+compact.String())
	}
	return res
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
