package password

import (
	"errors"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	// "é" is two bytes and "🔑" four; each counts as one character.
	const e, key = "é", "🔑"
	pass32 := "correct horse battery staple " + e + e + key // 29 + 3 runes
	if n := len([]rune(pass32)); n != 32 || len(pass32) <= 32 {
		t.Fatalf("fixture: %d runes, %d bytes", n, len(pass32))
	}
	pass31 := strings.TrimSuffix(pass32, key)
	long1024 := strings.Repeat("abcd"+e+key+"gh", 128) // 1024 runes
	long1025 := long1024 + "z"

	cases := []struct {
		name, pw, reason string
	}{
		{"empty", "", "is 0 characters; at least 32 are required"},
		{"12 characters", "hunter2hunte", "is 12 characters; at least 32 are required"},
		{"31 characters, multi-byte", pass31, "is 31 characters; at least 32 are required"},
		{"32 characters, multi-byte", pass32, ""},
		{"1024 characters", long1024, ""},
		{"1025 characters", long1025, "is longer than 1024 characters"},
		{"repeated ascii", strings.Repeat("a", 40), "is a run of one repeated character"},
		{"repeated multi-byte", strings.Repeat(key, 32), "is a run of one repeated character"},
		{"spaces only", strings.Repeat(" ", 40), "contains only whitespace"},
		{"mixed whitespace", strings.Repeat(" \u00a0\u3000", 12), "contains only whitespace"},
		{"nul", pass32 + "\x00", "contains control characters"},
		{"tab", pass32 + "\t", "contains control characters"},
		{"newline", pass32 + "\n", "contains control characters"},
		{"del", pass32 + "\x7f", "contains control characters"},
		{"c1 control", pass32 + "\u0085", "contains control characters"},
		{"short with control", "ab\x01cd", "contains control characters"},
		{"invalid utf-8", pass32 + "\xff", "is not valid UTF-8"},
		{"no composition rules", strings.Repeat("ab", 16), ""},
		{"all lowercase letters", "thisisalllowercaseandthatisfinetoo", ""},
	}
	var p Policy // zero Policy is Warden's default
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, pol := range []Policy{p, {MinLength: 32, MaxLength: 1024}} {
				err := pol.Check(c.pw)
				checkReason(t, err, c.pw, c.reason)
			}
		})
	}
}

func TestPolicyCustomBounds(t *testing.T) {
	p := Policy{MinLength: 8, MaxLength: 10}
	for pw, reason := range map[string]string{
		"abcdefg":     "is 7 characters; at least 8 are required",
		"abcdefgh":    "",
		"abcdefghij":  "",
		"abcdefghijk": "is longer than 10 characters",
	} {
		checkReason(t, p.Check(pw), pw, reason)
	}
	if err := (Policy{MinLength: 1}).Check("x"); err != nil {
		t.Fatalf("single character with MinLength 1: %v", err)
	}
}

func TestPolicyCheckChange(t *testing.T) {
	var p Policy
	cur := "the old passphrase that served us well"
	next := "a brand new passphrase nobody has seen"
	checkReason(t, p.CheckChange(cur, cur), cur, "must differ from the current password")
	checkReason(t, p.CheckChange(cur, next), next, "")
	// The new password is held to the policy first.
	checkReason(t, p.CheckChange(cur, "short one"), "short one", "is 9 characters; at least 32 are required")
	// A current password that no longer meets the policy does not matter.
	checkReason(t, p.CheckChange("old short", next), next, "")
}

// checkReason asserts err is nil (reason "") or a *PolicyError with reason,
// and that the message does not quote the password.
func checkReason(t *testing.T, err error, pw, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("Check = %v; want nil", err)
		}
		return
	}
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("Check = %v (%T); want *PolicyError", err, err)
	}
	if pe.Reason != reason {
		t.Fatalf("Reason = %q; want %q", pe.Reason, reason)
	}
	if got, want := err.Error(), "password "+reason; got != want {
		t.Fatalf("Error() = %q; want %q", got, want)
	}
	// Short strings (and single repeated characters) can occur in any
	// message by chance; everything from four characters on must not.
	if len(pw) >= 4 && strings.Contains(err.Error(), pw) {
		t.Fatalf("message %q quotes the password", err.Error())
	}
}
