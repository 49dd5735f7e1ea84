package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/sops"
)

func (w *wiring) configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "validate, show, encrypt and decrypt configuration files",
		Subcommands: []*cli.Command{
			{
				Name:      "validate",
				Usage:     "check a config file; exit 1 when it is invalid",
				ArgsUsage: "[FILE]",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "resolve", Usage: "also resolve secret:NAME references from the secret store and check their values (needs the identity)",
						EnvVars: []string{"WARDEN_VALIDATE_RESOLVE"}},
					formatFlag("WARDEN_VALIDATE_FORMAT", "text", "json"),
				},
				Action: w.configValidate,
			},
			{
				Name:   "show",
				Usage:  "print the effective config (file over defaults) with secrets redacted",
				Flags:  []cli.Flag{formatFlag("WARDEN_SHOW_FORMAT", "yaml", "json")},
				Action: w.configShow,
			},
			{
				Name:   "schema",
				Usage:  "print the JSON Schema of warden.yaml (for editors and CI), or its reference as Markdown",
				Flags:  []cli.Flag{formatFlag("WARDEN_SCHEMA_FORMAT", "json", "markdown")},
				Action: w.configSchema,
			},
			{
				Name:      "encrypt",
				Usage:     "encrypt a YAML file in the SOPS format for age recipients (writes FILE.enc.yaml)",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "age recipient (age1…), repeatable (default: your identity's recipient)",
						EnvVars: []string{"WARDEN_RECIPIENTS"}},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "output file (default: FILE with .yaml replaced by .enc.yaml)", TakesFile: true,
						EnvVars: []string{"WARDEN_ENCRYPT_OUTPUT"}},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing output file", EnvVars: []string{"WARDEN_FORCE"}},
					resultFormatFlag(),
				},
				Action: w.configEncrypt,
			},
			{
				Name:      "decrypt",
				Usage:     "decrypt a SOPS file to stdout (or -o, written 0600)",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the plaintext here (mode 0600) instead of stdout", TakesFile: true,
						EnvVars: []string{"WARDEN_DECRYPT_OUTPUT"}},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing output file", EnvVars: []string{"WARDEN_FORCE"}},
				},
				Action: w.configDecrypt,
			},
			{
				Name:      "rekey",
				Usage:     "change a SOPS file's recipients and rotate its data key",
				ArgsUsage: "FILE",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "the new recipients, replacing the current ones (repeatable)",
						EnvVars: []string{"WARDEN_RECIPIENTS"}},
					&cli.StringSliceFlag{Name: "add", Usage: "add a recipient, keeping the others (repeatable)", EnvVars: []string{"WARDEN_REKEY_ADD"}},
					&cli.StringSliceFlag{Name: "remove", Usage: "remove a recipient (repeatable)", EnvVars: []string{"WARDEN_REKEY_REMOVE"}},
					resultFormatFlag(),
				},
				Action: w.configRekey,
			},
		},
	}
}

type validateOutput struct {
	SchemaVersion int                 `json:"schemaVersion"`
	File          string              `json:"file"`
	Valid         bool                `json:"valid"`
	Encrypted     bool                `json:"encrypted"`
	Recipients    []string            `json:"recipients,omitempty"`
	SecretRefs    int                 `json:"secretRefs"`
	Resolved      bool                `json:"resolved"`
	Diagnostics   []config.Diagnostic `json:"diagnostics"`
	// Warnings do not make the config invalid: serve starts, but clients
	// or other users may not like what it serves (an expired certificate).
	Warnings []config.Diagnostic `json:"warnings"`
}

