package sops

import (
	"fmt"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// MetadataKey is the top-level key that holds the metadata.
const MetadataKey = "sops"

// FormatVersion is written to sops.version: the release of the reference
// implementation whose format these files follow and are tested against.
const FormatVersion = "3.13.3"

// DefaultUnencryptedSuffix leaves keys ending in it in the clear.
const DefaultUnencryptedSuffix = "_unencrypted"

// PassphraseRecipient labels a data key wrapped with an age passphrase
// (scrypt). The reference implementation has no such key type; it sees the
// entry as an age key it has no identity for.
const PassphraseRecipient = "scrypt"

// Key is the data key wrapped for one age recipient.
type Key struct {
	Recipient string `yaml:"recipient"`
	Enc       string `yaml:"enc"`
}

// Metadata is the sops: block of a file.
type Metadata struct {
	Keys                    []Key
	LastModified            string
	MAC                     string
	Version                 string
	UnencryptedSuffix       string
	EncryptedSuffix         string
	UnencryptedRegex        string
	EncryptedRegex          string
	UnencryptedCommentRegex string
	EncryptedCommentRegex   string
	MACOnlyEncrypted        bool
	// OtherKeySources names key sources other than age the file also uses
	// (kms, gcp_kms, azure_kv, hc_vault, pgp, …); Warden cannot use them.
	OtherKeySources []string
}

// Recipients lists the age recipients the data key is wrapped for.
func (m Metadata) Recipients() []string {
	out := make([]string, 0, len(m.Keys))
	for _, k := range m.Keys {
		out = append(out, k.Recipient)
	}
	return out
}

type rawMetadata struct {
	ShamirThreshold         int         `yaml:"shamir_threshold"`
	KeyGroups               []yaml.Node `yaml:"key_groups"`
	KMS                     []yaml.Node `yaml:"kms"`
	GCPKMS                  []yaml.Node `yaml:"gcp_kms"`
	AzureKV                 []yaml.Node `yaml:"azure_kv"`
	HCVault                 []yaml.Node `yaml:"hc_vault"`
	HCKMS                   []yaml.Node `yaml:"hckms"`
	PGP                     []yaml.Node `yaml:"pgp"`
	Age                     []Key       `yaml:"age"`
	LastModified            string      `yaml:"lastmodified"`
	MAC                     string      `yaml:"mac"`
	Version                 string      `yaml:"version"`
	UnencryptedSuffix       string      `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string      `yaml:"encrypted_suffix"`
	UnencryptedRegex        string      `yaml:"unencrypted_regex"`
	EncryptedRegex          string      `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string      `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string      `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool        `yaml:"mac_only_encrypted"`
}

func parseMetadata(n *yaml.Node) (Metadata, error) {
	var raw rawMetadata
	if err := n.Decode(&raw); err != nil {
		return Metadata{}, fmt.Errorf("line %d: malformed sops metadata: %w", n.Line, err)
	}
	m := Metadata{
		Keys:                    raw.Age,
		LastModified:            raw.LastModified,
		MAC:                     raw.MAC,
		Version:                 raw.Version,
		UnencryptedSuffix:       raw.UnencryptedSuffix,
		EncryptedSuffix:         raw.EncryptedSuffix,
		UnencryptedRegex:        raw.UnencryptedRegex,
		EncryptedRegex:          raw.EncryptedRegex,
		UnencryptedCommentRegex: raw.UnencryptedCommentRegex,
		EncryptedCommentRegex:   raw.EncryptedCommentRegex,
		MACOnlyEncrypted:        raw.MACOnlyEncrypted,
	}
	for name, list := range map[string][]yaml.Node{"kms": raw.KMS, "gcp_kms": raw.GCPKMS, "azure_kv": raw.AzureKV,
		"hc_vault": raw.HCVault, "hckms": raw.HCKMS, "pgp": raw.PGP} {
		if len(list) > 0 {
			m.OtherKeySources = append(m.OtherKeySources, name)
		}
	}
	sort.Strings(m.OtherKeySources)
	if len(raw.KeyGroups) > 0 {
		if len(raw.KeyGroups) > 1 {
			return m, fmt.Errorf("line %d: files split across %d key groups (Shamir) are not supported", n.Line, len(raw.KeyGroups))
		}
		var g struct {
			Age []Key `yaml:"age"`
		}
		if err := raw.KeyGroups[0].Decode(&g); err != nil {
			return m, fmt.Errorf("line %d: malformed sops.key_groups: %w", n.Line, err)
		}
		m.Keys = append(m.Keys, g.Age...)
	}
	selectors := 0
	for _, s := range []string{m.UnencryptedSuffix, m.EncryptedSuffix, m.UnencryptedRegex, m.EncryptedRegex,
		m.UnencryptedCommentRegex, m.EncryptedCommentRegex} {
		if s != "" {
			selectors++
		}
	}
	if selectors > 1 {
		return m, fmt.Errorf("line %d: sops metadata sets more than one of the *_suffix / *_regex selectors", n.Line)
	}
	if selectors == 0 {
		m.UnencryptedSuffix = DefaultUnencryptedSuffix
	}
	if m.LastModified == "" {
		return m, fmt.Errorf("line %d: sops.lastmodified is missing", n.Line)
	}
	if _, err := time.Parse(time.RFC3339, m.LastModified); err != nil {
		return m, fmt.Errorf("line %d: sops.lastmodified %q: %w", n.Line, m.LastModified, err)
	}
	if m.MAC == "" {
		return m, fmt.Errorf("line %d: sops.mac is missing", n.Line)
	}
	if len(m.Keys) == 0 {
		if len(m.OtherKeySources) > 0 {
			return m, fmt.Errorf("the data key is only wrapped for %v, which warden cannot use; add an age recipient with `sops updatekeys`", m.OtherKeySources)
		}
		return m, fmt.Errorf("line %d: sops metadata lists no age recipients", n.Line)
	}
	return m, nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

// metadataNode renders m in the layout the reference writes.
func metadataNode(m Metadata) *yaml.Node {
	ages := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, k := range m.Keys {
		enc := scalar(k.Enc)
		enc.Style = yaml.LiteralStyle
		ages.Content = append(ages.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			scalar("recipient"), scalar(k.Recipient),
			scalar("enc"), enc,
		}})
	}
	lm := scalar(m.LastModified)
	lm.Style = yaml.DoubleQuotedStyle
	content := []*yaml.Node{scalar("age"), ages, scalar("lastmodified"), lm, scalar("mac"), scalar(m.MAC)}
	for _, kv := range [][2]string{
		{"unencrypted_suffix", m.UnencryptedSuffix}, {"encrypted_suffix", m.EncryptedSuffix},
		{"unencrypted_regex", m.UnencryptedRegex}, {"encrypted_regex", m.EncryptedRegex},
		{"unencrypted_comment_regex", m.UnencryptedCommentRegex}, {"encrypted_comment_regex", m.EncryptedCommentRegex},
	} {
		if kv[1] != "" {
			content = append(content, scalar(kv[0]), scalar(kv[1]))
		}
	}
	if m.MACOnlyEncrypted {
		content = append(content, scalar("mac_only_encrypted"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	content = append(content, scalar("version"), scalar(m.Version))
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: content}
}
