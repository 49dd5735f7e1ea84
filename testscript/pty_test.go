package testscript

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdPty runs a command on a pseudo-terminal and converses with it:
//
//	pty SCRIPT CMD ARGS...
//
// SCRIPT holds one step per line: `expect REGEXP` waits (10 s at most) for
// the terminal output to match, `send "TEXT"` types a Go-quoted string.
// Cursor position queries (ESC[6n), which a real terminal answers, are
// answered as a 80x24 terminal would. The whole terminal output is saved
// to pty.out for later grep; the command must exit 0 (or fail, with !).
func cmdPty(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: pty SCRIPT CMD ARGS...")
	}
	steps := strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n")
	path, err := exec.LookPath(args[1])
	ts.Check(err)
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = scriptEnv(ts)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	ts.Check(err)
	defer ptmx.Close()

	var mu sync.Mutex
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				mu.Lock()
				before := out.Len()
				out.Write(buf[:n])
				// Answer every cursor position query in the new output.
				chunk := out.Bytes()[max(0, before-16):]
				queries := bytes.Count(chunk, []byte("\x1b[6n")) - bytes.Count(out.Bytes()[max(0, before-16):before], []byte("\x1b[6n"))
				mu.Unlock()
				for i := 0; i < queries; i++ {
					ptmx.Write([]byte("\x1b[24;80R"))
				}
			}
			if err != nil {
				return
			}
		}
	}()

	pos := 0
	for _, step := range steps {
		step = strings.TrimSpace(step)
		switch {
		case step == "" || strings.HasPrefix(step, "#"):
		case strings.HasPrefix(step, "expect "):
			re, err := regexp.Compile(strings.TrimPrefix(step, "expect "))
			ts.Check(err)
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				seen := out.String()[pos:]
				mu.Unlock()
				if loc := re.FindStringIndex(stripANSI(seen)); loc != nil {
					pos += len(seen) // later expectations look at newer output
					break
				}
				if time.Now().After(deadline) {
					ts.Fatalf("pty: %q not seen; terminal so far:\n%s", re, stripANSI(seen))
				}
				time.Sleep(10 * time.Millisecond)
			}
		case strings.HasPrefix(step, "send "):
			text, err := strconv.Unquote(strings.TrimPrefix(step, "send "))
			ts.Check(err)
			time.Sleep(50 * time.Millisecond) // let the prompt switch the terminal mode
			_, err = ptmx.Write([]byte(text))
			ts.Check(err)
		default:
			ts.Fatalf("pty: unknown step %q", step)
		}
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err = <-waitErr:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		ts.Fatalf("pty: %s did not exit", args[1])
	}
	ptmx.Close()
	<-done
	mu.Lock()
	transcript := stripANSI(out.String())
	mu.Unlock()
	ts.Check(os.WriteFile(ts.MkAbs("pty.out"), []byte(transcript), 0o600))
	var ee *exec.ExitError
	switch {
	case err == nil && neg:
		ts.Fatalf("pty: %s succeeded unexpectedly", args[1])
	case errors.As(err, &ee) && !neg:
		ts.Fatalf("pty: %s: %v\n%s", args[1], err, transcript)
	case err != nil && !errors.As(err, &ee):
		ts.Fatalf("pty: %v", err)
	}
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

// scriptEnv rebuilds the environment a script's exec would see.
func scriptEnv(ts *testscript.TestScript) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		k := strings.SplitN(kv, "=", 2)[0]
		if strings.HasPrefix(k, "WARDEN_") {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "PATH", "TMPDIR", "WORK"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	for _, k := range wardenEnvNames {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// wardenEnvNames are the WARDEN_* variables scripts may set for pty runs.
var wardenEnvNames = []string{"WARDEN_CONFIG", "WARDEN_STATE_DIR", "WARDEN_IDENTITY", "WARDEN_PASSPHRASE", "WARDEN_PASSPHRASE_FILE"}