func (w *wiring) configValidate(c *cli.Context) error {
	ctx := c.Context
	if c.NArg() > 1 {
		return usageErrorf("validate takes one FILE, got %d arguments", c.NArg())
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	kr, err := w.keyring(c)
	if err != nil {
		return err
	}
	path := c.Args().First()
	if path == "" {
		if path, err = w.configPath(c); err != nil {
			return err
		}
		if path == "" {
			return usageErrorf("no config file found (looked for ./warden.yaml, ./warden.enc.yaml and the user config dir)")
		}
	}
	out := validateOutput{SchemaVersion: jsonSchemaVersion, File: path, Diagnostics: []config.Diagnostic{}, Warnings: []config.Diagnostic{}}
	loaded, err := config.Load(ctx, path, kr.Decrypt)
	var ve *config.ValidationError
	if loaded != nil && (err == nil || errors.As(err, &ve) && !ve.Concerns("gateway.tls")) {
		// The files the config names, read as serve reads them.
		warnings, ferr := loaded.CheckFiles(w.env.Now())
		out.Warnings = append(out.Warnings, warnings...)
		err = joinValidation(err, ferr)
	}
	if err == nil && c.Bool("resolve") {
		out.Resolved = true
		err = w.resolveSecrets(ctx, c, loaded, kr)
	}
	switch {
	case errors.As(err, &ve):
		out.Diagnostics = ve.Diagnostics
	case err != nil:
		return err // could not read or decrypt: exit 2
	default:
		out.Valid = true
		out.Encrypted, out.Recipients = loaded.Encrypted, loaded.Recipients
		out.SecretRefs = countRefs(loaded)
	}
	if f == "json" {
		if err := writeJSON(w.env.Stdout, out); err != nil {
			return err
		}
		if !out.Valid {
			return gateFailed(ve)
		}
		return nil
	}
	for _, d := range out.Warnings {
		w.warnf("%s", d)
		if d.Hint != "" {
			fmt.Fprintf(w.env.Stderr, "warden: hint: %s\n", d.Hint)
		}
	}
	if !out.Valid {
		printError(w.env.Stderr, ve)
		return gateFailed(ve)
	}
	var details []string
	if out.Encrypted {
		details = append(details, fmt.Sprintf("encrypted for %d recipient%s", len(out.Recipients), plural(len(out.Recipients))))
	}
	switch {
	case out.SecretRefs > 0 && out.Resolved:
		details = append(details, fmt.Sprintf("%d secret reference%s resolved", out.SecretRefs, plural(out.SecretRefs)))
	case out.SecretRefs > 0:
		details = append(details, fmt.Sprintf("%d secret reference%s not resolved (use --resolve)", out.SecretRefs, plural(out.SecretRefs)))
	}
	line := path + ": valid"
	if len(details) > 0 {
		line += " (" + strings.Join(details, "; ") + ")"
	}
	fmt.Fprintln(w.env.Stdout, line)
	return nil
}

// joinValidation merges the diagnostics of two validation errors (either
// may be nil); any other error wins.
func joinValidation(a, b error) error {
	var va, vb *config.ValidationError
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	case errors.As(a, &va) && errors.As(b, &vb):
		ds := append(append([]config.Diagnostic{}, va.Diagnostics...), vb.Diagnostics...)
		sort.SliceStable(ds, func(i, j int) bool {
			if ds[i].Line != ds[j].Line {
				return ds[i].Line < ds[j].Line
			}
			return ds[i].Path < ds[j].Path
		})
		return &config.ValidationError{File: va.File, Diagnostics: ds}
	case errors.As(b, &vb):
		return a
	}
	return b
}

func countRefs(l *config.Loaded) int {
	n := 0
	for _, s := range l.Secrets() {
		if s.Secret.Ref() != "" {
			n++
		}
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// resolveSecrets resolves the config's secret references from the store in
// the state dir.
func (w *wiring) resolveSecrets(ctx context.Context, c *cli.Context, l *config.Loaded, kr *secrets.Keyring) error {
	if countRefs(l) == 0 {
		return nil
	}
	dir, err := w.stateDir(c, l.Config)
	if err != nil {
		return err
	}
	st := secrets.NewStore(dir, kr, w.env.Now)
	if !st.Exists() {
		return inputError(fmt.Errorf("%s: %w", st.Path(), secrets.ErrStoreMissing), "create it with `warden secrets init`")
	}
	snapshot, err := st.Snapshot(ctx)
	if err != nil {
		return err
	}
	return l.ResolveSecrets(ctx, func(_ context.Context, name string) (string, error) {
		v, ok := snapshot[name]
		if !ok {
			return "", fmt.Errorf("%w: %s", config.ErrSecretMissing, name)
		}
		return v, nil
	})
}

type showOutput struct {
	SchemaVersion int            `json:"schemaVersion"`
	Source        string         `json:"source"`
	Encrypted     bool           `json:"encrypted"`
	Config        map[string]any `json:"config"`
}

func (w *wiring) configShow(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "yaml", "json")
	if err != nil {
		return err
	}
	kr, err := w.keyring(c)
	if err != nil {
		return err
	}
	l, err := w.loadConfig(c.Context, c, kr)
	if err != nil {
		return err
	}
	source := l.File
	if source == "" {
		source = "embedded defaults"
	}
	if f == "json" {
		return writeJSON(w.env.Stdout, showOutput{SchemaVersion: jsonSchemaVersion, Source: source, Encrypted: l.Encrypted, Config: l.Config.Map()})
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{l.Config.Node()},
		HeadComment: fmt.Sprintf("effective configuration from %s (defaults filled in, secrets redacted)", source)}
	out, err := sops.Marshal(doc, 2)
	if err != nil {
		return err
	}
	_, err = w.env.Stdout.Write(out)
	return err
}

func (w *wiring) configSchema(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	f, err := format(c, "json", "markdown")
	if err != nil {
		return err
	}
	if f == "markdown" {
		_, err := io.WriteString(w.env.Stdout, referenceMarkdown(config.Reference()))
		return err
	}
	out, err := config.JSONSchema()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w.env.Stdout, "%s\n", out)
	return err
}

