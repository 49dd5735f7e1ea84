package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/runner"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/core/store"
)

func TestMain(m *testing.M) {
	// The sandbox re-executes this binary to set itself up.
	sandbox.Init()
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the exec tests run the sandbox, which these tests run as root (scripts/test and CI are root)")
	}
}

func execEnv(t *testing.T, mod func(*runner.Options)) *testEnv {
	requireRoot(t)
	if mod == nil {
		mod = func(*runner.Options) {}
	}
	return newTestEnv(t, envOptions{exec: mod})
}

func TestExecHTTP(t *testing.T) {
	e := execEnv(t, nil)
	agent := e.token("agent", auth.RoleAgent)
	r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "echo hi; echo err >&2; uname -n; exit 3"})
	var out execResponse
	if r.status != http.StatusOK || r.json(&out) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if out.ExitCode != 3 || *out.Stdout != "hi\nsandbox\n" || *out.Stderr != "err\n" || !out.Sandboxed || !out.Layers.Seccomp {
		t.Fatalf("%s", r.body)
	}
	// argv and stdin.
	r = e.call("POST", "/api/v1/exec", agent, map[string]any{"argv": []string{"tr", "a-z", "A-Z"}, "stdin": "quiet"})
	if r.json(&out) != nil || *out.Stdout != "QUIET" || out.Argv[0] != "/usr/bin/tr" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Exactly one of argv and command.
	for _, body := range []map[string]any{{}, {"argv": []string{"ls"}, "command": "ls"}} {
		if r := e.call("POST", "/api/v1/exec", agent, body); r.status != http.StatusBadRequest || r.code() != CodeInvalidInput {
			t.Fatalf("%v: %d %s", body, r.status, r.body)
		}
	}
}

// The policy refuses before anything runs, and says why.
func TestExecPolicyRefusal(t *testing.T) {
	e := execEnv(t, nil)
	agent := e.token("agent", auth.RoleAgent)
	r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "curl http://127.0.0.1/ > /workspace/x"})
	if r.status != http.StatusForbidden || r.code() != CodePolicyRefused || !strings.Contains(string(r.body), "network tool") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, err := os.Stat(e.dir + "/workspace/x"); err == nil {
		t.Fatal("the refused command ran")
	}
	acts := strings.Join(e.auditActions(), " ")
	if !strings.Contains(acts, "sandbox.exec:denied") {
		t.Fatalf("audit: %s", acts)
	}
}

// The main session (an administrator logged in) runs on the host in
// mode non-main; an operator and the agent are sandboxed.
func TestExecMainSession(t *testing.T) {
	e := execEnv(t, nil)
	e.addUser("owner", auth.RoleAdmin) // the first admin: the owner
	e.addUser("admin2", auth.RoleAdmin)
	e.addUser("op", auth.RoleOperator)
	host, _ := os.Hostname()
	// Only the owner's session is main; another admin is sandboxed.
	for name, want := range map[string]string{"owner": host, "admin2": "sandbox", "op": "sandbox"} {
		tok := e.login(name, nil).AccessToken
		r := e.call("POST", "/api/v1/exec", tok, map[string]any{"argv": []string{"uname", "-n"}})
		var out execResponse
		if r.json(&out) != nil || strings.TrimSpace(*out.Stdout) != want {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	// A viewer may not run commands at all.
	e.addUser("viewer", auth.RoleViewer)
	if r := e.call("POST", "/api/v1/exec", e.login("viewer", nil).AccessToken, map[string]any{"argv": []string{"true"}}); r.status != http.StatusForbidden {
		t.Fatalf("viewer: %d %s", r.status, r.body)
	}
}

// Fail closed: without the audit log nothing runs.
func TestExecAuditUnavailable(t *testing.T) {
	e := execEnv(t, nil)
	agent := e.token("agent", auth.RoleAgent)
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{"argv": []string{"true"}}); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	e.log.Close()
	r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "touch ran"})
	if r.status != http.StatusServiceUnavailable || r.code() != CodeAuditUnavailable {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, err := os.Stat(e.dir + "/workspace/ran"); err == nil {
		t.Fatal("the command ran without an audit entry")
	}
}

// A gateway token's use on the exec route is recorded in the same commit
// as the command's entry, right before it; when the request ends without
// one (bad input) the use is still recorded before the answer.
func TestExecRecordsTokenUseWithTheCommand(t *testing.T) {
	e := execEnv(t, nil)
	agent := e.token("agent", auth.RoleAgent)
	before := len(e.auditActions())
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{"argv": []string{"true"}}); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{}); r.status != http.StatusBadRequest {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// The result entry is written in the background, before or after
	// the second request's.
	var acts []string
	for deadline := time.Now().Add(10 * time.Second); len(acts) < 4; time.Sleep(10 * time.Millisecond) {
		if acts = e.auditActions()[before:]; time.Now().After(deadline) {
			t.Fatalf("audit: %v", acts)
		}
	}
	rest := acts[2:]
	sort.Strings(rest)
	if got := strings.Join(append(acts[:2:2], rest...), " "); got != "token.auth:success sandbox.exec:allowed sandbox.exec:success token.auth:success" {
		t.Fatalf("audit: %s", got)
	}

	// One commit: when the command's entry is refused, the token's use
	// is not written apart from it.
	refuseEntries(t, e, "sandbox.exec")
	before = len(e.auditActions())
	r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "touch ran"})
	if r.status != http.StatusServiceUnavailable || r.code() != CodeAuditUnavailable {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if acts := e.auditActions()[before:]; len(acts) != 0 {
		t.Fatalf("written apart from the refused entry: %v", acts)
	}
	if _, err := os.Stat(e.dir + "/workspace/ran"); err == nil {
		t.Fatal("the command ran without its audit entry")
	}
}

