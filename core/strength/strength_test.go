package strength

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// randomFrom returns n characters drawn uniformly from alphabet with
// crypto/rand.
func randomFrom(t testing.TB, alphabet string, n int) string {
	t.Helper()
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	alnum  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	bech32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
)

func uuidV4(t testing.TB) string {
	b := randomBytes(t, 16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TestTokenPolicy(t *testing.T) {
	if p := TokenPolicy(); p.MinLength != 32 || p.MinBits != 128 {
		t.Fatalf("TokenPolicy() = %+v", p)
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name, in string
		reason   string // expected substring of the reason
	}{
		{"empty", "", "is empty; at least 32 characters are required"},
		{"31 random", randomFrom(t, alnum, 31), "is 31 characters; at least 32 are required"},
		{"one char", "x", "is 1 character; at least 32 are required"},
		{"a*40", strings.Repeat("a", 40), ": a repeated pattern"},
		{"digits*4", strings.Repeat("1234567890", 4), ": a repeated pattern"},
		{"alphabet", "abcdefghijklmnopqrstuvwxyzabcdefgh", ": a sequence such as 1234 or abcd"},
		{"descending", "zyxwvutsrqponmlkjihgfedcba9876543210", ": a sequence such as 1234 or abcd"},
		{"password*5", strings.Repeat("password", 5), ": a repeated pattern"},
		{"changeme*5", strings.Repeat("changeme", 5), ": a repeated pattern"},
		{"keyboard rows", "qwertyuiopasdfghjklzxcvbnmqwertyuiop", ": a keyboard pattern"},
		{"keyboard reversed", "poiuytrewqlkjhgfdsamnbvcxz0987654321", ": a keyboard pattern"},
		{"abc*", strings.Repeat("abc", 14)[:40], ": a repeated pattern"},
		{"words", "correcthorsebatterystaplecorrecthorse", ": common words"},
		{"capitalised words", "CorrectHorseBatteryStapleWardenGateway", ": common words"},
		{"l33t repeat", "Passw0rdPassw0rdPassw0rdPassw0rd", ": a repeated pattern"},
		{"01*20", strings.Repeat("01", 20), ": a repeated pattern"},
		{"runs", "aaaaaaaabbbbbbbbccccccccdddddddd", ": a repeated pattern"},
		{"repeated random", strings.Repeat("x7Qp", 10), ": a repeated pattern"},
		{"32 random digits", "80457193826610452937184620591738", "too few kinds of characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := TokenPolicy().Check(tt.in)
			var we *WeakError
			if !errors.As(err, &we) {
				t.Fatalf("Check(%q) = %v, want a *WeakError", tt.in, err)
			}
			if !strings.Contains(we.Reason, tt.reason) {
				t.Errorf("Check(%q) reason %q, want it to contain %q", tt.in, we.Reason, tt.reason)
			}
			if we.Error() != we.Reason {
				t.Errorf("Error() = %q, Reason = %q", we.Error(), we.Reason)
			}
			if we.Length != utf8.RuneCountInString(tt.in) || we.MinLength != 32 || we.MinBits != 128 {
				t.Errorf("WeakError fields %+v", we)
			}
			if we.Length >= 32 && we.Bits >= 128 {
				t.Errorf("rejected with %.1f bits and %d characters", we.Bits, we.Length)
			}
			if we.Length >= 32 && !strings.HasPrefix(we.Reason, fmt.Sprintf("is too predictable (about %d bits of entropy, at least 128 required): ", int(we.Bits))) {
				t.Errorf("reason %q", we.Reason)
			}
		})
	}
}

func acceptedTokens(t testing.TB) map[string]string {
	toks := map[string]string{
		"fixed hex 32":     "3f9c1e0b7a52d48e96c2f1a0b3d7e58c",
		"fixed hex 64":     "9b1f0c6e2d8a47f3b5e0c9d2a1f47e6b8c3d5a0f9e2b7c4d1a6f8e3b0c5d9a27",
		"fixed base64":     "q3J7vX9kT2mZ8pL1wR5nB0cY4hF6sD+G/aU2eK7iQ0o=",
		"fixed base64url":  "Xk2_pQ9vLr7ZtW4mN8yB1cF5hJ0sD-GaU3eK6iO2oTq",
		"fixed alnum":      "7hQ2mZx9Lp4Kc8Vw1Ns6Bd3Fg5Ty0RjE",
		"fixed uuid pair":  "0b6f3c1e-8d2a-4f7b-9c5e-1a2b3c4d5e6f" + "f47ac10b-58cc-4372-a567-0e02b2c3d479",
		"fixed age secret": "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSN2JX3K",
	}
	for i := range 10 {
		toks[fmt.Sprintf("hex16 #%d", i)] = hex.EncodeToString(randomBytes(t, 16))
		toks[fmt.Sprintf("hex32 #%d", i)] = hex.EncodeToString(randomBytes(t, 32))
		toks[fmt.Sprintf("base64url #%d", i)] = base64.RawURLEncoding.EncodeToString(randomBytes(t, 32))
		toks[fmt.Sprintf("base64 #%d", i)] = base64.StdEncoding.EncodeToString(randomBytes(t, 32))
		toks[fmt.Sprintf("alnum #%d", i)] = randomFrom(t, alnum, 32)
		toks[fmt.Sprintf("age #%d", i)] = "AGE-SECRET-KEY-1" + strings.ToUpper(randomFrom(t, bech32, 58))
		toks[fmt.Sprintf("age recipient #%d", i)] = "age1" + randomFrom(t, bech32, 58)
		toks[fmt.Sprintf("uuids #%d", i)] = uuidV4(t) + uuidV4(t)
		toks[fmt.Sprintf("uuid #%d", i)] = uuidV4(t)
	}
	return toks
}

func TestCheckAccepts(t *testing.T) {
	for name, tok := range acceptedTokens(t) {
		t.Run(name, func(t *testing.T) {
			if err := TokenPolicy().Check(tok); err != nil {
				t.Errorf("Check(%q) = %v; patterns %+v", tok, err, Estimate(tok).Patterns)
			}
		})
	}
}

// TestHexTokensKeepTheirMargin estimates many tokens shaped like the
// output of `openssl rand -hex 16` (exactly 128 bits): patterns that occur
// by chance must not pull a real token below the policy. The generator is
// seeded so that the test is deterministic; the assertion leaves a margin
// (in a run of millions, one token in a million estimates below 135 bits).
// All-digit draws (one in three million) are skipped: the random fallback
// prices them as 32 digits, 106 bits, by design.
func TestHexTokensKeepTheirMargin(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{'w', 'a', 'r', 'd', 'e', 'n'})
	n := 50000
	if testing.Short() {
		n = 5000
	}
	b := make([]byte, 16)
	lowest, lowTok := math.Inf(1), ""
	for range n {
		rng.Read(b)
		tok := hex.EncodeToString(b)
		if strings.Trim(tok, "0123456789") == "" {
			continue
		}
		if bits := Estimate(tok).Bits; bits < lowest {
			lowest, lowTok = bits, tok
		}
	}
	if lowest < 132 {
		t.Errorf("lowest estimate of %d hex tokens: %.1f bits for %s (%+v)", n, lowest, lowTok, Estimate(lowTok).Patterns)
	}
	t.Logf("lowest estimate of %d hex tokens: %.1f bits", n, lowest)
}

