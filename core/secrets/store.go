package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/filelock"
	"github.com/warden-sec/warden/core/sops"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/internal/lazyre"
)

// StoreFileName is the secret store's file in the state dir.
const StoreFileName = "secrets.enc.yaml"

// MaxValueBytes bounds one secret's size.
const MaxValueBytes = 64 << 10

// Errors callers branch on.
var (
	ErrStoreMissing  = errors.New("the secret store does not exist")
	ErrStoreExists   = errors.New("the secret store already exists")
	ErrNotFound      = errors.New("no such secret")
	ErrInvalidName   = errors.New("invalid secret name")
	ErrInvalidSecret = errors.New("invalid secret value")
)

var namePattern = lazyre.New(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidateName checks a secret name: 1-64 characters of a-z, 0-9, '_', '.'
// and '-', starting with a letter or digit.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w %q: use 1-64 characters a-z, 0-9, '_', '.', '-', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

const (
	keySecrets = "secrets"
	keyUpdated = "updated" + sops.DefaultUnencryptedSuffix
	storeHead  = "# Warden secret store: values are encrypted; manage it with `warden secrets`."
)

// Store is the encrypted secret store: a SOPS file in the state dir whose
// names are readable and whose values are encrypted with a data key wrapped
// for the store's age recipients (or a passphrase). Every change is a
// locked read-verify-modify-write with an atomic replace.
type Store struct {
	path    string
	keyring *Keyring
	now     func() time.Time
}

// NewStore returns the store in stateDir.
func NewStore(stateDir string, kr *Keyring, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{path: filepath.Join(stateDir, StoreFileName), keyring: kr, now: now}
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Exists reports whether there is something at the store's path. A
// symbolic link counts, even a dangling one, so that callers go on to open
// it and get the refusal rather than create a store at its target.
func (s *Store) Exists() bool {
	_, err := os.Lstat(s.path)
	return err == nil
}

// Entry describes one secret without its value.
type Entry struct {
	Name    string    `json:"name"`
	Updated time.Time `json:"updated"`
}

// Init creates an empty store encrypted to recipients.
func (s *Store) Init(ctx context.Context, recipients []sops.Recipient) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := statedir.CheckFile(s.path); err != nil {
		return err
	}
	if s.Exists() {
		return fmt.Errorf("%s: %w", s.path, ErrStoreExists)
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: storeHead,
		Content: []*yaml.Node{
			strNode(keySecrets), {Kind: yaml.MappingNode, Tag: "!!map"},
			strNode(keyUpdated), {Kind: yaml.MappingNode, Tag: "!!map"},
		}}}}
	out, err := sops.EncryptFor(doc, recipients, sops.Metadata{}, s.now())
	if err != nil {
		return fmt.Errorf("encrypt secret store: %w", err)
	}
	return atomicfile.Write(s.path, out, atomicfile.Options{Mode: 0o600, NoOverwrite: true})
}

// Recipients lists who can open the store, read from its metadata.
func (s *Store) Recipients() ([]string, error) {
	data, err := s.read()
	if err != nil {
		return nil, err
	}
	_, meta, err := sops.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	return meta.Recipients(), nil
}

// Names lists the secret names from the file's structure without
// decrypting it (and so without verifying it): for checks that must work
// without the identity, such as whether a referenced secret exists.
func (s *Store) Names() ([]string, error) {
	data, err := s.read()
	if err != nil {
		return nil, err
	}
	doc, _, err := sops.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	secrets, _, err := sections(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	var names []string
	for i := 0; i+1 < len(secrets.Content); i += 2 {
		names = append(names, secrets.Content[i].Value)
	}
	sort.Strings(names)
	return names, nil
}

// List decrypts and verifies the store and lists its entries.
func (s *Store) List(ctx context.Context) ([]Entry, error) {
	doc, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	secrets, updated, err := sections(doc.Root)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i := 0; i+1 < len(secrets.Content); i += 2 {
		name := secrets.Content[i].Value
		e := Entry{Name: name}
		if u := mapGet(updated, name); u != nil {
			e.Updated, _ = time.Parse(time.RFC3339, u.Value)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns one secret's value.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	all, err := s.Snapshot(ctx)
	if err != nil {
		return "", err
	}
	v, ok := all[name]
	if !ok {
		return "", fmt.Errorf("%w %q in %s", ErrNotFound, name, s.path)
	}
	return v, nil
}

// Snapshot decrypts the store once and returns every secret, for resolving
// all of a configuration's references with one decryption.
func (s *Store) Snapshot(ctx context.Context) (map[string]string, error) {
	doc, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	secrets, _, err := sections(doc.Root)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(secrets.Content)/2)
	for i := 0; i+1 < len(secrets.Content); i += 2 {
		out[secrets.Content[i].Value] = secrets.Content[i+1].Value
	}
	return out, nil
}

// Set stores value under name, replacing any previous value. It reports
// whether the secret existed before.
func (s *Store) Set(ctx context.Context, name, value string) (replaced bool, err error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	if value == "" {
		return false, fmt.Errorf("%w: it is empty", ErrInvalidSecret)
	}
	if len(value) > MaxValueBytes {
		return false, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidSecret, len(value), MaxValueBytes)
	}
	if !utf8.ValidString(value) {
		return false, fmt.Errorf("%w: not valid UTF-8 text (encode binary values, e.g. base64)", ErrInvalidSecret)
	}
	err = s.modify(ctx, func(secrets, updated *yaml.Node) error {
		stamp := strNode(s.now().UTC().Format(time.RFC3339))
		v := strNode(value)
		if strings.Contains(value, "\n") {
			v.Style = yaml.LiteralStyle
		}
		replaced = mapSet(secrets, name, v)
		mapSet(updated, name, stamp)
		return nil
	})
	return replaced, err
}

// Delete removes a secret.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.modify(ctx, func(secrets, updated *yaml.Node) error {
		if !mapDelete(secrets, name) {
			return fmt.Errorf("%w %q in %s", ErrNotFound, name, s.path)
		}
		mapDelete(updated, name)
		return nil
	})
}

