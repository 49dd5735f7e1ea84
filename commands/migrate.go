package commands

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/strength"
	"github.com/warden-sec/warden/internal/lazyre"
)

func (w *wiring) migrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "rewrite a config the hardened loader refuses so that it loads, listing each change and its reason",
		ArgsUsage: "[FILE] | --from openclaw PATH",
		Description: "Upgrades an older version, turns dm_policy open into pairing, drops wildcard and name entries\n" +
			"from allow-lists, moves inline secrets into the secret store as secret: references (a weak\n" +
			"gateway token is replaced by a generated one), brings a bind beyond loopback without TLS back\n" +
			"to loopback, turns the sandbox on (non-main), and removes keys this version does not read.\n" +
			"The result is validated before it replaces the file (mode 0600); the original is kept as a 0600\n" +
			"backup. --dry-run prints the changes and a unified diff and changes nothing.\n" +
			"--from openclaw PATH imports an OpenClaw/Moltbot openclaw.json (JSON5) into a new config (--out):\n" +
			"channels, allow-lists, tokens and policies that map, and a list of what did not.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the changes and a unified diff; write nothing", EnvVars: []string{"WARDEN_MIGRATE_DRY_RUN"}},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json", EnvVars: []string{"WARDEN_MIGRATE_FORMAT"}},
			&cli.StringFlag{Name: "from", Usage: "import another tool's config instead: openclaw (an OpenClaw/Moltbot openclaw.json)", EnvVars: []string{"WARDEN_MIGRATE_FROM"}},
			&cli.StringFlag{Name: "out", Value: "warden.yaml", Usage: "with --from: the Warden config to write (never overwritten)", TakesFile: true, EnvVars: []string{"WARDEN_MIGRATE_OUT"}},
		},
		Action: w.migrate,
	}
}

// migrateChange is one change migrate makes.
type migrateChange struct {
	Key    string `json:"key"`
	Line   int    `json:"line,omitempty"`
	Change string `json:"change"`
	Reason string `json:"reason"`
}

type migrateOutput struct {
	SchemaVersion int             `json:"schemaVersion"`
	File          string          `json:"file"`
	DryRun        bool            `json:"dryRun"`
	Changes       []migrateChange `json:"changes"`
	Secrets       []string        `json:"secretsStored"`
	Backup        string          `json:"backup,omitempty"`
	Diff          string          `json:"diff,omitempty"`
}

func (w *wiring) migrate(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("migrate takes at most one FILE")
	}
	f, err := format(c, "table", "json")
	if err != nil {
		return err
	}
	path := c.Args().First()
	switch from := c.String("from"); from {
	case "":
	case "openclaw", "moltbot", "clawdbot":
		if path == "" {
			return usageErrorf("--from %s takes the path of its openclaw.json", from)
		}
		return w.migrateOpenClaw(c, path, f)
	default:
		return usageErrorf("--from %q is not one of: openclaw", from)
	}
	if path == "" {
		if path, err = w.configPath(c); err != nil {
			return inputError(err, "")
		}
		if path == "" {
			return inputError(errors.New("no config file found"), "name the file: warden migrate FILE")
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return inputError(fmt.Errorf("read config: %w", err), "")
	}
	if config.IsEncryptedName(path) || bytes.Contains(data, []byte("\nsops:")) {
		return inputError(fmt.Errorf("%s is encrypted", path), "decrypt it with `warden config decrypt`, migrate the plaintext, then encrypt it again")
	}
	m, err := newMigrator(c.Context, path, data)
	if err != nil {
		return err
	}
	out := migrateOutput{SchemaVersion: jsonSchemaVersion, File: path, DryRun: c.Bool("dry-run"), Changes: m.changes, Secrets: []string{}}
	for _, s := range m.stored {
		out.Secrets = append(out.Secrets, s.name)
	}
	if len(m.changes) == 0 {
		w.notef("%s loads as it is; nothing to migrate", path)
		if f == "json" {
			return writeJSON(w.env.Stdout, out)
		}
		return nil
	}
	if out.DryRun {
		// Secrets never print: the removed lines show them redacted.
		shown := string(data)
		for _, v := range m.inline {
			shown = strings.ReplaceAll(shown, v, config.Redacted)
		}
		out.Diff = unifiedDiff(path, path+" (migrated)", shown, string(m.result))
	} else {
		if err := w.applyMigration(c, path, data, m, &out); err != nil {
			return err
		}
	}
	if f == "json" {
		return writeJSON(w.env.Stdout, out)
	}
	rows := make([][]string, len(out.Changes))
	for i, ch := range out.Changes {
		line := "-"
		if ch.Line > 0 {
			line = strconv.Itoa(ch.Line)
		}
		rows[i] = []string{line, ch.Key, ch.Change, ch.Reason}
	}
	if err := writeTable(w.env.Stdout, []string{"LINE", "KEY", "CHANGE", "REASON"}, rows); err != nil {
		return err
	}
	if out.DryRun {
		fmt.Fprint(w.env.Stdout, "\n"+out.Diff)
		w.notef("dry run: %s is unchanged", path)
	}
	return nil
}

