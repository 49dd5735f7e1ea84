// Package totp implements time-based one-time passwords (TOTP, RFC 6238)
// and recovery codes for Warden's two-factor authentication.
//
// The package holds the pure logic only: generating and encoding secrets,
// computing and matching codes, building otpauth:// URIs and their QR
// codes, and generating, normalising and hashing recovery codes. Storing
// secrets (encrypted at rest), remembering used time steps and recovery
// codes, and auditing are the caller's job (package core/auth).
//
// Codes use the parameters every authenticator app supports: HMAC-SHA-1,
// Digits digits and Period-second time steps.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"time"
	"unicode"
)

// Parameters of the codes Warden issues: HMAC-SHA-1, 6 digits and 30-second
// time steps, which is what authenticator apps support.
const (
	// Digits is the number of decimal digits in a code.
	Digits = 6
	// Period is the length of a time step in seconds.
	Period = 30
	// SecretSize is the size of a new secret in bytes (160 bits, the
	// length RFC 4226 recommends for HMAC-SHA-1).
	SecretSize = 20
)

// minDigits and maxDigits bound the digit count CodeWith accepts. Dynamic
// truncation yields 31 bits, so more than 10 digits would add nothing.
const (
	minDigits = 6
	maxDigits = 10
)

// NewSecret returns SecretSize random bytes from crypto/rand, suitable as a
// new TOTP secret.
func NewSecret() ([]byte, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate totp secret: %w", err)
	}
	return secret, nil
}

// Step returns the RFC 6238 time step for t: floor(unix seconds / Period).
// Times before 1970 give negative steps (rounded towards minus infinity).
func Step(t time.Time) int64 {
	u := t.Unix()
	s := u / Period
	if u%Period != 0 && u < 0 {
		s--
	}
	return s
}

// Code computes the code for a time step: HOTP (RFC 4226) over the step used
// as the 8-byte big-endian counter, with HMAC-SHA-1 and Digits digits,
// zero-padded on the left. A negative step is encoded in two's complement.
func Code(secret []byte, step int64) string {
	var buf [Digits]byte
	hotp(hmac.New(sha1.New, secret), uint64(step), buf[:])
	return string(buf[:])
}

// CodeWith is the generic form of Code used by the RFC 6238 test vectors:
// hashName is "SHA1", "SHA256" or "SHA512" and digits is between 6 and 10.
// Warden itself issues only Code's parameters, which apps support widely.
func CodeWith(secret []byte, step int64, digits int, hashName string) (string, error) {
	if digits < minDigits || digits > maxDigits {
		return "", fmt.Errorf("totp code: digits must be between %d and %d, got %d", minDigits, maxDigits, digits)
	}
	var h func() hash.Hash
	switch hashName {
	case "SHA1":
		h = sha1.New
	case "SHA256":
		h = sha256.New
	case "SHA512":
		h = sha512.New
	default:
		return "", fmt.Errorf("totp code: unsupported hash %q (want SHA1, SHA256 or SHA512)", hashName)
	}
	buf := make([]byte, digits)
	hotp(hmac.New(h, secret), uint64(step), buf)
	return string(buf), nil
}

// hotp writes the HOTP value for counter as len(dst) zero-padded decimal
// digits into dst. mac is a freshly created or reset HMAC keyed with the
// secret; hotp resets it after use so it can be reused.
func hotp(mac hash.Hash, counter uint64, dst []byte) {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	var sum [sha512.Size]byte
	s := mac.Sum(sum[:0])
	mac.Reset()

	// Dynamic truncation (RFC 4226 section 5.3).
	off := s[len(s)-1] & 0x0f
	v := uint64(binary.BigEndian.Uint32(s[off:off+4]) & 0x7fffffff)
	mod := uint64(1)
	for range dst {
		mod *= 10
	}
	v %= mod
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// Match checks code against the time steps Step(now)-skew .. Step(now)+skew
// and reports which step it matched. skew 1 accepts the previous, current
// and next step (±30 s); a negative skew counts as 0.
//
// The code is normalised first: white space is removed, and anything that is
// not then exactly Digits ASCII digits never matches. Every candidate step is
// computed and compared in constant time, so the time taken does not reveal
// which step (if any) matched. If the code matches several steps (a chance
// collision), the step nearest to now wins, the earlier one on a tie.
//
// The caller must record the returned step and refuse any step at or before
// it later, so that a code is never accepted twice. An empty secret never
// matches.
func Match(secret []byte, code string, now time.Time, skew int) (step int64, ok bool) {
	var want [Digits]byte
	if len(secret) == 0 || !normalizeCode(code, &want) {
		return 0, false
	}
	if skew < 0 {
		skew = 0
	}
	cur := Step(now)
	mac := hmac.New(sha1.New, secret)
	var got [Digits]byte
	// Visit now, now-1, now+1, now-2, now+2, ... so that the first match in
	// visiting order is the preferred one; keep visiting to stay
	// constant-time in the position of the match.
	for i := 0; i <= 2*skew; i++ {
		d := int64((i + 1) / 2)
		if i%2 == 1 {
			d = -d
		}
		s := cur + d
		hotp(mac, uint64(s), got[:])
		eq := subtle.ConstantTimeCompare(got[:], want[:]) == 1
		if eq && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// normalizeCode removes white space from code and writes the remaining
// characters to dst. It reports false unless they are exactly Digits ASCII
// digits.
func normalizeCode(code string, dst *[Digits]byte) bool {
	n := 0
	for _, r := range code {
		switch {
		case unicode.IsSpace(r):
			continue
		case r < '0' || r > '9' || n == Digits:
			return false
		}
		dst[n] = byte(r)
		n++
	}
	return n == Digits
}
