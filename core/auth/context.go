package auth

import (
	"fmt"
	"strings"

	"github.com/warden-sec/warden/core/strength"
)

// contextWords are the product and role words a password must not lean
// on (ASVS 6.1.2 / 6.2.11); the user's own name is added per check. The
// estimator in core/strength also knows several hundred common password
// words.
var contextWords = []string{"warden", "openclaw", "moltbot", "gateway", "agent", "admin", "operator", "viewer", "sandbox", "secret"}

// minPasswordBits is the least estimated entropy a password may have once
// common words and patterns are priced in.
const minPasswordBits = 64

// checkPasswordContext refuses passwords built on the user's name, the
// product's vocabulary or common words and patterns.
func checkPasswordContext(user, pw string) error {
	lower := strings.ToLower(pw)
	if len(user) >= 3 && strings.Contains(lower, strings.ToLower(user)) {
		return fmt.Errorf("%w: password contains the user name", ErrInvalidInput)
	}
	rest := lower
	for _, w := range contextWords {
		rest = strings.ReplaceAll(rest, w, "")
	}
	if est := strength.Estimate(rest); est.Bits < minPasswordBits {
		return fmt.Errorf("%w: password is easy to guess (about %.0f bits once common and product words are discounted; at least %d needed): add unrelated words", ErrInvalidInput, est.Bits, minPasswordBits)
	}
	return nil
}
