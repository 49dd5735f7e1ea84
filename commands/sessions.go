package commands

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auth"
)

func (w *wiring) sessionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "sessions",
		Usage: "list and revoke gateway login sessions",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list live sessions (--all adds revoked and expired ones)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "user", Usage: "only this user's sessions", EnvVars: []string{"WARDEN_SESSIONS_USER"}},
					&cli.BoolFlag{Name: "all", Usage: "include revoked and expired sessions", EnvVars: []string{"WARDEN_SESSIONS_ALL"}},
					formatFlag("WARDEN_SESSIONS_FORMAT", "table", "json"),
				},
				Action: w.sessionsList,
			},
			{
				Name: "revoke", Usage: "end a session by id, or every session of --user with --all", ArgsUsage: "[ID]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "user", Usage: "with --all: the user whose sessions end", EnvVars: []string{"WARDEN_SESSIONS_USER"}},
					&cli.BoolFlag{Name: "all", Usage: "end every session of --user", EnvVars: []string{"WARDEN_SESSIONS_ALL"}},
					resultFormatFlag(),
				},
				Action: w.sessionsRevoke,
			},
			{Name: "cleanup", Usage: "remove expired sessions (the gateway also does it on its maintenance tick)", Flags: []cli.Flag{resultFormatFlag()}, Action: w.sessionsCleanup},
		},
	}
}

// sessionsRevoked is what `sessions revoke --format json` prints.
type sessionsRevoked struct {
	SchemaVersion int    `json:"schemaVersion"`
	User          string `json:"user,omitempty"`    // with --all
	Session       string `json:"session,omitempty"` // the one ended
	Revoked       int    `json:"revoked"`
}

// sessionsCleaned is what `sessions cleanup --format json` prints.
type sessionsCleaned struct {
	SchemaVersion int `json:"schemaVersion"`
	Removed       int `json:"removed"`
}

type sessionsOutput struct {
	SchemaVersion int            `json:"schemaVersion"`
	Sessions      []auth.Session `json:"sessions"`
}

func (w *wiring) sessionsList(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "table", "json")
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.svc.ListSessions(c.Context, auth.SessionFilter{User: c.String("user"), IncludeEnded: c.Bool("all")})
	if err != nil {
		return err
	}
	if f == "json" {
		if list == nil {
			list = []auth.Session{}
		}
		return writeJSON(w.env.Stdout, sessionsOutput{SchemaVersion: jsonSchemaVersion, Sessions: list})
	}
	if len(list) == 0 {
		w.notef("no sessions")
		return nil
	}
	rows := make([][]string, len(list))
	for i, s := range list {
		state := "live"
		if s.Revoked != nil {
			state = "revoked: " + s.Reason
		} else if !w.env.Now().Before(s.Expires) {
			state = "expired"
		}
		rows[i] = []string{s.ID, s.User, s.DeviceID, s.ClientIP, s.Created.Format(time.RFC3339), s.Expires.Format(time.RFC3339), state}
	}
	return writeTable(w.env.Stdout, []string{"ID", "USER", "DEVICE", "IP", "CREATED", "EXPIRES", "STATE"}, rows)
}

func (w *wiring) sessionsRevoke(c *cli.Context) error {
	all, user := c.Bool("all"), c.String("user")
	switch {
	case all && (user == "" || c.NArg() > 0):
		return usageErrorf("--all needs --user NAME and no ID")
	case !all && c.NArg() != 1:
		return usageErrorf("give a session ID, or --user NAME --all")
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	if all {
		n, err := a.svc.RevokeUserSessions(c.Context, localActor(), user, "local")
		if err != nil {
			return authError(err)
		}
		return w.printResult(f, sessionsRevoked{SchemaVersion: jsonSchemaVersion, User: user, Revoked: n},
			fmt.Sprintf("revoked %d session%s of %s\n", n, plural(n), user))
	}
	if err := a.svc.RevokeSession(c.Context, localActor(), c.Args().First(), "local"); err != nil {
		return authError(err)
	}
	return w.printResult(f, sessionsRevoked{SchemaVersion: jsonSchemaVersion, Session: c.Args().First(), Revoked: 1},
		fmt.Sprintf("revoked session %s\n", c.Args().First()))
}

func (w *wiring) sessionsCleanup(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.svc.CleanupSessions(c.Context)
	if err != nil {
		return err
	}
	return w.printResult(f, sessionsCleaned{SchemaVersion: jsonSchemaVersion, Removed: n},
		fmt.Sprintf("removed %d expired session%s\n", n, plural(n)))
}
