package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auth"
)

func (w *wiring) usersCommand() *cli.Command {
	nameArgs := "NAME"
	return &cli.Command{
		Name:  "users",
		Usage: "manage gateway users, their passwords and two-factor authentication",
		Subcommands: []*cli.Command{
			{
				Name: "add", Usage: "add a user (password from a hidden prompt or the first line of stdin)", ArgsUsage: nameArgs,
				Flags:  []cli.Flag{&cli.StringFlag{Name: "role", Value: "viewer", Usage: "admin, operator, agent or viewer", EnvVars: []string{"WARDEN_USER_ROLE"}}, resultFormatFlag()},
				Action: w.usersAdd,
			},
			{
				Name: "list", Usage: "list users, roles and two-factor status",
				Flags:  []cli.Flag{formatFlag("WARDEN_USERS_FORMAT", "table", "json")},
				Action: w.usersList,
			},
			{Name: "disable", Usage: "stop a user from logging in and end their sessions", ArgsUsage: nameArgs, Flags: []cli.Flag{resultFormatFlag()}, Action: w.usersDisable},
			{Name: "passwd", Usage: "change a password (current, then new: prompts or two lines on stdin); ends every session", ArgsUsage: nameArgs, Flags: []cli.Flag{resultFormatFlag()}, Action: w.usersPasswd},
			{
				Name:  "2fa",
				Usage: "two-factor authentication (TOTP) for a user",
				Subcommands: []*cli.Command{
					{Name: "enroll", Usage: "start TOTP enrollment: checks the password, shows the QR code and secret", ArgsUsage: nameArgs, Flags: []cli.Flag{resultFormatFlag()}, Action: w.twoFAEnroll,
						Description: "On a terminal it then asks for a first code and finishes as `confirm` does. With --format json\n" +
							"it prints the secret and URI as JSON and leaves the code to `warden users 2fa confirm NAME`."},
					{Name: "confirm", Usage: "finish enrollment with a code from the app; prints the recovery codes once", ArgsUsage: nameArgs, Flags: []cli.Flag{resultFormatFlag()}, Action: w.twoFAConfirm},
					{Name: "recovery-codes", Usage: "replace a user's recovery codes (checks the password); the old ones stop working", ArgsUsage: nameArgs, Flags: []cli.Flag{resultFormatFlag()}, Action: w.twoFARecovery},
					{Name: "disable", Usage: "turn two-factor off for a user (admin)", ArgsUsage: nameArgs, Flags: []cli.Flag{resultFormatFlag()}, Action: w.twoFADisable},
				},
			},
		},
	}
}

func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("%s takes one NAME", c.Command.Name)
	}
	return c.Args().First(), nil
}

