package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/sops"
	"github.com/warden-sec/warden/internal/lazyre"
)

// Decrypter decrypts a SOPS file (secrets.Keyring.Decrypt).
type Decrypter func(ctx context.Context, name string, data []byte) (*sops.Document, error)

// ErrNeedsIdentity means an encrypted config was loaded without a way to decrypt it.
var ErrNeedsIdentity = errors.New("the config is encrypted and no identity was given to decrypt it")

// Loaded is a config and where it came from.
type Loaded struct {
	Config *Config
	// File is the path the config was read from; "" for the embedded defaults.
	File string
	// Encrypted reports a SOPS-encrypted file; Recipients are its age recipients.
	Encrypted  bool
	Recipients []string

	positions map[string]*yaml.Node
	clear     map[*yaml.Node]bool // scalars stored unencrypted in an encrypted file
}

// FromDefaults returns the embedded defaults as a loaded config.
func FromDefaults() *Loaded {
	return &Loaded{Config: Defaults(), positions: map[string]*yaml.Node{}}
}

// Line returns the line where path (a.b[1].c) is set, or 0 when it is not
// set in the file.
func (l *Loaded) Line(path string) int {
	if n := l.positions[path]; n != nil {
		return n.Line
	}
	return 0
}

// IsSet reports whether path is set in the file.
func (l *Loaded) IsSet(path string) bool { return l.positions[path] != nil }

// IsEncryptedName reports whether a file name marks an encrypted config.
func IsEncryptedName(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	for _, suffix := range []string{".enc.yaml", ".enc.yml", ".encrypted.yaml", ".encrypted.yml"} {
		if strings.HasSuffix(base, suffix) {
			return true
		}
	}
	return false
}

// Load reads and validates a config file. Encrypted files (*.enc.yaml,
// *.encrypted.yaml, or any file with sops metadata) are decrypted in
// memory with decrypt. Problems come back as a *ValidationError.
func Load(ctx context.Context, path string, decrypt Decrypter) (*Loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(ctx, path, data, decrypt)
}

var yamlLine = lazyre.New(`^yaml: line (\d+): (.*)$`)

// Parse validates config bytes; name is used in messages. When the file is
// well-formed YAML but breaks rules, the *ValidationError comes with the
// Loaded as far as it could be decoded (values with a problem keep their
// defaults), for commands that must work with a broken config, such as
// storing the secret that fixes it.
func Parse(ctx context.Context, name string, data []byte, decrypt Decrypter) (*Loaded, error) {
	l := &Loaded{File: name, positions: map[string]*yaml.Node{}}
	var root *yaml.Node
	if IsEncryptedName(name) || sops.IsEncrypted(data) {
		if decrypt == nil {
			return nil, fmt.Errorf("%s: %w", name, ErrNeedsIdentity)
		}
		doc, err := decrypt(ctx, name, data)
		if err != nil {
			if errors.Is(err, sops.ErrNotEncrypted) {
				return nil, fmt.Errorf("%s: named like an encrypted config but %w; encrypt it with `warden config encrypt` or rename it", name, sops.ErrNotEncrypted)
			}
			return nil, err
		}
		l.Encrypted, l.Recipients = true, doc.Meta.Recipients()
		root = doc.Root
		l.clear = map[*yaml.Node]bool{}
		markClear(root, doc.Encrypted, l.clear)
	} else {
		var err error
		root, err = parseYAML(data)
		if err != nil {
			diag := Diagnostic{File: name, Message: err.Error()}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				diag.Line, _ = strconv.Atoi(m[1])
				diag.Message = "invalid YAML: " + m[2]
			}
			return nil, &ValidationError{File: name, Diagnostics: []Diagnostic{diag}}
		}
	}
	cfg := Defaults()
	d := &decoder{file: name, positions: l.positions}
	top := root
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			top = &yaml.Node{Kind: yaml.MappingNode, Line: 1}
		} else {
			top = top.Content[0]
		}
	}
	if isNull(top) {
		top = &yaml.Node{Kind: yaml.MappingNode, Line: 1}
	}
	d.decode(Schema(), top, reflect.ValueOf(cfg).Elem(), "")
	delete(l.positions, "")
	l.Config = cfg
	if len(d.diags) == 0 {
		l.check(d)
	}
	l.resolveStateDir()
	if len(d.diags) > 0 {
		sortDiagnostics(d.diags)
		return l, &ValidationError{File: name, Diagnostics: d.diags}
	}
	return l, nil
}

// resolveStateDir makes a relative state_dir relative to the file.
func (l *Loaded) resolveStateDir() {
	l.Config.StateDir = l.ResolvePath(l.Config.StateDir)
}

func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode}, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("yaml: line %d: a config holds one YAML document; remove the second one", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &doc, nil
}

// markClear records the scalar nodes that were not encrypted.
func markClear(n *yaml.Node, encrypted map[*yaml.Node]bool, clear map[*yaml.Node]bool) {
	if n.Kind == yaml.ScalarNode && !encrypted[n] {
		clear[n] = true
	}
	for _, c := range n.Content {
		markClear(c, encrypted, clear)
	}
}

// SecretField is one secret-typed value of a config.
type SecretField struct {
	Path   string // concrete path, e.g. channels.telegram.bot_token
	Field  *Field
	Secret *Secret
}

// Secrets lists every non-empty secret of the config, in schema order.
func (l *Loaded) Secrets() []SecretField {
	var out []SecretField
	walkValues(Schema(), reflect.ValueOf(l.Config).Elem(), "", func(f *Field, v reflect.Value, path string) {
		if f.Kind != KindSecret {
			return
		}
		s := v.Addr().Interface().(*Secret)
		if !s.IsZero() {
			out = append(out, SecretField{Path: path, Field: f, Secret: s})
		}
	})
	return out
}

// walkValues visits every value of a config with its field and concrete path.
func walkValues(f *Field, v reflect.Value, path string, fn func(f *Field, v reflect.Value, path string)) {
	fn(f, v, path)
	switch f.Kind {
	case KindObject:
		for _, c := range f.Fields {
			walkValues(c, v.FieldByIndex(c.index), join(path, c.Key), fn)
		}
	case KindArray:
		for i := 0; i < v.Len(); i++ {
			walkValues(f.Elem, v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// Candidates lists where warden looks for a config when none is named, in
// order: the working directory, then the user config dir.
func Candidates(cwd, userConfigDir string) [][]string {
	var out [][]string
	for _, dir := range []string{cwd, filepath.Join(userConfigDir, "warden")} {
		if dir == "" || dir == "warden" {
			continue
		}
		out = append(out, []string{filepath.Join(dir, "warden.yaml"), filepath.Join(dir, "warden.enc.yaml")})
	}
	return out
}

// ErrAmbiguous means a plaintext and an encrypted config sit side by side.
var ErrAmbiguous = errors.New("both a plaintext and an encrypted config exist")

// Discover returns the first config found among Candidates, or "" when
// there is none (warden then runs on its embedded defaults). A directory
// holding both warden.yaml and warden.enc.yaml is an error: after
// `warden config encrypt` the plaintext must not silently win.
func Discover(cwd, userConfigDir string) (string, error) {
	for _, pair := range Candidates(cwd, userConfigDir) {
		var found []string
		for _, p := range pair {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				found = append(found, p)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 2:
			return "", fmt.Errorf("%w: %s and %s; remove the plaintext one (or pass --config)", ErrAmbiguous, found[0], found[1])
		}
	}
	return "", nil
}