// encryptedName turns warden.yaml into warden.enc.yaml.
func encryptedName(path string) string {
	ext := filepath.Ext(path)
	switch strings.ToLower(ext) {
	case ".yaml", ".yml":
		return strings.TrimSuffix(path, ext) + ".enc" + ext
	}
	return path + ".enc.yaml"
}

func fileArg(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usageErrorf("missing FILE; run `warden config %s --help`", c.Command.Name)
	case 1:
		return c.Args().First(), nil
	}
	return "", usageErrorf("%s takes one FILE, got %d arguments", c.Command.Name, c.NArg())
}

// recipientsFrom parses -r values, or falls back to the keyring's recipients.
func recipientsFrom(values []string, kr *secrets.Keyring) ([]sops.Recipient, error) {
	var out []sops.Recipient
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			r, err := sops.ParseRecipient(part)
			if err != nil {
				return nil, inputError(err, "an age recipient looks like age1… (see `warden secrets init` for yours)")
			}
			out = append(out, r)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	rs, err := kr.DefaultRecipients()
	if err != nil {
		return nil, inputError(err, "name recipients with -r age1…, or create your identity with `warden secrets init`")
	}
	return rs, nil
}

// configFileResult is what config encrypt and rekey print: the files and
// recipients, never a value.
type configFileResult struct {
	SchemaVersion int    `json:"schemaVersion"`
	Action        string `json:"action"` // encrypted or rekeyed
	File          string `json:"file"`
	// Output is the encrypted file encrypt wrote (rekey rewrites File).
	Output     string   `json:"output,omitempty"`
	Recipients []string `json:"recipients"`
	Previous   []string `json:"previousRecipients,omitempty"`
}

func (w *wiring) configEncrypt(c *cli.Context) error {
	path, err := fileArg(c)
	if err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %w", err)
	}
	if sops.IsEncrypted(data) {
		return inputError(fmt.Errorf("%s: %w", path, sops.ErrAlreadyEncrypted), "use `warden config rekey` to change its recipients")
	}
	root, err := sops.ParsePlain(data)
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err), "")
	}
	kr, err := w.keyring(c)
	if err != nil {
		return err
	}
	recipients, err := recipientsFrom(c.StringSlice("recipient"), kr)
	if err != nil {
		return err
	}
	out, err := sops.EncryptFor(root, recipients, sops.Metadata{}, w.env.Now())
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", path, err), "")
	}
	dest := c.String("output")
	if dest == "" {
		dest = encryptedName(path)
	}
	if err := writeOutput(dest, out, c.Bool("force")); err != nil {
		return err
	}
	res := configFileResult{SchemaVersion: jsonSchemaVersion, Action: "encrypted", File: path, Output: dest, Recipients: labels(recipients)}
	if err := w.printResult(f, res, fmt.Sprintf("wrote %s (encrypted for %s)\n", dest, strings.Join(res.Recipients, ", "))); err != nil {
		return err
	}
	w.notef("hint: the plaintext %s is still on disk; check the encrypted copy with `warden config validate %s`, then delete the plaintext", path, dest)
	return nil
}

func labels(rs []sops.Recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Label
	}
	return out
}

// writeOutput writes a file the user asked for: atomically, mode 0600,
// replacing an existing one only with --force.
func writeOutput(dest string, data []byte, force bool) error {
	return writeOutputFrom(dest, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, force)
}

// writeOutputFrom is writeOutput for output produced by fill.
func writeOutputFrom(dest string, fill func(io.Writer) error, force bool) error {
	err := atomicfile.WriteFrom(dest, fill, atomicfile.Options{Mode: 0o600, NoOverwrite: !force})
	if errors.Is(err, atomicfile.ErrExists) {
		return inputError(err, "pass --force to replace it")
	}
	return err
}