func (w *wiring) usersAdd(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	role, err := auth.ParseRole(c.String("role"))
	if err != nil {
		return usageErrorf("--role: %v", err)
	}
	if err := auth.ValidateName(strings.ToLower(name)); err != nil {
		return inputError(err, "")
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	pw, err := w.secretInputs(c, secretPrompt{label: "password for " + name, confirm: true})
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.svc.CreateUser(c.Context, localActor(), name, role, pw[0])
	if err != nil {
		return authError(err)
	}
	if err := w.printResult(f, userResult{SchemaVersion: jsonSchemaVersion, User: u}, fmt.Sprintf("added user %s (role %s)\n", u.Name, u.Role)); err != nil {
		return err
	}
	if u.Owner {
		w.notef("%s is the owner: with sandbox mode non-main, commands from their own login sessions run on the host (gateway.owner changes it)", u.Name)
	}
	return nil
}

// userResult is what `users add --format json` prints.
type userResult struct {
	SchemaVersion int        `json:"schemaVersion"`
	User          *auth.User `json:"user"`
}

// userChange is what the commands that change a user print as JSON.
type userChange struct {
	SchemaVersion int    `json:"schemaVersion"`
	User          string `json:"user"`
	// Change names what was done: disabled, password_changed,
	// two_factor_disabled.
	Change string `json:"change"`
	// SessionsEnded says whether every session of the user ended.
	SessionsEnded bool `json:"sessionsEnded"`
}

// twoFactorEnrollment is what `users 2fa enroll --format json` prints.
type twoFactorEnrollment struct {
	SchemaVersion int    `json:"schemaVersion"`
	User          string `json:"user"`
	Secret        string `json:"secret"`
	URI           string `json:"uri"`
}

// recoveryCodes is what `users 2fa confirm` and `recovery-codes` print
// as JSON; the codes are shown only this once.
type recoveryCodes struct {
	SchemaVersion int      `json:"schemaVersion"`
	User          string   `json:"user"`
	TwoFactor     bool     `json:"twoFactor"`
	RecoveryCodes []string `json:"recoveryCodes"`
}

type usersOutput struct {
	SchemaVersion int         `json:"schemaVersion"`
	Users         []auth.User `json:"users"`
}

func (w *wiring) usersList(c *cli.Context) error {
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
	users, err := a.svc.ListUsers(c.Context)
	if err != nil {
		return err
	}
	if f == "json" {
		if users == nil {
			users = []auth.User{}
		}
		return writeJSON(w.env.Stdout, usersOutput{SchemaVersion: jsonSchemaVersion, Users: users})
	}
	if len(users) == 0 {
		w.notef("no users yet; add one with `warden users add NAME --role admin`")
		return nil
	}
	rows := make([][]string, len(users))
	for i, u := range users {
		status := "active"
		if u.Disabled != nil {
			status = "disabled"
		}
		twofa := "off"
		if u.TwoFactorEnabled {
			twofa = fmt.Sprintf("on (%d recovery codes)", u.RecoveryCodesLeft)
		}
		role := string(u.Role)
		if u.Owner {
			role += " (owner)"
		}
		rows[i] = []string{u.Name, role, status, twofa, when(u.LastLogin)}
	}
	return writeTable(w.env.Stdout, []string{"NAME", "ROLE", "STATUS", "2FA", "LAST LOGIN"}, rows)
}

func when(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func (w *wiring) usersDisable(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
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
	if err := a.svc.DisableUser(c.Context, localActor(), name); err != nil {
		return authError(err)
	}
	return w.printResult(f, userChange{SchemaVersion: jsonSchemaVersion, User: name, Change: "disabled", SessionsEnded: true},
		fmt.Sprintf("disabled %s and ended their sessions\n", name))
}

func (w *wiring) usersPasswd(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	in, err := w.secretInputs(c, secretPrompt{label: "current password"}, secretPrompt{label: "new password", confirm: true})
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.svc.ResetPassword(c.Context, localActor(), name, in[0], in[1], "local"); err != nil {
		return authError(err)
	}
	return w.printResult(f, userChange{SchemaVersion: jsonSchemaVersion, User: name, Change: "password_changed", SessionsEnded: true},
		fmt.Sprintf("changed the password of %s; every session of theirs has ended\n", name))
}

func (w *wiring) twoFAEnroll(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	pw, err := w.secretInputs(c, secretPrompt{label: "password of " + name})
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	en, err := a.svc.BeginTOTP(c.Context, name, pw[0], "local")
	if err != nil {
		return authError(err)
	}
	if f == "json" {
		w.notef("add the secret to an authenticator app, then run: warden users 2fa confirm %s", name)
		return writeJSON(w.env.Stdout, twoFactorEnrollment{SchemaVersion: jsonSchemaVersion, User: name, Secret: en.Secret, URI: en.URI})
	}
	out := w.env.Stdout
	if _, tty := ttyFile(w.env.Stdout); tty {
		fmt.Fprint(out, en.Terminal)
	}
	fmt.Fprintf(out, "secret  %s\nuri     %s\n", groupSecret(en.Secret), en.URI)
	if !w.canPrompt(c) {
		fmt.Fprintf(out, "add it to an authenticator app, then run: warden users 2fa confirm %s\n", name)
		return nil
	}
	code, err := w.readHidden("code from the app: ")
	if err != nil {
		return err
	}
	return w.confirm(c, a, name, code, f)
}

func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (w *wiring) twoFAConfirm(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	code, err := w.secretInputs(c, secretPrompt{label: "code from the app"})
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	return w.confirm(c, a, name, code[0], f)
}

func (w *wiring) confirm(c *cli.Context, a *authSession, name, code, f string) error {
	// No session is the caller's here: every session of the user ends,
	// and the running gateway closes their WebSockets at its next sweep.
	codes, err := a.svc.ConfirmTOTP(c.Context, name, code, "", "local")
	if err != nil {
		return authError(err)
	}
	w.notef("every session of %s has ended; log in again with a code", name)
	if f == "json" {
		return writeJSON(w.env.Stdout, recoveryCodes{SchemaVersion: jsonSchemaVersion, User: name, TwoFactor: true, RecoveryCodes: codes})
	}
	fmt.Fprintf(w.env.Stdout, "two-factor is on for %s. Recovery codes (each works once; shown only now):\n", name)
	for _, rc := range codes {
		fmt.Fprintf(w.env.Stdout, "  %s\n", rc)
	}
	return nil
}

func (w *wiring) twoFARecovery(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	pw, err := w.secretInputs(c, secretPrompt{label: "password of " + name})
	if err != nil {
		return err
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	codes, err := a.svc.RegenerateRecoveryCodes(c.Context, name, pw[0], "local")
	if err != nil {
		return authError(err)
	}
	if f == "json" {
		return writeJSON(w.env.Stdout, recoveryCodes{SchemaVersion: jsonSchemaVersion, User: name, TwoFactor: true, RecoveryCodes: codes})
	}
	fmt.Fprintf(w.env.Stdout, "new recovery codes for %s (the old ones no longer work; shown only now):\n", name)
	for _, rc := range codes {
		fmt.Fprintf(w.env.Stdout, "  %s\n", rc)
	}
	return nil
}

func (w *wiring) twoFADisable(c *cli.Context) error {
	name, err := oneName(c)
	if err != nil {
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
	if err := a.svc.DisableTOTP(c.Context, localActor(), name, "local"); err != nil {
		return authError(err)
	}
	return w.printResult(f, userChange{SchemaVersion: jsonSchemaVersion, User: name, Change: "two_factor_disabled"},
		fmt.Sprintf("two-factor is off for %s\n", name))
}