// applyMigration stores the secrets, keeps a backup and replaces the file.
func (w *wiring) applyMigration(c *cli.Context, path string, orig []byte, m *migrator, out *migrateOutput) error {
	ctx := c.Context
	if err := w.storeMigratedSecrets(ctx, c, m); err != nil {
		return err
	}
	backup := path + ".bak"
	for i := 1; ; i++ {
		if err := atomicfile.Write(backup, orig, atomicfile.Options{Mode: 0o600, NoOverwrite: true}); err == nil {
			break
		} else if !errors.Is(err, atomicfile.ErrExists) {
			return err
		}
		backup = fmt.Sprintf("%s.bak.%d", path, i)
	}
	out.Backup = backup
	if err := atomicfile.Write(path, m.result, atomicfile.Options{Mode: 0o600}); err != nil {
		return err
	}
	w.notef("migrated %s (%d change%s); the original is in %s (mode 0600)", path, len(m.changes), plural(len(m.changes)), backup)
	if len(m.stored) > 0 {
		w.notef("stored %d secret%s in the secret store; rotate the values that were in the file", len(m.stored), plural(len(m.stored)))
	}
	return nil
}

type storedSecret struct{ name, value string }

// migrator rewrites a config's YAML tree.
type migrator struct {
	file    string
	top     *yaml.Node
	changes []migrateChange
	stored  []storedSecret
	inline  []string // inline secret values of the original
	result  []byte
	loaded  *config.Loaded
}

var dangerousKey = lazyre.New(`(?i)(dangerous|insecure|unsafe|disable|skip_?verify|allow_?all|no_?auth)`)

func newMigrator(ctx context.Context, path string, data []byte) (*migrator, error) {
	first, err := config.Parse(ctx, path, data, nil)
	var ve *config.ValidationError
	switch {
	case err == nil:
		return &migrator{file: path, loaded: first, result: data}, nil
	case errors.As(err, &ve) && first != nil:
	default:
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, inputError(fmt.Errorf("%s: %w", path, err), "")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, inputError(fmt.Errorf("%s: the config is not a YAML mapping", path), "")
	}
	m := &migrator{file: path, top: doc.Content[0], loaded: first}
	m.rewrite(first)
	for round := 0; ; round++ {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
		_ = enc.Close()
		l, err := config.Parse(ctx, path, buf.Bytes(), nil)
		if err == nil {
			m.result, m.loaded = buf.Bytes(), l
			return m, nil
		}
		if !errors.As(err, &ve) || round == 5 || !m.dropInvalid(ve) {
			return nil, inputError(fmt.Errorf("the migrated config still does not load: %w", err), "fix the keys above by hand; `warden config validate` explains them")
		}
	}
}

