package testscript

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/warden-sec/warden/commands"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/core/sandbox"
)

// testScryptWorkFactor keeps passphrase tests fast; production uses age's default.
const testScryptWorkFactor = 10

func TestMain(m *testing.M) {
	// The sandbox re-executes this binary to set itself up.
	sandbox.Init()
	testscript.Main(m, map[string]func(){
		"warden": func() { os.Exit(runWarden(os.Args)) },
		// warden-exit CODE ARGS... runs warden ARGS and succeeds only when
		// it exits with CODE, so scripts can pin the documented exit codes.
		"warden-exit": func() {
			if len(os.Args) < 2 {
				fmt.Fprintln(os.Stderr, "usage: warden-exit CODE ARGS...")
				os.Exit(100)
			}
			want, err := strconv.Atoi(os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "warden-exit: bad code", os.Args[1])
				os.Exit(100)
			}
			got := runWarden(append([]string{"warden"}, os.Args[2:]...))
			if got != want {
				fmt.Fprintf(os.Stderr, "warden-exit: exit status %d, want %d\n", got, want)
				os.Exit(101)
			}
			os.Exit(0)
		},
	})
}

func runWarden(args []string) int {
	env := commands.ProcessEnv(commands.BuildInfo{Version: "v0.0.0-test", Commit: "0123456789abcdef", Date: "2026-11-22T00:00:00Z"})
	env.ScryptWorkFactor = testScryptWorkFactor
	// As main.go: an interrupt or SIGTERM cancels the context.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return commands.Run(ctx, args, env)
}

func TestScripts(t *testing.T) {
	groups, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	sops, err := exec.LookPath("sops")
	if err != nil {
		t.Fatal("the sops binary is not on PATH; scripts/test installs it (go install github.com/getsops/sops/v3/cmd/sops@v3.13.3)")
	}
	for _, dir := range groups {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			testscript.Run(t, testscript.Params{
				Dir:                 dir,
				RequireExplicitExec: true,
				RequireUniqueNames:  true,
				Setup: func(e *testscript.Env) error {
					home := filepath.Join(e.WorkDir, "home")
					e.Setenv("HOME", home)
					e.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
					e.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
					e.Setenv("SOPS", sops)
					e.Setenv("PATH", filepath.Dir(sops)+string(os.PathListSeparator)+e.Getenv("PATH"))
					return nil
				},
				Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
					"mode":      cmdMode,
					"agekey":    cmdAgeKey,
					"samefile":  cmdSame,
					"waitfile":  cmdWaitFile,
					"linecount": cmdLineCount,
					"pty":       cmdPty,
					"sqlexec":   cmdSQLExec,
					"sqllock":   cmdSQLLock,
					"sqlunlock": cmdSQLUnlock,
					"syslogd":   cmdSyslogd,
					"httpsink":  cmdHTTPSink,
					"countseq":  cmdCountSeq,
					"totpcode":  cmdTOTPCode,
					"gwlogin":   cmdGWLogin,
					"gwauth":    cmdGWAuth,
					"waitready": cmdWaitReady,
					"http":      cmdHTTP,
					"osvzip":    cmdOSVZip,
					"httpdir":   cmdHTTPDir,
					"whichexe":  cmdWhichExe,
					"gitrepo":   cmdGitRepo,
					"ghserver":  cmdGHServer,
					"ghlog":     cmdGHLog,
					"gwurl":     cmdGWURL,
					"badgw":     cmdBadGW,
				},
			})
		})
	}
}

// mode FILE PERM asserts a file's permission bits, e.g. mode warden.db 0600.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	if err != nil {
		ts.Fatalf("bad mode %q", args[1])
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := uint64(fi.Mode().Perm())
	if (got == want) == neg {
		ts.Fatalf("%s has mode %04o, want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// agekey FILE VAR reads an age identity file and sets VAR to its public
// recipient (from the "# public key:" line).
func cmdAgeKey(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: agekey FILE VAR")
	}
	data := ts.ReadFile(args[0])
	for _, line := range strings.Split(data, "\n") {
		if r, ok := strings.CutPrefix(line, "# public key: "); ok {
			ts.Setenv(args[1], strings.TrimSpace(r))
			return
		}
	}
	ts.Fatalf("%s has no public key line", args[0])
}

// samefile A B asserts two files have identical content (cmp without
// printing a diff, for encrypted data).
func cmdSame(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: samefile A B")
	}
	same := ts.ReadFile(args[0]) == ts.ReadFile(args[1])
	if same == neg {
		ts.Fatalf("%s and %s: same=%v", args[0], args[1], same)
	}
}

// waitfile FILE waits up to 10 s for a file to exist.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear", args[0])
}

// linecount FILE N asserts the number of lines in a file (or stdout/stderr).
func cmdLineCount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: linecount FILE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := len(strings.Split(strings.TrimRight(ts.ReadFile(args[0]), "\n"), "\n"))
	if (got == n) == neg {
		ts.Fatalf("%s has %d lines, want %d", args[0], got, n)
	}
}

// countseq FILE N asserts that FILE (one entry or message per line) holds
// exactly the sequence numbers 1..N, each once. N may be @FILE, a file
// holding the number.
func cmdCountSeq(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: countseq FILE N|@NFILE")
	}
	if f, ok := strings.CutPrefix(args[1], "@"); ok {
		args[1] = strings.TrimSpace(ts.ReadFile(f))
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	seen := map[int]int{}
	re := regexp.MustCompile(`"seq":(\d+)`)
	for _, line := range strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			s, _ := strconv.Atoi(m[1])
			seen[s]++
		}
	}
	for i := 1; i <= n; i++ {
		if seen[i] != 1 {
			ts.Fatalf("%s: entry %d arrived %d times", args[0], i, seen[i])
		}
	}
	if len(seen) != n {
		ts.Fatalf("%s: %d distinct entries, want %d", args[0], len(seen), n)
	}
}

// totpcode FILE VAR reads the "secret  XXXX XXXX …" line warden printed
// into FILE and sets VAR to the current TOTP code, as an authenticator app
// would show it.
func cmdTOTPCode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: totpcode FILE VAR")
	}
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if rest, ok := strings.CutPrefix(line, "secret  "); ok {
			secret, err := totp.DecodeSecret(rest)
			ts.Check(err)
			ts.Setenv(args[1], totp.Code(secret, totp.Step(time.Now())))
			return
		}
	}
	ts.Fatalf("no secret line in %s", args[0])
}
