package releasenotes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Group is one section of the notes and the commit types it collects.
type Group struct {
	Title string   `yaml:"title" json:"title"`
	Types []string `yaml:"types" json:"types"`
}

// Config names the sections and the commits to leave out.
type Config struct {
	// Groups in the order the sections appear (after Breaking changes
	// and Security).
	Groups []Group
	// Skip holds regular expressions over a commit's subject line; a
	// matching commit is left out of the notes.
	Skip []*regexp.Regexp
	// Other titles the section of non-conventional commits and types no
	// group lists; empty drops them.
	Other string
}

// DefaultConfig is used without --notes-config.
func DefaultConfig() Config {
	return Config{
		Groups: []Group{
			{Title: "Features", Types: []string{"feat", "feature"}},
			{Title: "Bug Fixes", Types: []string{"fix", "bugfix"}},
			{Title: "Performance", Types: []string{"perf"}},
			{Title: "Reverts", Types: []string{"revert"}},
			{Title: "Documentation", Types: []string{"docs", "doc"}},
			{Title: "Refactoring", Types: []string{"refactor"}},
			{Title: "Tests", Types: []string{"test", "tests"}},
			{Title: "Build", Types: []string{"build", "deps"}},
			{Title: "CI", Types: []string{"ci"}},
			{Title: "Style", Types: []string{"style"}},
			{Title: "Chores", Types: []string{"chore"}},
		},
		Skip:  []*regexp.Regexp{regexp.MustCompile(`^chore\(release\)`)},
		Other: "Other",
	}
}

// ConfigError is a problem in a notes config file.
type ConfigError struct {
	File string
	Err  error
}

func (e *ConfigError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

type configFile struct {
	Groups *[]Group  `yaml:"groups"`
	Skip   *[]string `yaml:"skip"`
	Other  *string   `yaml:"other"`
}

// ParseConfig reads a YAML notes config. Keys left out keep their
// defaults; unknown keys are errors.
func ParseConfig(name string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	var f configFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, &ConfigError{File: name, Err: err}
	}
	if f.Groups != nil {
		seen := map[string]string{}
		for i, g := range *f.Groups {
			if strings.TrimSpace(g.Title) == "" {
				return Config{}, &ConfigError{File: name, Err: fmt.Errorf("groups[%d]: title is empty", i)}
			}
			if len(g.Types) == 0 {
				return Config{}, &ConfigError{File: name, Err: fmt.Errorf("groups[%d] (%s): types is empty", i, g.Title)}
			}
			for j, t := range g.Types {
				t = strings.ToLower(t)
				if prev, dup := seen[t]; dup {
					return Config{}, &ConfigError{File: name, Err: fmt.Errorf("groups[%d] (%s): type %q is already in %s", i, g.Title, t, prev)}
				}
				seen[t] = g.Title
				g.Types[j] = t
			}
		}
		cfg.Groups = *f.Groups
	}
	if f.Skip != nil {
		cfg.Skip = nil
		for i, s := range *f.Skip {
			re, err := regexp.Compile(s)
			if err != nil {
				return Config{}, &ConfigError{File: name, Err: fmt.Errorf("skip[%d]: %w", i, err)}
			}
			cfg.Skip = append(cfg.Skip, re)
		}
	}
	if f.Other != nil {
		cfg.Other = *f.Other
	}
	return cfg, nil
}

func (c Config) groupOf(typ string) string {
	for _, g := range c.Groups {
		for _, t := range g.Types {
			if t == typ {
				return g.Title
			}
		}
	}
	return ""
}
