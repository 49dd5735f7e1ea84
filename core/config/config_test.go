package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/sops"
)

const strongToken = "Qm9vdHN0cmFwVG9rZW4tNWY3YzJhOWUxYjM4ZDQ2MA"

func parse(t *testing.T, src string) (*Loaded, error) {
	t.Helper()
	return Parse(context.Background(), "warden.yaml", []byte(src), nil)
}

func diagnostics(t *testing.T, err error) []Diagnostic {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	return ve.Diagnostics
}

// wantDiag asserts that err holds a diagnostic whose rendering contains want.
func wantDiag(t *testing.T, err error, want string) Diagnostic {
	t.Helper()
	for _, d := range diagnostics(t, err) {
		if strings.Contains(d.String(), want) {
			return d
		}
	}
	t.Fatalf("no diagnostic contains %q:\n%v", want, err)
	return Diagnostic{}
}

func TestMinimalFileIsDefaults(t *testing.T) {
	l, err := parse(t, "version: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Config, Defaults()) {
		t.Fatalf("minimal config differs from defaults:\n%+v", l.Config)
	}
	if l.Config.Security.Audit.RetentionDays != 90 || l.Config.Security.Audit.MaxEntries != 1_000_000 {
		t.Fatal("audit retention defaults wrong")
	}
}

func TestUnknownKeyNamesFileLineAndSuggestion(t *testing.T) {
	src := "version: 1\ngateway:\n  listen: 127.0.0.1:7420\n" + strings.Repeat("\n", 10) + "  auth:\n    acess_ttl: 10m\n"
	_, err := parse(t, src)
	d := wantDiag(t, err, "warden.yaml:15: gateway.auth.acess_ttl: unknown key (did you mean access_ttl?)")
	if d.Line != 15 {
		t.Fatalf("line %d", d.Line)
	}
	_, err = parse(t, "version: 1\nzzz: 1\n")
	wantDiag(t, err, "warden.yaml:2: zzz: unknown key (valid keys: version, state_dir, gateway")
}

func TestTypeAndRangeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"gateway:\n  listen: true\n", "warden.yaml:3: gateway.listen: expected text, got a boolean"},
		{"gateway:\n  rate_limit:\n    attempts: five\n", "gateway.rate_limit.attempts: expected an integer, got text \"five\""},
		{"gateway:\n  auth:\n    access_ttl: 2h\n", "gateway.auth.access_ttl: 2h is above the maximum 1h"},
		{"gateway:\n  auth:\n    access_ttl: 15\n", "gateway.auth.access_ttl: expected a duration"},
		{"gateway:\n  auth:\n    access_ttl: soon\n", `"soon" is not a duration`},
		{"security:\n  audit:\n    max_entries: -1\n", "security.audit.max_entries: -1 is below the minimum 0"},
		{"gateway:\n  max_body_bytes: 1GiB\n", "gateway.max_body_bytes: 1GiB is above the maximum 64MiB"},
		{"gateway:\n  tls:\n    min_version: \"1.1\"\n", `gateway.tls.min_version: "1.1" is not one of 1.2, 1.3`},
		{"sandbox:\n  mode: sometimes\n", `sandbox.mode: "sometimes" is not one of off, non-main, all`},
		{"gateway: [a]\n", "gateway: expected a mapping, got a list"},
		{"gateway:\n  allowed_origins: https://x.example\n", "gateway.allowed_origins: expected a list, got text"},
		{"gateway:\n  allowed_origins: ['*']\n", "gateway.allowed_origins[0]: wildcard origins are not accepted"},
		{"gateway:\n  trusted_proxies: [10.0.0.0/8, nope]\n", `gateway.trusted_proxies[1]: "nope" is not an IP address or CIDR range`},
		{"channels:\n  telegram:\n    api_base_url: http://api.example.org\n", "must use https"},
		{"channels:\n  telegram:\n    allow_from: ['*']\n", "channels.telegram.allow_from[0]: a wildcard allow-list admits anyone"},
		{"channels:\n  slack:\n    allow_from: [alice]\n", `channels.slack.allow_from[0]: "alice" does not match`},
		{"gateway:\n  listen: 127.0.0.1:99999\n", `port "99999" is not a number from 0 to 65535`},
		{"gateway:\n  listen: 127.0.0.1\n", "gateway.listen: \"127.0.0.1\" is not host:port"},
		{"gateway:\n  auth:\n    token: secret:Bad_Name\n", "invalid secret name"},
		{"security:\n  audit:\n    suppressions:\n      - id: x\n", "security.audit.suppressions[0].reason: is required"},
		{"security:\n  audit:\n    suppressions:\n      - {id: x, reason: r, expires: someday}\n", `"someday" is not a date`},
		{"gateway:\n  listen: a\n  listen: b\n", "gateway.listen: duplicate key (first set on line 3)"},
		{"a: &x 1\nb: *x\n", "a: unknown key"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			_, err := parse(t, "version: 1\n"+c.src)
			wantDiag(t, err, c.want)
		})
	}
}

