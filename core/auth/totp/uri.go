package totp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// b32 returns RFC 4648 base32 with the standard (upper-case) alphabet and
// no padding, the form authenticator apps expect.
func b32() *base32.Encoding {
	return base32.StdEncoding.WithPadding(base32.NoPadding)
}

// EncodeSecret returns secret in base32 (RFC 4648, upper case, no padding),
// the form shown to users for manual entry and used in otpauth:// URIs.
func EncodeSecret(secret []byte) string {
	return b32().EncodeToString(secret)
}

// DecodeSecret decodes a base32 secret as typed or pasted by a user: lower
// case, white space, dashes and trailing '=' padding are accepted. An empty
// secret is an error.
func DecodeSecret(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	clean = strings.TrimRight(clean, "=")
	if clean == "" {
		return nil, errors.New("decode totp secret: empty secret")
	}
	switch len(clean) % 8 {
	case 1, 3, 6: // no whole number of bytes has this many characters
		return nil, fmt.Errorf("decode totp secret: %d base32 characters is not a valid length", len(clean))
	}
	secret, err := b32().DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("decode totp secret: not valid base32: %w", err)
	}
	return secret, nil
}

// URI returns the otpauth:// URI that authenticator apps import (Google
// Authenticator's Key Uri Format):
//
//	otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
//
// issuer and account are percent-encoded as UTF-8 (everything except ASCII
// letters, digits and "-._~", so spaces become %20 and '@' becomes %40).
// Both must be non-empty valid UTF-8 without ':' or control characters,
// because the label uses ':' to separate them (the format forbids colons,
// literal or encoded, in either part). The secret must not be empty.
func URI(issuer, account string, secret []byte) (string, error) {
	if err := checkLabelPart("issuer", issuer); err != nil {
		return "", err
	}
	if err := checkLabelPart("account", account); err != nil {
		return "", err
	}
	if len(secret) == 0 {
		return "", errors.New("totp uri: empty secret")
	}
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(escape(issuer))
	b.WriteByte(':')
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	b.WriteString("&issuer=")
	b.WriteString(escape(issuer))
	b.WriteString("&algorithm=SHA1&digits=")
	b.WriteString(strconv.Itoa(Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(Period))
	return b.String(), nil
}

// checkLabelPart validates an issuer or account name for URI.
func checkLabelPart(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("totp uri: empty %s", what)
	case !utf8.ValidString(s):
		return fmt.Errorf("totp uri: %s is not valid UTF-8", what)
	case strings.ContainsRune(s, ':'):
		return fmt.Errorf("totp uri: %s %q contains ':'", what, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("totp uri: %s %q contains a control character", what, s)
	}
	return nil
}

// escape percent-encodes every byte of s except the RFC 3986 unreserved
// characters, which is valid both in a path segment and in a query value.
// Unlike url.QueryEscape it writes a space as %20, never '+', which some
// authenticator apps would show literally.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}
