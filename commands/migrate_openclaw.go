package commands

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/strength"
	"github.com/warden-sec/warden/internal/lazyre"
)

// openclawImport is the result of reading an OpenClaw (Moltbot,
// Clawdbot) openclaw.json: a Warden config, the secrets it references,
// what was mapped and what was not.
type openclawImport struct {
	yaml     []byte
	stored   []storedSecret
	mapped   []migrateChange
	unmapped []migrateChange
}

type openclawOutput struct {
	SchemaVersion int             `json:"schemaVersion"`
	From          string          `json:"from"`
	Output        string          `json:"output"`
	DryRun        bool            `json:"dryRun"`
	Mapped        []migrateChange `json:"mapped"`
	NotMapped     []migrateChange `json:"notMapped"`
	Secrets       []string        `json:"secretsStored"`
	SecretPlan    []migrateSecret `json:"secrets"`
	Config        string          `json:"config,omitempty"`
}

// migrateOpenClaw imports an OpenClaw config into a new warden.yaml.
func (w *wiring) migrateOpenClaw(c *cli.Context, path, format string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return inputError(fmt.Errorf("read %s: %w", path, err), "OpenClaw keeps its config in ~/.openclaw/openclaw.json")
	}
	imp, err := importOpenClaw(data)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err), "")
	}
	outPath := c.String("out")
	l, err := config.Parse(c.Context, outPath, imp.yaml, nil)
	if err != nil {
		return fmt.Errorf("the imported config does not load (a bug): %w", err)
	}
	out := openclawOutput{SchemaVersion: jsonSchemaVersion, From: path, Output: outPath, DryRun: c.Bool("dry-run"),
		Mapped: imp.mapped, NotMapped: imp.unmapped}
	// Every check of the real run, before anything is written; a dry run
	// stops here with the same error.
	if _, err := os.Lstat(outPath); err == nil {
		return inputError(fmt.Errorf("%s already exists", outPath), "name another file with --out, or move it away first")
	}
	kr, err := w.keyring(c)
	if err != nil {
		return err
	}
	plan, err := w.planSecrets(c, kr, l.Config, imp.stored, path, false, c.Bool("overwrite-secrets"))
	if err != nil {
		return err
	}
	out.Secrets, out.SecretPlan = plan.written(), plan.report()
	for _, sec := range plan.secrets {
		for i := range imp.mapped {
			ch := &imp.mapped[i]
			if !strings.HasSuffix(ch.Change, config.SecretPrefix+sec.name) {
				continue
			}
			switch {
			case sec.action == secretReuse && sec.generated:
				ch.Reason = fmt.Sprintf("the secret store already holds a valid %s, which is used instead of a generated one", sec.name)
			case sec.action == secretReuse:
				ch.Reason = fmt.Sprintf("the secret store already holds this value as %s (reused)", sec.name)
			case sec.action == secretReplace:
				ch.Reason += fmt.Sprintf("; it replaces the different value %s held (--overwrite-secrets)", sec.name)
			}
		}
	}
	out.Mapped = imp.mapped
	if out.DryRun {
		out.Config = string(imp.yaml)
	} else {
		if err := w.applySecrets(c, plan); err != nil {
			return err
		}
		if err := atomicfile.Write(outPath, imp.yaml, atomicfile.Options{Mode: 0o600, NoOverwrite: true}); err != nil {
			return err
		}
		w.notef("wrote %s (mode 0600) from %s: %d setting%s mapped, %d not", outPath, path, len(imp.mapped), plural(len(imp.mapped)), len(imp.unmapped))
		w.notePlan(plan, false)
		if len(imp.stored) > 0 {
			w.notef("%s still holds the secrets in plaintext: delete it once the import works, and rotate them", path)
		}
	}
	if format == "json" {
		return writeJSON(w.env.Stdout, out)
	}
	rows := [][]string{}
	for _, ch := range imp.mapped {
		rows = append(rows, []string{"mapped", ch.Key, ch.Change, ch.Reason})
	}
	for _, ch := range imp.unmapped {
		rows = append(rows, []string{"not mapped", ch.Key, ch.Change, ch.Reason})
	}
	if err := writeTable(w.env.Stdout, []string{"RESULT", "OPENCLAW KEY", "WARDEN", "NOTE"}, rows); err != nil {
		return err
	}
	if out.DryRun {
		fmt.Fprintf(w.env.Stdout, "\n# %s (not written: dry run)\n%s", outPath, imp.yaml)
		w.notePlan(plan, true)
	}
	return nil
}

