package totp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodes || RecoveryCodes != 10 {
		t.Fatalf("%d codes, want 10", len(codes))
	}
	seen := make(map[string]bool)
	for _, c := range codes {
		groups := strings.Split(c, "-")
		chars := 0
		for _, g := range groups {
			if len(g) != 4 {
				t.Errorf("code %s: group %q is not 4 characters", c, g)
			}
			for _, r := range g {
				if !('0' <= r && r <= '9' || 'A' <= r && r <= 'Z') || strings.ContainsRune("ILOU", r) {
					t.Errorf("code %s: character %q outside the alphabet", c, r)
				}
			}
			chars += len(g)
		}
		if bits := chars * 5; bits < 112 || bits != RecoveryBits {
			t.Errorf("code %s carries %d bits, want %d (>= 112)", c, bits, RecoveryBits)
		}
		if seen[c] {
			t.Errorf("duplicate code %s", c)
		}
		seen[c] = true
		n := NormalizeRecoveryCode(c)
		if n != strings.ReplaceAll(c, "-", "") {
			t.Errorf("NormalizeRecoveryCode(%s) = %q", c, n)
		}
	}
	// Across many codes every alphabet character shows up, and no others.
	used := make(map[rune]int)
	for range 20 {
		more, err := NewRecoveryCodes()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range more {
			for _, r := range strings.ReplaceAll(c, "-", "") {
				used[r]++
			}
		}
	}
	if len(used) != 32 {
		t.Errorf("%d distinct characters in 200 codes, want 32: %v", len(used), used)
	}
}

func TestFormatRecoveryCode(t *testing.T) {
	cases := []struct{ raw, want string }{
		{"000000000000000000000000000000", "0000-0000-0000-0000-0000-0000"},
		{"ffffffffffffffffffffffffffffff", "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"},
		// The values 0..23 in consecutive 5-bit groups.
		{"00443214c74254b635cf84653a56d7", "0123-4567-89AB-CDEF-GHJK-MNPQ"},
	}
	for _, c := range cases {
		raw, err := hex.DecodeString(c.raw)
		if err != nil || len(raw) != RecoveryBits/8 {
			t.Fatalf("bad fixture %s", c.raw)
		}
		if got := formatRecoveryCode(raw); got != c.want {
			t.Errorf("formatRecoveryCode(%s) = %s, want %s", c.raw, got, c.want)
		}
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	const canon = "7K3MQ9TZ0D4RWX8E5HBN2GCA"
	accepted := []string{
		canon,
		"7K3M-Q9TZ-0D4R-WX8E-5HBN-2GCA",
		"7k3m-q9tz-0d4r-wx8e-5hbn-2gca",
		"7K3M Q9TZ 0D4R WX8E 5HBN 2GCA",
		" 7k3m q9tz-0d4r wx8e--5hbn 2gca\n",
		"7K3MQ9TZOD4RWX8E5HBN2GCA", // O for 0
		"7K3MQ9TZoD4RWX8E5HBN2GCA", // o for 0
	}
	for _, in := range accepted {
		if got := NormalizeRecoveryCode(in); got != canon {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, want %q", in, got, canon)
		}
	}
	// I, i, L and l all mean 1.
	for _, one := range []string{"1", "I", "i", "L", "l"} {
		in := "1111-" + one + "111-1111-1111-1111-1111"
		if got := NormalizeRecoveryCode(in); got != strings.Repeat("1", 24) {
			t.Errorf("NormalizeRecoveryCode(%q) = %q", in, got)
		}
	}
	garbage := []string{
		"",
		"-",
		"    ",
		canon[:23],
		canon + "0",
		canon[:23] + "U",
		canon[:23] + "u",
		canon[:23] + "!",
		canon[:23] + "_",
		canon[:23] + "ı", // dotless i, upper-cases to I in Unicode
		canon[:23] + "ſ", // long s, upper-cases to S in Unicode
		canon[:23] + "Ａ", // fullwidth A
		canon[:23] + "\xff",
		canon[:23] + "\x00",
		"not a recovery code at all",
		strings.Repeat("0", 1000),
	}
	for _, in := range garbage {
		if got := NormalizeRecoveryCode(in); got != "" {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, want \"\"", in, got)
		}
	}
}

func TestHashRecoveryCode(t *testing.T) {
	const canon = "7K3MQ9TZ0D4RWX8E5HBN2GCA"
	h := HashRecoveryCode(canon)
	if len(h) != 32 {
		t.Fatalf("hash is %d bytes, want 32", len(h))
	}
	// SHA-256 of the ASCII string (computed independently with sha256sum).
	want := "9cd765875b5a61d1ba4105d755aaf72cc9de0774ae09403e1bb05327bc885a97"
	if got := hex.EncodeToString(h); got != want {
		t.Errorf("HashRecoveryCode(%s) = %s, want %s", canon, got, want)
	}
	if !bytes.Equal(HashRecoveryCode(canon), h) {
		t.Error("hash is not stable")
	}
	if bytes.Equal(HashRecoveryCode("7K3MQ9TZ0D4RWX8E5HBN2GCB"), h) {
		t.Error("different codes hash the same")
	}
	// A loosely typed code hashes like the canonical one once normalised.
	if !bytes.Equal(HashRecoveryCode(NormalizeRecoveryCode("7k3m-q9tz-od4r-wx8e-5hbn-2gca")), h) {
		t.Error("normalised code hashes differently")
	}
}
