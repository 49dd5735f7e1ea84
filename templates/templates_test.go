package templates

import (
	"context"
	"reflect"
	"testing"

	"github.com/warden-sec/warden/core/config"
)

// The template with default answers is exactly the secure defaults.
func TestConfigTemplateIsDefaults(t *testing.T) {
	out, err := Config(ConfigData{Listen: config.DefaultListen, SandboxMode: config.SandboxNonMain})
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.Parse(context.Background(), "warden.yaml", out, nil)
	if err != nil {
		t.Fatalf("rendered config is invalid: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(l.Config, config.Defaults()) {
		t.Fatalf("rendered config differs from the defaults:\n%s", out)
	}
}

func TestConfigTemplateChannels(t *testing.T) {
	out, err := Config(ConfigData{Listen: "127.0.0.1:9000", SandboxMode: config.SandboxAll, Telegram: true, Slack: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := config.Parse(context.Background(), "warden.yaml", out, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c := l.Config
	if !c.Channels.Telegram.Enabled || c.Channels.Telegram.BotToken.Ref() != "telegram_bot_token" ||
		!c.Channels.Slack.Enabled || c.Channels.Discord.Enabled || c.Sandbox.Mode != "all" || c.Gateway.Listen != "127.0.0.1:9000" {
		t.Fatalf("%+v", c.Channels)
	}
	// Discord needs its public key filled in by hand: the rendered file says so.
	out, _ = Config(ConfigData{Listen: config.DefaultListen, SandboxMode: config.SandboxAll, Discord: true})
	if _, err := config.Parse(context.Background(), "warden.yaml", out, nil); err == nil {
		t.Fatal("discord without a public key accepted")
	}
}