// rewrite makes the changes with a reason of their own.
func (m *migrator) rewrite(l *config.Loaded) {
	c := l.Config
	if n := m.get("version"); n == nil || n.Value != strconv.Itoa(config.CurrentVersion) {
		if v, err := strconv.Atoi(scalar(n)); err != nil || v < config.CurrentVersion {
			m.set("version", strconv.Itoa(config.CurrentVersion), fmt.Sprintf("the file was written for an older format (%s); this warden reads version %d", orNone(scalar(n)), config.CurrentVersion))
		}
	}
	if n := m.get("channels.dm_policy"); n != nil && n.Value == config.DMPolicyOpen {
		m.set("channels.dm_policy", config.DMPolicyPairing, "open lets any stranger message the agent and run commands; with pairing an unknown sender gets a code the owner approves")
	}
	ids := map[string]*regexp.Regexp{"telegram": regexp.MustCompile(`^[0-9]{1,20}$`), "slack": regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`), "discord": regexp.MustCompile(`^[0-9]{1,20}$`)}
	for _, ch := range []string{"telegram", "slack", "discord"} {
		seq := m.get("channels." + ch + ".allow_from")
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for i := len(seq.Content) - 1; i >= 0; i-- {
			v := strings.TrimSpace(seq.Content[i].Value)
			reason := ""
			switch {
			case v == "*":
				reason = "a wildcard admits anyone; list user ids, or let pairing approve new senders"
			case !ids[ch].MatchString(v):
				reason = "names can be changed or imitated; allow-lists hold stable user ids (find the id and add it back)"
			default:
				continue
			}
			m.changes = append(m.changes, migrateChange{Key: fmt.Sprintf("channels.%s.allow_from[%d]", ch, i), Line: seq.Content[i].Line,
				Change: fmt.Sprintf("removed %q", v), Reason: reason})
			seq.Content = append(seq.Content[:i], seq.Content[i+1:]...)
		}
	}
	listen := scalar(m.get("gateway.listen"))
	if host, port, err := net.SplitHostPort(listen); err == nil && !config.IsLoopbackHost(host) && !c.Gateway.TLS.Enabled() {
		m.set("gateway.listen", net.JoinHostPort("127.0.0.1", port), "listening beyond loopback requires TLS; set gateway.tls (`warden tls self-signed`) and listen on "+listen+" again, or put a TLS proxy in front")
	}
	if n := m.get("sandbox.mode"); n != nil && n.Value == config.SandboxOff {
		m.set("sandbox.mode", config.SandboxNonMain, "with the sandbox off every command runs with the gateway's rights; non-main sandboxes all but the owner's main session (audit recommends all)")
	}
	// Inline secrets move into the secret store.
	for _, sf := range l.Secrets() {
		if !sf.Secret.Inline() {
			continue
		}
		name := migrateSecretName(sf.Path)
		value := sf.Secret.Reveal()
		m.inline = append(m.inline, value)
		reason := "secrets do not go in a plaintext config; the value is now in the encrypted secret store"
		if sf.Field.Format == "token" && strength.TokenPolicy().Check(value) != nil {
			value = randomToken()
			reason = "the token was weak (" + strength.TokenPolicy().Check(sf.Secret.Reveal()).Error() + "); a random one was generated into the secret store: update the clients that use it"
		}
		m.stored = append(m.stored, storedSecret{name: name, value: value})
		m.set(sf.Path, config.SecretPrefix+name, reason)
	}
	// Enabled channels need their verification secrets.
	if c.Channels.Telegram.Enabled && c.Channels.Telegram.WebhookSecret.IsZero() {
		m.stored = append(m.stored, storedSecret{name: "telegram_webhook_secret", value: randomToken()})
		m.set("channels.telegram.webhook_secret", config.SecretPrefix+"telegram_webhook_secret",
			"without a webhook secret anyone can post forged updates; a random one was generated (warden sends it to Telegram with setWebhook)")
	}
	disable := func(ch string, missing bool, what string) {
		if missing {
			m.set("channels."+ch+".enabled", "false", fmt.Sprintf("the channel has no %s, so its requests cannot be verified; set it and enable the channel again", what))
		}
	}
	disable("slack", c.Channels.Slack.Enabled && c.Channels.Slack.SigningSecret.IsZero(), "signing_secret")
	disable("discord", c.Channels.Discord.Enabled && c.Channels.Discord.PublicKey == "", "public_key")
	for _, ch := range []struct {
		name string
		on   bool
		tok  config.Secret
	}{{"telegram", c.Channels.Telegram.Enabled, c.Channels.Telegram.BotToken}, {"slack", c.Channels.Slack.Enabled, c.Channels.Slack.BotToken}, {"discord", c.Channels.Discord.Enabled, c.Channels.Discord.BotToken}} {
		disable(ch.name, ch.on && ch.tok.IsZero() && scalar(m.get("channels."+ch.name+".bot_token")) == "", "bot_token")
	}
}

// dropInvalid removes the keys the loader still refuses, so their
// defaults apply. It reports whether it removed anything.
func (m *migrator) dropInvalid(ve *config.ValidationError) bool {
	removed := false
	for i := len(ve.Diagnostics) - 1; i >= 0; i-- {
		d := ve.Diagnostics[i]
		if d.Path == "" || d.Path == "version" {
			continue
		}
		reason := "invalid here (" + d.Message + "); the secure default applies"
		if strings.HasPrefix(d.Message, "unknown key") {
			reason = "this version does not read the key (" + d.Message + ")"
			if dangerousKey.MatchString(d.Path) {
				reason = "a deprecated dangerous flag; this version has no such switch"
			}
		}
		if m.remove(d.Path) {
			m.changes = append(m.changes, migrateChange{Key: d.Path, Line: d.Line, Change: "removed", Reason: reason})
			removed = true
		}
	}
	return removed
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// randomToken is 32 random bytes, base64url: 43 characters, 256 bits.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// migrateSecretName names the store entry for a config path:
// gateway.auth.token is gateway_token, channels.telegram.bot_token is
// telegram_bot_token.
func migrateSecretName(path string) string {
	if path == "gateway.auth.token" {
		return "gateway_token"
	}
	return strings.ReplaceAll(strings.TrimPrefix(path, "channels."), ".", "_")
}

type pathPart struct {
	key string
	idx int // -1 for a key
}

func splitPath(path string) []pathPart {
	var out []pathPart
	for _, p := range strings.Split(path, ".") {
		key := p
		idx := -1
		if i := strings.IndexByte(p, '['); i >= 0 && strings.HasSuffix(p, "]") {
			key = p[:i]
			idx, _ = strconv.Atoi(p[i+1 : len(p)-1])
		}
		out = append(out, pathPart{key: key, idx: -1})
		if idx >= 0 {
			out = append(out, pathPart{idx: idx})
		}
	}
	return out
}

// walk returns the parent of path's node, the index of the node (the key
// for a mapping, the item for a list) and the node; create makes missing
// mappings.
func (m *migrator) walk(path string, create bool) (parent *yaml.Node, at int, node *yaml.Node) {
	cur := m.top
	parts := splitPath(path)
	for pi, p := range parts {
		parent, at, node = cur, -1, nil
		if p.idx >= 0 {
			if cur.Kind != yaml.SequenceNode || p.idx >= len(cur.Content) {
				return nil, -1, nil
			}
			at, node = p.idx, cur.Content[p.idx]
		} else {
			if cur.Kind != yaml.MappingNode {
				return nil, -1, nil
			}
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == p.key {
					at, node = i, cur.Content[i+1]
					break
				}
			}
			if node == nil {
				if !create {
					return parent, -1, nil
				}
				kind := yaml.MappingNode
				if pi == len(parts)-1 {
					kind = yaml.ScalarNode
				}
				node = &yaml.Node{Kind: kind, Tag: map[yaml.Kind]string{yaml.MappingNode: "!!map", yaml.ScalarNode: "!!str"}[kind]}
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.key}, node)
				at = len(cur.Content) - 2
			}
		}
		cur = node
	}
	return parent, at, node
}

func (m *migrator) get(path string) *yaml.Node {
	_, _, n := m.walk(path, false)
	return n
}

// set writes a scalar and records the change.
func (m *migrator) set(path, value, reason string) {
	_, _, n := m.walk(path, true)
	if n == nil {
		return
	}
	old := scalar(n)
	line := n.Line
	change := fmt.Sprintf("%s -> %s", orNone(old), value)
	if strings.HasPrefix(value, config.SecretPrefix) && old != "" {
		change = "inline value -> " + value
	}
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Line: n.Line, Column: n.Column,
		HeadComment: n.HeadComment, LineComment: n.LineComment, FootComment: n.FootComment}
	switch value {
	case "true", "false":
		n.Tag = "!!bool"
	default:
		if _, err := strconv.Atoi(value); err == nil {
			n.Tag = "!!int"
		}
	}
	m.changes = append(m.changes, migrateChange{Key: path, Line: line, Change: change, Reason: reason})
}

// remove deletes a key or a list item.
func (m *migrator) remove(path string) bool {
	parent, at, n := m.walk(path, false)
	if n == nil || parent == nil || at < 0 {
		return false
	}
	if parent.Kind == yaml.MappingNode {
		parent.Content = append(parent.Content[:at], parent.Content[at+2:]...)
	} else {
		parent.Content = append(parent.Content[:at], parent.Content[at+1:]...)
	}
	return true
}

// unifiedDiff is a unified diff of two texts (3 lines of context).
func unifiedDiff(nameA, nameB, a, b string) string {
	la, lb := splitLines(a), splitLines(b)
	// Longest common subsequence table, from the end.
	lcs := make([][]int, len(la)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(lb)+1)
	}
	for i := len(la) - 1; i >= 0; i-- {
		for j := len(lb) - 1; j >= 0; j-- {
			if la[i] == lb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
		ai   int
		bi   int
	}
	var ops []op
	i, j := 0, 0
	for i < len(la) || j < len(lb) {
		switch {
		case i < len(la) && j < len(lb) && la[i] == lb[j]:
			ops = append(ops, op{' ', la[i], i, j})
			i++
			j++
		case i < len(la) && (j == len(lb) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', la[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', lb[j], i, j})
			j++
		}
	}
	var b2 strings.Builder
	fmt.Fprintf(&b2, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(k-ctx, 0)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*ctx || run == len(ops) {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		na, nb := 0, 0
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				na++
			}
			if o.kind != '-' {
				nb++
			}
		}
		fmt.Fprintf(&b2, "@@ -%d,%d +%d,%d @@\n", ops[start].ai+1, na, ops[start].bi+1, nb)
		for _, o := range ops[start:end] {
			fmt.Fprintf(&b2, "%c%s\n", o.kind, o.text)
		}
		k = end
	}
	return b2.String()
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
