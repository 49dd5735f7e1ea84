// Package secrets holds Warden's keys and secrets at rest: the age
// identities that unlock encrypted files, decryption of SOPS files with a
// clear account of what was tried, and the encrypted secret store.
package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/sops"
	"github.com/warden-sec/warden/internal/lazyre"
)

// IdentityFileName is the identity file's name in the user config dir.
const IdentityFileName = "identity.txt"

// ErrNoIdentity means no identity is configured or present.
var ErrNoIdentity = errors.New("no age identity")

// ErrNoPassphrase means a passphrase was needed and none could be obtained.
var ErrNoPassphrase = errors.New("a passphrase is needed")

// keyPattern matches an age secret key: the Bech32 prefix
// "AGE-SECRET-KEY-" (with a type, as in "AGE-SECRET-KEY-PQ-"), the
// separator 1 and the data. Bech32 is all upper or all lower case, and a
// lowercase key is just as secret, so case is ignored. A file named
// "age-secret-key-backup.txt" is no key.
var keyPattern = lazyre.New(`(?i)AGE-SECRET-KEY-(?:[A-Z0-9]+-)*1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{20,}`)

// IsKey reports whether v is an age secret key itself rather than the
// path of a file holding one.
func IsKey(v string) bool {
	loc := keyPattern.Re().FindStringIndex(strings.TrimSpace(v))
	return loc != nil && loc[0] == 0
}

// ContainsKey reports whether s holds an age secret key anywhere.
func ContainsKey(s string) bool { return keyPattern.MatchString(s) }

// DefaultIdentityPath is <user config dir>/warden/identity.txt.
func DefaultIdentityPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locate user config dir: %w", err)
	}
	return filepath.Join(dir, "warden", IdentityFileName), nil
}

// Identity is an age identity and where it came from.
type Identity struct {
	age.Identity
	Source    string // a path, or the name of the variable that held it
	Recipient string // its public recipient, when it has one
}

// Describe names the identity for messages.
func (i Identity) Describe() string {
	if i.Recipient == "" {
		return i.Source
	}
	return fmt.Sprintf("%s (%s)", i.Source, i.Recipient)
}

// Keyring finds identities on demand: an explicit identity (a path from
// --identity or WARDEN_IDENTITY, or the key itself from WARDEN_IDENTITY),
// else the default file, plus a passphrase when a file is encrypted to one.
type Keyring struct {
	// Explicit is the --identity / WARDEN_IDENTITY value: a file path, or
	// an AGE-SECRET-KEY-… string (the caller accepts one only from the
	// environment: command lines are public). Empty means the default file.
	Explicit string
	// ExplicitSource names where Explicit came from, for messages.
	ExplicitSource string
	// DefaultPath is the identity file used when Explicit is empty.
	DefaultPath string
	// Passphrase asks for a passphrase (hidden prompt, environment, …);
	// nil means none is available.
	Passphrase func(ctx context.Context, prompt string) (string, error)
	// ScryptWorkFactor is log2 of scrypt's N for new passphrase
	// encryptions; 0 means age's default (18). Tests lower it.
	ScryptWorkFactor int

	loaded     []Identity
	loadErr    error
	didLoad    bool
	phrase     string
	havePhrase bool
}

// Identities loads the configured identities (once).
func (k *Keyring) Identities() ([]Identity, error) {
	if k.didLoad {
		return k.loaded, k.loadErr
	}
	k.didLoad = true
	k.loaded, k.loadErr = k.load()
	return k.loaded, k.loadErr
}

func (k *Keyring) load() ([]Identity, error) {
	if v := strings.TrimSpace(k.Explicit); v != "" {
		src := k.ExplicitSource
		if src == "" {
			src = "--identity"
		}
		// Never mistake a key (a lowercase one included) for a path,
		// which an error would then print.
		if IsKey(v) {
			ids, err := parseIdentities([]byte(v), src)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			return ids, nil
		}
		return readIdentityFile(v)
	}
	if k.DefaultPath == "" {
		return nil, ErrNoIdentity
	}
	if _, err := os.Stat(k.DefaultPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoIdentity, k.DefaultPath)
	}
	return readIdentityFile(k.DefaultPath)
}

func readIdentityFile(path string) ([]Identity, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &PermissionError{Path: path, Mode: fi.Mode().Perm()}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	ids, err := parseIdentities(data, path)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	return ids, nil
}

func parseIdentities(data []byte, source string) ([]Identity, error) {
	parsed, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out := make([]Identity, 0, len(parsed))
	for _, id := range parsed {
		out = append(out, Identity{Identity: id, Source: source, Recipient: recipientOf(id)})
	}
	return out, nil
}

func recipientOf(id age.Identity) string {
	switch v := id.(type) {
	case *age.X25519Identity:
		return v.Recipient().String()
	case *age.HybridIdentity:
		return v.Recipient().String()
	}
	return ""
}

// PermissionError refuses an identity file others can read.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("identity file %s is accessible by other users (mode %04o)", e.Path, e.Mode)
}

// Hint tells the user how to fix it.
func (e *PermissionError) Hint() string { return "run: chmod 600 " + e.Path }

// GenerateIdentity writes a new X25519 identity to path (mode 0600, parent
// 0700) and returns it. It never overwrites an existing file.
func GenerateIdentity(path string, now time.Time) (Identity, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return Identity{}, fmt.Errorf("generate identity: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Identity{}, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	content := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n",
		now.UTC().Format(time.RFC3339), id.Recipient(), id)
	if err := atomicfile.Write(path, []byte(content), atomicfile.Options{Mode: 0o600, NoOverwrite: true}); err != nil {
		return Identity{}, fmt.Errorf("write identity: %w", err)
	}
	return Identity{Identity: id, Source: path, Recipient: id.Recipient().String()}, nil
}

