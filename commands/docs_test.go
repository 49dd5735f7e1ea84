package commands

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// The manual page names every command of the tree, hidden ones excepted,
// as man renders it: a command added later is in the page without anyone
// editing it, and this test fails if the generator ever leaves one out.
// It also renders without warnings. It needs man-db (scripts/test
// installs it) and fails without it.
func TestManPageNamesEveryCommand(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		t.Fatal("man is not installed; scripts/test installs man-db")
	}
	app := newApp(testEnv(new(bytes.Buffer), new(bytes.Buffer)))
	page := manPage(app, BuildInfo{Version: "v1.2.3", Date: "2026-11-22T00:00:00Z"})
	path := filepath.Join(t.TempDir(), "warden.1")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "LC_ALL=C.UTF-8", "MANROFFSEQ=", "MANWIDTH=80")

	var warnings bytes.Buffer
	lint := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
	lint.Env, lint.Stderr = env, &warnings
	if err := lint.Run(); err != nil || warnings.Len() > 0 {
		t.Fatalf("man --warnings: %v\n%s", err, warnings.String())
	}

	render := exec.Command(man, "-E", "UTF-8", "-l", path)
	render.Env = env
	out, err := render.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	text := string(out)
	n := 0
	walk(app.Commands, "warden", func(name string, c *cli.Command) {
		if c.Hidden {
			return
		}
		n++
		heading := strings.TrimSpace(name + " " + c.ArgsUsage)
		if !strings.Contains(text, "\n   "+heading+"\n") {
			t.Errorf("the page has no section for %q", heading)
		}
	})
	if n < 40 {
		t.Fatalf("walked only %d commands", n)
	}
	if strings.Contains(text, completeCommandName) {
		t.Errorf("the page shows the hidden %s command", completeCommandName)
	}
}

// Text becomes roff that shows it as written: minus signs, backslashes,
// lines that start with a dot, and characters beyond ASCII.
func TestManEscapes(t *testing.T) {
	cases := map[string]string{
		`--format`:         `\-\-format`,
		`a\b`:              `a\eb`,
		"AGE-SECRET-KEY-…": `AGE\-SECRET\-KEY\-\[u2026]`,
		"`warden init`":    `\fBwarden init\fR`,
	}
	for in, want := range cases {
		if got := styled(in); got != want {
			t.Errorf("styled(%q) = %q, want %q", in, got, want)
		}
	}
	if got := escapeLine(".hidden"); got != `\&.hidden` {
		t.Errorf("escapeLine: %q", got)
	}
}
