package sops

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"go.yaml.in/yaml/v3"
)

// Errors callers branch on.
var (
	// ErrNotEncrypted means the document has no sops metadata.
	ErrNotEncrypted = errors.New("not a sops-encrypted file (no sops metadata)")
	// ErrAlreadyEncrypted means Encrypt was given a document that has sops metadata.
	ErrAlreadyEncrypted = errors.New("already encrypted (has sops metadata)")
	// ErrMACMismatch means the values do not match the MAC: the file was
	// edited, reordered or truncated outside sops and Warden.
	ErrMACMismatch = errors.New("MAC mismatch: the file was modified after it was encrypted (edited, reordered or removed values)")
	// ErrNoMatchingIdentity is wrapped by *NoIdentityError.
	ErrNoMatchingIdentity = errors.New("no matching identity")
)

// macOnlyEncryptedInit starts the MAC when mac_only_encrypted is set, so such
// a MAC never equals one over all values (SHA-256 of "sops", as in the reference).
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1,
	0x47, 0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// NoIdentityError says that none of the identities unwraps the data key.
type NoIdentityError struct {
	Recipients      []string // the recipients the file is encrypted to
	OtherKeySources []string // non-age key sources the file also has
}

func (e *NoIdentityError) Error() string { return ErrNoMatchingIdentity.Error() }

// Unwrap lets errors.Is match ErrNoMatchingIdentity.
func (e *NoIdentityError) Unwrap() error { return ErrNoMatchingIdentity }

// ValueError locates a value that failed to decrypt.
type ValueError struct {
	Path string // key path joined with '.'
	Line int
	Err  error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("line %d: %s: %v", e.Line, e.Path, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// Document is a decrypted file.
type Document struct {
	// Root is the plaintext document node without the sops key; its nodes
	// keep the line numbers of the encrypted file.
	Root *yaml.Node
	Meta Metadata
	// DataKey is the file's data key, for rewriting the file with the same
	// recipients (Encrypt with Meta.Keys).
	DataKey []byte
	// Encrypted holds the scalar nodes whose values were encrypted in the
	// file; values outside it were stored in the clear (selector rules).
	Encrypted map[*yaml.Node]bool
}

// Parse splits an encrypted file into its document (still encrypted) and
// metadata, without decrypting anything.
func Parse(data []byte) (*yaml.Node, Metadata, error) {
	doc, err := parseDocument(data)
	if err != nil {
		return nil, Metadata{}, err
	}
	metaNode := detachMetadata(doc)
	if metaNode == nil {
		return doc, Metadata{}, ErrNotEncrypted
	}
	m, err := parseMetadata(metaNode)
	return doc, m, err
}

// IsEncrypted reports whether data is YAML with top-level sops metadata.
func IsEncrypted(data []byte) bool {
	doc, err := parseDocument(data)
	if err != nil {
		return false
	}
	return findMetadata(doc) >= 0
}

// ParsePlain parses a plaintext YAML document for Encrypt.
func ParsePlain(data []byte) (*yaml.Node, error) { return parseDocument(data) }

func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}, nil
		}
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: files with more than one YAML document are not supported", extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	if len(doc.Content) == 0 {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		if doc.Content[0].ShortTag() == "!!null" {
			doc.Content[0] = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: doc.Content[0].HeadComment}
		} else {
			return nil, fmt.Errorf("line %d: the document must be a mapping", doc.Content[0].Line)
		}
	}
	return &doc, nil
}

func findMetadata(doc *yaml.Node) int {
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == MetadataKey {
			return i
		}
	}
	return -1
}

func detachMetadata(doc *yaml.Node) *yaml.Node {
	i := findMetadata(doc)
	if i < 0 {
		return nil
	}
	m := doc.Content[0]
	meta := m.Content[i+1]
	m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
	return meta
}

// Decrypt decrypts a SOPS YAML file with the first identity that unwraps
// its data key, and verifies the MAC.
func Decrypt(data []byte, identities ...age.Identity) (*Document, error) {
	doc, meta, err := Parse(data)
	if err != nil {
		return nil, err
	}
	key, err := UnwrapDataKey(meta, identities...)
	if err != nil {
		return nil, err
	}
	return decryptWithKey(doc, meta, key)
}

