package password

import (
	"crypto/subtle"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Warden's default bounds, used when a Policy field is zero.
const (
	defaultMinLength = 32 // a passphrase
	defaultMaxLength = 1024
)

// Policy says what a password must meet. Lengths count runes as given (no
// Unicode normalisation). A MinLength or MaxLength of zero or less means
// Warden's default (32 and 1024), so the zero Policy is the default policy.
// There are deliberately no composition rules (ASVS forbids them).
type Policy struct {
	MinLength int // runes; Warden's default is 32 (a passphrase)
	MaxLength int // runes; Warden's default is 1024
}

// PolicyError says why a password does not meet a Policy. Reason never
// quotes the password.
type PolicyError struct {
	Reason string
}

// Error returns "password " followed by the reason.
func (e *PolicyError) Error() string { return "password " + e.Reason }

// Check returns nil if password meets the policy, or a *PolicyError. The
// password must be valid UTF-8, at most MaxLength and at least MinLength
// runes long, and must not contain control characters (none are allowed,
// not even tab or newline), consist only of whitespace, or be a run of one
// repeated character.
func (p Policy) Check(password string) error {
	minLen, maxLen := p.MinLength, p.MaxLength
	if minLen <= 0 {
		minLen = defaultMinLength
	}
	if maxLen <= 0 {
		maxLen = defaultMaxLength
	}
	if !utf8.ValidString(password) {
		return &PolicyError{Reason: "is not valid UTF-8"}
	}
	n := utf8.RuneCountInString(password)
	if n > maxLen {
		return &PolicyError{Reason: fmt.Sprintf("is longer than %d characters", maxLen)}
	}
	allSpace, allSame := true, true
	first, _ := utf8.DecodeRuneInString(password)
	for _, r := range password {
		if unicode.IsControl(r) {
			return &PolicyError{Reason: "contains control characters"}
		}
		if !unicode.IsSpace(r) {
			allSpace = false
		}
		if r != first {
			allSame = false
		}
	}
	switch {
	case n < minLen:
		return &PolicyError{Reason: fmt.Sprintf("is %d characters; at least %d are required", n, minLen)}
	case n > 0 && allSpace:
		return &PolicyError{Reason: "contains only whitespace"}
	case n > 1 && allSame:
		return &PolicyError{Reason: "is a run of one repeated character"}
	}
	return nil
}

// CheckChange checks next against the policy and that it differs from
// current (compared in constant time). Policy failures are reported first.
func (p Policy) CheckChange(current, next string) error {
	if err := p.Check(next); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(current), []byte(next)) == 1 {
		return &PolicyError{Reason: "must differ from the current password"}
	}
	return nil
}
