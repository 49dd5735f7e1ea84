package commands

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode"

	"github.com/urfave/cli/v2"
)

func testEnv(stdout, stderr *bytes.Buffer) Env {
	return Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }}
}

// walk visits every command with its full name.
func walk(cmds []*cli.Command, parent string, fn func(name string, c *cli.Command)) {
	for _, c := range cmds {
		name := parent + " " + c.Name
		fn(name, c)
		walk(c.Subcommands, name, fn)
	}
}

// Every command explains itself the way the house style asks: a one-line
// purpose, lowercase, no final period; every flag documented and settable
// from a WARDEN_* variable.
func TestCommandTreeHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	app := newApp(testEnv(&out, &errOut))
	checkFlags := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				t.Errorf("%s: flag %v has no documentation", where, f.Names())
				continue
			}
			if df.GetUsage() == "" {
				t.Errorf("%s --%s: no usage text", where, f.Names()[0])
			}
			envs := df.GetEnvVars()
			if len(envs) == 0 {
				t.Errorf("%s --%s: no WARDEN_* environment variable", where, f.Names()[0])
			}
			for _, e := range envs {
				if !strings.HasPrefix(e, "WARDEN_") {
					t.Errorf("%s --%s: environment variable %s lacks the WARDEN_ prefix", where, f.Names()[0], e)
				}
			}
		}
	}
	checkFlags("warden", app.Flags)
	n := 0
	walk(app.Commands, "warden", func(name string, c *cli.Command) {
		n++
		u := c.Usage
		switch {
		case u == "":
			t.Errorf("%s: no usage text", name)
		case unicode.IsUpper([]rune(u)[0]):
			t.Errorf("%s: usage %q starts with a capital", name, u)
		case strings.HasSuffix(u, "."):
			t.Errorf("%s: usage %q ends with a period", name, u)
		case strings.Contains(u, "\n"):
			t.Errorf("%s: usage is more than one line", name)
		}
		if len(c.Subcommands) == 0 {
			checkFlags(name, c.Flags)
			if c.Action == nil {
				t.Errorf("%s: no action", name)
			}
		}
		out.Reset()
		args := append(strings.Fields(name), "--help")
		if code := Run(context.Background(), args, testEnv(&out, &errOut)); code != ExitOK {
			t.Errorf("%s --help exited %d: %s", name, code, errOut.String())
		}
		if !strings.Contains(out.String(), c.Usage) {
			t.Errorf("%s --help does not show its usage:\n%s", name, out.String())
		}
	})
	if n < 10 {
		t.Fatalf("walked only %d commands", n)
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"warden", "version"}, ExitOK},
		{[]string{"warden", "nope"}, ExitInput},
		{[]string{"warden", "version", "--format", "xml"}, ExitInput},
		{[]string{"warden", "config", "validate", "/nonexistent/warden.yaml"}, ExitInput},
		{[]string{"warden", "--bogus"}, ExitInput},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if got := Run(context.Background(), c.args, testEnv(&out, &errOut)); got != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, got, c.code, errOut.String())
		}
		if c.code != ExitOK && !strings.HasPrefix(errOut.String(), "warden: error: ") {
			t.Errorf("%v: stderr %q lacks the error prefix", c.args, errOut.String())
		}
	}
}

func TestInterspersedFlags(t *testing.T) {
	app := newApp(testEnv(new(bytes.Buffer), new(bytes.Buffer)))
	cases := []struct{ in, want string }{
		{"warden config decrypt f.enc.yaml -o out.yaml", "warden config decrypt -o out.yaml f.enc.yaml"},
		{"warden -c x.yaml config rekey f -r age1a --add age1b", "warden -c x.yaml config rekey -r age1a --add age1b f"},
		{"warden secrets set name --generate --bytes 32", "warden secrets set --generate --bytes 32 name"},
		{"warden config validate --resolve f.yaml", "warden config validate --resolve f.yaml"},
		{"warden secrets set -- -weird", "warden secrets set -- -weird"},
		{"warden unknown a -x", "warden unknown a -x"},
	}
	for _, c := range cases {
		got := strings.Join(interspersed(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}
