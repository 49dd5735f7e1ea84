//go:build linux

package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/core/store"
)

func TestMain(m *testing.M) {
	sandbox.Init()
	os.Exit(m.Run())
}

type env struct {
	t   *testing.T
	log *auditlog.Log
	db  *store.Store
	r   *Runner
	mu  sync.Mutex
	vs  []Violation
}

func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the runner tests run as root (scripts/test runs them so, and CI is root)")
	}
	dir := t.TempDir()
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "warden.db")})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	l, err := auditlog.Open(context.Background(), db, key, auditlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, log: l, db: db}
	t.Cleanup(func() { l.Close(); db.Close() })
	cfg := config.Defaults().Sandbox
	opts := Options{Config: cfg, Workspace: filepath.Join(dir, "workspace"), MainWorkspace: filepath.Join(dir, "main"), Auditor: l,
		OnViolation: func(v Violation) { e.mu.Lock(); e.vs = append(e.vs, v); e.mu.Unlock() }}
	if mod != nil {
		mod(&opts)
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	e.r = r
	return e
}

// entries returns the audit entries with action.
func (e *env) entries(action string) []auditlog.Entry {
	e.t.Helper()
	res, err := e.log.Search(context.Background(), auditlog.Query{Action: action, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestSandboxedRunIsAudited(t *testing.T) {
	e := newEnv(t, nil)
	var out bytes.Buffer
	o, err := e.r.Run(context.Background(), Request{Actor: "token:agent", Shell: "echo hi; exit 4", Stdout: &out})
	if err != nil || o.ExitCode != 4 || out.String() != "hi\n" || !o.Sandboxed {
		t.Fatalf("%+v %v %q", o, err, out.String())
	}
	got := e.entries("sandbox.exec")
	if len(got) != 2 {
		t.Fatalf("want an entry before and after, got %d", len(got))
	}
	var outcomes []string
	for _, en := range got {
		outcomes = append(outcomes, en.Outcome+":"+string(en.Details))
	}
	all := strings.Join(outcomes, "\n")
	for _, want := range []string{`allowed:`, `"limits"`, `failure:`, `"exitCode":4`, `"workspace"`} {
		if !strings.Contains(all, want) {
			t.Errorf("audit entries lack %s:\n%s", want, all)
		}
	}
}

func TestPolicyRefusalIsAudited(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.r.Run(context.Background(), Request{Actor: "token:agent", Argv: []string{"curl", "http://example.test"}})
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "network") {
		t.Fatalf("err %v", err)
	}
	got := e.entries("sandbox.exec")
	if len(got) != 1 || got[0].Outcome != auditlog.OutcomeDenied {
		t.Fatalf("entries %+v", got)
	}
}

// An escape pattern is recorded as a violation; in the sandbox the
// command runs contained, outside it is refused.
func TestEscapePatterns(t *testing.T) {
	e := newEnv(t, nil)
	o, err := e.r.Run(context.Background(), Request{Actor: "token:agent", Shell: "cat /proc/1/root/etc/shadow"})
	if err != nil || !o.Sandboxed || o.ExitCode == 0 {
		t.Fatalf("sandboxed: %+v %v", o, err)
	}
	_, err = e.r.Run(context.Background(), Request{Actor: "user:owner", Main: true, Shell: "cat /proc/1/root/etc/shadow"})
	var re *RefusedError
	if !errors.As(err, &re) || len(re.Escapes) == 0 {
		t.Fatalf("main session: %v", err)
	}
	if n := len(e.entries("sandbox_violation")); n != 2 {
		t.Fatalf("%d violation entries, want 2", n)
	}
	if len(e.vs) != 2 || e.vs[0].Actor != "token:agent" {
		t.Fatalf("violation events %+v", e.vs)
	}
}

func TestSeccompKillIsAViolation(t *testing.T) {
	e := newEnv(t, nil)
	o, err := e.r.Run(context.Background(), Request{Actor: "token:agent", Shell: `python3 -c 'import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)'`})
	if err != nil || o.Violation == "" {
		t.Fatalf("%+v %v", o, err)
	}
	// One for the text (it names ptrace), one for the kill.
	var kills int
	for _, en := range e.entries("sandbox_violation") {
		if strings.Contains(string(en.Details), "SIGSYS") {
			kills++
		}
	}
	if kills != 1 {
		t.Fatalf("%d violation entries for the kill", kills)
	}
}

// Mode non-main runs the main session on the host, everything else in
// the sandbox; mode all sandboxes everything; --sandbox forces it.
func TestModes(t *testing.T) {
	hostNS, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox has a UTS namespace of its own, named "sandbox".
	ns := func(r *Runner, req Request) string {
		var out bytes.Buffer
		req.Actor, req.Argv, req.Stdout = "user:owner", []string{"uname", "-n"}, &out
		if _, err := r.Run(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	nonMain := newEnv(t, nil).r
	if got := ns(nonMain, Request{Main: true}); got != hostNS {
		t.Errorf("non-main mode, main session: %s, want the host's %s", got, hostNS)
	}
	if got := ns(nonMain, Request{}); got == hostNS {
		t.Error("non-main mode, other session: ran on the host")
	}
	if got := ns(nonMain, Request{Main: true, Sandbox: true}); got == hostNS {
		t.Error("forced sandbox ran on the host")
	}
	all := newEnv(t, func(o *Options) { o.Config.Mode = config.SandboxAll }).r
	if got := ns(all, Request{Main: true}); got == hostNS {
		t.Error("mode all, main session: ran on the host")
	}
}

// Fail closed: with the audit log gone, nothing runs.
func TestAuditUnavailableRefuses(t *testing.T) {
	e := newEnv(t, nil)
	e.log.Close()
	_, err := e.r.Run(context.Background(), Request{Actor: "token:agent", Shell: "touch ran"})
	if !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.r.Workspace(), "ran")); err == nil {
		t.Fatal("the command ran without an audit entry")
	}
}

func TestConcurrencyLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxPerClient = 1; o.MaxConcurrent = 3 })
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := e.r.Run(context.Background(), Request{Actor: "a", Shell: "sleep 2", Stdin: readerFunc(func() { close(started) })})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("first command: %v", err)
	}
	if _, err := e.r.Run(context.Background(), Request{Actor: "a", Argv: []string{"true"}}); !errors.Is(err, ErrBusy) {
		t.Fatalf("same client: %v", err)
	}
	if _, err := e.r.Run(context.Background(), Request{Actor: "b", Argv: []string{"true"}}); err != nil {
		t.Fatalf("another client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// readerFunc calls f on the first Read (the command has started) and
// then reports EOF.
type readerFunc func()

func (f readerFunc) Read([]byte) (int, error) {
	if f != nil {
		f()
	}
	return 0, errEOF
}

var errEOF = errors.New("EOF")

func TestTimeoutCapped(t *testing.T) {
	e := newEnv(t, nil)
	start := time.Now()
	o, err := e.r.Run(context.Background(), Request{Actor: "a", Shell: "sleep 30", Timeout: time.Second})
	if err != nil || o.Limit != sandbox.LimitTimeout || time.Since(start) > 20*time.Second {
		t.Fatalf("%+v %v", o, err)
	}
}

// A result recorded in the background is in the log once Close returns;
// the entry before the command is written before Run returns.
func TestResultInBackground(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.r.Run(context.Background(), Request{Actor: "a", Argv: []string{"true"}, ResultInBackground: true}); err != nil {
		t.Fatal(err)
	}
	e.r.Close()
	got := e.entries("sandbox.exec")
	if len(got) != 2 || got[0].Outcome != auditlog.OutcomeSuccess || got[1].Outcome != auditlog.OutcomeAllowed {
		t.Fatalf("entries %+v", got)
	}
}

// A system call the filter refuses (EPERM; the program goes on) is a
// violation too: an entry that names it, and an event.
func TestSeccompRefusalIsAViolation(t *testing.T) {
	e := newEnv(t, nil)
	o, err := e.r.Run(context.Background(), Request{Actor: "token:agent",
		Argv: []string{"python3", "-c", "import ctypes; ctypes.CDLL(None).personality(8)"}})
	if err != nil || o.ExitCode != 0 || !strings.Contains(o.Violation, "personality") {
		t.Fatalf("%+v %v", o, err)
	}
	var named int
	for _, en := range e.entries("sandbox_violation") {
		if strings.Contains(string(en.Details), "personality") {
			named++
		}
	}
	e.mu.Lock()
	events := len(e.vs)
	e.mu.Unlock()
	if named != 1 || events != 1 {
		t.Fatalf("%d entries naming the refusal, %d events", named, events)
	}
}
