package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/strength"
	"github.com/warden-sec/warden/internal/lazyre"
)

// configChecks look at warden.yaml as it is written.
func configChecks() []Check {
	return []Check{
		{ID: "config.loads", Severity: Medium, Title: "config is refused by the loader",
			Description: "warden serve refuses a config that breaks the schema or the security rules; an old or hand-edited file keeps the gateway from starting or hides a weaker setting.",
			run:         checkConfigLoads},
		{ID: "gateway.exposed", Severity: Critical, Title: "gateway listens beyond loopback without TLS",
			Description: "A gateway reachable from the network without TLS sends passwords, tokens and commands in the clear.",
			run:         checkExposed},
		{ID: "gateway.token", Severity: High, Title: "gateway token is short or low-entropy",
			Description: "The shared gateway token must be 32+ characters of random data (128 bits); a guessable token hands the agent's shell to whoever guesses it.",
			run:         checkGatewayToken},
		{ID: "gateway.rate_limit", Severity: High, Title: "failed-login rate limiting is off or weaker than 5 per 5 minutes",
			Description: "Without a limit of 5 failed attempts per 5 minutes per client, passwords and tokens can be brute-forced.",
			run:         checkRateLimit},
		{ID: "gateway.origins", Severity: Medium, Title: "Origin allow-list has a wildcard",
			Description: "A wildcard or null origin lets any web page open the gateway's WebSocket or call its API from a logged-in browser.",
			run:         checkOrigins},
		{ID: "gateway.metrics", Severity: Medium, Title: "metrics are served without a token behind a proxy",
			Description: "Behind a reverse proxy every request arrives from loopback, so /metrics without require_token is open to the proxy's whole audience.",
			run:         checkMetrics},
		{ID: "gateway.trusted_proxies", Severity: Medium, Title: "trusted proxies trust everyone",
			Description: "Trusting X-Forwarded-For from any address lets clients pick their own IP and escape the rate limiter and the audit trail.",
			run:         checkTrustedProxies},
		{ID: "gateway.secret_reuse", Severity: High, Title: "one secret serves two purposes",
			Description: "A secret reused across purposes (gateway token, bot token, webhook secret, forwarding token) leaks everywhere at once when one use leaks.",
			run:         checkSecretReuse},
		{ID: "channels.dm_policy_open", Severity: Critical, Title: "DM policy is open",
			Description: "dm_policy open lets any stranger who finds the bot message the agent and run commands through it. The loader refuses it; old files still carry it.",
			Fixable:     true, run: checkDMPolicy},
		{ID: "channels.allow_wildcard", Severity: High, Title: "allow-list admits anyone",
			Description: "A \"*\" in allow_from admits every sender, which is an open DM policy under another name.",
			Fixable:     true, run: checkAllowWildcard},
		{ID: "channels.allow_names", Severity: High, Title: "allow-list keyed on changeable names",
			Description: "Usernames and display names can be changed or imitated; allow-lists must hold the platform's stable numeric or U… ids.",
			run:         checkAllowNames},
		{ID: "channels.webhook_secret", Severity: Critical, Title: "channel webhook is not verified",
			Description: "An enabled channel without its webhook secret, signing secret or public key accepts forged platform requests.",
			run:         checkWebhookSecret},
		{ID: "secrets.inline", Severity: Critical, Title: "plaintext secrets inline in the config",
			Description: "Secrets written in a plaintext config end up in backups, editors' history and git; they belong in the encrypted secret store as secret: references.",
			run:         checkInlineSecrets},
		{ID: "log.retention", Severity: Low, Title: "audit log retention is disabled",
			Description: "With neither retention_days nor max_entries the audit log grows without bound until the disk fills and appends fail closed.",
			Fixable:     true, run: checkRetention},
	}
}

