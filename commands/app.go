package commands

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// newApp builds the command tree.
func newApp(env Env) *cli.App {
	w := &wiring{env: env}
	app := &cli.App{
		Name:  "warden",
		Usage: "hardened gateway and security toolkit for self-hosted AI agents",
		Description: "Warden guards an AI agent that talks to chat platforms and runs shell commands:\n" +
			"a strict, secure-by-default config, secrets encrypted at rest, and (as the gateway)\n" +
			"authenticated access, a tamper-evident audit log and a sandbox.",
		Version:         env.Build.Version,
		HideVersion:     true,
		HideHelpCommand: true,
		Reader:          env.Stdin,
		Writer:          env.Stdout,
		ErrWriter:       env.Stderr,
		Flags:           globalFlags(),
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError(c, err, "warden")
		},
		Action: groupAction,
		Commands: []*cli.Command{
			w.initCommand(),
			w.configCommand(),
			w.secretsCommand(),
			w.logCommand(),
			w.depsCommand(),
			w.auditCommand(),
			w.migrateCommand(),
			w.usersCommand(),
			w.sessionsCommand(),
			w.tokensCommand(),
			w.serveCommand(),
			w.tlsCommand(),
			w.sandboxCommand(),
			w.releaseNotesCommand(),
			w.reportCommand(),
			w.versionCommand(),
			w.completionCommand(),
			w.docsCommand(),
			w.completeCommand(),
		},
	}
	for _, c := range app.Commands {
		finish(c, "warden")
	}
	return app
}

// finish gives every command in the tree the global flags, usage-error
// handling and, for groups, an action that rejects unknown subcommands.
func finish(c *cli.Command, parent string) {
	full := parent + " " + c.Name
	c.OnUsageError = func(cc *cli.Context, err error, _ bool) error {
		return usageError(cc, err, full)
	}
	if len(c.Subcommands) > 0 {
		c.HideHelpCommand = true
		for _, s := range c.Subcommands {
			finish(s, full)
		}
		if c.Action == nil {
			c.Action = groupAction
			return
		}
		// A command with an action of its own and subcommands (report).
	}
	c.Flags = append(c.Flags, globalFlags()...)
}

// groupAction runs for a command group without a subcommand: it shows help,
// or refuses an unknown subcommand.
func groupAction(c *cli.Context) error {
	if c.Args().Present() {
		return unknownCommand(c, c.Args().First())
	}
	return cli.ShowSubcommandHelp(c)
}

const globalCategory = "Global options"

// globalFlags are accepted before or after any command.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Category: globalCategory, TakesFile: true,
			Usage:   "config file (default: ./warden.yaml or ./warden.enc.yaml, then the user config dir; none: embedded defaults)",
			EnvVars: []string{"WARDEN_CONFIG"}},
		&cli.StringFlag{Name: "state-dir", Category: globalCategory, TakesFile: true,
			Usage:   "state directory (default: the config's state_dir, else the user state dir)",
			EnvVars: []string{"WARDEN_STATE_DIR"}},
		&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Category: globalCategory, TakesFile: true,
			Usage:   "read the age identity from `FILE` (default: identity.txt in the user config dir); the AGE-SECRET-KEY-… itself goes only in WARDEN_IDENTITY, never on the command line",
			EnvVars: []string{"WARDEN_IDENTITY"}},
		&cli.StringFlag{Name: "passphrase-file", Category: globalCategory, TakesFile: true,
			Usage:   "read the secret store passphrase from this file (WARDEN_PASSPHRASE holds it directly)",
			EnvVars: []string{"WARDEN_PASSPHRASE_FILE"}},
		&cli.BoolFlag{Name: "no-input", Category: globalCategory,
			Usage:   "never prompt; fail when input is needed (implied when stdin is not a terminal)",
			EnvVars: []string{"WARDEN_NO_INPUT"}},
	}
}

// flagString returns a flag set on the command or on any parent, so global
// flags work before and after the command name.
func flagString(c *cli.Context, name string) string {
	for _, cc := range c.Lineage() {
		for _, n := range cc.LocalFlagNames() {
			if n == name {
				return cc.String(name)
			}
		}
	}
	return c.String(name)
}

func flagBool(c *cli.Context, name string) bool {
	for _, cc := range c.Lineage() {
		for _, n := range cc.LocalFlagNames() {
			if n == name {
				return cc.Bool(name)
			}
		}
	}
	return c.Bool(name)
}

// formatFlag is the --format flag of listing commands.
func formatFlag(env string, values ...string) *cli.StringFlag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: values[0],
		Usage:   "output format: " + strings.Join(values, ", "),
		EnvVars: []string{env}}
}

// format reads and checks the --format flag.
func format(c *cli.Context, allowed ...string) (string, error) {
	f := c.String("format")
	if f == "" {
		return allowed[0], nil // an empty WARDEN_*_FORMAT is no choice
	}
	for _, a := range allowed {
		if f == a {
			return f, nil
		}
	}
	return "", usageErrorf("--format %q is not one of %s", f, strings.Join(allowed, ", "))
}

// resultFormatFlag is the --format flag of commands that print the
// outcome of what they did: text for people, json for scripts. One
// variable sets it for all of them.
func resultFormatFlag() *cli.StringFlag {
	return formatFlag("WARDEN_RESULT_FORMAT", "text", "json")
}

// printResult prints an outcome: v (which carries SchemaVersion) with
// --format json, else text.
func (w *wiring) printResult(f string, v any, text string) error {
	if f == "json" {
		return writeJSON(w.env.Stdout, v)
	}
	_, err := fmt.Fprint(w.env.Stdout, text)
	return err
}

// noArgs refuses positional arguments.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return usageErrorf("unexpected argument %q", c.Args().First())
	}
	return nil
}
