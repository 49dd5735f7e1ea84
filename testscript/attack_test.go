package testscript

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The attack tests run a real `warden serve` with its real sandbox and
// attack it as the threat model in docs/security.md says each caller
// could. Each names the property it checks.

type execResult struct {
	Sandboxed bool   `json:"sandboxed"`
	ExitCode  int    `json:"exitCode"`
	Limit     string `json:"limit"`
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
}

func (g *liveGateway) exec(token string, body map[string]any) (response, execResult) {
	g.t.Helper()
	r := g.call("POST", "/api/v1/exec", token, body)
	var out execResult
	if r.status == 200 {
		if err := r.json(&out); err != nil {
			g.t.Fatalf("exec answer: %v\n%s", err, r.body)
		}
	}
	return r, out
}

// A sandboxed caller (an agent token) plants what Python, git, npm,
// make and shells read from the working directory and HOME; the owner's
// routine commands over the API run on the host and read none of it.
// Another admin is not the owner: their commands stay in the sandbox.
func TestAttackSandboxPlantsCodeForTheOwnersHostRun(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{initArgs: []string{"--owner", "alice"}})
	g.addUser("alice", "admin")
	g.addUser("bob", "admin")
	agent := g.token("agent", "agent")
	canary := filepath.Join(g.dir, "planted-code-ran")

	plant := strings.Join([]string{
		"for v in 3.9 3.10 3.11 3.12 3.13; do mkdir -p .local/lib/python$v/site-packages; " +
			fmt.Sprintf(`echo 'import os; open(%q, "w").write("pth")' > .local/lib/python$v/site-packages/x.pth; done`, canary),
		fmt.Sprintf(`echo 'open(%q, "w").write("sitecustomize")' > sitecustomize.py`, canary),
		fmt.Sprintf(`echo 'open(%q, "w").write("shadowed module")' > json.py`, canary),
		fmt.Sprintf(`printf '[core]\n\tfsmonitor = "touch %s"\n' > .gitconfig`, canary),
		fmt.Sprintf(`printf 'init-module=%s\n' > .npmrc`, canary),
		fmt.Sprintf(`printf 'all:\n\ttouch %s\n' > Makefile`, canary),
		fmt.Sprintf(`printf 'touch %s\n' > .envrc`, canary),
		fmt.Sprintf(`mkdir -p node_modules/.bin && printf '#!/bin/sh\ntouch %s\n' > node_modules/.bin/git && chmod +x node_modules/.bin/git`, canary),
		"ls -A",
	}, " && ")
	r, out := g.exec(agent, map[string]any{"command": plant})
	if r.status != 200 || !out.Sandboxed || out.ExitCode != 0 || !strings.Contains(out.Stdout, ".gitconfig") {
		t.Fatalf("the agent could not plant: %d %s", r.status, r.body)
	}

	alice, _ := g.login("alice")
	for _, cmd := range []string{
		`python3 -c 'import json; print(json.dumps("ok"))'`,
		"git status; git config --global --list",
		"ls -A; cat .gitconfig",
		"pwd; echo $HOME",
	} {
		r, out := g.exec(alice, map[string]any{"command": cmd})
		if r.status != 200 || out.Sandboxed {
			t.Fatalf("%s: the owner's command did not run on the host: %d %s", cmd, r.status, r.body)
		}
		if _, err := os.Stat(canary); err == nil {
			t.Fatalf("%s: code the agent planted ran on the host:\n%s", cmd, r.body)
		}
		if strings.Contains(out.Stdout, "fsmonitor") || strings.Contains(out.Stdout, "node_modules") {
			t.Fatalf("%s: the owner's host run sees the agent's workspace:\n%s", cmd, out.Stdout)
		}
	}
	_, out = g.exec(alice, map[string]any{"command": "pwd; echo $HOME"})
	mainWS := filepath.Join(g.home, ".local", "state", "warden", "main")
	if out.Stdout != mainWS+"\n"+mainWS+"\n" {
		t.Fatalf("the owner's command ran in\n%s, want %s", out.Stdout, mainWS)
	}

	// Another admin and a token with the operator role are not the owner.
	bob, _ := g.login("bob")
	if _, out := g.exec(bob, map[string]any{"argv": []string{"uname", "-n"}}); !out.Sandboxed || out.Stdout != "sandbox\n" {
		t.Fatalf("another admin's command ran outside the sandbox: %+v", out)
	}
	op := g.token("ops", "operator")
	if _, out := g.exec(op, map[string]any{"argv": []string{"uname", "-n"}}); !out.Sandboxed {
		t.Fatalf("an operator token's command ran outside the sandbox: %+v", out)
	}

	// Every exec entry names the owner; only alice's were main.
	var mainRuns, others int
	for _, e := range g.audit("sandbox.exec") {
		if !strings.Contains(e, `"owner":"alice"`) {
			t.Fatalf("an exec entry does not name the owner: %s", e)
		}
		switch {
		case strings.Contains(e, `"main":true`):
			if !strings.HasPrefix(e, "user:alice ") {
				t.Fatalf("a main run that is not alice's: %s", e)
			}
			mainRuns++
		default:
			others++
		}
	}
	if mainRuns == 0 || others == 0 {
		t.Fatalf("%d main and %d other exec entries", mainRuns, others)
	}
}

