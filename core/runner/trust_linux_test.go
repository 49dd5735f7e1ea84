//go:build linux

package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/sandbox"
)

// run is Run that fails the test when the command did not run.
func (e *env) run(req Request) (Outcome, string) {
	e.t.Helper()
	var out syncBuffer
	req.Stdout, req.Stderr = &out, &out
	o, err := e.r.Run(context.Background(), req)
	if err != nil {
		e.t.Fatalf("%v: %v", req, err)
	}
	return o, out.String()
}

// syncBuffer is a bytes.Buffer that stdout and stderr may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A sandboxed caller plants what Python, git and a shell read from the
// working directory and HOME; the owner's next routine commands run on
// the host in a workspace of their own and never read any of it.
func TestMainSessionIgnoresWhatTheSandboxPlants(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed: it is one of the programs the attack targets")
	}
	e := newEnv(t, nil)
	canary := filepath.Join(t.TempDir(), "planted-code-ran")
	plant := strings.Join([]string{
		"mkdir -p .local/lib/python3.11/site-packages .local/lib/python3.13/site-packages",
		fmt.Sprintf(`echo 'import os; open(%q, "w").write("pth")' > .local/lib/python3.11/site-packages/x.pth`, canary),
		"cp .local/lib/python3.11/site-packages/x.pth .local/lib/python3.13/site-packages/x.pth",
		fmt.Sprintf(`echo 'open(%q, "w").write("sitecustomize")' > sitecustomize.py`, canary),
		fmt.Sprintf(`echo 'open(%q, "w").write("json")' > json.py`, canary),
		fmt.Sprintf(`printf '[core]\n\tfsmonitor = "touch %s"\n' > .gitconfig`, canary),
		"git init -q . && git config core.fsmonitor \"touch " + canary + "\"",
		fmt.Sprintf(`mkdir -p node_modules/.bin && printf '#!/bin/sh\ntouch %s\n' > node_modules/.bin/ls && chmod +x node_modules/.bin/ls`, canary),
		fmt.Sprintf(`printf 'all:\n\ttouch %s\n' > Makefile`, canary),
		"ls -a",
	}, " && ")
	o, out := e.run(Request{Actor: "token:agent", Client: "agent", Shell: plant})
	if !o.Sandboxed || o.ExitCode != 0 || !strings.Contains(out, ".gitconfig") {
		t.Fatalf("planting failed: exit %d\n%q", o.ExitCode, out)
	}

	for _, cmd := range []string{
		`python3 -c 'import json; print("ok")'`,
		"git status",
		"git -C . log --oneline -1",
		"ls",
		"pwd; echo $HOME",
	} {
		o, out := e.run(Request{Actor: "user:owner", Client: "owner-session", Main: true, Owner: "owner", Shell: cmd})
		if o.Sandboxed {
			t.Fatalf("%s: the main session was sandboxed", cmd)
		}
		if _, err := os.Stat(canary); err == nil {
			t.Fatalf("%s: code planted by the sandboxed caller ran on the host:\n%s", cmd, out)
		}
		if strings.Contains(out, e.r.Workspace()) {
			t.Fatalf("%s: the host run saw the sandbox workspace:\n%s", cmd, out)
		}
	}
	_, out = e.run(Request{Actor: "user:owner", Main: true, Owner: "owner", Shell: "pwd; echo $HOME"})
	if want := e.r.MainWorkspace() + "\n" + e.r.MainWorkspace() + "\n"; out != want {
		t.Fatalf("main session ran in\n%s, want\n%s", out, want)
	}
	// The audit entry names the owner and says the run was the main session.
	found := false
	for _, en := range e.entries("sandbox.exec") {
		if strings.Contains(string(en.Details), `"owner":"owner"`) && strings.Contains(string(en.Details), `"main":true`) {
			found = true
		}
	}
	if !found {
		t.Fatal("no exec entry records the owner and the main session")
	}
}