func TestVersion(t *testing.T) {
	_, err := parse(t, "gateway: {}\n")
	wantDiag(t, err, "version: is required")
	_, err = parse(t, "version: 0\n")
	wantDiag(t, err, "0 is below the minimum 1")
	_, err = parse(t, "version: 2\n")
	wantDiag(t, err, "version 2 is newer than this warden reads (1)")
}

func TestDMPolicyOpenPointsAtMigrate(t *testing.T) {
	_, err := parse(t, "version: 1\nchannels:\n  dm_policy: open\n")
	d := wantDiag(t, err, `warden.yaml:3: channels.dm_policy: "open" lets any stranger`)
	if !strings.Contains(d.Hint, "warden migrate") {
		t.Fatalf("hint %q", d.Hint)
	}
}

func TestListenBeyondLoopbackNeedsTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:7420", ":7420", "192.168.1.10:7420", "[::]:7420", "example.org:443"} {
		_, err := parse(t, "version: 1\ngateway:\n  listen: \""+addr+"\"\n")
		wantDiag(t, err, "beyond loopback) requires TLS")
		if _, err := parse(t, "version: 1\ngateway:\n  listen: \""+addr+"\"\n  tls: {cert: c.pem, key: k.pem}\n"); err != nil {
			t.Fatalf("%s with TLS: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "127.8.9.1:7420", "[::1]:7420", "localhost:7420"} {
		if _, err := parse(t, "version: 1\ngateway:\n  listen: \""+addr+"\"\n"); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
	}
	_, err := parse(t, "version: 1\ngateway:\n  tls: {cert: c.pem}\n")
	wantDiag(t, err, "gateway.tls.key: is required when gateway.tls.cert is set")
}

func TestMainWorkspaceOutsideTheSandboxWorkspace(t *testing.T) {
	for _, pair := range [][2]string{{"/srv/ws", "/srv/ws/owner"}, {"/srv/ws/agent", "/srv/ws"}, {"/srv/ws", "/srv/ws/"}} {
		_, err := parse(t, "version: 1\nsandbox:\n  workspace: "+pair[0]+"\n  main_workspace: "+pair[1]+"\n")
		wantDiag(t, err, "warden.yaml:4: sandbox.main_workspace: ")
	}
	if _, err := parse(t, "version: 1\nsandbox:\n  workspace: /srv/ws\n  main_workspace: /srv/ws-owner\n"); err != nil {
		t.Fatal(err)
	}
}

func TestInlineSecretRefusedInPlaintext(t *testing.T) {
	_, err := parse(t, "version: 1\ngateway:\n  auth:\n    token: "+strongToken+"\n")
	d := wantDiag(t, err, "warden.yaml:4: gateway.auth.token: a secret written in a plaintext config is not accepted")
	if !strings.Contains(d.Hint, "warden secrets set gateway_token") || strings.Contains(err.Error(), strongToken) {
		t.Fatalf("hint %q / error leaks the token: %v", d.Hint, err)
	}
}

func TestWeakTokensRejected(t *testing.T) {
	for _, tok := range []string{"short", strings.Repeat("a", 40), strings.Repeat("1234", 10), strings.Repeat("password", 5)} {
		_, err := parse(t, "version: 1\ngateway:\n  auth:\n    token: \""+tok+"\"\n")
		wantDiag(t, err, "gateway.auth.token: the token ")
		if strings.Contains(err.Error(), tok) {
			t.Fatalf("error repeats the token: %v", err)
		}
	}
}

func TestChannelNeedsSecrets(t *testing.T) {
	_, err := parse(t, "version: 1\nchannels:\n  telegram:\n    enabled: true\n")
	d := wantDiag(t, err, "channels.telegram.bot_token: is required when the channel is enabled")
	if !strings.Contains(d.Hint, "warden secrets set telegram_bot_token") {
		t.Fatalf("hint %q", d.Hint)
	}
	wantDiag(t, err, "channels.telegram.webhook_secret: is required")
	l, err := parse(t, "version: 1\nchannels:\n  telegram:\n    enabled: true\n    bot_token: secret:telegram_bot_token\n    webhook_secret: secret:telegram_webhook_secret\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(l.Secrets()); got != 2 {
		t.Fatalf("%d secrets", got)
	}
}

