package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/warden-sec/warden/core/strength"
	"github.com/warden-sec/warden/internal/lazyre"
)

type refusal struct{ message, hint string }

// refusals are values the loader refuses with an explanation rather than
// a bare "not one of", keyed by schema path and value.
var refusals = map[string]map[string]refusal{
	"channels.dm_policy": {DMPolicyOpen: {
		message: `"open" lets any stranger message the agent and run commands through it; it is not accepted`,
		hint:    "run `warden migrate` to convert the file (open becomes pairing), or set channels.dm_policy: pairing",
	}},
	"channels.telegram.allow_from[]": {"*": wildcardAllow},
	"channels.slack.allow_from[]":    {"*": wildcardAllow},
	"channels.discord.allow_from[]":  {"*": wildcardAllow},
}

var wildcardAllow = refusal{
	message: "a wildcard allow-list admits anyone; list the user ids allowed to message the agent",
	hint:    "use channels.dm_policy: pairing to approve new senders one by one",
}

// check applies the rules that span several keys. It runs once the file is
// structurally valid.
func (l *Loaded) check(d *decoder) {
	c := l.Config
	at := func(path string) int { return l.Line(path) }
	add := func(path, hint, msg string, args ...any) {
		d.diags = append(d.diags, Diagnostic{File: l.File, Line: at(path), Path: path, Message: fmt.Sprintf(msg, args...), Hint: hint})
	}

	switch {
	case c.Version < CurrentVersion:
		add("version", "run: warden migrate "+l.File, "version %d is older than this warden reads (%d)", c.Version, CurrentVersion)
	case c.Version > CurrentVersion:
		add("version", "upgrade warden", "version %d is newer than this warden reads (%d)", c.Version, CurrentVersion)
	}

	// Beyond loopback only with TLS.
	host, _, err := net.SplitHostPort(c.Gateway.Listen)
	if err == nil && !IsLoopbackHost(host) && !c.Gateway.TLS.Enabled() {
		shown := host
		if shown == "" {
			shown = "every interface"
		}
		add("gateway.listen", "set gateway.tls.cert and gateway.tls.key (`warden tls self-signed` makes a local pair), or listen on 127.0.0.1",
			"listening on %s (beyond loopback) requires TLS", shown)
	}
	if (c.Gateway.TLS.Cert == "") != (c.Gateway.TLS.Key == "") {
		p := "gateway.tls.cert"
		if c.Gateway.TLS.Cert != "" {
			p = "gateway.tls.key"
		}
		add(p, "", "is required when gateway.tls.%s is set", map[bool]string{true: "key", false: "cert"}[c.Gateway.TLS.Cert == ""])
	}

	a := c.Gateway.Auth
	if a.SessionTTL < a.AccessTTL {
		add("gateway.auth.session_ttl", "", "%s is shorter than gateway.auth.access_ttl (%s)", a.SessionTTL, a.AccessTTL)
	}
	if a.RememberMeTTL < a.SessionTTL {
		add("gateway.auth.remember_me_ttl", "", "%s is shorter than gateway.auth.session_ttl (%s)", a.RememberMeTTL, a.SessionTTL)
	}

	// An enabled channel needs its secrets.
	need := func(enabled bool, path string, s Secret) {
		if enabled && s.IsZero() {
			name := secretNameFor(path)
			add(path, fmt.Sprintf("store it with `warden secrets set %s` and write %s: secret:%s", name, lastKey(path), name),
				"is required when the channel is enabled")
		}
	}
	ch := c.Channels
	need(ch.Telegram.Enabled, "channels.telegram.bot_token", ch.Telegram.BotToken)
	need(ch.Telegram.Enabled, "channels.telegram.webhook_secret", ch.Telegram.WebhookSecret)
	need(ch.Slack.Enabled, "channels.slack.bot_token", ch.Slack.BotToken)
	need(ch.Slack.Enabled, "channels.slack.signing_secret", ch.Slack.SigningSecret)
	need(ch.Discord.Enabled, "channels.discord.bot_token", ch.Discord.BotToken)
	if ch.Discord.Enabled && ch.Discord.PublicKey == "" {
		add("channels.discord.public_key", "", "is required when the channel is enabled (interactions are verified with it)")
	}

	// The owner's host commands must never run where sandboxed ones write.
	if ws, mws := c.Sandbox.Workspace, c.Sandbox.MainWorkspace; ws != "" && mws != "" && pathsNest(ws, mws) {
		add("sandbox.main_workspace", "give the owner's main workspace a directory of its own, outside sandbox.workspace",
			"%s and sandbox.workspace %s must not contain one another: sandboxed commands write the workspace, and the owner's commands run on the host in the main one", mws, ws)
	}

	fw := c.Security.Audit.Forward
	if fw.Syslog.Enabled && fw.Syslog.Address == "" {
		add("security.audit.forward.syslog.address", "", "is required when syslog forwarding is enabled")
	}
	if fw.Syslog.Network != "unix" && fw.Syslog.Address != "" {
		if _, _, err := net.SplitHostPort(fw.Syslog.Address); err != nil {
			add("security.audit.forward.syslog.address", "", "%q is not host:port", fw.Syslog.Address)
		}
	}
	if fw.HTTP.Enabled && fw.HTTP.URL == "" {
		add("security.audit.forward.http.url", "", "is required when HTTP forwarding is enabled")
	}

	seen := map[string]int{}
	for i, s := range c.Security.Audit.Suppressions {
		if j, dup := seen[s.ID]; dup {
			add(fmt.Sprintf("security.audit.suppressions[%d].id", i), "", "%q is already suppressed by suppressions[%d]", s.ID, j)
		}
		seen[s.ID] = i
	}

	// Secrets: never in the clear on disk.
	for _, sf := range l.Secrets() {
		if !sf.Secret.Inline() {
			continue
		}
		node := l.positions[sf.Path]
		switch {
		case !l.Encrypted:
			name := secretNameFor(sf.Path)
			add(sf.Path, fmt.Sprintf("move it to the secret store: `warden secrets set %s`, then write %s: secret:%s (or run `warden migrate`); or encrypt the file with `warden config encrypt`", name, lastKey(sf.Path), name),
				"a secret written in a plaintext config is not accepted")
		case l.clear[node]:
			add(sf.Path, "remove the key from the file's unencrypted selector, or use a secret: reference",
				"this secret is stored unencrypted in an encrypted file")
			continue
		}
		if msg := checkSecretValue(sf.Field, sf.Path, sf.Secret.Reveal()); msg != "" {
			add(sf.Path, "generate one with `warden secrets set --generate NAME`", "%s", msg)
		}
	}
}