// Warden's own environment never reaches a host run: only a fixed
// allow-list does.
func TestHostEnvironmentIsAnAllowList(t *testing.T) {
	for k, v := range map[string]string{
		"PYTHONPATH": "/tmp/evil", "PYTHONSTARTUP": "/tmp/evil.py", "GIT_CONFIG_GLOBAL": "/tmp/evil.gitconfig",
		"GIT_DIR": "/tmp/evil.git", "LD_PRELOAD": "/tmp/evil.so", "LD_LIBRARY_PATH": "/tmp", "NODE_OPTIONS": "--require /tmp/evil.js",
		"BASH_ENV": "/tmp/evil.sh", "ENV": "/tmp/evil.sh", "WARDEN_PASSPHRASE": "secret",
	} {
		t.Setenv(k, v)
	}
	e := newEnv(t, nil)
	_, out := e.run(Request{Actor: "user:owner", Main: true, Argv: []string{"env"}})
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, _, _ := strings.Cut(line, "=")
		names = append(names, name)
	}
	if got, want := strings.Join(names, " "), "PATH HOME TMPDIR LANG TERM USER LOGNAME"; got != want {
		t.Fatalf("host environment has %s, want exactly %s:\n%s", got, want, out)
	}
}

// A host command that forks, leaves its session and sleeps does not
// outlive its timeout, nor its own end.
func TestHostRunIsContained(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, shell string
		timeout     time.Duration
	}{
		{"timeout", daemonize + " & sleep 30", time.Second},
		{"exit", daemonize + " & echo started", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			marker := fmt.Sprintf("contained-%d", time.Now().UnixNano())
			start := time.Now()
			o, err := e.r.Run(context.Background(), Request{Actor: "user:owner", Main: true, Shell: fmt.Sprintf(tc.shell, marker), Timeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			if o.Sandboxed || time.Since(start) > 15*time.Second {
				t.Fatalf("%+v after %v", o, time.Since(start))
			}
			if tc.timeout > 0 && o.Limit != sandbox.LimitTimeout {
				t.Fatalf("limit %q, want timeout", o.Limit)
			}
			// The kernel kills the namespace's processes as its init
			// dies; give it a moment to finish.
			deadline := time.Now().Add(5 * time.Second)
			for {
				left := processesWith(t, marker)
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("still running after the command ended: %v", left)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// daemonize forks a child that leaves the session (setsid) and sleeps;
// %s marks its command line.
const daemonize = `python3 -c 'import os, time
if os.fork() == 0:
    os.setsid()
    time.sleep(300)' %s`

// processesWith lists the pids whose command line contains s.
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(s)) && !bytes.Contains(b, []byte("-test.")) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}

// The main workspace may be neither inside nor around the shared one,
// and must be private.
func TestMainWorkspacePlacement(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "ws")
	for name, main := range map[string]string{"inside": filepath.Join(shared, "main"), "around": dir, "same": shared} {
		_, err := New(Options{Workspace: shared, MainWorkspace: main, Auditor: nopAuditor{}})
		if err == nil || !strings.Contains(err.Error(), "must not contain one another") {
			t.Errorf("%s: %v", name, err)
		}
	}
	open := filepath.Join(dir, "open")
	if err := os.MkdirAll(filepath.Join(open, "main"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Workspace: shared, MainWorkspace: filepath.Join(open, "main"), Auditor: nopAuditor{}}); err == nil ||
		!strings.Contains(err.Error(), "writable by other users") {
		t.Fatalf("world-writable parent: %v", err)
	}
	r, err := New(Options{Workspace: shared, MainWorkspace: filepath.Join(dir, "main"), Auditor: nopAuditor{}})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(r.MainWorkspace()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("main workspace %v %v", fi.Mode(), err)
	}
}

type nopAuditor struct{}

func (nopAuditor) Append(context.Context, auditlog.Event) (auditlog.Entry, error) {
	return auditlog.Entry{}, nil
}

// One caller flooding the runner holds at most its share of the slots:
// another caller still gets one, and the owner's main session always
// has one kept for it.
func TestOneCallerCannotTakeEverySlot(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxConcurrent = 4 })
	release := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran, busy := 0, 0
	started := make(chan struct{}, 16)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.r.Run(context.Background(), Request{Actor: "token:flood", Client: "flood", Argv: []string{"cat"},
				Stdin: blockingReader{started: started, release: release}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBusy):
				busy++
			case err == nil:
				ran++
			default:
				t.Error(err)
			}
		}()
	}
	// Wait for the flood's share to be running: 2 of 4 (one is the owner's).
	for range 2 {
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatal("the flood's commands did not start")
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return busy == 8 })
	if _, err := e.r.Run(context.Background(), Request{Actor: "token:other", Client: "other", Argv: []string{"true"}}); err != nil {
		t.Fatalf("another caller was starved: %v", err)
	}
	if _, err := e.r.Run(context.Background(), Request{Actor: "user:owner", Client: "owner", Main: true, Argv: []string{"true"}}); err != nil {
		t.Fatalf("the owner was starved: %v", err)
	}
	close(release)
	wg.Wait()
	if ran != 2 || busy != 8 {
		t.Fatalf("flood: %d ran, %d refused; want 2 and 8", ran, busy)
	}
}