func TestResolveSecrets(t *testing.T) {
	src := "version: 1\ngateway:\n  auth:\n    token: secret:gateway_token\nchannels:\n  slack:\n    enabled: true\n    bot_token: secret:slack_bot\n    signing_secret: secret:slack_signing\n"
	store := map[string]string{"gateway_token": strongToken, "slack_bot": "xoxb-1", "slack_signing": "s"}
	lookup := func(_ context.Context, name string) (string, error) {
		v, ok := store[name]
		if !ok {
			return "", fmt.Errorf("%w: %s", ErrSecretMissing, name)
		}
		return v, nil
	}
	l, err := parse(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ResolveSecrets(context.Background(), lookup); err != nil {
		t.Fatal(err)
	}
	if l.Config.Gateway.Auth.Token.Reveal() != strongToken || l.Config.Channels.Slack.BotToken.Reveal() != "xoxb-1" {
		t.Fatal("not resolved")
	}
	store["gateway_token"] = strings.Repeat("ab", 20)
	delete(store, "slack_bot")
	l, _ = parse(t, src)
	err = l.ResolveSecrets(context.Background(), lookup)
	wantDiag(t, err, `warden.yaml:4: gateway.auth.token: the token is too predictable`)
	d := wantDiag(t, err, `warden.yaml:8: channels.slack.bot_token: secret "slack_bot" is not in the secret store`)
	if !strings.Contains(d.Hint, "warden secrets set slack_bot") {
		t.Fatalf("hint %q", d.Hint)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	l, err := parse(t, "version: 1\n")
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config
	c.Gateway.Auth.Token = InlineSecret(strongToken)
	c.Channels.Telegram.BotToken = SecretRef("tg").withValue("123456:telegram-secret-value")
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%v %+v %#v %v", c, c, c, c.Gateway.Auth)
	js, _ := json.Marshal(c)
	buf.Write(js)
	js, _ = json.Marshal(c.Map())
	buf.Write(js)
	y, _ := yaml.Marshal(c.Node())
	buf.Write(y)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "token", c.Gateway.Auth.Token, "tg", c.Channels.Telegram.BotToken, "config", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "auth", c.Gateway.Auth)
	for _, secret := range []string{strongToken, "telegram-secret-value"} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("secret printed:\n%s", buf.String())
		}
	}
	if !strings.Contains(string(y), "token: '[REDACTED]'") || !strings.Contains(string(y), "bot_token: secret:tg") {
		t.Fatalf("rendering:\n%s", y)
	}
}

func TestSyntaxErrorsHaveLines(t *testing.T) {
	_, err := parse(t, "version: 1\ngateway:\n  listen: [\n")
	d := diagnostics(t, err)[0]
	if d.Line == 0 || !strings.HasPrefix(d.Message, "invalid YAML") {
		t.Fatalf("%+v", d)
	}
	_, err = parse(t, "version: 1\n---\nversion: 1\n")
	if err == nil || !strings.Contains(err.Error(), "one YAML document") {
		t.Fatalf("multi-document: %v", err)
	}
}

func TestDurationsAndSizes(t *testing.T) {
	l, err := parse(t, "version: 1\ngateway:\n  auth:\n    remember_me_ttl: 14d\n    session_ttl: 1d12h\n  max_body_bytes: 2 MiB\nchannels:\n  media:\n    max_bytes: 5000000\nsecurity:\n  audit:\n    suppressions:\n      - {id: a.b, reason: accepted, expires: 2027-01-31}\n      - {id: c, reason: ok, expires: 2027-01-31T00:00:00Z}\n")
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config
	if c.Gateway.Auth.RememberMeTTL.D() != 14*24*time.Hour || c.Gateway.Auth.SessionTTL.D() != 36*time.Hour ||
		c.Gateway.MaxBodyBytes != 2<<20 || c.Channels.Media.MaxBytes != 5_000_000 {
		t.Fatalf("%+v", c.Gateway)
	}
	s := c.Security.Audit.Suppressions
	if s[0].Expires.String() != "2027-01-31" || !s[0].Expires.Equal(s[1].Expires.Time) {
		t.Fatalf("dates %v %v", s[0].Expires, s[1].Expires)
	}
	if FormatDuration(720*time.Hour) != "30d" || ByteSize(10<<20).String() != "10MiB" {
		t.Fatal("formatting")
	}
}

