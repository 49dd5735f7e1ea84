package commands

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/templates"
)

var channelNames = []string{"telegram", "slack", "discord"}

func (w *wiring) initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create a hardened warden.yaml, the state dir, your identity and the secret store",
		Description: "On a terminal, init asks for the listen address, the channels to enable and the sandbox mode;\n" +
			"with --non-interactive (or without a terminal) it takes the flags and secure defaults.\n" +
			"It never overwrites a config without --force (and then keeps a 0600 backup).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "non-interactive", Aliases: []string{"y"}, Usage: "do not ask; use the flags and defaults", EnvVars: []string{"WARDEN_NON_INTERACTIVE"}},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing config (a backup is kept)", EnvVars: []string{"WARDEN_FORCE"}},
			&cli.StringFlag{Name: "listen", Value: config.DefaultListen, Usage: "gateway listen address (loopback; TLS is configured separately)", EnvVars: []string{"WARDEN_LISTEN"}},
			&cli.StringSliceFlag{Name: "channels", Usage: "channels to enable: telegram, slack, discord (comma separated or repeated)", EnvVars: []string{"WARDEN_CHANNELS"}},
			&cli.StringFlag{Name: "owner", Usage: "the owner's user name: their own login sessions are the main session (default: the first admin created)", EnvVars: []string{"WARDEN_OWNER"}},
			&cli.StringFlag{Name: "sandbox-mode", Value: config.SandboxNonMain, Usage: "sandbox mode: non-main (recommended: all but the owner's own session), all (the owner's too) or off", EnvVars: []string{"WARDEN_SANDBOX_MODE"}},
			&cli.StringFlag{Name: "discord-public-key", Usage: "the Discord application's public key (hex), when discord is enabled", EnvVars: []string{"WARDEN_DISCORD_PUBLIC_KEY"}},
			resultFormatFlag(),
		},
		Action: w.initAction,
	}
}

type initAnswers struct {
	Listen           string
	Owner            string
	Channels         []string
	SandboxMode      string
	DiscordPublicKey string
}

func (w *wiring) initAction(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	ans := initAnswers{Listen: c.String("listen"), Owner: strings.ToLower(strings.TrimSpace(c.String("owner"))), SandboxMode: c.String("sandbox-mode"), DiscordPublicKey: c.String("discord-public-key")}
	for _, v := range c.StringSlice("channels") {
		for _, ch := range strings.Split(v, ",") {
			if ch = strings.TrimSpace(strings.ToLower(ch)); ch != "" && !slices.Contains(ans.Channels, ch) {
				ans.Channels = append(ans.Channels, ch)
			}
		}
	}
	// Fail early on flags before asking anything.
	if err := checkAnswers(ans, false); err != nil {
		return err
	}

	target, err := w.initTarget(c)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(target)
	exists := statErr == nil
	if exists && !c.Bool("force") {
		return inputError(fmt.Errorf("%s already exists", target), "pass --force to replace it (a 0600 backup is kept), or --config to write elsewhere")
	}

	if !c.Bool("non-interactive") && w.canPrompt(c) {
		if err := w.askInit(&ans); err != nil {
			return err
		}
	}
	if err := checkAnswers(ans, true); err != nil {
		return err
	}
	rendered, err := templates.Config(templates.ConfigData{
		Listen: ans.Listen, Owner: ans.Owner, SandboxMode: ans.SandboxMode,
		Telegram: slices.Contains(ans.Channels, "telegram"), Slack: slices.Contains(ans.Channels, "slack"),
		Discord: slices.Contains(ans.Channels, "discord"), DiscordPublicKey: ans.DiscordPublicKey,
	})
	if err != nil {
		return err
	}
	loaded, err := config.Parse(c.Context, target, rendered, nil)
	if err != nil {
		return fmt.Errorf("the rendered config does not validate (a bug): %w", err)
	}

	// State, identity, secret store and database first; the config last, so
	// a failure leaves no config pointing at state that does not exist.
	kr, err := w.keyring(c)
	if err != nil {
		return err
	}
	dir, err := w.stateDir(c, loaded.Config)
	if err != nil {
		return err
	}
	if err := w.openStateDir(dir); err != nil {
		return err
	}
	_, createdIdentity, err := w.ensureIdentity(kr)
	if err != nil {
		return err
	}
	ids, err := kr.Identities()
	if err != nil {
		return err
	}
	st := secrets.NewStore(dir, kr, w.env.Now)
	storeNote := "existing"
	if !st.Exists() {
		rs, err := kr.DefaultRecipients()
		if err != nil {
			return err
		}
		if err := st.Init(c.Context, rs); err != nil {
			return err
		}
		storeNote = "created"
	} else if _, err := st.List(c.Context); err != nil {
		// Keep going (init must not destroy a store) but say it plainly.
		w.warnf("the existing secret store cannot be opened with this identity: %v", err)
		storeNote = "unreadable"
	}
	sess := &session{keyring: kr, config: loaded, stateDir: dir}
	db, err := sess.database(c.Context)
	if err != nil {
		return err
	}
	dbPath := db.Path()
	if err := db.Close(); err != nil {
		return err
	}
	if err := w.recordCreation(c, sess, "init", target, map[string]any{
		"channels": ans.Channels, "sandbox_mode": ans.SandboxMode, "listen": ans.Listen, "replaced": exists,
	}); err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(target), err)
	}
	backup := ""
	if exists {
		old, err := os.ReadFile(target)
		if err != nil {
			return fmt.Errorf("read %s: %w", target, err)
		}
		backup = fmt.Sprintf("%s.bak-%s", target, w.env.Now().UTC().Format("20060102T150405Z"))
		if err := atomicfile.Write(backup, old, atomicfile.Options{Mode: 0o600, NoOverwrite: true}); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(target, rendered, atomicfile.Options{Mode: 0o600}); err != nil {
		return err
	}

	res := initResult{SchemaVersion: jsonSchemaVersion,
		Config:      initConfig{Path: target, Replaced: exists, Backup: backup},
		StateDir:    dir,
		Database:    dbPath,
		SecretStore: initStore{Path: st.Path(), Status: storeNote, Recipient: ids[0].Recipient},
		Identity:    initIdentity{Source: ids[0].Source, Created: createdIdentity},
		Next:        []string{},
	}
	for _, sf := range loaded.Secrets() {
		if ref := sf.Secret.Ref(); ref != "" {
			res.Next = append(res.Next, fmt.Sprintf("warden secrets set %s", ref))
		}
	}
	res.Next = append(res.Next, fmt.Sprintf("warden config validate --resolve %s", target))
	owner := "NAME"
	if ans.Owner != "" {
		owner = ans.Owner
	}
	res.Next = append(res.Next, fmt.Sprintf("warden users add %s --role admin", owner))
	if f == "json" {
		return writeJSON(w.env.Stdout, res)
	}
	return w.printInit(res, ans.Owner != "")
}

