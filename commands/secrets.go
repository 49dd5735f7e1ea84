package commands

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/sops"
	"github.com/warden-sec/warden/core/strength"
)

func (w *wiring) secretsCommand() *cli.Command {
	return &cli.Command{
		Name:  "secrets",
		Usage: "manage the encrypted secret store (values come from stdin or a hidden prompt, never argv)",
		Subcommands: []*cli.Command{
			{
				Name:  "init",
				Usage: "create the secret store (and your age identity if you have none)",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "passphrase", Usage: "protect the store with a passphrase (age scrypt) instead of an identity",
						EnvVars: []string{"WARDEN_SECRETS_PASSPHRASE_MODE"}},
					&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "also encrypt for this age recipient, e.g. a backup key (repeatable)",
						EnvVars: []string{"WARDEN_RECIPIENTS"}},
					resultFormatFlag(),
				},
				Action: w.secretsInit,
			},
			{
				Name:      "set",
				Usage:     "store a secret read from stdin, a file, a hidden prompt, or generated",
				ArgsUsage: "NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "from-file", Usage: "read the value from this file", TakesFile: true, EnvVars: []string{"WARDEN_SECRET_FILE"}},
					&cli.BoolFlag{Name: "generate", Usage: "generate a random value (URL-safe base64) instead of reading one", EnvVars: []string{"WARDEN_SECRET_GENERATE"}},
					&cli.IntFlag{Name: "bytes", Value: 32, Usage: "random bytes for --generate (16 to 256)", EnvVars: []string{"WARDEN_SECRET_BYTES"}},
					resultFormatFlag(),
				},
				Action: w.secretsSet,
			},
			{
				Name:      "get",
				Usage:     "print a secret's value",
				ArgsUsage: "NAME",
				Action:    w.secretsGet,
			},
			{
				Name:   "list",
				Usage:  "list secret names and when they changed (never values)",
				Flags:  []cli.Flag{formatFlag("WARDEN_SECRETS_FORMAT", "table", "json")},
				Action: w.secretsList,
			},
			{
				Name:      "rm",
				Usage:     "remove a secret",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{resultFormatFlag()},
				Action:    w.secretsRm,
			},
			{
				Name:  "rekey",
				Usage: "re-encrypt the store for new recipients with a new data key",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "the new recipients (default: your identity's)",
						EnvVars: []string{"WARDEN_RECIPIENTS"}},
					&cli.BoolFlag{Name: "passphrase", Usage: "switch to a passphrase (asks for the new one)", EnvVars: []string{"WARDEN_SECRETS_PASSPHRASE_MODE"}},
					resultFormatFlag(),
				},
				Action: w.secretsRekey,
			},
		},
	}
}

// passphrasePolicy keeps a store passphrase from being trivially guessable.
var passphrasePolicy = strength.Policy{MinLength: 12, MinBits: 60}

// newPassphraseRecipient asks for a new passphrase (confirmed on a terminal).
func (w *wiring) newPassphraseRecipient(c *cli.Context, kr *secrets.Keyring) (sops.Recipient, error) {
	p, err := w.passphrase(c, "new passphrase for the secret store: ", true)
	if err != nil {
		return sops.Recipient{}, err
	}
	if err := passphrasePolicy.Check(p); err != nil {
		return sops.Recipient{}, inputError(fmt.Errorf("the passphrase %v", err), "use a few random words or a password manager's generator")
	}
	r, err := secrets.PassphraseRecipient(p, w.env.ScryptWorkFactor)
	if err != nil {
		return r, err
	}
	kr.RememberPassphrase(p)
	return r, nil
}

// ensureIdentity makes sure an identity exists: when the configured one
// (--identity FILE, or the default file) does not exist yet, it is created.
func (w *wiring) ensureIdentity(kr *secrets.Keyring) (path string, created bool, err error) {
	path = kr.DefaultPath
	if kr.Explicit != "" {
		if isAgeKey(kr.Explicit) {
			_, err := kr.Identities()
			return kr.ExplicitSource, false, err
		}
		path = kr.Explicit
	}
	if _, statErr := os.Stat(path); statErr == nil {
		_, err := kr.Identities()
		return path, false, err
	}
	if _, err := secrets.GenerateIdentity(path, w.env.Now()); err != nil {
		return "", false, err
	}
	kr.Reload()
	_, err = kr.Identities()
	return path, true, err
}