// DecryptWithKey decrypts a file whose data key the caller already holds
// (from UnwrapDataKey), and verifies the MAC.
func DecryptWithKey(data []byte, key []byte) (*Document, error) {
	doc, meta, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return decryptWithKey(doc, meta, key)
}

// UnwrapDataKey returns the data key of a file's metadata.
func UnwrapDataKey(meta Metadata, identities ...age.Identity) ([]byte, error) {
	var other []error
	for _, k := range meta.Keys {
		r, err := age.Decrypt(armor.NewReader(strings.NewReader(k.Enc)), identities...)
		if err != nil {
			var nomatch *age.NoIdentityMatchError
			if !errors.As(err, &nomatch) {
				other = append(other, fmt.Errorf("recipient %s: %w", k.Recipient, err))
			}
			continue
		}
		key, err := io.ReadAll(io.LimitReader(r, 64))
		if err != nil {
			other = append(other, fmt.Errorf("recipient %s: %w", k.Recipient, err))
			continue
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("recipient %s: data key is %d bytes, want 32", k.Recipient, len(key))
		}
		return key, nil
	}
	nie := &NoIdentityError{Recipients: meta.Recipients(), OtherKeySources: meta.OtherKeySources}
	if len(other) > 0 {
		return nil, fmt.Errorf("%w (%v)", nie, errors.Join(other...))
	}
	return nil, nie
}