var telegramSecret = lazyre.New(`^[A-Za-z0-9_-]{1,256}$`)

// checkSecretValue applies the rules on a secret's value; "" means valid.
func checkSecretValue(f *Field, path, v string) string {
	if f.Format == "token" {
		if err := strength.TokenPolicy().Check(v); err != nil {
			return "the token " + err.Error()
		}
	}
	if path == "channels.telegram.webhook_secret" && !telegramSecret.MatchString(v) {
		return "Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -"
	}
	return ""
}

// secretNameFor suggests a secret store name for a config path.
func secretNameFor(path string) string {
	switch path {
	case "gateway.auth.token":
		return "gateway_token"
	}
	name := []rune{}
	for _, r := range path {
		if r == '.' {
			r = '_'
		}
		name = append(name, r)
	}
	s := string(name)
	if len(s) > 9 && s[:9] == "channels_" {
		s = s[9:]
	}
	return s
}

func lastKey(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}

// ErrSecretMissing is wrapped by diagnostics about unresolved references.
var ErrSecretMissing = errors.New("secret not found")

// Lookup returns a secret store value, or an error wrapping ErrSecretMissing.
type Lookup func(ctx context.Context, name string) (string, error)

// ResolveSecrets replaces every secret:NAME reference with its value from
// the store and checks the values. Problems come back as a *ValidationError.
func (l *Loaded) ResolveSecrets(ctx context.Context, lookup Lookup) error {
	var diags []Diagnostic
	for _, sf := range l.Secrets() {
		if sf.Secret.Ref() == "" {
			continue
		}
		v, err := lookup(ctx, sf.Secret.Ref())
		if err != nil {
			d := Diagnostic{File: l.File, Line: l.Line(sf.Path), Path: sf.Path}
			if errors.Is(err, ErrSecretMissing) {
				d.Message = fmt.Sprintf("secret %q is not in the secret store", sf.Secret.Ref())
				d.Hint = fmt.Sprintf("store it with `warden secrets set %s`", sf.Secret.Ref())
			} else {
				return fmt.Errorf("resolve %s: %w", sf.Path, err)
			}
			diags = append(diags, d)
			continue
		}
		*sf.Secret = sf.Secret.withValue(v)
		if msg := checkSecretValue(sf.Field, sf.Path, v); msg != "" {
			diags = append(diags, Diagnostic{File: l.File, Line: l.Line(sf.Path), Path: sf.Path,
				Message: fmt.Sprintf("%s (secret %q)", msg, sf.Secret.Ref()),
				Hint:    fmt.Sprintf("replace it: `warden secrets set --generate %s`", sf.Secret.Ref())})
		}
	}
	if len(diags) > 0 {
		sortDiagnostics(diags)
		return &ValidationError{File: l.File, Diagnostics: diags}
	}
	return nil
}

// pathsNest reports whether one path is the other or inside it.
func pathsNest(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	inside := func(p, dir string) bool {
		return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
	}
	return inside(a, b) || inside(b, a)
}

var listIndex = lazyre.New(`\[[0-9]+\]`)

// CheckSecret applies the rules on the value of the secret at a concrete
// config path (gateway.auth.token, channels.telegram.webhook_secret), as
// validation does after resolving a reference; "" means acceptable.
func CheckSecret(path, value string) string {
	f := Schema().Lookup(listIndex.ReplaceAllString(path, "[]"))
	if f == nil || f.Kind != KindSecret {
		return ""
	}
	return checkSecretValue(f, path, value)
}