// Warden's own environment (what a service manager or a compromised
// parent sets) never reaches the owner's host commands.
func TestAttackEnvironmentReachesHostRun(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{env: []string{
		"PYTHONPATH=/tmp/evil", "PYTHONSTARTUP=/tmp/evil.py", "GIT_CONFIG_GLOBAL=/tmp/evil", "GIT_DIR=/tmp/evil.git",
		"LD_PRELOAD=/tmp/evil.so", "NODE_OPTIONS=--require /tmp/evil.js", "BASH_ENV=/tmp/evil.sh",
	}})
	g.addUser("alice", "admin") // the first admin becomes the owner
	alice, _ := g.login("alice")
	r, out := g.exec(alice, map[string]any{"argv": []string{"env"}})
	if r.status != 200 || out.Sandboxed {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, bad := range []string{"PYTHON", "GIT_", "LD_", "NODE_", "BASH_ENV", "WARDEN"} {
		if strings.Contains(out.Stdout, bad) {
			t.Fatalf("%s reached the host run:\n%s", bad, out.Stdout)
		}
	}
}

// A host-run command that forks, leaves its session and sleeps is ended
// with it: at its timeout, and when it exits.
func TestAttackHostRunOutlivesItsTimeout(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	g.addUser("alice", "admin")
	alice, _ := g.login("alice")
	for _, tc := range []struct {
		name, tail string
		timeoutMS  int
	}{{"timeout", "sleep 30", 1000}, {"exit", "echo left", 0}} {
		marker := fmt.Sprintf("outlive-%s-%d", tc.name, time.Now().UnixNano())
		cmd := fmt.Sprintf(`python3 -c 'import os, time
if os.fork() == 0:
    os.setsid()
    time.sleep(300)' %s & %s`, marker, tc.tail)
		body := map[string]any{"command": cmd}
		if tc.timeoutMS > 0 {
			body["timeoutMs"] = tc.timeoutMS
		}
		r, out := g.exec(alice, body)
		if r.status != 200 || out.Sandboxed {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
		if tc.timeoutMS > 0 && out.Limit != "timeout" {
			t.Fatalf("%s: %s", tc.name, r.body)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(pidsWith(marker)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the daemonised process outlived the command: %v", tc.name, pidsWith(marker))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// pidsWith lists the processes whose command line contains s.
func pidsWith(s string) []string {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}

// One agent token floods the exec API; it gets its share of the slots,
// and another agent and the owner still run commands.
func TestAttackOneTokenTakesEveryExecSlot(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	g.addUser("alice", "admin")
	alice, _ := g.login("alice")
	flood := g.token("flood", "agent")
	other := g.token("other", "agent")

	var wg sync.WaitGroup
	statuses := make(chan int, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := g.exec(flood, map[string]any{"argv": []string{"sleep", "4"}})
			statuses <- r.status
		}()
	}
	// Let the flood take what it can.
	time.Sleep(1500 * time.Millisecond)
	if r, out := g.exec(other, map[string]any{"argv": []string{"true"}}); r.status != 200 || out.ExitCode != 0 {
		t.Fatalf("another agent was starved: %d %s", r.status, r.body)
	}
	if r, out := g.exec(alice, map[string]any{"argv": []string{"true"}}); r.status != 200 || out.ExitCode != 0 {
		t.Fatalf("the owner was starved: %d %s", r.status, r.body)
	}
	wg.Wait()
	close(statuses)
	ran, busy := 0, 0
	for s := range statuses {
		switch s {
		case 200:
			ran++
		case 429:
			busy++
		default:
			t.Errorf("flood request answered %d", s)
		}
	}
	if ran == 0 || busy == 0 || ran > 2 {
		t.Fatalf("the flood ran %d commands at once and was refused %d times; want at most its share (2)", ran, busy)
	}
}

// An agent fills its workspace: one file bigger than the quota is cut at
// the room left; many files written at once are stopped by the watcher;
// then nothing more starts (507), the audit log (and so every privileged
// action) keeps working, and the owner frees the space from the command
// line.
func TestAttackWorkspaceFillsTheDisk(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{config: func(y string) string {
		return strings.Replace(y, "workspace_quota: 1GiB", "workspace_quota: 50MiB", 1)
	}})
	agent := g.token("agent", "agent")
	ws := filepath.Join(g.home, ".local", "state", "warden", "workspace")
	size := func() int64 {
		var n int64
		_ = filepath.Walk(ws, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				n += fi.Size()
			}
			return nil
		})
		return n
	}

	// 300 MiB in one file: cut at the 50 MiB left (below sandbox.file_size).
	r, out := g.exec(agent, map[string]any{"command": "head -c 314572800 /dev/zero > big"})
	if r.status != 200 || out.Limit != "workspace_quota" {
		t.Fatalf("one big file: %d %s", r.status, r.body)
	}
	if n := size(); n > 50<<20 {
		t.Fatalf("one file grew the workspace to %d MiB", n>>20)
	}
	r, _ = g.exec(agent, map[string]any{"argv": []string{"true"}})
	if r.status != http.StatusInsufficientStorage || !strings.Contains(string(r.body), "WORKSPACE_FULL") {
		t.Fatalf("a run on a full workspace: %d %s", r.status, r.body)
	}
	// The owner frees the space from the command line (warden sandbox run
	// has no quota: it is the owner's).
	g.warden("", "sandbox", "run", "--", "rm", "-f", "/workspace/big")

	// Five 30 MiB files at once: each is under the room left, so the
	// watcher ends the command.
	r, out = g.exec(agent, map[string]any{"command": "for i in 1 2 3 4 5; do head -c 31457280 /dev/zero > p$i & done; wait; sleep 5; echo done"})
	if r.status != 200 || out.Limit != "workspace_quota" || strings.Contains(out.Stdout, "done") {
		t.Fatalf("many files at once: %d %s", r.status, r.body)
	}
	r, _ = g.exec(agent, map[string]any{"argv": []string{"true"}})
	if r.status != http.StatusInsufficientStorage {
		t.Fatalf("a run on a full workspace: %d %s", r.status, r.body)
	}
	// The gateway still records and answers.
	if r := g.call("GET", "/api/v1/me", agent, nil); r.status != 200 {
		t.Fatalf("after the attack: %d %s", r.status, r.body)
	}
	denied := false
	for _, e := range g.audit("sandbox.exec") {
		if strings.Contains(e, " denied ") && strings.Contains(e, "workspace_quota") {
			denied = true
		}
	}
	if !denied {
		t.Fatal("the refusal is not in the audit log")
	}
}

// DNS rebinding: a page on attacker.example whose name now resolves to
// 127.0.0.1 sends its own Host (and a matching Origin). The gateway
// answers only to its own names.
func TestAttackDNSRebinding(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{config: func(y string) string {
		return strings.Replace(y, "  hosts: []", `  hosts: ["warden.lan"]`, 1)
	}})
	agent := g.token("agent", "agent")
	_, port, _ := strings.Cut(g.addr, ":")
	evil := "attacker.example:" + port
	withHost := func(host string) func(http.Header) {
		return func(h http.Header) {
			h.Set("Host", host)
			h.Set("Origin", "http://"+host)
			h.Set("Authorization", "Bearer "+agent)
		}
	}
	for _, path := range []string{"/api/v1/me", "/", "/api/v1/setup"} {
		r := g.request("GET", path, nil, withHost(evil))
		if r.status != http.StatusMisdirectedRequest || !strings.Contains(string(r.body), "HOST_NOT_ALLOWED") {
			t.Fatalf("GET %s with Host %s: %d %s", path, evil, r.status, r.body)
		}
	}
	r := g.request("POST", "/api/v1/exec", map[string]any{"argv": []string{"true"}}, withHost(evil))
	if r.status != http.StatusMisdirectedRequest {
		t.Fatalf("exec with Host %s: %d %s", evil, r.status, r.body)
	}
	// The WebSocket upgrade from the rebound page.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	withHost(evil)(h)
	c, res, err := websocket.Dial(ctx, "ws://"+g.addr+"/ws", &websocket.DialOptions{HTTPHeader: h, Host: evil})
	if err == nil {
		c.CloseNow()
		t.Fatal("a WebSocket opened with a rebound Host")
	}
	if res == nil || res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("WebSocket with a rebound Host: %v %v", res, err)
	}
	// Its own names pass: the address, localhost, the configured name.
	for _, host := range []string{g.addr, "localhost:" + port, "warden.lan:" + port, "[::1]:" + port} {
		if r := g.request("GET", "/api/v1/me", nil, withHost(host)); r.status != 200 {
			t.Fatalf("Host %s: %d %s", host, r.status, r.body)
		}
	}
}

