package commands

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/sops"
	"github.com/warden-sec/warden/core/statedir"
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
			"A secret the store already holds with the same value is reused; a different value stops the\n" +
			"migration unless --overwrite-secrets replaces it. The result is validated before it replaces the\n" +
			"file (mode 0600). The original is kept as a 0600 backup: FILE.bak.enc.yaml, encrypted to your age\n" +
			"identity, when it held secrets (`warden config decrypt` opens it), else FILE.bak.\n" +
			"--dry-run runs the same checks, prints the changes and a unified diff, and changes nothing.\n" +
			"--from openclaw PATH imports an OpenClaw/Moltbot openclaw.json (JSON5) into a new config (--out):\n" +
			"channels, allow-lists, tokens and policies that map, and a list of what did not.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the changes and a unified diff; write nothing", EnvVars: []string{"WARDEN_MIGRATE_DRY_RUN"}},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json", EnvVars: []string{"WARDEN_MIGRATE_FORMAT"}},
			&cli.StringFlag{Name: "from", Usage: "import another tool's config instead: openclaw (an OpenClaw/Moltbot openclaw.json)", EnvVars: []string{"WARDEN_MIGRATE_FROM"}},
			&cli.StringFlag{Name: "out", Value: "warden.yaml", Usage: "with --from: the Warden config to write (never overwritten)", TakesFile: true, EnvVars: []string{"WARDEN_MIGRATE_OUT"}},
			&cli.BoolFlag{Name: "overwrite-secrets", Usage: "when the secret store already holds a secret of the same name with a different value, replace it with the file's value (audited); without it migrate stops and says what differs", EnvVars: []string{"WARDEN_MIGRATE_OVERWRITE_SECRETS"}},
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
	// Secrets are the names written to the store (stored or replaced);
	// SecretPlan says what happens to each secret the file held.
	Secrets    []string        `json:"secretsStored"`
	SecretPlan []migrateSecret `json:"secrets"`
	// Backup is where the original is kept (with --dry-run: would be);
	// BackupEncrypted when it is encrypted to the identity's recipients.
	Backup          string `json:"backup,omitempty"`
	BackupEncrypted bool   `json:"backupEncrypted"`
	Diff            string `json:"diff,omitempty"`
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
	out := migrateOutput{SchemaVersion: jsonSchemaVersion, File: path, DryRun: c.Bool("dry-run"), Changes: m.changes, Secrets: []string{}, SecretPlan: []migrateSecret{}}
	if len(m.changes) == 0 {
		w.notef("%s loads as it is; nothing to migrate", path)
		if f == "json" {
			return writeJSON(w.env.Stdout, out)
		}
		return nil
	}
	// Every check of the real run, before anything is written; a dry run
	// stops here with the same error.
	kr, err := w.keyring(c)
	if err != nil {
		return err
	}
	plan, err := w.planSecrets(c, kr, m.loaded.Config, m.stored, path, true, c.Bool("overwrite-secrets"))
	if err != nil {
		return err
	}
	bk, err := w.planBackup(c, kr, path, data, len(m.inline) > 0)
	if err != nil {
		return err
	}
	m.explain(plan)
	out.Changes, out.SecretPlan, out.Secrets = m.changes, plan.report(), plan.written()
	out.Backup, out.BackupEncrypted = bk.path, bk.encrypted
	if out.DryRun {
		// Secrets never print: the removed lines show them redacted.
		shown := string(data)
		for _, v := range m.inline {
			shown = strings.ReplaceAll(shown, v, config.Redacted)
		}
		out.Diff = unifiedDiff(path, path+" (migrated)", shown, string(m.result))
	} else {
		if err := w.applyMigration(c, path, m, plan, bk); err != nil {
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
		w.notef("dry run: %s is unchanged; the run would keep the original in %s", path, bk.describe())
		w.notePlan(plan, true)
	}
	return nil
}

// applyMigration stores the secrets, keeps a backup and replaces the file.
func (w *wiring) applyMigration(c *cli.Context, path string, m *migrator, plan *secretPlan, bk *backupPlan) error {
	if err := w.applySecrets(c, plan); err != nil {
		return err
	}
	if err := bk.write(); err != nil {
		return err
	}
	if err := atomicfile.Write(path, m.result, atomicfile.Options{Mode: 0o600}); err != nil {
		return err
	}
	w.notef("migrated %s (%d change%s); the original is in %s", path, len(m.changes), plural(len(m.changes)), bk.describe())
	w.notePlan(plan, false)
	if len(m.inline) > 0 {
		w.notef("rotate the secrets that were written in %s: the plaintext may survive in editors' history, older backups or git", path)
	}
	return nil
}