// decryptArg decrypts the FILE argument with the keyring.
func (w *wiring) decryptArg(c *cli.Context) (string, *secrets.Keyring, *sops.Document, error) {
	path, err := fileArg(c)
	if err != nil {
		return "", nil, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, nil, fmt.Errorf("read %w", err)
	}
	kr, err := w.keyring(c)
	if err != nil {
		return "", nil, nil, err
	}
	doc, err := kr.Decrypt(c.Context, path, data)
	return path, kr, doc, err
}

func (w *wiring) configDecrypt(c *cli.Context) error {
	_, _, doc, err := w.decryptArg(c)
	if err != nil {
		return err
	}
	out, err := sops.Marshal(doc.Root, 2)
	if err != nil {
		return err
	}
	dest := c.String("output")
	if dest == "" {
		_, err = w.env.Stdout.Write(out)
		return err
	}
	if err := writeOutput(dest, out, c.Bool("force")); err != nil {
		return err
	}
	fmt.Fprintf(w.env.Stdout, "wrote %s (mode 0600)\n", dest)
	return nil
}

func (w *wiring) configRekey(c *cli.Context) error {
	if _, err := fileArg(c); err != nil {
		return err
	}
	f, err := format(c, "text", "json")
	if err != nil {
		return err
	}
	path, kr, doc, err := w.decryptArg(c)
	if err != nil {
		return err
	}
	if len(doc.Meta.OtherKeySources) > 0 {
		return inputError(fmt.Errorf("%s is also encrypted with %s, which warden cannot re-wrap", path, strings.Join(doc.Meta.OtherKeySources, ", ")),
			"use `sops rotate` and `sops updatekeys` for such files")
	}
	newSet, err := w.rekeyRecipients(c, doc.Meta.Recipients(), kr)
	if err != nil {
		return err
	}
	out, err := sops.EncryptFor(doc.Root, newSet, doc.Meta, w.env.Now())
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, out, atomicfile.Options{Mode: 0o600}); err != nil {
		return err
	}
	res := configFileResult{SchemaVersion: jsonSchemaVersion, Action: "rekeyed", File: path, Recipients: labels(newSet), Previous: doc.Meta.Recipients()}
	return w.printResult(f, res, fmt.Sprintf("rekeyed %s: new data key, encrypted for %s (was %s)\n", path,
		strings.Join(res.Recipients, ", "), strings.Join(res.Previous, ", ")))
}

// rekeyRecipients computes the new recipient set from -r, --add and --remove.
func (w *wiring) rekeyRecipients(c *cli.Context, current []string, kr *secrets.Keyring) ([]sops.Recipient, error) {
	set := current
	if rs := c.StringSlice("recipient"); len(rs) > 0 {
		set = nil
		for _, r := range rs {
			set = append(set, strings.Split(r, ",")...)
		}
	}
	set = append(set, c.StringSlice("add")...)
	remove := map[string]bool{}
	for _, r := range c.StringSlice("remove") {
		remove[strings.TrimSpace(r)] = true
	}
	var out []sops.Recipient
	seen := map[string]bool{}
	for _, s := range set {
		s = strings.TrimSpace(s)
		if s == "" || remove[s] || seen[s] {
			continue
		}
		seen[s] = true
		if s == sops.PassphraseRecipient {
			r, err := kr.ScryptRecipient(c.Context, "passphrase: ")
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			continue
		}
		r, err := sops.ParseRecipient(s)
		if err != nil {
			return nil, inputError(err, "")
		}
		out = append(out, r)
	}
	for r := range remove {
		found := false
		for _, s := range set {
			found = found || strings.TrimSpace(s) == r
		}
		if !found {
			return nil, usageErrorf("--remove %s: not a recipient of the file", r)
		}
	}
	if len(out) == 0 {
		return nil, usageErrorf("no recipients left; a file must stay readable by someone")
	}
	return out, nil
}

// referenceMarkdown renders the config reference as Markdown: the
// top-level keys, then one table per section.
func referenceMarkdown(keys []config.KeyInfo) string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	header := "| Key | Type | Default | Description |\n|---|---|---|---|\n"
	row := func(k config.KeyInfo) {
		def := "—"
		if k.Default != "" {
			def = "`" + cell(k.Default) + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Path, cell(k.Type), def, cell(k.Doc))
	}
	b.WriteString("#### Top level\n\n" + header)
	for _, k := range keys {
		if !strings.Contains(k.Path, ".") && !k.Section {
			row(k)
		}
	}
	for _, k := range keys {
		switch {
		case !strings.Contains(k.Path, ".") && k.Section:
			fmt.Fprintf(&b, "\n#### `%s`\n\n%s\n\n%s", k.Path, k.Doc, header)
		case strings.Contains(k.Path, ".") && !k.Section:
			row(k)
		}
	}
	return b.String()
}
