package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/runner"
	"github.com/warden-sec/warden/core/store"
)

// testPassword passes the password policy and the context check.
const testPassword = "correct horse battery staple and then some"

// testEnv is a real gateway on a loopback port over a real store, audit log
// and identity service in a temp dir. Only the argon2id cost is lowered.
type testEnv struct {
	t    testing.TB
	dir  string
	db   *store.Store
	log  *auditlog.Log
	svc  *auth.Service
	srv  *Server
	url  string // http://127.0.0.1:port
	host string // 127.0.0.1:port
	stop func() error
}

type envOptions struct {
	gateway func(*Options)
	auth    func(*auth.Options)
	// exec gives the gateway a runner with the default sandbox config.
	exec func(*runner.Options)
}

func newTestEnv(t testing.TB, eo envOptions) *testEnv {
	t.Helper()
	ctx := context.Background()
	e := &testEnv{t: t, dir: t.TempDir()}
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(e.dir, "warden.db")})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	l, err := auditlog.Open(ctx, db, key, auditlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.log = db, l
	metrics := NewMetrics()
	access, totpKey := make([]byte, 32), make([]byte, 32)
	rand.Read(access)
	rand.Read(totpKey)
	ao := auth.Options{DB: db, Audit: metrics.Auditor(l), AccessKey: access, TOTPKey: totpKey,
		Hasher:      password.NewHasher(password.Params{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4),
		Policy:      password.Policy{MinLength: 32, MaxLength: 1024},
		RateLimit:   true,
		IPLimit:     ratelimit.Rule{Attempts: 5, Window: 5 * time.Minute},
		IdleTimeout: 30 * time.Minute,
	}
	if eo.auth != nil {
		eo.auth(&ao)
	}
	svc, err := auth.New(ao)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Auth: svc, Audit: l, Auditor: metrics.Auditor(l), DB: db, Metrics: metrics, Loopback: true, MetricsEnabled: true, Version: "test"}
	var srvRef atomic.Pointer[Server]
	if eo.exec != nil {
		ro := runner.Options{Config: config.Defaults().Sandbox, Workspace: filepath.Join(e.dir, "workspace"),
			MainWorkspace: filepath.Join(e.dir, "main"), Auditor: metrics.Auditor(l),
			OnViolation: func(v runner.Violation) {
				if s := srvRef.Load(); s != nil {
					s.NotifyViolation(v)
				}
			}}
		eo.exec(&ro)
		run, err := runner.New(ro)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(run.Close)
		opts.Runner = run
	}
	if eo.gateway != nil {
		eo.gateway(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	srvRef.Store(srv)
	e.host = ln.Addr().String()
	e.url = "http://" + e.host
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln, nil, 5*time.Second) }()
	stopped := false
	var stopErr error
	e.stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			stopErr = <-done
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		l.Close()
		db.Close()
	})
	return e
}

// addUser creates a user with testPassword.
func (e *testEnv) addUser(name string, role auth.Role) {
	e.t.Helper()
	if _, err := e.svc.CreateUser(context.Background(), auth.Local("test"), name, role, testPassword); err != nil {
		e.t.Fatal(err)
	}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(v any) error { return json.Unmarshal(r.body, v) }

// code returns the error envelope's code, or "".
func (r response) code() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

// call sends a request with an optional bearer token and JSON body.
func (e *testEnv) call(method, path, token string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// login logs a user in over HTTP and returns the tokens.
func (e *testEnv) login(name string, extra map[string]any) loginResponse {
	e.t.Helper()
	body := map[string]any{"username": name, "password": testPassword, "deviceId": "test-device"}
	for k, v := range extra {
		body[k] = v
	}
	r := e.call("POST", "/api/v1/auth/login", "", body)
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", name, r.status, r.body)
	}
	var out loginResponse
	if err := r.json(&out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// auditActions lists the actions recorded so far, oldest first.
func (e *testEnv) auditActions() []string {
	e.t.Helper()
	var out []string
	if err := e.log.Each(context.Background(), 0, time.Time{}, func(en auditlog.Entry) error {
		out = append(out, en.Action+":"+en.Outcome)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func hasAction(actions []string, prefix string) bool {
	for _, a := range actions {
		if strings.HasPrefix(a, prefix) {
			return true
		}
	}
	return false
}
