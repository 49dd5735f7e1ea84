package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
)

// runCommands runs, through POST /api/v1/exec, a command that exits 3 in
// the sandbox, an escape attempt, a command the policy refuses, and (as
// the owner, in the main session) one on the host.
func runCommands(t *testing.T, e *testEnv, agent, owner string) {
	t.Helper()
	for _, c := range []struct {
		tok    string
		body   map[string]any
		status int
	}{
		{agent, map[string]any{"command": "echo hi; exit 3"}, http.StatusOK},
		{agent, map[string]any{"command": "cat /proc/1/root/etc/hostname"}, http.StatusOK},
		{agent, map[string]any{"command": "curl http://127.0.0.1/"}, http.StatusForbidden},
		{owner, map[string]any{"argv": []string{"true"}}, http.StatusOK},
	} {
		if r := e.call("POST", "/api/v1/exec", c.tok, c.body); r.status != c.status {
			t.Fatalf("exec %v: %d %s", c.body, r.status, r.body)
		}
	}
}

// waitCommands polls GET /api/v1/commands until n rows are there (the
// result entry is written after the answer).
func waitCommands(t *testing.T, e *testEnv, tok string, n int) []commandRow {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out commandsResponse
		r := e.call("GET", "/api/v1/commands", tok, nil)
		if r.status != http.StatusOK || r.json(&out) != nil {
			t.Fatalf("commands: %d %s", r.status, r.body)
		}
		if len(out.Commands) >= n || time.Now().After(deadline) {
			return out.Commands
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCommandsOverHTTP lists recent commands as the audit log recorded
// them: who, tier, sandboxed, exit code, duration, refusals and escape
// attempts; reading them is recorded like a search.
func TestCommandsOverHTTP(t *testing.T) {
	e := execEnv(t, nil)
	e.addUser("owner", auth.RoleAdmin)
	e.addUser("op", auth.RoleOperator)
	agent := e.token("agent", auth.RoleAgent)
	runCommands(t, e, agent, e.login("owner", nil).AccessToken)
	op := e.login("op", nil).AccessToken
	rows := waitCommands(t, e, op, 5)
	byStatus := map[string][]commandRow{}
	for _, c := range rows {
		byStatus[c.Kind+"/"+c.Status] = append(byStatus[c.Kind+"/"+c.Status], c)
	}
	if len(rows) != 5 {
		t.Fatalf("rows: %+v", rows)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Seq >= rows[i-1].Seq {
			t.Fatalf("not newest first: %+v", rows)
		}
	}
	exited := byStatus["exec/exited"]
	if len(exited) != 3 {
		t.Fatalf("exited rows: %+v", exited)
	}
	var exit3, main *commandRow
	for i := range exited {
		switch c := &exited[i]; {
		case c.ExitCode != nil && *c.ExitCode == 3:
			exit3 = c
		case c.Tier == "main":
			main = c
		}
	}
	if exit3 == nil || exit3.Actor != "token:agent" || exit3.Tier != "non-main" || exit3.Sandboxed == nil || !*exit3.Sandboxed ||
		exit3.DurationMS == nil || !strings.Contains(strings.Join(exit3.Argv, " "), "echo hi; exit 3") {
		t.Errorf("the sandboxed command: %+v", exit3)
	}
	if main == nil || main.Actor != "user:owner" || main.Sandboxed == nil || *main.Sandboxed || main.Owner != "owner" || *main.ExitCode != 0 {
		t.Errorf("the owner's command: %+v", main)
	}
	if r := byStatus["exec/refused"]; len(r) != 1 || !strings.Contains(r[0].Reason, "network tool") {
		t.Errorf("refused: %+v", r)
	}
	if v := byStatus["violation/violation"]; len(v) != 1 || !slices.ContainsFunc(v[0].Signals, func(s string) bool { return strings.Contains(s, "proc-root") }) {
		t.Errorf("violation: %+v", v)
	}
	if reads := e.entryDetails("audit.read", "user:op"); len(reads) != 1 || !strings.Contains(reads[0], `"view":"commands"`) {
		t.Errorf("reading the commands recorded as %q, want one audit.read of the commands view", reads)
	}
	// Paging and bad input.
	var page commandsResponse
	if r := e.call("GET", "/api/v1/commands?limit=2", op, nil); r.json(&page) != nil || len(page.Commands) != 2 || !page.More {
		t.Errorf("limit=2: %s", r.body)
	}
	if r := e.call("GET", "/api/v1/commands?until="+page.Commands[1].Time.Format(time.RFC3339Nano), op, nil); r.json(&page) != nil || len(page.Commands) != 3 {
		t.Errorf("until the second row: %s", r.body)
	}
	for _, q := range []string{"limit=0", "limit=x", "since=yesterday"} {
		if r := e.call("GET", "/api/v1/commands?"+q, op, nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, r.status)
		}
	}
}

// entryDetails returns the details of the entries with the action by the
// actor, oldest first.
func (e *testEnv) entryDetails(action, actor string) []string {
	e.t.Helper()
	var out []string
	if err := e.log.Each(context.Background(), 0, time.Unix(0, 0), func(en auditlog.Entry) error {
		if en.Action == action && en.Actor == actor {
			out = append(out, string(en.Details))
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// subscribe opens a WebSocket for tok and subscribes it to events.
func subscribe(t *testing.T, ctx context.Context, e *testEnv, tok string, events ...string) *websocket.Conn {
	t.Helper()
	c, _, err := e.dial(ctx, "/ws", bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if f := readFrame(t, ctx, c); f["type"] != "hello" {
		t.Fatalf("%v", f)
	}
	send(t, ctx, c, map[string]any{"type": "request", "id": "s", "method": "subscribe", "params": map[string]any{"events": events}})
	if f := readFrame(t, ctx, c); f["type"] != "response" || f["id"] != "s" {
		t.Fatalf("subscribe: %v", f)
	}
	return c
}

// nextEvent reads frames until an event named name that match accepts.
func nextEvent(t *testing.T, ctx context.Context, c *websocket.Conn, name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for {
		f := readFrame(t, ctx, c)
		if f["type"] == "event" && f["event"] == name {
			if d, _ := f["data"].(map[string]any); d != nil && match(d) {
				return d
			}
		}
	}
}

// TestAuditFeed pushes new audit entries to a subscribed WebSocket. With
// the poll of the log's head effectively off (an hour), this gateway's own
// entries arrive at once: the hook on its audit writer wakes the feed. An
// entry another process wrote (here: straight into the log, as the command
// line does) goes out with the next one, in order. Only roles that read
// the audit log may subscribe, and subscribing is recorded as a read.
func TestAuditFeed(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.SweepInterval = time.Hour }})
	e.addUser("op", auth.RoleOperator)
	e.addUser("vi", auth.RoleViewer)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := subscribe(t, ctx, e, e.login("op", nil).AccessToken, "audit")
	if reads := e.entryDetails("audit.read", "user:op"); len(reads) != 1 || !strings.Contains(reads[0], `"view":"live"`) {
		t.Fatalf("the subscription recorded as %q, want one audit.read of the live view", reads)
	}

	e.login("vi", nil)
	d := nextEvent(t, ctx, c, "audit", func(d map[string]any) bool { return d["action"] == "login" && d["actor"] == "user:vi" })
	if d["seq"] == nil || d["sourceIp"] != "127.0.0.1" {
		t.Fatalf("entry: %v", d)
	}
	other, err := e.log.Append(ctx, auditlog.Event{Actor: "cli:root", Action: "secret.set", Target: "x", Outcome: auditlog.OutcomeSuccess})
	if err != nil {
		t.Fatal(err)
	}
	e.login("vi", nil)
	first := nextEvent(t, ctx, c, "audit", func(map[string]any) bool { return true })
	second := nextEvent(t, ctx, c, "audit", func(map[string]any) bool { return true })
	if first["seq"] != float64(other.Seq) || first["action"] != "secret.set" || second["action"] != "login" || second["seq"] != float64(other.Seq+1) {
		t.Fatalf("after the other process's entry %d: %v, then %v", other.Seq, first, second)
	}

	// A viewer may not; an unknown event is a mistake.
	v, _, err := e.dial(ctx, "/ws", bearer(e.login("vi", nil).AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	defer v.CloseNow()
	readFrame(t, ctx, v)
	for events, code := range map[string]string{"audit": CodeForbidden, "commands": CodeForbidden, "everything": CodeInvalidInput} {
		send(t, ctx, v, map[string]any{"type": "request", "id": events, "method": "subscribe", "params": map[string]any{"events": []string{events}}})
		f := readFrame(t, ctx, v)
		if errObj, _ := f["error"].(map[string]any); f["type"] != "error" || errObj["code"] != code {
			t.Errorf("viewer subscribes to %s: %v", events, f)
		}
	}
	if reads := e.entryDetails("audit.read", "user:vi"); len(reads) != 0 {
		t.Errorf("refused subscriptions recorded as reads: %q", reads)
	}
}

// TestAuditFeedPolls finds what another process appends, with nothing of
// this gateway's to wake the feed: by the poll, every WS.SweepInterval.
func TestAuditFeedPolls(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.SweepInterval = 200 * time.Millisecond }})
	e.addUser("op", auth.RoleOperator)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := subscribe(t, ctx, e, e.login("op", nil).AccessToken, "audit")
	start := time.Now()
	if _, err := e.log.Append(ctx, auditlog.Event{Actor: "cli:root", Action: "secret.set", Target: "x", Outcome: auditlog.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ctx, c, "audit", func(d map[string]any) bool { return d["action"] == "secret.set" && d["actor"] == "cli:root" })
	t.Logf("another process's entry arrived after %v", time.Since(start).Round(time.Millisecond))
}

// TestCommandEvents pushes a row of the commands view to a subscribed
// WebSocket when a command ends, the same row GET /api/v1/commands gives.
func TestCommandEvents(t *testing.T) {
	e := execEnv(t, nil)
	e.addUser("op", auth.RoleOperator)
	agent := e.token("agent", auth.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	op := e.login("op", nil).AccessToken
	c := subscribe(t, ctx, e, op, "commands")
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{"argv": []string{"sh", "-c", "exit 7"}}); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	d := nextEvent(t, ctx, c, "command", func(d map[string]any) bool { return d["exitCode"] == float64(7) })
	rows := waitCommands(t, e, op, 1)
	if len(rows) != 1 || float64(rows[0].Seq) != d["seq"] || d["tier"] != "non-main" || d["sandboxed"] != true || d["actor"] != "token:agent" {
		t.Fatalf("event %v, list %+v", d, rows)
	}
}
