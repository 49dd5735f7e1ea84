package commands

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/warden-sec/warden/core/secrets"
)

// ttyFile returns r as a terminal file, if it is one.
func ttyFile(v any) (*os.File, bool) {
	f, ok := v.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// canPrompt reports whether questions can be asked: stdin is a terminal,
// there is a terminal to show the question on, and --no-input is not set.
func (w *wiring) canPrompt(c *cli.Context) bool {
	if flagBool(c, "no-input") {
		return false
	}
	_, _, ok := w.terminal()
	return ok
}

// terminal returns the terminal to read answers from (stdin) and to write
// questions to: stderr when it is a terminal, else the controlling
// terminal, so prompts never mix with results on stdout.
func (w *wiring) terminal() (in, out *os.File, ok bool) {
	in, ok = ttyFile(w.env.Stdin)
	if !ok {
		return nil, nil, false
	}
	if out, ok = ttyFile(w.env.Stderr); ok {
		return in, out, true
	}
	if w.tty == nil {
		w.tty, w.ttyErr = openControllingTerminal()
	}
	if w.ttyErr != nil {
		return nil, nil, false
	}
	return in, w.tty, true
}

// readHidden prompts on the terminal and reads a line without echo.
func (w *wiring) readHidden(prompt string) (string, error) {
	in, out, ok := w.terminal()
	if !ok {
		return "", errors.New("no terminal to prompt on")
	}
	fmt.Fprint(out, prompt)
	b, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return string(b), nil
}

// readSecretValue reads a secret from a file, from piped stdin, or from a
// hidden prompt; never from the command line.
func (w *wiring) readSecretValue(c *cli.Context, name, fromFile string) (string, error) {
	if fromFile != "" {
		data, err := os.ReadFile(fromFile)
		if errors.Is(err, fs.ErrNotExist) {
			// Not named: a value that is no file may be the secret itself.
			return "", inputError(errors.New("--from-file: no such file"),
				"the flag takes the path of a file holding the value; pipe the value itself on stdin")
		}
		if err != nil {
			return "", inputError(fmt.Errorf("read %s: %w", fromFile, err), "")
		}
		return trimNewline(string(data)), nil
	}
	if _, tty := ttyFile(w.env.Stdin); tty {
		if !w.canPrompt(c) {
			return "", inputError(errors.New("no value given"), "pipe the value on stdin, use --from-file, or drop --no-input to be prompted")
		}
		v, err := w.readHidden(fmt.Sprintf("value for %s: ", name))
		if err != nil {
			return "", err
		}
		return v, nil
	}
	data, err := io.ReadAll(io.LimitReader(w.env.Stdin, secrets.MaxValueBytes+2))
	if err != nil {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	v := trimNewline(string(data))
	if v == "" {
		return "", inputError(errors.New("no value on stdin"), "pipe the value, e.g. `printf %s \"$TOKEN\" | warden secrets set NAME`")
	}
	return v, nil
}

// trimNewline drops one trailing line ending, as `echo value |` adds one.
func trimNewline(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}