// storedSecret is a secret a migration puts in the store.
type storedSecret struct {
	name, value string
	// key is where the value came from (a config key path, or the
	// other tool's key), line its line when known.
	key  string
	line int
	// generated marks a value made by the migration (a weak token's
	// replacement, a missing webhook secret): any valid value the store
	// already holds under the name serves as well.
	generated bool
	// why is the reason for a generated value, without what was done.
	why string
	// check validates a value the store already holds under the name,
	// for a generated secret ("" means acceptable).
	check func(string) string

	// action is what the plan decided (secretStore, …); problem why a
	// value the store holds cannot serve a generated secret.
	action, problem string
}

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
		generated, why := false, ""
		if sf.Field.Format == "token" && strength.TokenPolicy().Check(value) != nil {
			value, generated = randomToken(), true
			why = "the token was weak (" + strength.TokenPolicy().Check(sf.Secret.Reveal()).Error() + ")"
			reason = why + "; a random one was generated into the secret store: update the clients that use it"
		}
		m.stored = append(m.stored, storedSecret{name: name, value: value, key: sf.Path, line: m.lineOf(sf.Path), generated: generated, why: why, check: secretCheck(sf.Path)})
		m.set(sf.Path, config.SecretPrefix+name, reason)
	}
	// Enabled channels need their verification secrets.
	if c.Channels.Telegram.Enabled && c.Channels.Telegram.WebhookSecret.IsZero() {
		const key = "channels.telegram.webhook_secret"
		const why = "without a webhook secret anyone can post forged updates"
		m.stored = append(m.stored, storedSecret{name: "telegram_webhook_secret", value: randomToken(), key: key, generated: true, why: why, check: secretCheck(key)})
		m.set(key, config.SecretPrefix+"telegram_webhook_secret", why+"; a random one was generated (warden sends it to Telegram with setWebhook)")
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

// lineOf is the line of a key as the file has it, 0 when it has none.
func (m *migrator) lineOf(path string) int {
	if n := m.get(path); n != nil {
		return n.Line
	}
	return 0
}

// explain adds to the changes what the secret store plan decided: a
// value the store already holds is reused, a different one replaced.
func (m *migrator) explain(p *secretPlan) {
	for _, s := range p.secrets {
		for i := range m.changes {
			ch := &m.changes[i]
			if ch.Key != s.key || !strings.HasSuffix(ch.Change, config.SecretPrefix+s.name) {
				continue
			}
			switch {
			case s.action == secretReuse && s.generated:
				ch.Reason = fmt.Sprintf("%s; the secret store already holds %s, which is used instead of a generated one", s.why, s.name)
			case s.action == secretReuse:
				ch.Reason = fmt.Sprintf("secrets do not go in a plaintext config; the secret store already holds this value as %s (reused)", s.name)
			case s.action == secretReplace:
				ch.Reason += fmt.Sprintf("; it replaces the different value %s held (--overwrite-secrets)", s.name)
			}
		}
	}
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

// What a migration does with each of its secrets.
const (
	secretStore   = "store"   // the store has no secret of that name
	secretReuse   = "reuse"   // it holds the same value (or, for a generated one, a valid value)
	secretReplace = "replace" // it holds another value, which --overwrite-secrets replaces
)

// migrateSecret is one secret of a migration, as printed (never its value).
type migrateSecret struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Line      int    `json:"line,omitempty"`
	Action    string `json:"action"`
	Generated bool   `json:"generated"`
}

// secretPlan is what a migration does in the secret store. It is decided
// before anything is written, from the store as it is, so that --dry-run
// makes every check the real run makes and fails the same way.
type secretPlan struct {
	source   string // the file the secrets come from
	warden   bool   // source is a Warden config (not another tool's)
	kr       *secrets.Keyring
	stateDir string
	secrets  []storedSecret
}

// secretCheck returns the rule a stored value must pass to serve the
// config key path.
func secretCheck(path string) func(string) string {
	return func(v string) string { return config.CheckSecret(path, v) }
}

// planSecrets compares the migration's secrets with the store: a name the
// store lacks is stored; the same value is reused; a generated value
// gives way to a valid one the store holds; any other difference stops
// the migration, unless overwrite says the file's value wins.
func (w *wiring) planSecrets(c *cli.Context, kr *secrets.Keyring, cfg *config.Config, stored []storedSecret, source string, warden, overwrite bool) (*secretPlan, error) {
	p := &secretPlan{source: source, warden: warden, kr: kr, secrets: append([]storedSecret(nil), stored...)}
	if len(stored) == 0 {
		return p, nil
	}
	dir, err := w.stateDir(c, cfg)
	if err != nil {
		return nil, err
	}
	// What the real run's openStateDir refuses, checked without changing anything.
	if err := statedir.CheckFiles(dir, stateFiles()...); err != nil {
		return nil, err
	}
	p.stateDir = dir
	st := secrets.NewStore(dir, kr, w.env.Now)
	if !st.Exists() {
		return nil, inputError(fmt.Errorf("the secret store in %s does not exist", dir), "create it with `warden secrets init` (or `warden init`), then run migrate again")
	}
	have, err := st.Snapshot(c.Context)
	if err != nil {
		return nil, err
	}
	var conflicts []storedSecret
	for i := range p.secrets {
		s := &p.secrets[i]
		old, ok := have[s.name]
		switch {
		case !ok:
			s.action = secretStore
		case old == s.value:
			s.action = secretReuse
		case s.generated && (s.check == nil || s.check(old) == ""):
			s.action, s.value = secretReuse, old
		case overwrite:
			s.action = secretReplace
		default:
			if s.generated && s.check != nil {
				s.problem = s.check(old)
			}
			conflicts = append(conflicts, *s)
		}
	}
	if len(conflicts) > 0 {
		return nil, p.conflict(conflicts)
	}
	return p, nil
}

// conflict explains the secrets the store holds with other values, and
// the choice the user has.
func (p *secretPlan) conflict(cs []storedSecret) error {
	where := func(s storedSecret) string {
		if s.line > 0 {
			return fmt.Sprintf("%s (%s:%d)", s.key, p.source, s.line)
		}
		return fmt.Sprintf("%s in %s", s.key, p.source)
	}
	var items, hints []string
	for _, s := range cs {
		if s.generated {
			items = append(items, fmt.Sprintf("secret %q is already in the secret store, and its value does not serve %s: %s", s.name, s.key, s.problem))
			hints = append(hints, fmt.Sprintf("keep the name and make the value valid: `warden secrets set --generate %s`, then run migrate again", s.name))
			continue
		}
		items = append(items, fmt.Sprintf("secret %q is already in the secret store with a different value than %s", s.name, where(s)))
		if p.warden {
			at := p.source
			if s.line > 0 {
				at = fmt.Sprintf("%s:%d", p.source, s.line)
			}
			hints = append(hints, fmt.Sprintf("to keep the stored value: write `%s: %s%s` at %s in place of the inline value, and run migrate again",
				lastKey(s.key), config.SecretPrefix, s.name, at))
		} else {
			hints = append(hints, fmt.Sprintf("to keep the stored value: move it aside (`warden secrets rm %s` after noting it), import, then set it again with `warden secrets set %s`", s.name, s.name))
		}
	}
	hints = append(hints, "to replace the stored value with the file's: run migrate again with --overwrite-secrets (the replacement is recorded in the audit log)")
	if len(cs) == 1 {
		hints = append(hints, fmt.Sprintf("to compare them: `warden secrets get %s` shows the stored value", cs[0].name))
	}
	err := errors.New(items[0])
	if len(items) > 1 {
		err = fmt.Errorf("%d secrets are already in the secret store with other values:\n  %s", len(items), strings.Join(items, "\n  "))
	}
	return inputError(err, strings.Join(hints, "\n"))
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// report lists the plan's secrets without their values.
func (p *secretPlan) report() []migrateSecret {
	out := []migrateSecret{}
	for _, s := range p.secrets {
		out = append(out, migrateSecret{Name: s.name, Key: s.key, Line: s.line, Action: s.action, Generated: s.generated})
	}
	return out
}

// names lists the secrets with one of the actions.
func (p *secretPlan) names(actions ...string) []string {
	out := []string{}
	for _, s := range p.secrets {
		if slices.Contains(actions, s.action) {
			out = append(out, s.name)
		}
	}
	return out
}

// written lists the names the migration writes to the store.
func (p *secretPlan) written() []string { return p.names(secretStore, secretReplace) }

// applySecrets writes the plan's new and replaced secrets, each recorded
// in the audit log before it is written (fail closed).
func (w *wiring) applySecrets(c *cli.Context, p *secretPlan) error {
	ctx := c.Context
	if len(p.written()) == 0 {
		return nil
	}
	if err := w.openStateDir(p.stateDir); err != nil {
		return err
	}
	sess := &session{keyring: p.kr, stateDir: p.stateDir}
	a, err := w.openAudit(ctx, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	st := sess.secretStore(w)
	for _, s := range p.secrets {
		if s.action != secretStore && s.action != secretReplace {
			continue
		}
		details := map[string]any{"source": "migrate", "from": p.source, "key": s.key, "generated": s.generated}
		if s.action == secretReplace {
			details["overwrite"] = true
		}
		err := a.audited(ctx, "secret.set", s.name, details, func() error {
			_, err := st.Set(ctx, s.name, s.value)
			return err
		})
		if err != nil {
			return fmt.Errorf("store secret %s: %w", s.name, err)
		}
	}
	return nil
}

// notePlan says what the migration did (or, dry, would do) in the store.
func (w *wiring) notePlan(p *secretPlan, dry bool) {
	list := func(ns []string) string { return strings.Join(ns, ", ") }
	would := map[bool]string{true: "would ", false: ""}[dry]
	if ns := p.names(secretStore); len(ns) > 0 {
		if dry {
			w.notef("the run would store %d secret%s in the secret store (%s)", len(ns), plural(len(ns)), list(ns))
		} else {
			w.notef("stored %d secret%s in the secret store (%s)", len(ns), plural(len(ns)), list(ns))
		}
	}
	if ns := p.names(secretReuse); len(ns) > 0 {
		w.notef("%sreuse%s %d secret%s already in the secret store (%s); nothing %swritten for %s",
			would, map[bool]string{true: "", false: "d"}[dry], len(ns), plural(len(ns)), list(ns), map[bool]string{true: "would be ", false: "is "}[dry],
			map[bool]string{true: "it", false: "them"}[len(ns) == 1])
	}
	if ns := p.names(secretReplace); len(ns) > 0 {
		w.notef("%sreplace%s %d secret%s in the secret store with the file's value%s (--overwrite-secrets, audited): %s", would,
			map[bool]string{true: "", false: "d"}[dry], len(ns), plural(len(ns)), plural(len(ns)), list(ns))
	}
}

// backupPlan is where and how migrate keeps the original file.
type backupPlan struct {
	orig       string // the migrated file
	path       string
	data       []byte // what is written: ciphertext when encrypted
	encrypted  bool
	recipients []string
}

// backupName is the i-th candidate name of a backup of path:
// FILE.bak(.N) in the clear, FILE.bak(.N).enc.yaml encrypted.
func backupName(path string, i int, encrypted bool) string {
	name := path + ".bak"
	if i > 0 {
		name += "." + strconv.Itoa(i)
	}
	if encrypted {
		name += ".enc.yaml"
	}
	return name
}

// planBackup prepares the backup of the original. A file that held
// secrets is encrypted here, in memory, to the identity's recipients in
// the SOPS format (as `warden config encrypt` writes), so its plaintext
// never reaches the disk again; the ciphertext is decrypted once with the
// identity to prove it opens and that no value was left in the clear.
func (w *wiring) planBackup(c *cli.Context, kr *secrets.Keyring, path string, orig []byte, hasSecrets bool) (*backupPlan, error) {
	b := &backupPlan{orig: path, data: orig, encrypted: hasSecrets}
	if hasSecrets {
		rs, err := kr.DefaultRecipients()
		if err != nil {
			return nil, inputError(fmt.Errorf("%s holds secrets, and its backup is encrypted to your age identity: %w", path, err),
				"create one with `warden secrets init`, or name it with --identity")
		}
		root, err := sops.ParsePlain(orig)
		if err != nil {
			return nil, inputError(fmt.Errorf("%s: %w", path, err), "")
		}
		if b.data, err = sops.EncryptFor(root, rs, sops.Metadata{}, w.env.Now()); err != nil {
			return nil, fmt.Errorf("encrypt the backup of %s: %w", path, err)
		}
		doc, err := kr.Decrypt(c.Context, backupName(path, 0, true), b.data)
		if err != nil {
			return nil, fmt.Errorf("the encrypted backup of %s does not open with the identity: %w", path, err)
		}
		if clear := clearValues(doc.Root, doc.Encrypted); clear > 0 {
			return nil, fmt.Errorf("the encrypted backup of %s would keep %d value%s in the clear; not written", path, clear, plural(clear))
		}
		b.recipients = labels(rs)
	}
	for i := 0; ; i++ {
		b.path = backupName(path, i, b.encrypted)
		if _, err := os.Lstat(b.path); errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return b, nil
}

// clearValues counts the non-empty values (not keys) that were not encrypted.
func clearValues(n *yaml.Node, encrypted map[*yaml.Node]bool) int {
	count := 0
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			count += clearValues(c, encrypted)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			count += clearValues(n.Content[i], encrypted)
		}
	case yaml.ScalarNode:
		if !encrypted[n] && n.Value != "" && n.ShortTag() != "!!null" {
			count++
		}
	}
	return count
}

// write writes the backup (mode 0600), never over an existing file.
func (b *backupPlan) write() error {
	for i := 0; ; i++ {
		name := backupName(b.orig, i, b.encrypted)
		err := atomicfile.Write(name, b.data, atomicfile.Options{Mode: 0o600, NoOverwrite: true})
		if err == nil {
			b.path = name
			return nil
		}
		if !errors.Is(err, atomicfile.ErrExists) {
			return err
		}
	}
}

// describe says where the original is (or would be) kept.
func (b *backupPlan) describe() string {
	if b.encrypted {
		return fmt.Sprintf("%s (mode 0600, encrypted for %s; `warden config decrypt %s` shows it)", b.path, strings.Join(b.recipients, ", "), b.path)
	}
	return b.path + " (mode 0600)"
}
