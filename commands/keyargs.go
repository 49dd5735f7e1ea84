package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/secrets"
)

// ageKeyPrefix begins every age secret key.
const ageKeyPrefix = "AGE-SECRET-KEY-"

// isAgeKey reports whether a flag or environment value is an age secret
// key rather than the path of a file holding one.
func isAgeKey(v string) bool { return secrets.IsKey(v) }

// holdsAgeKey reports whether s contains an age secret key anywhere, as in
// --identity=AGE-SECRET-KEY-… or a key pasted into another value.
func holdsAgeKey(s string) bool { return secrets.ContainsKey(s) }

const (
	keyVisible     = "command lines are visible to every local user in /proc/PID/cmdline"
	keyIdentityFix = "put the key in a 0600 file and pass its path, or set WARDEN_IDENTITY=" + ageKeyPrefix + "…"
	keyRotate      = "if the key may have been seen (shell history, another user's ps), replace it: a new identity, then `warden secrets rekey` and `warden config rekey`"
)

// identityOnCommandLine is the refusal of a key given to --identity.
func identityOnCommandLine() error {
	return &exitError{code: ExitInput,
		err:  errors.New("--identity: the flag takes a file, not the key itself: " + keyVisible),
		hint: keyIdentityFix + "\n" + keyRotate}
}

// keyOnCommandLine refuses an age secret key anywhere among the flags and
// arguments, before anything parses them, so that no later message can
// repeat it. No warden flag or argument takes a secret key: identities
// come from a file or WARDEN_IDENTITY, secret values from stdin or a
// file. What follows "--" is the command a sandbox runs, not warden's.
// The key is never quoted back: the error names the flag or position.
func keyOnCommandLine(app *cli.App, args []string) error {
	valued := allFlags(app)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return nil
		}
		if !holdsAgeKey(a) {
			continue
		}
		name := ""
		if strings.HasPrefix(a, "-") && strings.Contains(a, "=") {
			name = strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		} else if i > 1 && strings.HasPrefix(args[i-1], "-") && takesValue(valued, args[i-1]) {
			name = strings.TrimLeft(args[i-1], "-")
		}
		switch name {
		case "identity", "i":
			return identityOnCommandLine()
		case "":
			return &exitError{code: ExitInput,
				err:  fmt.Errorf("argument %d is an age secret key: %s", i, keyVisible),
				hint: "pass an identity as --identity FILE or through WARDEN_IDENTITY, and secret values on stdin or with --from-file\n" + keyRotate}
		}
		flag := "--" + name
		if len(name) == 1 {
			flag = "-" + name
		}
		hint := "no warden flag takes a secret key: pass an identity as --identity FILE or through WARDEN_IDENTITY"
		if name == "recipient" || name == "r" || name == "add" || name == "remove" {
			hint = flag + " takes a recipient (age1…), the public half of an identity, which `warden secrets init` prints"
		}
		return &exitError{code: ExitInput,
			err:  fmt.Errorf("%s: an age secret key on the command line: %s", flag, keyVisible),
			hint: hint + "\n" + keyRotate}
	}
	return nil
}

// allFlags gathers the flags of every command, to tell a flag's value
// from a positional argument without knowing yet which command runs.
func allFlags(app *cli.App) []cli.Flag {
	out := append([]cli.Flag(nil), app.Flags...)
	var walk func([]*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			out = append(out, c.Flags...)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
	return out
}