// jsonComment matches what JSON5 adds to JSON that YAML does not read:
// comments (strings are matched first so a // inside one is kept).
var jsonComment = lazyre.New(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|//[^\n]*|/\*(?:[^*]|\*[^/])*\*/`)

// importOpenClaw maps an openclaw.json (JSON5) onto a Warden config.
func importOpenClaw(data []byte) (*openclawImport, error) {
	src := jsonComment.ReplaceAllStringFunc(string(data), func(m string) string {
		if strings.HasPrefix(m, "//") || strings.HasPrefix(m, "/*") {
			return strings.Repeat("\n", strings.Count(m, "\n"))
		}
		return m
	})
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		return nil, fmt.Errorf("not an OpenClaw JSON5 config: %w", err)
	}
	imp := &openclawImport{}
	mapped := func(key, to, note string) {
		imp.mapped = append(imp.mapped, migrateChange{Key: key, Change: to, Reason: note})
	}
	unmapped := func(key, note string) {
		imp.unmapped = append(imp.unmapped, migrateChange{Key: key, Change: "-", Reason: note})
	}

	cfg := config.Defaults()
	doc := &yaml.Node{Kind: yaml.MappingNode}
	put := func(path, value string) { setYAML(doc, path, value) }
	put("version", strconv.Itoa(config.CurrentVersion))

	// Gateway.
	gw := obj(raw["gateway"])
	port := 18789
	if p, ok := num(gw["port"]); ok {
		port = p
		mapped("gateway.port", fmt.Sprintf("gateway.listen: 127.0.0.1:%d", port), "")
	}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	put("gateway.listen", listen)
	switch b := str(gw["bind"]); b {
	case "", "loopback":
	default:
		unmapped("gateway.bind", fmt.Sprintf("%q listens beyond loopback; Warden requires TLS there: set gateway.tls (`warden tls self-signed`) and gateway.listen yourself, or put a TLS proxy in front", b))
	}
	auth := obj(gw["auth"])
	switch mode := str(auth["mode"]); mode {
	case "", "token":
		if t := str(auth["token"]); t != "" {
			name := "gateway_token"
			sec := storedSecret{name: name, value: t, key: "gateway.auth.token", check: secretCheck("gateway.auth.token")}
			if err := strength.TokenPolicy().Check(t); err != nil {
				sec.value, sec.generated = randomToken(), true
				mapped("gateway.auth.token", "gateway.auth.token: secret:gateway_token", "the token "+err.Error()+"; a random one was generated into the secret store: update its clients")
			} else {
				mapped("gateway.auth.token", "gateway.auth.token: secret:gateway_token", "value moved to the encrypted secret store")
			}
			imp.stored = append(imp.stored, sec)
			put("gateway.auth.token", config.SecretPrefix+name)
		}
	case "password":
		unmapped("gateway.auth.password", "Warden has per-user passwords: create users with `warden users add NAME --role admin`")
	case "none":
		unmapped("gateway.auth.mode", `"none" has no equivalent: Warden always authenticates`)
	default:
		unmapped("gateway.auth.mode", fmt.Sprintf("%q has no equivalent; Warden authenticates users and tokens itself", mode))
	}
	if tp := list(gw["trustedProxies"]); len(tp) > 0 {
		var keep []string
		for _, p := range tp {
			if net.ParseIP(p) != nil {
				keep = append(keep, p)
			} else if _, _, err := net.ParseCIDR(p); err == nil && !strings.HasSuffix(p, "/0") {
				keep = append(keep, p)
			} else {
				unmapped("gateway.trustedProxies", fmt.Sprintf("%q is not one proxy's address", p))
			}
		}
		if len(keep) > 0 {
			setYAMLList(doc, "gateway.trusted_proxies", keep)
			mapped("gateway.trustedProxies", "gateway.trusted_proxies", "")
		}
	}
	if origins := list(obj(gw["controlUi"])["allowedOrigins"]); len(origins) > 0 {
		var keep []string
		for _, o := range origins {
			if strings.Contains(o, "*") || !regexp.MustCompile(`^https?://[^/]+$`).MatchString(o) {
				unmapped("gateway.controlUi.allowedOrigins", fmt.Sprintf("%q is not an exact origin", o))
				continue
			}
			keep = append(keep, o)
		}
		if len(keep) > 0 {
			setYAMLList(doc, "gateway.allowed_origins", keep)
			mapped("gateway.controlUi.allowedOrigins", "gateway.allowed_origins", "")
		}
	}
	for k := range gw {
		switch k {
		case "port", "bind", "auth", "trustedProxies", "controlUi":
		default:
			unmapped("gateway."+k, "no Warden equivalent")
		}
	}

	// Channels.
	chans := obj(raw["channels"])
	idPattern := map[string]*regexp.Regexp{"telegram": regexp.MustCompile(`^[0-9]{1,20}$`), "slack": regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`), "discord": regexp.MustCompile(`^[0-9]{1,20}$`)}
	policies := map[string]bool{}
	for _, name := range sortedKeys(chans) {
		ch := obj(chans[name])
		pre := "channels." + name
		if _, ok := idPattern[name]; !ok {
			if name != "defaults" {
				unmapped(pre, "Warden has no "+name+" adapter")
			}
			continue
		}
		enabled := true
		if b, ok := ch["enabled"].(bool); ok {
			enabled = b
		}
		dm := obj(ch["dm"])
		policy := str(ch["dmPolicy"])
		if policy == "" {
			policy = str(dm["policy"])
		}
		allow := list(ch["allowFrom"])
		if len(allow) == 0 {
			allow = list(dm["allowFrom"])
		}
		var ids []string
		for _, a := range allow {
			id := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(a, "telegram:"), "tg:"), name+":")
			switch {
			case id == "*":
				unmapped(pre+".allowFrom", `"*" admits anyone; Warden does not accept a wildcard`)
			case idPattern[name].MatchString(id):
				ids = append(ids, id)
			default:
				unmapped(pre+".allowFrom", fmt.Sprintf("%q is not a stable %s user id; find the id and add it", a, name))
			}
		}
		switch policy {
		case "", "pairing":
			policies[config.DMPolicyPairing] = true
		case "allowlist":
			policies[config.DMPolicyAllowlist] = true
		case "open":
			policies[config.DMPolicyPairing] = true
			mapped(pre+".dmPolicy", "channels.dm_policy: pairing", "open lets any stranger run commands; pairing asks the owner to approve each new sender")
		case "disabled":
			policies[config.DMPolicyAllowlist] = true
			mapped(pre+".dmPolicy", "channels.dm_policy: allowlist", "disabled DMs: an allow-list admits only the ids listed")
		}
		put(pre+".enabled", strconv.FormatBool(enabled))
		if len(ids) > 0 {
			setYAMLList(doc, pre+".allow_from", ids)
			mapped(pre+".allowFrom", pre+".allow_from", fmt.Sprintf("%d id%s", len(ids), plural(len(ids))))
		}
		tokKey := "botToken"
		if name == "discord" {
			tokKey = "token"
		}
		if t := str(ch[tokKey]); t != "" {
			sn := name + "_bot_token"
			imp.stored = append(imp.stored, storedSecret{name: sn, value: t, key: pre + "." + tokKey})
			put(pre+".bot_token", config.SecretPrefix+sn)
			mapped(pre+"."+tokKey, pre+".bot_token: secret:"+sn, "value moved to the encrypted secret store")
		}
		disable := func(why string) {
			if enabled {
				put(pre+".enabled", "false")
				unmapped(pre, why)
				enabled = false
			}
		}
		switch name {
		case "telegram":
			ws := str(ch["webhookSecret"])
			sec := storedSecret{name: "telegram_webhook_secret", value: ws, key: pre + ".webhookSecret", check: secretCheck("channels.telegram.webhook_secret")}
			if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`).MatchString(ws) {
				if ws != "" {
					unmapped(pre+".webhookSecret", "not a valid Telegram secret token; a new one was generated")
				}
				sec.value, sec.generated = randomToken(), true
				mapped(pre, pre+".webhook_secret: secret:telegram_webhook_secret", "generated: Warden verifies every update with it (OpenClaw polled without one)")
			} else {
				mapped(pre+".webhookSecret", pre+".webhook_secret: secret:telegram_webhook_secret", "value moved to the encrypted secret store")
			}
			imp.stored = append(imp.stored, sec)
			put(pre+".webhook_secret", config.SecretPrefix+"telegram_webhook_secret")
			if str(ch[tokKey]) == "" {
				disable("no bot token; store one and enable the channel")
			}
		case "slack":
			if s := str(ch["signingSecret"]); s != "" {
				imp.stored = append(imp.stored, storedSecret{name: "slack_signing_secret", value: s, key: pre + ".signingSecret"})
				put(pre+".signing_secret", config.SecretPrefix+"slack_signing_secret")
				mapped(pre+".signingSecret", pre+".signing_secret: secret:slack_signing_secret", "value moved to the encrypted secret store")
			} else {
				disable("Warden receives Slack events over HTTP and needs the app's signing secret (socket mode is not supported); set signing_secret and enable the channel")
			}
			if str(ch["appToken"]) != "" {
				unmapped(pre+".appToken", "socket mode is not supported; the token was not imported")
			}
			if str(ch[tokKey]) == "" {
				disable("no bot token; store one and enable the channel")
			}
		case "discord":
			disable("Warden verifies Discord interactions with the application's public key, which OpenClaw does not hold: set channels.discord.public_key and application_id, then enable the channel")
		}
		for _, k := range sortedKeys(ch) {
			switch k {
			case "enabled", "dmPolicy", "dm", "allowFrom", "botToken", "token", "webhookSecret", "signingSecret", "appToken":
			default:
				unmapped(pre+"."+k, "no Warden equivalent (Warden handles DMs only; groups are not mapped)")
			}
		}
	}
	policy := config.DMPolicyPairing
	if policies[config.DMPolicyAllowlist] && !policies[config.DMPolicyPairing] {
		policy = config.DMPolicyAllowlist
	}
	put("channels.dm_policy", policy)

	// Sandbox.
	sb := obj(obj(obj(raw["agents"])["defaults"])["sandbox"])
	mode := str(sb["mode"])
	switch mode {
	case "all", "non-main":
		put("sandbox.mode", mode)
		mapped("agents.defaults.sandbox.mode", "sandbox.mode: "+mode, "")
	case "", "off":
		put("sandbox.mode", cfg.Sandbox.Mode)
		if mode == "off" {
			mapped("agents.defaults.sandbox.mode", "sandbox.mode: non-main", "off runs every command with the gateway's rights")
		}
	default:
		put("sandbox.mode", cfg.Sandbox.Mode)
		unmapped("agents.defaults.sandbox.mode", fmt.Sprintf("%q is not a Warden mode; non-main applies", mode))
	}
	if n := str(obj(sb["docker"])["network"]); n != "" && n != "none" {
		unmapped("agents.defaults.sandbox.docker.network", fmt.Sprintf("%q: Warden's sandbox has no network unless sandbox.network is true; turn it on only if commands need it", n))
	}
	for _, k := range sortedKeys(raw) {
		switch k {
		case "gateway", "channels":
		case "agents":
			unmapped("agents", "models, workspaces and tools belong to the agent, not the gateway (only agents.defaults.sandbox.mode is mapped)")
		case "logging":
			unmapped("logging", "Warden always redacts secrets; logging.level and logging.format are its own")
		default:
			unmapped(k, "no Warden equivalent")
		}
	}
	var out strings.Builder
	out.WriteString("# Imported from an OpenClaw config by `warden migrate --from openclaw`.\n")
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	_ = enc.Close()
	imp.yaml = []byte(out.String())
	if len(imp.mapped) == 0 && len(raw) == 0 {
		return nil, errors.New("the file holds no settings")
	}
	return imp, nil
}

func obj(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int, int64, float64, bool:
		return fmt.Sprint(x)
	}
	return ""
}

func num(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		return int(x), true
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	}
	return 0, false
}

func list(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s := str(it); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// setYAML sets a scalar at a dotted path, creating mappings in order.
func setYAML(doc *yaml.Node, path, value string) {
	m := &migrator{top: doc}
	_, _, n := m.walk(path, true)
	tag := "!!str"
	switch {
	case value == "true" || value == "false":
		tag = "!!bool"
	case regexp.MustCompile(`^[0-9]+$`).MatchString(value):
		tag = "!!int"
	}
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// setYAMLList sets a list of strings at a dotted path.
func setYAMLList(doc *yaml.Node, path string, values []string) {
	m := &migrator{top: doc}
	_, _, n := m.walk(path, true)
	*n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, v := range values {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle})
	}
}