// A session revoked from the command line (another process) runs nothing
// more over an open WebSocket, not even in the second the gateway's
// session cache would otherwise trust it.
func TestAttackRevokedSessionKeepsRunningCommands(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	g.addUser("alice", "admin")
	access, sid := g.login("alice")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+g.addr+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + access}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() map[string]any {
		_, b, err := c.Read(ctx)
		if err != nil {
			return map[string]any{"readError": err.Error()}
		}
		var f map[string]any
		_ = json.Unmarshal(b, &f)
		return f
	}
	if f := read(); f["type"] != "hello" {
		t.Fatalf("first frame %v", f)
	}
	send := func(id, cmd string) {
		b, _ := json.Marshal(map[string]any{"type": "request", "id": id, "method": "exec", "params": map[string]any{"command": cmd}})
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Logf("write: %v", err)
		}
	}
	// Warm the session cache with a command that runs.
	send("1", "true")
	for f := read(); f["id"] != "1" || f["type"] != "response"; f = read() {
		if f["readError"] != nil {
			t.Fatal(f)
		}
	}
	ran := filepath.Join(g.dir, "ran-after-revoke")
	g.warden("", "sessions", "revoke", sid)
	send("2", "touch "+ran)
	for {
		f := read()
		if f["readError"] != nil || (f["id"] == "2" && f["type"] == "error") {
			break
		}
		if f["id"] == "2" && f["type"] == "response" {
			t.Fatalf("the revoked session's command ran: %v", f)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the revoked session's command ran")
	}
}
