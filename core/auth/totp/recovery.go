package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode"
)

// Recovery code parameters.
const (
	// RecoveryCodes is how many recovery codes NewRecoveryCodes returns.
	RecoveryCodes = 10
	// RecoveryBits is the entropy of each recovery code in bits (at least
	// 112, so that an unsalted fast hash is an acceptable way to store it).
	RecoveryBits = 120
)

const (
	// recoveryAlphabet is Crockford's base32 alphabet: digits and upper-case
	// letters without I, L, O and U.
	recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	// recoveryChars is the length of a normalised recovery code.
	recoveryChars = RecoveryBits / 5
	// recoveryBytes is the number of random bytes behind a recovery code.
	recoveryBytes = RecoveryBits / 8
	// recoveryGroup is the number of characters between dashes.
	recoveryGroup = 4
)

// Compile-time checks: RecoveryBits must be a whole number of base32
// characters and of bytes, and at least 112.
// (A negative constant does not convert to uint.)
const (
	_ = uint(RecoveryBits - 112)
	_ = uint(-(RecoveryBits % 5))
	_ = uint(-(RecoveryBits % 8))
)

// NewRecoveryCodes returns RecoveryCodes distinct recovery codes. Each holds
// RecoveryBits random bits from crypto/rand, written in Crockford base32
// (digits and upper-case letters without I, L, O and U) in groups of four
// joined by '-', for example "7K3M-Q9TZ-0D4R-WX8E-5HBN-2GCA".
func NewRecoveryCodes() ([]string, error) {
	codes := make([]string, 0, RecoveryCodes)
	seen := make(map[string]bool, RecoveryCodes)
	var raw [recoveryBytes]byte
	for len(codes) < RecoveryCodes {
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("generate recovery codes: %w", err)
		}
		c := formatRecoveryCode(raw[:])
		if seen[c] {
			continue // astronomically unlikely, but codes must be distinct
		}
		seen[c] = true
		codes = append(codes, c)
	}
	return codes, nil
}

// formatRecoveryCode encodes raw (recoveryBytes bytes) as recoveryChars
// base32 characters, most significant bits first, grouped with dashes.
func formatRecoveryCode(raw []byte) string {
	var b strings.Builder
	b.Grow(recoveryChars + recoveryChars/recoveryGroup)
	var acc uint32
	bits, n := 0, 0
	for _, c := range raw {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%recoveryGroup == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[acc>>bits&0x1f])
			n++
		}
	}
	return b.String()
}

// NormalizeRecoveryCode turns a recovery code as typed by a user into its
// canonical form: ASCII letters upper-cased, white space and dashes removed,
// and look-alikes mapped (O to 0, I and L to 1). It returns "" for input that
// cannot be a recovery code: the wrong number of characters, or a character
// outside the alphabet (including U and any non-ASCII letter).
func NormalizeRecoveryCode(s string) string {
	var out [recoveryChars]byte
	n := 0
	for _, r := range s {
		if r == '-' || unicode.IsSpace(r) {
			continue
		}
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || strings.IndexByte(recoveryAlphabet, byte(r)) < 0 || n == recoveryChars {
			return ""
		}
		out[n] = byte(r)
		n++
	}
	if n != recoveryChars {
		return ""
	}
	return string(out[:])
}

// HashRecoveryCode returns the SHA-256 hash (32 bytes) of a recovery code
// already normalised by NormalizeRecoveryCode; store and compare this, never
// the code. An unsalted fast hash suffices because each code carries at least
// 112 random bits (OWASP ASVS allows this for such high-entropy secrets).
func HashRecoveryCode(normalized string) []byte {
	sum := sha256.Sum256([]byte(normalized))
	return sum[:]
}