// Rekey re-encrypts the store for new recipients with a new data key.
func (s *Store) Rekey(ctx context.Context, recipients []sops.Recipient) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	doc, err := s.open(ctx)
	if err != nil {
		return err
	}
	if len(doc.Meta.OtherKeySources) > 0 {
		return fmt.Errorf("%s also uses %v, which warden cannot re-wrap", s.path, doc.Meta.OtherKeySources)
	}
	out, err := sops.EncryptFor(doc.Root, recipients, doc.Meta, s.now())
	if err != nil {
		return fmt.Errorf("encrypt secret store: %w", err)
	}
	return atomicfile.Write(s.path, out, atomicfile.Options{Mode: 0o600})
}

func (s *Store) modify(ctx context.Context, change func(secrets, updated *yaml.Node) error) error {
	lock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	doc, err := s.open(ctx)
	if err != nil {
		return err
	}
	secrets, updated, err := sections(doc.Root)
	if err != nil {
		return err
	}
	if err := change(secrets, updated); err != nil {
		return err
	}
	return s.rewrite(doc)
}

// lock takes the store's lock file. The lock file sits in the state dir
// beside the store and is created on first use, so it is checked like the
// store: a link there would make the lock create or open a file elsewhere.
func (s *Store) lock(ctx context.Context) (*filelock.Lock, error) {
	if err := statedir.CheckFile(s.path + ".lock"); err != nil {
		return nil, err
	}
	return filelock.Acquire(ctx, s.path+".lock")
}

// read reads the store without following a symbolic link: a planted link
// would substitute a store anyone can write for the owner's (the
// recipients are public, so such a store decrypts and verifies).
// Writes replace the file by renaming over it, which replaces a link
// rather than writing through it; Init checks the path first, and every
// other write reads the store first.
func (s *Store) read() ([]byte, error) {
	data, err := statedir.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", s.path, ErrStoreMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret store: %w", err)
	}
	return data, nil
}

func (s *Store) open(ctx context.Context) (*sops.Document, error) {
	data, err := s.read()
	if err != nil {
		return nil, err
	}
	return s.keyring.Decrypt(ctx, s.path, data)
}

// rewrite encrypts a changed document with its own data key and recipients.
func (s *Store) rewrite(doc *sops.Document) error {
	if len(doc.Meta.OtherKeySources) > 0 {
		return fmt.Errorf("%s also uses %v, which warden cannot re-wrap", s.path, doc.Meta.OtherKeySources)
	}
	out, err := sops.Encrypt(doc.Root, sops.EncryptOptions{Keys: doc.Meta.Keys, DataKey: doc.DataKey, Meta: doc.Meta, Now: s.now()})
	if err != nil {
		return fmt.Errorf("encrypt secret store: %w", err)
	}
	return atomicfile.Write(s.path, out, atomicfile.Options{Mode: 0o600})
}

// sections returns the secrets and updated mappings of a store document.
func sections(doc *yaml.Node) (secrets, updated *yaml.Node, err error) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	secrets, updated = mapGet(root, keySecrets), mapGet(root, keyUpdated)
	if secrets == nil || secrets.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("malformed secret store: no %q mapping", keySecrets)
	}
	if updated == nil {
		updated = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		root.Content = append(root.Content, strNode(keyUpdated), updated)
	}
	// An empty mapping is written as {}; grow it in block style.
	secrets.Style, updated.Style = 0, 0
	return secrets, updated, nil
}

func strNode(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapSet(m *yaml.Node, key string, v *yaml.Node) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return true
		}
	}
	// Keep names sorted so the file diffs well.
	at := len(m.Content)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value > key {
			at = i
			break
		}
	}
	m.Content = append(m.Content[:at], append([]*yaml.Node{strNode(key), v}, m.Content[at:]...)...)
	return false
}

func mapDelete(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}