func checkConfigLoads(_ context.Context, e *env) outcome {
	ve := e.o.ConfigErr
	if ve == nil || len(ve.Diagnostics) == 0 {
		return pass()
	}
	var ev []string
	for _, d := range ve.Diagnostics {
		ev = append(ev, d.String())
	}
	first := ve.Diagnostics[0]
	o := fail(first.Path, "run `warden migrate "+e.file+"` to rewrite the file so it loads, then `warden config validate`", ev...)
	o.line = first.Line
	return o
}

func listenHost(listen string) (string, bool) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "", false
	}
	return host, true
}

func (e *env) listen() string { return e.str("gateway.listen", e.cfg.Gateway.Listen) }

func (e *env) tlsEnabled() bool {
	return e.str("gateway.tls.cert", e.cfg.Gateway.TLS.Cert) != "" && e.str("gateway.tls.key", e.cfg.Gateway.TLS.Key) != ""
}

func checkExposed(_ context.Context, e *env) outcome {
	listen := e.listen()
	host, ok := listenHost(listen)
	if !ok || config.IsLoopbackHost(host) || e.tlsEnabled() {
		return pass()
	}
	return fail("gateway.listen", "set gateway.tls.cert and gateway.tls.key (`warden tls self-signed` makes a local pair), or listen on 127.0.0.1:7420 behind a TLS proxy",
		fmt.Sprintf("gateway.listen is %s and gateway.tls has no certificate", listen))
}

func checkGatewayToken(ctx context.Context, e *env) outcome {
	tok := e.cfg.Gateway.Auth.Token
	if tok.IsZero() {
		return pass()
	}
	v := tok.Reveal()
	if !tok.Inline() && tok.Ref() != "" {
		if e.o.ResolveSecret == nil {
			return skip("gateway.auth.token is secret:%s and the secret store cannot be read", tok.Ref())
		}
		var err error
		if v, err = e.o.ResolveSecret(ctx, tok.Ref()); err != nil {
			return skip("secret %s: %v", tok.Ref(), err)
		}
	}
	if err := strength.TokenPolicy().Check(v); err != nil {
		return fail("gateway.auth.token", "replace it with a random token: `warden secrets set --generate gateway_token` and write token: secret:gateway_token",
			fmt.Sprintf("the gateway token %s", err))
	}
	return pass()
}

func checkRateLimit(_ context.Context, e *env) outcome {
	rl := e.cfg.Gateway.RateLimit
	enabled := e.boolean("gateway.rate_limit.enabled", rl.Enabled)
	attempts := e.integer("gateway.rate_limit.attempts", rl.Attempts)
	window := e.duration("gateway.rate_limit.window", rl.Window.D())
	const fix = "set gateway.rate_limit.enabled: true, attempts: 5 and window: 5m (or stricter)"
	switch {
	case !enabled:
		return fail("gateway.rate_limit.enabled", fix, "gateway.rate_limit.enabled is false")
	case attempts > 5:
		return fail("gateway.rate_limit.attempts", fix, fmt.Sprintf("%d failed attempts are allowed per window (at most 5)", attempts))
	case window < 5*time.Minute:
		return fail("gateway.rate_limit.window", fix, fmt.Sprintf("the window is %s (at least 5m)", config.FormatDuration(window)))
	}
	return pass()
}