func TestCheckLengthFirst(t *testing.T) {
	// Weak and short: the length is reported.
	err := TokenPolicy().Check("aaaa")
	if err == nil || err.Error() != "is 4 characters; at least 32 are required" {
		t.Fatalf("got %v", err)
	}
	// Length counts runes, not bytes: 16 two-byte runes are 16 characters.
	err = TokenPolicy().Check(strings.Repeat("é", 16))
	if err == nil || !strings.HasPrefix(err.Error(), "is 16 characters;") {
		t.Fatalf("got %v", err)
	}
}

func TestCustomPolicy(t *testing.T) {
	tests := []struct {
		p    Policy
		in   string
		fail bool
	}{
		{Policy{}, "", false},
		{Policy{MinLength: 1}, "", true},
		{Policy{MinLength: 8, MinBits: 20}, "Zq8#rT2!", false},
		{Policy{MinLength: 8, MinBits: 20}, "aaaaaaaa", true},
		{Policy{MinLength: 4, MinBits: 0}, "aaaa", false},
	}
	for _, tt := range tests {
		if err := tt.p.Check(tt.in); (err != nil) != tt.fail {
			t.Errorf("%+v.Check(%q) = %v, want failure %v", tt.p, tt.in, err, tt.fail)
		}
	}
	if err := (Policy{MinLength: 1}).Check(""); err == nil || err.Error() != "is empty; at least 1 character is required" {
		t.Errorf("got %v", err)
	}
	if err := (Policy{MinLength: 4, MinBits: 99.5}).Check("aaaa"); err == nil ||
		err.Error() != "is too predictable (about 12 bits of entropy, at least 99.5 required): a repeated pattern" {
		t.Errorf("got %v", err)
	}
}

// TestReasonNeverContainsInput checks that no rejected input, nor any
// piece of it of six or more characters, shows up in the message.
func TestReasonNeverContainsInput(t *testing.T) {
	inputs := []string{
		strings.Repeat("a", 40), strings.Repeat("password", 5), strings.Repeat("changeme", 5),
		"qwertyuiopasdfghjklzxcvbnmqwertyuiop", "correcthorsebatterystaplecorrecthorse",
		"Passw0rdPassw0rdPassw0rdPassw0rd", "abcdefghijklmnopqrstuvwxyzabcdefgh", strings.Repeat("01", 20),
		"80457193826610452937184620591738", "secret", "token1234", "gateway-token", "hunter2hunter2",
		randomFrom(t, alnum, 20), randomFrom(t, alnum, 31), strings.Repeat("Zq8#", 9),
	}
	for _, in := range inputs {
		err := TokenPolicy().Check(in)
		if err == nil {
			t.Fatalf("Check(%q) = nil", in)
		}
		msg := err.Error()
		for i := 0; i+6 <= len(in); i++ {
			if strings.Contains(msg, in[i:i+6]) {
				t.Errorf("reason %q contains %q from the input %q", msg, in[i:i+6], in)
				break
			}
		}
	}
}