func TestStateDirRelativeToFile(t *testing.T) {
	l, err := Parse(context.Background(), filepath.Join("/etc", "warden", "warden.yaml"), []byte("version: 1\nstate_dir: state\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Config.StateDir != "/etc/warden/state" {
		t.Fatalf("state dir %q", l.Config.StateDir)
	}
}

func TestDiscover(t *testing.T) {
	cwd, ucd := t.TempDir(), t.TempDir()
	if p, err := Discover(cwd, ucd); p != "" || err != nil {
		t.Fatalf("empty: %q %v", p, err)
	}
	os.MkdirAll(filepath.Join(ucd, "warden"), 0o700)
	os.WriteFile(filepath.Join(ucd, "warden", "warden.enc.yaml"), nil, 0o600)
	if p, _ := Discover(cwd, ucd); p != filepath.Join(ucd, "warden", "warden.enc.yaml") {
		t.Fatalf("user dir: %q", p)
	}
	os.WriteFile(filepath.Join(cwd, "warden.yaml"), nil, 0o600)
	if p, _ := Discover(cwd, ucd); p != filepath.Join(cwd, "warden.yaml") {
		t.Fatalf("cwd first: %q", p)
	}
	os.WriteFile(filepath.Join(cwd, "warden.enc.yaml"), nil, 0o600)
	if _, err := Discover(cwd, ucd); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("both: %v", err)
	}
}

// --- encrypted configs ---

func encryptConfig(t *testing.T, src string, meta sops.Metadata) ([]byte, *age.X25519Identity) {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	r, _ := sops.ParseRecipient(id.Recipient().String())
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	key, _ := sops.NewDataKey()
	keys, _ := sops.WrapDataKey(key, r)
	out, err := sops.Encrypt(&root, sops.EncryptOptions{Keys: keys, DataKey: key, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	return out, id
}

func decrypterFor(id age.Identity) Decrypter {
	return func(_ context.Context, _ string, data []byte) (*sops.Document, error) {
		return sops.Decrypt(data, id)
	}
}

func TestEncryptedConfig(t *testing.T) {
	src := "version: 1\ngateway:\n  auth:\n    token: " + strongToken + "\n    access_ttl: 10m\n"
	enc, id := encryptConfig(t, src, sops.Metadata{})
	l, err := Parse(context.Background(), "warden.enc.yaml", enc, decrypterFor(id))
	if err != nil {
		t.Fatal(err)
	}
	if l.Config.Gateway.Auth.Token.Reveal() != strongToken || !l.Encrypted || len(l.Recipients) != 1 {
		t.Fatalf("%+v", l)
	}
	// Lines refer to the encrypted file.
	if l.Line("gateway.auth.access_ttl") != 5 {
		t.Fatalf("line %d", l.Line("gateway.auth.access_ttl"))
	}
	if _, err := Parse(context.Background(), "warden.enc.yaml", enc, nil); !errors.Is(err, ErrNeedsIdentity) {
		t.Fatalf("no decrypter: %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := Parse(context.Background(), "warden.enc.yaml", enc, decrypterFor(other)); !errors.Is(err, sops.ErrNoMatchingIdentity) {
		t.Fatalf("wrong identity: %v", err)
	}
	tampered := bytes.Replace(enc, []byte("access_ttl: ENC[AES256_GCM,data:"), []byte("access_ttl: ENC[AES256_GCM,data:AA"), 1)
	if _, err := Parse(context.Background(), "warden.enc.yaml", tampered, decrypterFor(id)); err == nil {
		t.Fatal("tampered file accepted")
	}
	if _, err := Parse(context.Background(), "warden.enc.yaml", []byte("version: 1\n"), decrypterFor(id)); !errors.Is(err, sops.ErrNotEncrypted) {
		t.Fatalf("plain file named .enc.yaml: %v", err)
	}
}

func TestEncryptedConfigChecksInlineSecrets(t *testing.T) {
	enc, id := encryptConfig(t, "version: 1\ngateway:\n  auth:\n    token: "+strings.Repeat("x", 40)+"\n", sops.Metadata{})
	_, err := Parse(context.Background(), "warden.enc.yaml", enc, decrypterFor(id))
	wantDiag(t, err, "gateway.auth.token: the token is too predictable")

	enc, id = encryptConfig(t, "version: 1\ngateway:\n  auth:\n    token: "+strongToken+"\n", sops.Metadata{EncryptedRegex: "^version$"})
	_, err = Parse(context.Background(), "warden.enc.yaml", enc, decrypterFor(id))
	wantDiag(t, err, "gateway.auth.token: this secret is stored unencrypted in an encrypted file")
}

func TestSchemaCoversEveryField(t *testing.T) {
	var doc map[string]any
	raw, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	Schema().Walk(func(f *Field) {
		if f.Path == "" || strings.Contains(f.Path, "[]") {
			return
		}
		node := any(doc)
		for _, k := range strings.Split(f.Path, ".") {
			props := node.(map[string]any)["properties"].(map[string]any)
			node = props[k]
			if node == nil {
				t.Fatalf("schema lacks %s", f.Path)
			}
		}
		if node.(map[string]any)["description"] == "" {
			t.Errorf("%s has no description", f.Path)
		}
	})
	if !strings.Contains(string(raw), `"default": "15m"`) || !strings.Contains(string(raw), `"enum": [`) {
		t.Fatal("defaults or enums missing")
	}
}