// blockingReader tells started on its first Read, then blocks until
// release, then reports EOF.
type blockingReader struct {
	started chan<- struct{}
	release <-chan struct{}
}

func (b blockingReader) Read([]byte) (int, error) {
	b.started <- struct{}{}
	<-b.release
	return 0, errEOF
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A command cannot fill the disk: writing past the workspace's quota
// ends it, and the next run is refused until space is freed.
func TestWorkspaceQuota(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Quota = sandbox.Quota{Bytes: 40 << 20, Inodes: 1000} })
	// One file bigger than the room left is cut there, exactly.
	o, _ := e.run(Request{Actor: "token:agent", Client: "agent", Shell: "head -c 314572800 /dev/zero > big"})
	if o.Limit != sandbox.LimitWorkspace {
		t.Fatalf("one big file: %+v", o)
	}
	u, err := sandbox.Measure(e.r.Workspace(), false)
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes > 40<<20+64<<10 {
		t.Fatalf("one file grew the workspace to %d bytes", u.Bytes)
	}
	if err := os.Remove(filepath.Join(e.r.Workspace(), "big")); err != nil {
		t.Fatal(err)
	}
	// Files each under the room left, written at once: the watcher ends
	// the command (by how much it overshoots depends on the machine's
	// speed between two samples, so only the end is asserted).
	o, out := e.run(Request{Actor: "token:agent", Client: "agent",
		Shell: "for i in 1 2 3 4 5; do head -c 20971520 /dev/zero > f$i & done; wait; sleep 5; echo done"})
	if o.Limit != sandbox.LimitWorkspace || strings.Contains(out, "done") {
		t.Fatalf("filling the workspace: %+v %q", o, out)
	}
	_, err = e.r.Run(context.Background(), Request{Actor: "token:agent", Client: "agent", Argv: []string{"true"}})
	var qe *QuotaError
	if !errors.As(err, &qe) || qe.Limit != sandbox.LimitWorkspace {
		t.Fatalf("a run on a full workspace: %v", err)
	}
	denied := false
	for _, en := range e.entries("sandbox.exec") {
		if en.Outcome == auditlog.OutcomeDenied && strings.Contains(string(en.Details), "workspace_quota") {
			denied = true
		}
	}
	if !denied {
		t.Fatal("the refusal is not in the audit log")
	}
	// Too many files count the same way.
	if err := os.RemoveAll(e.r.Workspace()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.r.Workspace(), 0o700); err != nil {
		t.Fatal(err)
	}
	o, _ = e.run(Request{Actor: "token:agent", Client: "agent", Shell: "i=0; while [ $i -lt 5000 ]; do : > n$i; i=$((i+1)); done; sleep 5"})
	if o.Limit != sandbox.LimitWorkspace {
		t.Fatalf("inodes: %+v", o)
	}
	// The reserve: a disk with less free space than the reserve refuses.
	e2 := newEnv(t, func(o *Options) { o.Quota = sandbox.Quota{Reserve: 1 << 62} })
	_, err = e2.r.Run(context.Background(), Request{Actor: "token:agent", Argv: []string{"true"}})
	if !errors.As(err, &qe) || qe.Limit != sandbox.LimitReserve {
		t.Fatalf("reserve: %v", err)
	}
}
