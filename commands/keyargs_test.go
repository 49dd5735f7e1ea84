package commands

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

const testKey = "AGE-SECRET-KEY-1092HD7WEE48XTV0S062E3YT7NZGST7F2Q5C2RVPLDVD3H6CUHVTSWJ0EVJ"

// An age key anywhere on the command line is refused before parsing, with
// exit 2, naming the flag or the position, never quoting the key.
func TestKeyOnCommandLine(t *testing.T) {
	cases := []struct{ args, want string }{
		{"warden secrets list --identity " + testKey, "--identity: the flag takes a file, not the key itself"},
		{"warden --identity=" + testKey + " secrets list", "--identity: the flag takes a file, not the key itself"},
		{"warden secrets list -i " + testKey, "--identity: the flag takes a file, not the key itself"},
		{"warden secrets list -i=" + strings.ToLower(testKey), "--identity: the flag takes a file, not the key itself"},
		{"warden secrets list -identity " + testKey, "--identity: the flag takes a file, not the key itself"},
		{"warden config encrypt f.yaml -r " + testKey, "-r: an age secret key on the command line"},
		{"warden config rekey f.yaml --add " + testKey, "--add: an age secret key on the command line"},
		{"warden secrets get " + testKey, "argument 3 is an age secret key"},
		{"warden secrets set name x" + testKey, "argument 4 is an age secret key"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), strings.Fields(c.args), testEnv(&out, &errOut))
		if code != ExitInput {
			t.Errorf("%s: exit %d, want %d", c.args, code, ExitInput)
		}
		msg := errOut.String()
		if !strings.HasPrefix(msg, "warden: error: "+c.want) {
			t.Errorf("%s: stderr %q, want it to start with %q", c.args, msg, c.want)
		}
		if !strings.Contains(msg, "/proc/PID/cmdline") || !strings.Contains(msg, "warden: hint: ") {
			t.Errorf("%s: stderr %q lacks the reason or the hint", c.args, msg)
		}
		if strings.Contains(strings.ToUpper(msg), testKey[len(ageKeyPrefix):]) {
			t.Errorf("%s: stderr repeats the key: %q", c.args, msg)
		}
	}
}

// What follows "--" is the sandboxed command's, and a file named like a
// path is no key.
func TestKeyOnCommandLineLeavesOthersAlone(t *testing.T) {
	app := newApp(testEnv(new(bytes.Buffer), new(bytes.Buffer)))
	for _, args := range []string{
		"warden sandbox run -- printf " + testKey,
		"warden secrets list --identity /home/u/.config/warden/identity.txt",
		"warden secrets list --identity /home/u/age-secret-key-backup.txt",
		"warden secrets list",
	} {
		if err := keyOnCommandLine(app, strings.Fields(args)); err != nil {
			t.Errorf("%s: %v", args, err)
		}
	}
}

// urfave/cli gives --identity the value of WARDEN_IDENTITY: the keyring
// accepts a key only when it is the variable's value, and names the
// variable as its source.
func TestKeyringTakesTheKeyOnlyFromTheEnvironment(t *testing.T) {
	run := func(env map[string]string, args ...string) (*cli.Context, *wiring) {
		e := testEnv(new(bytes.Buffer), new(bytes.Buffer))
		e.Getenv = func(k string) string { return env[k] }
		w := &wiring{env: e}
		var got *cli.Context
		app := &cli.App{Flags: globalFlags(), Action: func(c *cli.Context) error { got = c; return nil }}
		for k, v := range env {
			t.Setenv(k, v) // urfave/cli reads the process environment
		}
		if err := app.Run(append([]string{"warden"}, args...)); err != nil {
			t.Fatal(err)
		}
		return got, w
	}

	c, w := run(map[string]string{"WARDEN_IDENTITY": testKey})
	kr, err := w.keyring(c)
	if err != nil {
		t.Fatalf("the key from WARDEN_IDENTITY: %v", err)
	}
	if kr.ExplicitSource != "WARDEN_IDENTITY" || kr.Explicit != testKey {
		t.Fatalf("source %q", kr.ExplicitSource)
	}

	// Parsed past Run's check (as a test or another front end might): the
	// key that is not the variable's value came from the command line.
	c, w = run(map[string]string{"WARDEN_IDENTITY": ""}, "--identity", testKey)
	if _, err := w.keyring(c); err == nil || !strings.Contains(err.Error(), "--identity: the flag takes a file") {
		t.Fatalf("the key from the flag: %v", err)
	}

	c, w = run(map[string]string{"WARDEN_IDENTITY": ""}, "--identity", "id.txt")
	kr, err = w.keyring(c)
	if err != nil || kr.ExplicitSource != "id.txt" {
		t.Fatalf("a file: %+v %v", kr, err)
	}
}
