// Package templates embeds the files Warden renders: the hardened config
// written by `warden init`, and (later) units, policies and report layouts.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed config
var files embed.FS

// ConfigData fills config/warden.yaml.tmpl.
type ConfigData struct {
	Listen      string
	Owner       string
	SandboxMode string
	Telegram    bool
	Slack       bool
	Discord     bool
	// DiscordPublicKey is required when Discord is enabled.
	DiscordPublicKey string
}

// Config renders the hardened warden.yaml.
func Config(d ConfigData) ([]byte, error) {
	t, err := template.New("warden.yaml.tmpl").Option("missingkey=error").ParseFS(files, "config/warden.yaml.tmpl")
	if err != nil {
		return nil, fmt.Errorf("parse config template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render config template: %w", err)
	}
	return buf.Bytes(), nil
}