// refuseEntries makes the database refuse audit entries that contain
// text, as a full disk or a failing device would.
func refuseEntries(t *testing.T, e *testEnv, text string) {
	t.Helper()
	if err := e.db.Write(context.Background(), func(ctx context.Context, q store.Queryer) error {
		// text is one of this file's constants: no quoting needed.
		_, err := q.ExecContext(ctx, `CREATE TRIGGER refuse_entries BEFORE INSERT ON audit_log
			WHEN instr(NEW.body, CAST('`+text+`' AS BLOB)) > 0 BEGIN SELECT RAISE(ABORT, 'refused'); END`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// Fail closed on the deferred record: when a token's use cannot be
// recorded, the command does not run and the handler's answer (here a
// refusal for bad input) is replaced by AUDIT_UNAVAILABLE.
func TestExecTokenUseUnrecordableRefuses(t *testing.T) {
	e := execEnv(t, nil)
	agent := e.token("agent", auth.RoleAgent)
	refuseEntries(t, e, "token.auth")
	r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "touch ran"})
	if r.status != http.StatusServiceUnavailable || r.code() != CodeAuditUnavailable {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, err := os.Stat(e.dir + "/workspace/ran"); err == nil {
		t.Fatal("the command ran although the token's use could not be recorded")
	}
	r = e.call("POST", "/api/v1/exec", agent, map[string]any{})
	if r.status != http.StatusServiceUnavailable || r.code() != CodeAuditUnavailable {
		t.Fatalf("bad input with the token use unrecordable: %d %s", r.status, r.body)
	}
	if hasAction(e.auditActions(), "sandbox.exec") {
		t.Fatalf("entries written without the token's use: %v", e.auditActions())
	}
}

func TestExecConcurrencyLimit(t *testing.T) {
	e := execEnv(t, func(o *runner.Options) { o.MaxPerClient = 1 })
	agent := e.token("agent", auth.RoleAgent)
	done := make(chan response, 1)
	go func() {
		done <- e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "touch started; sleep 5"})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(e.dir + "/workspace/started"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first command never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		r := e.call("POST", "/api/v1/exec", agent, map[string]any{"argv": []string{"true"}})
		if r.status == http.StatusTooManyRequests {
			if r.code() != CodeRateLimited || r.header.Get("Retry-After") == "" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			break
		}
		select {
		case first := <-done:
			t.Fatalf("the first command ended before a second was refused: %d %s (second: %d %s)", first.status, first.body, r.status, r.body)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("a second command for the same client was never refused")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := <-done; r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// The exec request on /ws streams output frames, then the response; the
// connection keeps answering other requests meanwhile.
func TestExecWebSocket(t *testing.T) {
	e := execEnv(t, nil)
	agent := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := e.dial(ctx, "/ws", bearer(agent))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if f := readFrame(t, ctx, c); f["type"] != "hello" {
		t.Fatalf("%v", f)
	}
	send(t, ctx, c, map[string]any{"type": "request", "id": "x1", "method": "exec",
		"params": map[string]any{"command": "echo one; sleep 1; echo two >&2; exit 5"}})
	send(t, ctx, c, map[string]any{"type": "request", "id": "p1", "method": "ping"})
	var order []string
	var stdout, stderr string
	for {
		f := readFrame(t, ctx, c)
		switch {
		case f["type"] == "output" && f["id"] == "x1":
			if f["stream"] == "stdout" {
				stdout += f["data"].(string)
			} else {
				stderr += f["data"].(string)
			}
			order = append(order, "output")
		case f["type"] == "response" && f["id"] == "p1":
			order = append(order, "ping")
		case f["type"] == "response" && f["id"] == "x1":
			res := f["result"].(map[string]any)
			if res["exitCode"] != float64(5) || stdout != "one\n" || stderr != "two\n" {
				t.Fatalf("result %v stdout %q stderr %q", res, stdout, stderr)
			}
			if order[len(order)-1] == "ping" || !strings.Contains(strings.Join(order, " "), "ping") {
				t.Fatalf("the ping was not answered while the command ran: %v", order)
			}
			return
		default:
			t.Fatalf("unexpected frame %v", f)
		}
	}
}

// An escape attempt by the agent reaches a connected administrator as a
// sandbox_violation event; the agent, which may not read the audit log,
// gets no such event.
func TestViolationEvent(t *testing.T) {
	e := execEnv(t, nil)
	e.addUser("owner", auth.RoleAdmin)
	agent := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, _, err := e.dial(ctx, "/ws", bearer(e.login("owner", nil).AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.CloseNow()
	readFrame(t, ctx, admin) // hello
	r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "cat /proc/1/root/etc/hostname"})
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	f := readFrame(t, ctx, admin)
	if f["event"] != "sandbox_violation" || !strings.Contains(string(mustJSON(t, f)), "proc-root") {
		t.Fatalf("%v", f)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