// secretsResult is what the secret store commands that change something
// print as JSON. Values never appear: only names, paths and recipients.
type secretsResult struct {
	SchemaVersion int    `json:"schemaVersion"`
	Store         string `json:"store"`
	// Action is created, stored, removed or rekeyed.
	Action     string   `json:"action"`
	Name       string   `json:"name,omitempty"`
	Replaced   bool     `json:"replaced,omitempty"`
	Generated  bool     `json:"generated,omitempty"`
	Bits       int      `json:"bits,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
	Previous   []string `json:"previousRecipients,omitempty"`
	// Identity is the identity file created along with the store.
	Identity string `json:"identityCreated,omitempty"`
}

func (w *wiring) secretsInit(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	sess, err := w.openState(c.Context, c)
	if err != nil {
		return err
	}
	st := sess.secretStore(w)
	if st.Exists() {
		rs, _ := st.Recipients()
		return inputError(fmt.Errorf("%s: %w", st.Path(), secrets.ErrStoreExists),
			fmt.Sprintf("it is encrypted for %s; use `warden secrets rekey` to change who can open it", strings.Join(rs, ", ")))
	}
	var recipients []sops.Recipient
	var idPath string
	createdIdentity := false
	if c.Bool("passphrase") {
		if len(c.StringSlice("recipient")) > 0 {
			return usageErrorf("--passphrase cannot be combined with --recipient: age allows a passphrase only as the sole recipient")
		}
		r, err := w.newPassphraseRecipient(c, sess.keyring)
		if err != nil {
			return err
		}
		recipients = []sops.Recipient{r}
	} else {
		if idPath, createdIdentity, err = w.ensureIdentity(sess.keyring); err != nil {
			return err
		}
		own, err := sess.keyring.DefaultRecipients()
		if err != nil {
			return err
		}
		recipients = own
		if extra := c.StringSlice("recipient"); len(extra) > 0 {
			rs, err := recipientsFrom(extra, sess.keyring)
			if err != nil {
				return err
			}
			recipients = append(recipients, rs...)
		}
	}
	if err := st.Init(c.Context, recipients); err != nil {
		return err
	}
	if err := w.recordCreation(c, sess, "secrets.init", st.Path(), map[string]any{"recipients": labels(recipients)}); err != nil {
		_ = os.Remove(st.Path()) // unrecorded: undo
		return err
	}
	var text strings.Builder
	res := secretsResult{SchemaVersion: jsonSchemaVersion, Store: st.Path(), Action: "created", Recipients: labels(recipients)}
	if createdIdentity {
		res.Identity = idPath
		fmt.Fprintf(&text, "created identity %s (recipient %s)\n", idPath, recipients[0].Label)
		w.notef("hint: back up %s; without it the secret store and encrypted configs cannot be opened", idPath)
	}
	fmt.Fprintf(&text, "created secret store %s, encrypted for %s\n", st.Path(), strings.Join(labels(recipients), ", "))
	return w.printResult(f, res, text.String())
}

// reservedSecret reports names the audit log keeps for itself.
func reservedSecret(name string) bool { return name == auditKeySecret || name == checkpointKeySecret }

func nameArg(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usageErrorf("missing NAME")
	case 1:
		name := c.Args().First()
		if err := secrets.ValidateName(name); err != nil {
			return "", inputError(err, "")
		}
		return name, nil
	}
	if c.Command.Name == "set" {
		return "", usageErrorf("secret values are never taken from the command line (they would land in shell history and the process list)")
	}
	return "", usageErrorf("%s takes one NAME, got %d arguments", c.Command.Name, c.NArg())
}

// openStore opens the session's secret store, which must exist.
func (w *wiring) openStore(c *cli.Context) (*secrets.Store, *session, error) {
	sess, err := w.openState(c.Context, c)
	if err != nil {
		return nil, nil, err
	}
	st := sess.secretStore(w)
	if !st.Exists() {
		return nil, nil, inputError(fmt.Errorf("%s: %w", st.Path(), secrets.ErrStoreMissing), "create it with `warden secrets init` (or `warden init`)")
	}
	return st, sess, nil
}

func (w *wiring) secretsSet(c *cli.Context) error {
	name, err := nameArg(c)
	if err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	st, sess, err := w.openStore(c)
	if err != nil {
		return err
	}
	var value string
	generated := c.Bool("generate")
	if generated {
		if c.String("from-file") != "" {
			return usageErrorf("--generate and --from-file exclude each other")
		}
		n := c.Int("bytes")
		if n < 16 || n > 256 {
			return usageErrorf("--bytes %d: use 16 to 256", n)
		}
		buf := make([]byte, n)
		if _, err := rand.Read(buf); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		value = base64.RawURLEncoding.EncodeToString(buf)
	} else if value, err = w.readSecretValue(c, name, c.String("from-file")); err != nil {
		return err
	}
	if reservedSecret(name) {
		return inputError(fmt.Errorf("%s is reserved for the audit log", name), "replacing it would make every audit entry fail verification")
	}
	a, err := w.openAudit(c.Context, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	var replaced bool
	err = a.audited(c.Context, "secret.set", name, map[string]any{"generated": generated, "from_file": c.String("from-file") != ""}, func() error {
		var err error
		replaced, err = st.Set(c.Context, name, value)
		return err
	})
	if err != nil {
		return err
	}
	what := "stored"
	if generated {
		what = fmt.Sprintf("generated (%d bits) and stored", c.Int("bytes")*8)
	}
	if replaced {
		what += ", replacing the previous value,"
	}
	res := secretsResult{SchemaVersion: jsonSchemaVersion, Store: st.Path(), Action: "stored", Name: name, Replaced: replaced, Generated: generated}
	if generated {
		res.Bits = c.Int("bytes") * 8
	}
	return w.printResult(f, res, fmt.Sprintf("%s %s in %s\n", what, name, st.Path()))
}

func (w *wiring) secretsGet(c *cli.Context) error {
	name, err := nameArg(c)
	if err != nil {
		return err
	}
	st, sess, err := w.openStore(c)
	if err != nil {
		return err
	}
	a, err := w.openAudit(c.Context, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	var v string
	err = a.audited(c.Context, "secret.read", name, nil, func() error {
		var err error
		v, err = st.Get(c.Context, name)
		return err
	})
	if err != nil {
		if errors.Is(err, secrets.ErrNotFound) {
			return inputError(err, "list the names with `warden secrets list`")
		}
		return err
	}
	if _, tty := ttyFile(w.env.Stdout); tty {
		v += "\n"
	}
	_, err = fmt.Fprint(w.env.Stdout, v)
	return err
}

type secretsListOutput struct {
	SchemaVersion int             `json:"schemaVersion"`
	Store         string          `json:"store"`
	Recipients    []string        `json:"recipients"`
	Secrets       []secrets.Entry `json:"secrets"`
}

func (w *wiring) secretsList(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "table", "json")
	if err != nil {
		return err
	}
	st, _, err := w.openStore(c)
	if err != nil {
		return err
	}
	entries, err := st.List(c.Context)
	if err != nil {
		return err
	}
	rs, err := st.Recipients()
	if err != nil {
		return err
	}
	if f == "json" {
		if entries == nil {
			entries = []secrets.Entry{}
		}
		return writeJSON(w.env.Stdout, secretsListOutput{SchemaVersion: jsonSchemaVersion, Store: st.Path(), Recipients: rs, Secrets: entries})
	}
	if len(entries) == 0 {
		w.notef("the secret store is empty; add one with `warden secrets set NAME`")
		return nil
	}
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, []string{e.Name, e.Updated.UTC().Format(time.RFC3339)})
	}
	return writeTable(w.env.Stdout, []string{"NAME", "UPDATED"}, rows)
}

func (w *wiring) secretsRm(c *cli.Context) error {
	name, err := nameArg(c)
	if err != nil {
		return err
	}
	if reservedSecret(name) {
		return inputError(fmt.Errorf("%s is reserved for the audit log", name), "removing it would make the audit log unverifiable")
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	st, sess, err := w.openStore(c)
	if err != nil {
		return err
	}
	a, err := w.openAudit(c.Context, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.audited(c.Context, "secret.delete", name, nil, func() error { return st.Delete(c.Context, name) }); err != nil {
		if errors.Is(err, secrets.ErrNotFound) {
			return inputError(err, "list the names with `warden secrets list`")
		}
		return err
	}
	return w.printResult(f, secretsResult{SchemaVersion: jsonSchemaVersion, Store: st.Path(), Action: "removed", Name: name},
		fmt.Sprintf("removed %s\n", name))
}

func (w *wiring) secretsRekey(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	st, sess, err := w.openStore(c)
	if err != nil {
		return err
	}
	kr := sess.keyring
	before, err := st.Recipients()
	if err != nil {
		return err
	}
	// Open with the current keys first, so a wrong identity fails before
	// anything new is asked for.
	if _, err := st.List(c.Context); err != nil {
		return err
	}
	var recipients []sops.Recipient
	if c.Bool("passphrase") {
		r, err := w.newPassphraseRecipient(c, kr)
		if err != nil {
			return err
		}
		recipients = []sops.Recipient{r}
	} else if recipients, err = recipientsFrom(c.StringSlice("recipient"), kr); err != nil {
		return err
	}
	a, err := w.openAudit(c.Context, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.audited(c.Context, "secrets.rekey", st.Path(), map[string]any{"recipients": labels(recipients), "previous": before},
		func() error { return st.Rekey(c.Context, recipients) }); err != nil {
		return err
	}
	return w.printResult(f, secretsResult{SchemaVersion: jsonSchemaVersion, Store: st.Path(), Action: "rekeyed", Recipients: labels(recipients), Previous: before},
		fmt.Sprintf("rekeyed %s: new data key, encrypted for %s (was %s)\n", st.Path(), strings.Join(labels(recipients), ", "), strings.Join(before, ", ")))
}

// recordCreation records something a command has just created; the caller
// undoes the creation when this fails.
func (w *wiring) recordCreation(c *cli.Context, sess *session, action, target string, details map[string]any) error {
	a, err := w.openAudit(c.Context, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.record(c.Context, action, target, "success", details)
}
