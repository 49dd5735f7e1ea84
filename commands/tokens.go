package commands

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
)

func (w *wiring) tokensCommand() *cli.Command {
	return &cli.Command{
		Name:  "tokens",
		Usage: "create, list and revoke gateway tokens for agents and automation",
		Subcommands: []*cli.Command{
			{
				Name: "create", Usage: "create a token and print it once (only its hash is kept)",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "a name for the token (required)", EnvVars: []string{"WARDEN_TOKEN_NAME"}},
					&cli.StringFlag{Name: "role", Value: "agent", Usage: "agent, operator or viewer", EnvVars: []string{"WARDEN_TOKEN_ROLE"}},
					&cli.StringFlag{Name: "expires", Usage: "lifetime such as 30d or 12h (default: no expiry)", EnvVars: []string{"WARDEN_TOKEN_EXPIRES"}},
					resultFormatFlag(),
				},
				Action: w.tokensCreate,
			},
			{
				Name: "list", Usage: "list tokens (never their secrets)",
				Flags:  []cli.Flag{formatFlag("WARDEN_TOKENS_FORMAT", "table", "json")},
				Action: w.tokensList,
			},
			{Name: "revoke", Usage: "revoke a token by name or id", ArgsUsage: "NAME|ID", Flags: []cli.Flag{resultFormatFlag()}, Action: w.tokensRevoke},
		},
	}
}

func (w *wiring) tokensCreate(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	if c.String("name") == "" {
		return usageErrorf("--name is required")
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	role, err := auth.ParseRole(c.String("role"))
	if err != nil {
		return usageErrorf("--role: %v", err)
	}
	var ttl time.Duration
	if e := c.String("expires"); e != "" {
		if ttl, err = config.ParseDuration(e); err != nil || ttl <= 0 {
			return usageErrorf("--expires %q: a duration such as 30d or 12h", e)
		}
	}
	a, err := w.openAuth(c)
	if err != nil {
		return err
	}
	defer a.Close()
	tok, info, err := a.svc.CreateToken(c.Context, localActor(), c.String("name"), role, ttl)
	if err != nil {
		return authError(err)
	}
	if err := w.printResult(f, tokenCreated{SchemaVersion: jsonSchemaVersion, Token: tok, GatewayToken: *info}, tok+"\n"); err != nil {
		return err
	}
	exp := "never expires"
	if info.Expires != nil {
		exp = "expires " + info.Expires.Format(time.RFC3339)
	}
	w.notef("token %s (id %s, role %s, %s): this is the only time it is shown; store it in the agent's secret store", info.Name, info.ID, info.Role, exp)
	return nil
}

// tokenCreated is what `tokens create --format json` prints: the token
// (this once) and its record.
type tokenCreated struct {
	SchemaVersion int    `json:"schemaVersion"`
	Token         string `json:"token"`
	auth.GatewayToken
}

// tokenRevoked is what `tokens revoke --format json` prints.
type tokenRevoked struct {
	SchemaVersion int    `json:"schemaVersion"`
	Revoked       string `json:"revoked"` // the name or id given
}

type tokensOutput struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Tokens        []auth.GatewayToken `json:"tokens"`
}

func (w *wiring) tokensList(c *cli.Context) error {
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
	list, err := a.svc.ListTokens(c.Context)
	if err != nil {
		return err
	}
	if f == "json" {
		if list == nil {
			list = []auth.GatewayToken{}
		}
		return writeJSON(w.env.Stdout, tokensOutput{SchemaVersion: jsonSchemaVersion, Tokens: list})
	}
	if len(list) == 0 {
		w.notef("no tokens; create one with `warden tokens create --name NAME --role agent`")
		return nil
	}
	rows := make([][]string, len(list))
	for i, t := range list {
		state := "active"
		switch {
		case t.Revoked != nil:
			state = "revoked"
		case t.Expires != nil && !w.env.Now().Before(*t.Expires):
			state = "expired"
		}
		exp := "never"
		if t.Expires != nil {
			exp = t.Expires.Format(time.RFC3339)
		}
		rows[i] = []string{t.Name, t.ID, string(t.Role), t.Created.Format(time.RFC3339), exp, when(t.LastUsed), state}
	}
	return writeTable(w.env.Stdout, []string{"NAME", "ID", "ROLE", "CREATED", "EXPIRES", "LAST USED", "STATE"}, rows)
}

func (w *wiring) tokensRevoke(c *cli.Context) error {
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
	if err := a.svc.RevokeToken(c.Context, localActor(), name); err != nil {
		return authError(err)
	}
	return w.printResult(f, tokenRevoked{SchemaVersion: jsonSchemaVersion, Revoked: name}, fmt.Sprintf("revoked token %s\n", name))
}