func decryptWithKey(doc *yaml.Node, meta Metadata, key []byte) (*Document, error) {
	sel, err := newSelector(meta)
	if err != nil {
		return nil, err
	}
	var b builder
	root, err := b.buildDocument(doc)
	if err != nil {
		return nil, err
	}
	mac := newMAC(meta.MACOnlyEncrypted)
	encrypted := map[*yaml.Node]bool{}
	type listComment struct {
		seq  *yaml.Node
		item *yaml.Node
		text string
	}
	var listComments []listComment
	err = root.walk(nil, nil, func(l leaf, path []string, stack [][]string) error {
		isComment := l.comment != nil
		enc := sel.encrypted(path, stack, isComment)
		aad := strings.Join(path, ":") + ":"
		if isComment {
			text := l.comment.text()
			if enc && isEncryptedValue(text) {
				plain, typ, err := openValue(key, text, aad)
				if err != nil {
					return fmt.Errorf("comment in %s: %w", displayPath(path), err)
				}
				if typ != typeComment {
					return fmt.Errorf("comment in %s: holds a value of type %s", displayPath(path), typ)
				}
				l.comment.set(string(plain))
			}
			return nil
		}
		n := l.node
		if !enc {
			_, b, err := scalarBytes(n)
			if err != nil {
				return &ValueError{Path: displayPath(path), Line: n.Line, Err: err}
			}
			if !meta.MACOnlyEncrypted {
				mac.Write(b)
			}
			return nil
		}
		if n.ShortTag() != "!!str" || (n.Value != "" && !isEncryptedValue(n.Value)) {
			return &ValueError{Path: displayPath(path), Line: n.Line, Err: errNotEncryptedValue}
		}
		if n.Value == "" {
			return nil // empty values are stored as is; they add nothing to the MAC
		}
		plain, typ, err := openValue(key, n.Value, aad)
		if err != nil {
			return &ValueError{Path: displayPath(path), Line: n.Line, Err: err}
		}
		if typ == typeComment {
			// The reference writes comments found inside lists as list
			// items; turn them back into comments.
			if !l.parent.list {
				return &ValueError{Path: displayPath(path), Line: n.Line, Err: errors.New("a comment stored as a value")}
			}
			listComments = append(listComments, listComment{seq: l.parent.node, item: n, text: string(plain)})
			return nil
		}
		b, err := setPlain(n, typ, plain)
		if err != nil {
			return &ValueError{Path: displayPath(path), Line: n.Line, Err: err}
		}
		encrypted[n] = true
		mac.Write(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.flush()
	for _, lc := range listComments {
		moveListComment(lc.seq, lc.item, lc.text)
	}
	if err := verifyMAC(meta, key, mac.Sum(nil)); err != nil {
		return nil, err
	}
	return &Document{Root: doc, Meta: meta, DataKey: key, Encrypted: encrypted}, nil
}

func moveListComment(seq, item *yaml.Node, text string) {
	idx := -1
	for i, c := range seq.Content {
		if c == item {
			idx = i
			break
		}
	}
	if idx < 0 {
		return
	}
	seq.Content = append(seq.Content[:idx:idx], seq.Content[idx+1:]...)
	line := "#" + text
	switch {
	case idx < len(seq.Content):
		next := seq.Content[idx]
		next.HeadComment = joinComment(line, next.HeadComment)
	case idx > 0:
		prev := seq.Content[idx-1]
		prev.FootComment = joinComment(prev.FootComment, line)
	default:
		seq.HeadComment = joinComment(seq.HeadComment, line)
	}
}

func joinComment(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

func newMAC(onlyEncrypted bool) hash.Hash {
	h := sha512.New()
	if onlyEncrypted {
		h.Write(macOnlyEncryptedInit)
	}
	return h
}

func verifyMAC(meta Metadata, key, sum []byte) error {
	aad, err := macAAD(meta.LastModified)
	if err != nil {
		return err
	}
	plain, _, err := openValue(key, meta.MAC, aad)
	if err != nil {
		return fmt.Errorf("%w (the MAC itself does not decrypt: %v)", ErrMACMismatch, err)
	}
	want := fmt.Sprintf("%X", sum)
	if subtle.ConstantTimeCompare(plain, []byte(want)) != 1 {
		return ErrMACMismatch
	}
	return nil
}

func macAAD(lastModified string) (string, error) {
	t, err := time.Parse(time.RFC3339, lastModified)
	if err != nil {
		return "", fmt.Errorf("sops.lastmodified %q: %w", lastModified, err)
	}
	return t.Format(time.RFC3339), nil
}

func displayPath(path []string) string {
	if len(path) == 0 {
		return "(top level)"
	}
	return strings.Join(path, ".")
}

// NewDataKey returns a fresh random 256-bit data key.
func NewDataKey() ([]byte, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	return k, nil
}

// Recipient is an age recipient with the label written to sops.age[].recipient.
type Recipient struct {
	Label string
	age.Recipient
}

// ParseRecipient parses an age recipient: X25519 (age1…) or hybrid
// post-quantum (age1pq1…).
func ParseRecipient(s string) (Recipient, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "age1pq1") {
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return Recipient{}, fmt.Errorf("recipient %q: %w", s, err)
		}
		return Recipient{Label: s, Recipient: r}, nil
	}
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return Recipient{}, fmt.Errorf("recipient %q: %w", s, err)
	}
	return Recipient{Label: s, Recipient: r}, nil
}

// WrapDataKey wraps key for each recipient as an armored age file.
func WrapDataKey(key []byte, recipients ...Recipient) ([]Key, error) {
	if len(recipients) == 0 {
		return nil, errors.New("no recipients")
	}
	out := make([]Key, 0, len(recipients))
	for _, r := range recipients {
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, r.Recipient)
		if err != nil {
			return nil, fmt.Errorf("wrap data key for %s: %w", r.Label, err)
		}
		if _, err := w.Write(key); err != nil {
			return nil, fmt.Errorf("wrap data key for %s: %w", r.Label, err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("wrap data key for %s: %w", r.Label, err)
		}
		if err := aw.Close(); err != nil {
			return nil, fmt.Errorf("wrap data key for %s: %w", r.Label, err)
		}
		s := buf.String()
		if !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		out = append(out, Key{Recipient: r.Label, Enc: s})
	}
	return out, nil
}

// EncryptOptions control Encrypt.
type EncryptOptions struct {
	// Keys wrap DataKey for each recipient (from WrapDataKey, or the Keys
	// of a decrypted Document when rewriting it).
	Keys    []Key
	DataKey []byte
	// Meta carries the selector settings (suffix/regex, mac_only_encrypted)
	// to keep; Keys, LastModified, MAC and Version are set by Encrypt.
	Meta Metadata
	// Now stamps sops.lastmodified.
	Now time.Time
	// Indent of the output (default 4, as the reference writes).
	Indent int
}

// Encrypt encrypts a plaintext document node (a copy; root is not
// modified) and returns the file's bytes.
func Encrypt(root *yaml.Node, opts EncryptOptions) ([]byte, error) {
	if len(opts.DataKey) != 32 {
		return nil, errors.New("data key must be 32 bytes")
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("no recipients to wrap the data key for")
	}
	doc := cloneNode(root)
	if doc.Kind != yaml.DocumentNode {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}
	}
	if len(doc.Content) == 0 {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	if findMetadata(doc) >= 0 {
		return nil, ErrAlreadyEncrypted
	}
	meta := opts.Meta
	meta.Keys = opts.Keys
	meta.Version = FormatVersion
	meta.OtherKeySources = nil
	if meta.UnencryptedSuffix == "" && meta.EncryptedSuffix == "" && meta.UnencryptedRegex == "" &&
		meta.EncryptedRegex == "" && meta.UnencryptedCommentRegex == "" && meta.EncryptedCommentRegex == "" {
		meta.UnencryptedSuffix = DefaultUnencryptedSuffix
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	meta.LastModified = now.UTC().Format(time.RFC3339)
	sel, err := newSelector(meta)
	if err != nil {
		return nil, err
	}
	var b builder
	rootColl, err := b.buildDocument(doc)
	if err != nil {
		return nil, err
	}
	key := opts.DataKey
	mac := newMAC(meta.MACOnlyEncrypted)
	err = rootColl.walk(nil, nil, func(l leaf, path []string, stack [][]string) error {
		isComment := l.comment != nil
		enc := sel.encrypted(path, stack, isComment)
		aad := strings.Join(path, ":") + ":"
		if isComment {
			if !enc {
				return nil
			}
			s, err := sealValue(key, []byte(l.comment.text()), typeComment, aad)
			if err != nil {
				return err
			}
			l.comment.set(s)
			return nil
		}
		typ, plain, err := scalarBytes(l.node)
		if err != nil {
			return &ValueError{Path: displayPath(path), Line: l.node.Line, Err: err}
		}
		if !meta.MACOnlyEncrypted || enc {
			mac.Write(plain)
		}
		if !enc {
			return nil
		}
		s, err := sealValue(key, plain, typ, aad)
		if err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		l.node.Value, l.node.Tag, l.node.Style = s, "!!str", 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.flush()
	macAD, err := macAAD(meta.LastModified)
	if err != nil {
		return nil, err
	}
	meta.MAC, err = sealValue(key, []byte(fmt.Sprintf("%X", mac.Sum(nil))), typeStr, macAD)
	if err != nil {
		return nil, err
	}
	top := doc.Content[0]
	top.Content = append(top.Content, scalar(MetadataKey), metadataNode(meta))
	indent := opts.Indent
	if indent == 0 {
		indent = 4
	}
	return Marshal(doc, indent)
}

// EncryptFor encrypts root under a fresh data key wrapped for recipients,
// keeping the selector settings of meta (zero for the defaults).
func EncryptFor(root *yaml.Node, recipients []Recipient, meta Metadata, now time.Time) ([]byte, error) {
	key, err := NewDataKey()
	if err != nil {
		return nil, err
	}
	keys, err := WrapDataKey(key, recipients...)
	if err != nil {
		return nil, err
	}
	return Encrypt(root, EncryptOptions{Keys: keys, DataKey: key, Meta: meta, Now: now})
}

// Marshal renders a document node with the given indent.
func Marshal(doc *yaml.Node, indent int) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(indent)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render yaml: %w", err)
	}
	return buf.Bytes(), nil
}