// initResult is what init prints: where each part went, never a key.
type initResult struct {
	SchemaVersion int          `json:"schemaVersion"`
	Config        initConfig   `json:"config"`
	StateDir      string       `json:"stateDir"`
	Database      string       `json:"database"`
	SecretStore   initStore    `json:"secretStore"`
	Identity      initIdentity `json:"identity"`
	// Next lists the commands to run next, in order.
	Next []string `json:"next"`
}

type initConfig struct {
	Path     string `json:"path"`
	Replaced bool   `json:"replaced"`
	// Backup holds the replaced config (mode 0600).
	Backup string `json:"backup,omitempty"`
}

type initStore struct {
	Path string `json:"path"`
	// Status is created, existing, or unreadable (it exists but this
	// identity cannot open it; init leaves it alone).
	Status    string `json:"status"`
	Recipient string `json:"recipient"`
}

type initIdentity struct {
	// Source is the identity file, or the variable that held the key.
	Source  string `json:"source"`
	Created bool   `json:"created"`
}

func (w *wiring) printInit(res initResult, ownerNamed bool) error {
	out := w.env.Stdout
	configNote := "created"
	if res.Config.Replaced {
		configNote = "replaced; previous version in " + res.Config.Backup
	}
	storeNote := res.SecretStore.Status
	if storeNote == "unreadable" {
		storeNote = "existing, NOT readable with this identity"
	}
	idNote := "existing"
	if res.Identity.Created {
		idNote = "created; back it up, without it the secrets cannot be opened"
	}
	rows := [][]string{
		{"config", res.Config.Path, configNote},
		{"state dir", res.StateDir, "mode 0700"},
		{"database", res.Database, "mode 0600"},
		{"secret store", res.SecretStore.Path, storeNote + ", encrypted for " + res.SecretStore.Recipient},
		{"identity", res.Identity.Source, idNote},
	}
	if err := writeTable(out, []string{"WHAT", "WHERE", "NOTE"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nnext:")
	for i, n := range res.Next {
		if i == len(res.Next)-1 {
			// The last step makes the owner.
			n += "   # the owner" + map[bool]string{true: "", false: " (the first admin becomes it)"}[ownerNamed]
		}
		fmt.Fprintf(out, "  %s\n", n)
	}
	return nil
}

// initTarget is where init writes: --config, else the user config dir.
func (w *wiring) initTarget(c *cli.Context) (string, error) {
	if p := flagString(c, "config"); p != "" {
		if config.IsEncryptedName(p) {
			return "", usageErrorf("init writes a plaintext config; encrypt it afterwards with `warden config encrypt`")
		}
		return p, nil
	}
	ucd, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locate user config dir: %w", err)
	}
	return filepath.Join(ucd, "warden", "warden.yaml"), nil
}

func checkAnswers(a initAnswers, final bool) error {
	host, _, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return usageErrorf("--listen %q is not host:port", a.Listen)
	}
	if !config.IsLoopbackHost(host) {
		return inputError(fmt.Errorf("--listen %s is beyond loopback", a.Listen),
			"init writes a loopback config; to listen beyond loopback, set gateway.listen and gateway.tls afterwards (TLS is required there)")
	}
	for _, ch := range a.Channels {
		if !slices.Contains(channelNames, ch) {
			return usageErrorf("unknown channel %q (choose from %s)", ch, strings.Join(channelNames, ", "))
		}
	}
	if o := strings.ToLower(strings.TrimSpace(a.Owner)); o != "" {
		if err := auth.ValidateName(o); err != nil {
			return usageErrorf("--owner %q: use 1-64 characters a-z, 0-9, '.', '_', '-', starting with a letter or digit", o)
		}
	}
	if !slices.Contains([]string{config.SandboxAll, config.SandboxNonMain, config.SandboxOff}, a.SandboxMode) {
		return usageErrorf("--sandbox-mode %q is not one of all, non-main, off", a.SandboxMode)
	}
	if final && slices.Contains(a.Channels, "discord") && !isHex64(a.DiscordPublicKey) {
		return usageErrorf("discord needs the application's public key (64 hex characters): pass --discord-public-key")
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// askInit asks init's questions on the terminal.
func (w *wiring) askInit(a *initAnswers) error {
	in, out, _ := w.terminal()
	opts := survey.WithStdio(in, out, out)
	if err := survey.AskOne(&survey.Input{
		Message: "Gateway listen address:",
		Default: a.Listen,
		Help:    "Loopback only (127.0.0.1 or ::1). Listening beyond loopback needs TLS, configured after init.",
	}, &a.Listen, opts, survey.WithValidator(func(v any) error {
		return checkAnswers(initAnswers{Listen: v.(string), SandboxMode: config.SandboxAll}, false)
	})); err != nil {
		return err
	}
	if err := survey.AskOne(&survey.Input{
		Message: "Owner (your gateway user name):",
		Default: a.Owner,
		Help: "Your own login sessions are the main session: with sandbox mode non-main their commands run on the host. " +
			"Other admins and agents are always sandboxed. Empty: the first admin you create.",
	}, &a.Owner, opts, survey.WithValidator(func(v any) error {
		return checkAnswers(initAnswers{Listen: config.DefaultListen, Owner: v.(string), SandboxMode: config.SandboxAll}, false)
	})); err != nil {
		return err
	}
	a.Owner = strings.ToLower(strings.TrimSpace(a.Owner))
	if err := survey.AskOne(&survey.MultiSelect{
		Message: "Chat channels to enable:",
		Options: channelNames,
		Default: a.Channels,
		Help:    "Each enabled channel needs its tokens in the secret store (warden secrets set).",
	}, &a.Channels, opts); err != nil {
		return err
	}
	descriptions := map[string]string{
		config.SandboxNonMain: "recommended: everything but your own session is sandboxed",
		config.SandboxAll:     "strictest: your own commands are sandboxed too",
		config.SandboxOff:     "no sandbox (not recommended)",
	}
	if err := survey.AskOne(&survey.Select{
		Message:     "Sandbox mode:",
		Options:     []string{config.SandboxNonMain, config.SandboxAll, config.SandboxOff},
		Default:     a.SandboxMode,
		Description: func(v string, _ int) string { return descriptions[v] },
		Help: "non-main runs the owner's own login sessions on the host and sandboxes every other admin, token and agent; " +
			"`warden audit` flags it while the owner signs in without a second factor (warden users 2fa enroll). all sandboxes the owner too.",
	}, &a.SandboxMode, opts); err != nil {
		return err
	}
	if slices.Contains(a.Channels, "discord") && !isHex64(a.DiscordPublicKey) {
		if err := survey.AskOne(&survey.Input{Message: "Discord application public key (hex):"}, &a.DiscordPublicKey, opts,
			survey.WithValidator(func(v any) error {
				if !isHex64(strings.TrimSpace(v.(string))) {
					return errors.New("64 hexadecimal characters, from the Developer Portal")
				}
				return nil
			})); err != nil {
			return err
		}
		a.DiscordPublicKey = strings.TrimSpace(a.DiscordPublicKey)
	}
	return nil
}
