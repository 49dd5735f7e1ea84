package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/sandbox"
)

// env is what the checks share during one run.
type env struct {
	o    Options
	cfg  *config.Config
	file string
	raw  *yaml.Node // the file's top mapping; nil without a plaintext file
	host *sandbox.Host
	deep *deepConn
}

func newEnv(o Options) *env {
	if o.Config == nil {
		o.Config = config.FromDefaults()
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ConfigMode == 0 {
		o.ConfigMode = 0o600
	}
	e := &env{o: o, cfg: o.Config.Config, file: o.Config.File}
	if len(o.Raw) > 0 {
		var doc yaml.Node
		if yaml.Unmarshal(o.Raw, &doc) == nil && doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 &&
			doc.Content[0].Kind == yaml.MappingNode {
			e.raw = doc.Content[0]
		}
	}
	return e
}

// line returns the line of a config key path in the file, 0 when unset.
func (e *env) line(path string) int {
	if l := e.o.Config.Line(path); l > 0 {
		return l
	}
	if n := e.node(path); n != nil {
		return n.Line
	}
	return 0
}

// node finds a key path (a.b[2].c) in the raw file: the loader replaces
// values it refuses with defaults, and an old file must be explained as
// it is written.
func (e *env) node(path string) *yaml.Node {
	n := e.raw
	if n == nil || path == "" {
		return nil
	}
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			v, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return nil
			}
			idx = v
		}
		n = mapValue(n, key)
		if n == nil {
			return nil
		}
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return nil
			}
			n = n.Content[idx]
		}
	}
	return n
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// str returns the scalar written at path, else def.
func (e *env) str(path, def string) string {
	if n := e.node(path); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		return n.Value
	}
	return def
}

// boolean returns the boolean written at path, else def.
func (e *env) boolean(path string, def bool) bool {
	if n := e.node(path); n != nil && n.Kind == yaml.ScalarNode {
		if v, err := strconv.ParseBool(n.Value); err == nil {
			return v
		}
	}
	return def
}

// integer returns the integer written at path, else def.
func (e *env) integer(path string, def int) int {
	if n := e.node(path); n != nil && n.Kind == yaml.ScalarNode {
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v
		}
	}
	return def
}

// duration returns the duration written at path, else def.
func (e *env) duration(path string, def time.Duration) time.Duration {
	if n := e.node(path); n != nil && n.Kind == yaml.ScalarNode {
		if v, err := config.ParseDuration(n.Value); err == nil {
			return v
		}
	}
	return def
}

// list returns the scalars of the list written at path, else def. A
// scalar written where a list belongs comes back as a one-item list.
func (e *env) list(path string, def []string) []string {
	n := e.node(path)
	switch {
	case n == nil:
		return def
	case n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null":
		return []string{n.Value}
	case n.Kind != yaml.SequenceNode:
		return def
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// suppression returns the live suppression of a check id, or nil.
func (e *env) suppression(id string) *Suppression {
	for i, s := range e.cfg.Security.Audit.Suppressions {
		if s.ID != id || strings.TrimSpace(s.Reason) == "" {
			continue
		}
		if !s.Expires.IsZero() && !e.o.Now.Before(s.Expires.Add(24*time.Hour)) {
			continue
		}
		key := fmt.Sprintf("security.audit.suppressions[%d]", i)
		return &Suppression{Reason: s.Reason, Expires: s.Expires.String(), Key: key, Line: e.line(key + ".id")}
	}
	return nil
}

// expiredSuppressions lists the suppressions of id that have expired.
func (e *env) expiredSuppressions(id string) []string {
	var out []string
	for _, s := range e.cfg.Security.Audit.Suppressions {
		if s.ID == id && !s.Expires.IsZero() && !e.o.Now.Before(s.Expires.Add(24*time.Hour)) {
			out = append(out, fmt.Sprintf("the suppression of %s expired on %s (reason: %s)", id, s.Expires, s.Reason))
		}
	}
	return out
}

// probe returns this host's sandbox layers, probed once.
func (e *env) probe() *sandbox.Host {
	if e.host == nil {
		p := e.o.Probe
		if p == nil {
			p = sandbox.Probe
		}
		h := p()
		e.host = &h
	}
	return e.host
}

func fail(key, remediation string, evidence ...string) outcome {
	return outcome{status: Fail, key: key, remediation: remediation, evidence: evidence}
}
