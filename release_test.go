package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The release configuration builds what the project promises: no cgo, the
// six targets, and ldflags that set the variables main.go declares.
func TestGoreleaserConfig(t *testing.T) {
	data, err := os.ReadFile(".goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Builds []struct {
			Env     []string `yaml:"env"`
			Goos    []string `yaml:"goos"`
			Goarch  []string `yaml:"goarch"`
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
		Checksum struct {
			Algorithm string `yaml:"algorithm"`
		} `yaml:"checksum"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Builds) != 1 {
		t.Fatalf("%d builds", len(cfg.Builds))
	}
	b := cfg.Builds[0]
	if strings.Join(b.Env, " ") != "CGO_ENABLED=0" {
		t.Errorf("env %v: CGO must be disabled", b.Env)
	}
	if strings.Join(b.Goos, ",") != "linux,darwin,windows" || strings.Join(b.Goarch, ",") != "amd64,arm64" {
		t.Errorf("targets %v × %v", b.Goos, b.Goarch)
	}
	ld := strings.Join(b.Ldflags, " ")
	src, _ := os.ReadFile("main.go")
	for _, v := range []string{"version", "commit", "date"} {
		if !strings.Contains(ld, "-X main."+v+"=") {
			t.Errorf("ldflags do not set main.%s", v)
		}
		if !regexp.MustCompile(`(?m)^\s+` + v + `\s+= ""`).Match(src) {
			t.Errorf("main.go does not declare %s", v)
		}
	}
	if cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %q", cfg.Checksum.Algorithm)
	}
}
