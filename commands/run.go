// Package commands is Warden's command line: it parses flags, prompts on a
// terminal, calls into core/ and scanners/, renders results, and decides
// exit codes. It is the only package that prints or knows about terminals.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/AlecAivazis/survey/v2/terminal"
	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/sops"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/core/store"
	"github.com/warden-sec/warden/internal/suggest"
)

// Exit codes, documented in the README.
const (
	ExitOK       = 0 // success
	ExitGate     = 1 // a gate failed: findings at or above the threshold, an invalid config under validate
	ExitInput    = 2 // usage or input error: bad flags, unreadable or invalid files, wrong identity
	ExitInternal = 3 // internal error: a bug or an environment failure
)

// BuildInfo is injected at link time (see .goreleaser.yaml); what the
// linker leaves out comes from the VCS stamp of the Go toolchain (see
// stamped in version.go).
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
	// Modified: the checkout had uncommitted changes when it was built.
	Modified bool
}

// Env is what a command takes from its process. Tests build their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
	Build  BuildInfo
	// ScryptWorkFactor is log2 of scrypt's N for new passphrase
	// encryptions; 0 keeps age's default. Lowered only by tests.
	ScryptWorkFactor int
}

// ProcessEnv returns the Env of the running process. What build leaves
// empty is read from the binary's VCS stamp.
func ProcessEnv(build BuildInfo) Env {
	info, _ := debug.ReadBuildInfo()
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Now: time.Now, Build: stamped(build, info)}
}

// Run runs the command line args (args[0] is the program name) and returns
// the exit code. It is the only place that prints errors.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	app := newApp(env)
	err := keyOnCommandLine(app, args)
	if err == nil {
		err = app.RunContext(ctx, interspersed(app, args))
	}
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	printError(env.Stderr, err)
	return code
}

// invokedAs is the command line that leads to c's command, such as
// "warden users 2fa" (the root is always "warden", whatever the binary's
// name).
func invokedAs(c *cli.Context) string {
	var names []string
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		if cmd := lineage[i].Command; cmd != nil {
			names = append(names, cmd.Name)
		}
	}
	if len(names) == 0 {
		return "warden"
	}
	names[0] = "warden"
	return strings.Join(names, " ")
}

// unknownCommand refuses a name that is none of c's subcommands, with the
// closest one as a hint when name looks like a typo of it.
func unknownCommand(c *cli.Context, name string) error {
	path := invokedAs(c)
	var names []string
	canonical := map[string]string{}
	if c.Command != nil {
		for _, s := range c.Command.Subcommands {
			if s.Hidden {
				continue
			}
			for _, n := range s.Names() {
				names = append(names, n)
				canonical[n] = s.Name
			}
		}
	}
	hint := fmt.Sprintf("run `%s --help` for the list", path)
	if s := suggest.Closest(name, names); s != "" {
		hint = fmt.Sprintf("did you mean `%s %s`?\n%s", path, canonical[s], hint)
	}
	return &exitError{code: ExitInput, err: fmt.Errorf("unknown command %q for %s", name, path), hint: hint}
}

// usageError is a flag parsing error as a usage error: an unknown flag is
// named with its dashes (-c, --config) and gets the closest visible flag of
// the command as a hint.
func usageError(c *cli.Context, err error, path string) error {
	hint := fmt.Sprintf("run `%s --help` for usage", path)
	name, unknown := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !unknown || c.Command == nil {
		return &exitError{code: ExitInput, err: err, hint: hint}
	}
	var names []string
	for _, f := range c.Command.Flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		names = append(names, f.Names()...)
	}
	if s := suggest.Closest(name, names); s != "" {
		hint = fmt.Sprintf("did you mean %s?\n%s", dashed(s), hint)
	}
	return &exitError{code: ExitInput, err: fmt.Errorf("unknown flag %s for %s", dashed(name), path), hint: hint}
}

// dashed writes a flag name as it is typed: -c, --config.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// exitError carries an exit code and an optional hint.
type exitError struct {
	code int
	err  error
	hint string
	// quiet errors have already been reported (a failed gate prints its
	// findings); only the code matters.
	quiet bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) Hint() string  { return e.hint }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitInput, err: fmt.Errorf(format, args...)}
}

func inputError(err error, hint string) error {
	return &exitError{code: ExitInput, err: err, hint: hint}
}

// gateFailed reports an outcome already printed, such as an invalid config
// under `config validate`.
func gateFailed(err error) error {
	return &exitError{code: ExitGate, err: err, quiet: true}
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ve *config.ValidationError
	var de *secrets.DecryptError
	var pe *secrets.PermissionError
	var sve *sops.ValueError
	var tooNew *store.SchemaTooNewError
	var appendErr *auditlog.AppendError
	var linkErr *statedir.LinkError
	if errors.As(err, &appendErr) {
		return ExitInternal
	}
	switch {
	case errors.As(err, &ve), errors.As(err, &de), errors.As(err, &pe), errors.As(err, &sve), errors.As(err, &tooNew),
		errors.As(err, &linkErr), errors.Is(err, statedir.ErrNotRegular):
		return ExitInput
	case errors.Is(err, secrets.ErrNoIdentity), errors.Is(err, secrets.ErrNoPassphrase),
		errors.Is(err, secrets.ErrStoreMissing), errors.Is(err, secrets.ErrStoreExists),
		errors.Is(err, secrets.ErrNotFound), errors.Is(err, secrets.ErrInvalidName), errors.Is(err, secrets.ErrInvalidSecret),
		errors.Is(err, sops.ErrMACMismatch), errors.Is(err, sops.ErrNotEncrypted), errors.Is(err, sops.ErrAlreadyEncrypted),
		errors.Is(err, sops.ErrNoMatchingIdentity), errors.Is(err, config.ErrNeedsIdentity), errors.Is(err, config.ErrAmbiguous),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrExist),
		errors.Is(err, terminal.InterruptErr):
		return ExitInput
	}
	return ExitInternal
}

// printError writes "warden: error: …" lines and "warden: hint: …" lines.
func printError(w io.Writer, err error) {
	var ee *exitError
	if errors.As(err, &ee) && ee.quiet {
		return
	}
	if errors.Is(err, terminal.InterruptErr) {
		fmt.Fprintln(w, "warden: error: interrupted")
		return
	}
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		for _, d := range ve.Diagnostics {
			fmt.Fprintf(w, "warden: error: %s\n", d)
		}
	} else {
		for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
			fmt.Fprintf(w, "warden: error: %s\n", line)
		}
	}
	for _, hint := range hintsOf(err) {
		fmt.Fprintf(w, "warden: hint: %s\n", hint)
	}
}

type hinter interface{ Hint() string }

// hintsOf collects the hints along the error chain, outermost first.
func hintsOf(err error) []string {
	var out []string
	seen := map[string]bool{}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(hinter); ok {
			for _, line := range strings.Split(h.Hint(), "\n") {
				if line != "" && !seen[line] {
					seen[line] = true
					out = append(out, line)
				}
			}
		}
	}
	return out
}