// passphrase asks once per keyring.
func (k *Keyring) passphrase(ctx context.Context, prompt string) (string, error) {
	if k.havePhrase {
		return k.phrase, nil
	}
	if k.Passphrase == nil {
		return "", ErrNoPassphrase
	}
	p, err := k.Passphrase(ctx, prompt)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", fmt.Errorf("%w: it is empty", ErrNoPassphrase)
	}
	k.phrase, k.havePhrase = p, true
	return p, nil
}

// ScryptRecipient returns a passphrase recipient for new encryptions.
func (k *Keyring) ScryptRecipient(ctx context.Context, prompt string) (sops.Recipient, error) {
	p, err := k.passphrase(ctx, prompt)
	if err != nil {
		return sops.Recipient{}, err
	}
	return PassphraseRecipient(p, k.ScryptWorkFactor)
}

// DefaultRecipients returns the recipients of the loaded identities, the
// ones new files are encrypted to when no recipient is named.
func (k *Keyring) DefaultRecipients() ([]sops.Recipient, error) {
	ids, err := k.Identities()
	if err != nil {
		return nil, err
	}
	var out []sops.Recipient
	for _, id := range ids {
		if id.Recipient == "" {
			continue
		}
		r, err := sops.ParseRecipient(id.Recipient)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w with a public recipient", ErrNoIdentity)
	}
	return out, nil
}

// DecryptError explains a file that could not be decrypted.
type DecryptError struct {
	File            string
	Recipients      []string
	OtherKeySources []string
	Tried           []string
	Err             error
}

func (e *DecryptError) Error() string {
	return fmt.Sprintf("cannot decrypt %s: %v", e.File, e.Err)
}

func (e *DecryptError) Unwrap() error { return e.Err }

// Hint names the file's recipients and what was tried.
func (e *DecryptError) Hint() string {
	var b strings.Builder
	if len(e.Recipients) > 0 {
		fmt.Fprintf(&b, "the file is encrypted to: %s", strings.Join(e.Recipients, ", "))
	}
	if len(e.OtherKeySources) > 0 {
		fmt.Fprintf(&b, " (and %s, which warden cannot use)", strings.Join(e.OtherKeySources, ", "))
	}
	if b.Len() > 0 {
		b.WriteString("; ")
	}
	if len(e.Tried) == 0 {
		b.WriteString("no identity was available: pass --identity FILE, set WARDEN_IDENTITY, or create one with `warden secrets init`")
	} else {
		fmt.Fprintf(&b, "identities tried: %s", strings.Join(e.Tried, ", "))
	}
	return b.String()
}

// Decrypt decrypts a SOPS file's bytes with the keyring, asking for a
// passphrase only when the file is encrypted to one.
func (k *Keyring) Decrypt(ctx context.Context, name string, data []byte) (*sops.Document, error) {
	_, meta, err := sops.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var ageIDs []age.Identity
	var tried []string
	ids, idErr := k.Identities()
	for _, id := range ids {
		ageIDs = append(ageIDs, id.Identity)
		tried = append(tried, id.Describe())
	}
	var phraseErr error
	if hasPassphraseRecipient(meta) {
		p, err := k.passphrase(ctx, fmt.Sprintf("passphrase for %s: ", name))
		if err == nil {
			var si *age.ScryptIdentity
			if si, err = age.NewScryptIdentity(p); err == nil {
				ageIDs = append(ageIDs, si)
				tried = append(tried, "passphrase")
			}
		}
		if err != nil {
			phraseErr = err
			tried = append(tried, "passphrase ("+err.Error()+")")
		}
	}
	if len(ageIDs) == 0 {
		var pe *PermissionError
		if errors.As(idErr, &pe) {
			return nil, idErr
		}
		err := idErr
		if phraseErr != nil {
			err = phraseErr
		}
		if err == nil {
			err = ErrNoIdentity
		}
		return nil, &DecryptError{File: name, Recipients: meta.Recipients(), OtherKeySources: meta.OtherKeySources, Err: err}
	}
	key, err := sops.UnwrapDataKey(meta, ageIDs...)
	if err != nil {
		return nil, &DecryptError{File: name, Recipients: meta.Recipients(), OtherKeySources: meta.OtherKeySources, Tried: tried, Err: err}
	}
	doc, err := sops.DecryptWithKey(data, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return doc, nil
}

func hasPassphraseRecipient(m sops.Metadata) bool {
	for _, r := range m.Recipients() {
		if r == sops.PassphraseRecipient {
			return true
		}
	}
	return false
}

// PassphraseRecipient returns an age scrypt recipient for passphrase p;
// workFactor 0 keeps age's default.
func PassphraseRecipient(p string, workFactor int) (sops.Recipient, error) {
	r, err := age.NewScryptRecipient(p)
	if err != nil {
		return sops.Recipient{}, fmt.Errorf("passphrase: %w", err)
	}
	if workFactor > 0 {
		r.SetWorkFactor(workFactor)
	}
	return sops.Recipient{Label: sops.PassphraseRecipient, Recipient: r}, nil
}

// Reload forgets identities loaded earlier, so a file created since (by
// GenerateIdentity) is picked up.
func (k *Keyring) Reload() { k.loaded, k.loadErr, k.didLoad = nil, nil, false }

// RememberPassphrase makes p the keyring's passphrase, so a store just
// encrypted with it opens without asking again.
func (k *Keyring) RememberPassphrase(p string) { k.phrase, k.havePhrase = p, true }
