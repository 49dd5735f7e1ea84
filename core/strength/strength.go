// Package strength rejects weak machine tokens and shared secrets.
//
// A token given in a configuration (a gateway token, a shared secret) must
// be long enough and must not be predictable: runs of one character,
// sequences (1234, abcd), keyboard walks (qwertyuiop), common words and any
// of those repeated are rejected, while tokens produced by a cryptographic
// random generator (hex, base64, base64url, alphanumeric, bech32, UUIDs)
// pass.
//
// Estimate is a simplified, deterministic take on zxcvbn: it splits the
// token into the segmentation of known patterns (and random characters)
// that needs the fewest total bits to describe, and reports the sum. The
// estimate is conservative for patterned input and generous for random
// input, which is what a minimum-strength gate needs.
package strength

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Policy says what a token must meet.
type Policy struct {
	MinLength int     // characters (runes)
	MinBits   float64 // estimated guessing entropy in bits
}

// TokenPolicy returns the policy for machine tokens and shared secrets:
// 32 characters, 128 bits.
func TokenPolicy() Policy { return Policy{MinLength: 32, MinBits: 128} }

// Result is the outcome of Estimate.
type Result struct {
	Bits     float64
	Patterns []Pattern // the segments the estimator split s into, in order
}

// Pattern is one segment of an estimated string.
type Pattern struct {
	Kind  string // "repeat", "sequence", "dictionary", "keyboard", "random"
	Token string // the matched text (callers must not print it for secrets; it is here for tests)
	Bits  float64
}

// Pattern kinds.
const (
	kindRepeat     = "repeat"
	kindSequence   = "sequence"
	kindDictionary = "dictionary"
	kindKeyboard   = "keyboard"
	kindRandom     = "random"
)

// WeakError reports why a token does not meet a Policy. Its text never
// contains the token.
type WeakError struct {
	Length    int
	MinLength int
	Bits      float64
	MinBits   float64
	Reason    string // human readable, lowercase, never contains the secret itself
}

// Error returns the reason.
func (e *WeakError) Error() string { return e.Reason }

// Check returns nil when s meets p, else a *WeakError. The length is checked
// first (in runes), then the estimated entropy.
func (p Policy) Check(s string) error {
	n := utf8.RuneCountInString(s)
	r := Estimate(s)
	if n < p.MinLength {
		return &WeakError{
			Length: n, MinLength: p.MinLength, Bits: r.Bits, MinBits: p.MinBits,
			Reason: lengthReason(n, p.MinLength),
		}
	}
	if r.Bits < p.MinBits {
		return &WeakError{
			Length: n, MinLength: p.MinLength, Bits: r.Bits, MinBits: p.MinBits,
			Reason: fmt.Sprintf("is too predictable (about %d bits of entropy, at least %s required): %s",
				int(math.Floor(r.Bits)), strconv.FormatFloat(p.MinBits, 'f', -1, 64), describe(r.Patterns)),
		}
	}
	return nil
}

func lengthReason(n, minLength int) string {
	need := "are required"
	if minLength == 1 {
		need = "is required"
	}
	if n == 0 {
		return fmt.Sprintf("is empty; at least %d %s %s", minLength, plural(minLength, "character"), need)
	}
	return fmt.Sprintf("is %d %s; at least %d %s", n, plural(n, "character"), minLength, need)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// describe names the dominant weak pattern: the non-random pattern that
// covers the most characters (the first one on a tie).
func describe(ps []Pattern) string {
	best, bestLen := "", 0
	for _, p := range ps {
		if p.Kind == kindRandom {
			continue
		}
		if l := utf8.RuneCountInString(p.Token); l > bestLen {
			best, bestLen = p.Kind, l
		}
	}
	switch best {
	case kindRepeat:
		return "a repeated pattern"
	case kindSequence:
		return "a sequence such as 1234 or abcd"
	case kindDictionary:
		return "common words"
	case kindKeyboard:
		return "a keyboard pattern"
	}
	return "too few kinds of characters for its length"
}