func checkOrigins(_ context.Context, e *env) outcome {
	var ev []string
	key := ""
	for i, o := range e.list("gateway.allowed_origins", e.cfg.Gateway.AllowedOrigins) {
		if o == "*" || strings.Contains(o, "*") || strings.EqualFold(o, "null") {
			ev = append(ev, fmt.Sprintf("gateway.allowed_origins[%d] is %q", i, o))
			if key == "" {
				key = fmt.Sprintf("gateway.allowed_origins[%d]", i)
			}
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, "list exact origins (scheme://host[:port]) in gateway.allowed_origins, or leave it empty to allow only the gateway's own origin", ev...)
}

func checkMetrics(_ context.Context, e *env) outcome {
	m := e.cfg.Gateway.Metrics
	if !e.boolean("gateway.metrics.enabled", m.Enabled) || e.boolean("gateway.metrics.require_token", m.RequireToken) {
		return pass()
	}
	if len(e.list("gateway.trusted_proxies", e.cfg.Gateway.TrustedProxies)) == 0 {
		return pass() // off loopback the gateway always requires a token
	}
	return fail("gateway.metrics.require_token", "set gateway.metrics.require_token: true, or gateway.metrics.enabled: false",
		"gateway.trusted_proxies is set (the gateway sits behind a proxy) and gateway.metrics.require_token is false")
}

func checkTrustedProxies(_ context.Context, e *env) outcome {
	n := e.node("gateway.trusted_proxies")
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return fail("gateway.trusted_proxies", "list the proxies' addresses (IP or CIDR), e.g. [127.0.0.1]",
			fmt.Sprintf("gateway.trusted_proxies is %q, not a list of addresses", n.Value))
	}
	var ev []string
	key := ""
	for i, p := range e.list("gateway.trusted_proxies", e.cfg.Gateway.TrustedProxies) {
		wide := p == "*"
		if _, nw, err := net.ParseCIDR(p); err == nil {
			ones, bits := nw.Mask.Size()
			wide = wide || (bits == 32 && ones < 8) || (bits == 128 && ones < 16)
		}
		if wide {
			ev = append(ev, fmt.Sprintf("gateway.trusted_proxies[%d] is %q", i, p))
			if key == "" {
				key = fmt.Sprintf("gateway.trusted_proxies[%d]", i)
			}
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, "list only the reverse proxies' own addresses in gateway.trusted_proxies", ev...)
}

func checkSecretReuse(ctx context.Context, e *env) outcome {
	byKey := map[string][]string{}
	var order []string
	for _, sf := range e.o.Config.Secrets() {
		var k string
		switch {
		case sf.Secret.Ref() != "":
			k = "ref:" + sf.Secret.Ref()
			if e.o.ResolveSecret != nil {
				if v, err := e.o.ResolveSecret(ctx, sf.Secret.Ref()); err == nil && v != "" {
					k = fmt.Sprintf("val:%x", sha256.Sum256([]byte(v)))
				}
			}
		case sf.Secret.Reveal() != "":
			k = fmt.Sprintf("val:%x", sha256.Sum256([]byte(sf.Secret.Reveal())))
		default:
			continue
		}
		if len(byKey[k]) == 0 {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], sf.Path)
	}
	var ev []string
	key := ""
	for _, k := range order {
		if paths := byKey[k]; len(paths) > 1 {
			ev = append(ev, strings.Join(paths, ", ")+" hold the same secret")
			if key == "" {
				key = paths[1]
			}
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, "give each purpose its own secret: `warden secrets set --generate NAME` and point each key at its own secret:NAME", ev...)
}

func checkDMPolicy(_ context.Context, e *env) outcome {
	if v := e.str("channels.dm_policy", e.cfg.Channels.DMPolicy); v == config.DMPolicyOpen {
		return fail("channels.dm_policy", "set channels.dm_policy: pairing (unknown senders get a code the owner approves) or allowlist; `warden audit --fix` makes it pairing",
			"channels.dm_policy is open")
	}
	return pass()
}

var channelNames = []string{"telegram", "slack", "discord"}

func (e *env) allowFrom(ch string) []string {
	var def []string
	switch ch {
	case "telegram":
		def = e.cfg.Channels.Telegram.AllowFrom
	case "slack":
		def = e.cfg.Channels.Slack.AllowFrom
	case "discord":
		def = e.cfg.Channels.Discord.AllowFrom
	}
	return e.list("channels."+ch+".allow_from", def)
}

func checkAllowWildcard(_ context.Context, e *env) outcome {
	var ev []string
	key := ""
	for _, ch := range channelNames {
		for i, v := range e.allowFrom(ch) {
			if strings.TrimSpace(v) == "*" {
				k := fmt.Sprintf("channels.%s.allow_from[%d]", ch, i)
				ev = append(ev, k+` is "*"`)
				if key == "" {
					key = k
				}
			}
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, `remove "*" and list the user ids allowed to message the agent; `+"`warden audit --fix`"+` removes the wildcard`, ev...)
}

var stableID = map[string]*lazyre.Regexp{
	"telegram": lazyre.New(`^[0-9]{1,20}$`),
	"slack":    lazyre.New(`^[UW][A-Z0-9]{2,20}$`),
	"discord":  lazyre.New(`^[0-9]{1,20}$`),
}

func checkAllowNames(_ context.Context, e *env) outcome {
	var ev []string
	key := ""
	for _, ch := range channelNames {
		for i, v := range e.allowFrom(ch) {
			if v == "*" || stableID[ch].MatchString(v) {
				continue
			}
			k := fmt.Sprintf("channels.%s.allow_from[%d]", ch, i)
			ev = append(ev, fmt.Sprintf("%s is %q, not a %s user id", k, v, ch))
			if key == "" {
				key = k
			}
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, "replace names with the platforms' stable user ids (Telegram and Discord: numeric ids; Slack: U… or W… ids)", ev...)
}

func checkWebhookSecret(_ context.Context, e *env) outcome {
	ch := e.cfg.Channels
	var ev []string
	key := ""
	add := func(enabledPath string, enabled bool, missing bool, path, what string) {
		if e.boolean(enabledPath, enabled) && missing {
			ev = append(ev, fmt.Sprintf("%s is enabled without %s", strings.TrimSuffix(enabledPath, ".enabled"), what))
			if key == "" {
				key = path
			}
		}
	}
	add("channels.telegram.enabled", ch.Telegram.Enabled, ch.Telegram.WebhookSecret.IsZero() && e.str("channels.telegram.webhook_secret", "") == "",
		"channels.telegram.webhook_secret", "webhook_secret")
	add("channels.slack.enabled", ch.Slack.Enabled, ch.Slack.SigningSecret.IsZero() && e.str("channels.slack.signing_secret", "") == "",
		"channels.slack.signing_secret", "signing_secret")
	add("channels.discord.enabled", ch.Discord.Enabled, e.str("channels.discord.public_key", ch.Discord.PublicKey) == "",
		"channels.discord.public_key", "public_key")
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, "store the platform's secret with `warden secrets set NAME` and reference it (e.g. webhook_secret: secret:telegram_webhook_secret); for Discord set public_key", ev...)
}

func checkInlineSecrets(_ context.Context, e *env) outcome {
	if e.o.Config.Encrypted {
		return pass()
	}
	var ev []string
	key := ""
	for _, sf := range e.o.Config.Secrets() {
		if !sf.Secret.Inline() {
			continue
		}
		line := ""
		if l := e.line(sf.Path); l > 0 {
			line = fmt.Sprintf(" (line %d)", l)
		}
		ev = append(ev, sf.Path+" is written in the clear"+line)
		if key == "" {
			key = sf.Path
		}
	}
	sort.Strings(ev)
	if len(ev) == 0 {
		return pass()
	}
	return fail(key, "run `warden migrate "+e.file+"`: it moves each value into the secret store and writes secret:NAME references (or encrypt the file with `warden config encrypt`); then rotate the exposed values", ev...)
}

func checkRetention(_ context.Context, e *env) outcome {
	a := e.cfg.Security.Audit
	if e.integer("security.audit.retention_days", a.RetentionDays) != 0 || e.integer("security.audit.max_entries", a.MaxEntries) != 0 {
		return pass()
	}
	return fail("security.audit.retention_days", "set security.audit.retention_days: 90 (`warden audit --fix` does), or max_entries",
		"security.audit.retention_days and max_entries are both 0")
}
