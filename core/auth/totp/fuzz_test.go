package totp

import (
	"strings"
	"testing"
	"time"
)

func FuzzMatch(f *testing.F) {
	f.Add([]byte(seedSHA1), "287082", int64(59), 1)
	f.Add([]byte(seedSHA1), " 287 082 ", int64(1111111109), 0)
	f.Add([]byte{}, "", int64(0), -5)
	f.Add([]byte{0}, "１２３４５６", int64(-1), 3)
	f.Add([]byte("k"), "12345\xff", int64(1<<40), 2)
	f.Fuzz(func(t *testing.T, secret []byte, code string, unix int64, skew int) {
		skew %= 8 // keep the window small enough to stay fast
		now := time.Unix(unix, 0)
		step, ok := Match(secret, code, now, skew)
		if !ok {
			if step != 0 {
				t.Fatalf("no match but step %d", step)
			}
			return
		}
		d := step - Step(now)
		if d < -int64(max(skew, 0)) || d > int64(max(skew, 0)) {
			t.Fatalf("matched step %d is outside now±%d", d, skew)
		}
		clean := strings.Join(strings.Fields(code), "")
		if clean != Code(secret, step) {
			t.Fatalf("matched %q (%q) but the code for step %d is %s", code, clean, step, Code(secret, step))
		}
	})
}

func FuzzNormalizeRecoveryCode(f *testing.F) {
	f.Add("7K3M-Q9TZ-0D4R-WX8E-5HBN-2GCA")
	f.Add("7k3m q9tz od4r wx8e 5hbn 2gcl")
	f.Add("")
	f.Add("ıııı-ſſſſ-ＡＡＡＡ")
	f.Add("\xff\xfe-----")
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeRecoveryCode(s)
		if n == "" {
			return
		}
		if len(n) != RecoveryBits/5 {
			t.Fatalf("NormalizeRecoveryCode(%q) = %q has %d characters", s, n, len(n))
		}
		for i := 0; i < len(n); i++ {
			if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", rune(n[i])) {
				t.Fatalf("NormalizeRecoveryCode(%q) = %q contains %q", s, n, n[i])
			}
		}
		if again := NormalizeRecoveryCode(n); again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
		if len(HashRecoveryCode(n)) != 32 {
			t.Fatal("hash is not 32 bytes")
		}
	})
}

func FuzzDecodeSecret(f *testing.F) {
	f.Add("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	f.Add("gezd gnbv gy======")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		secret, err := DecodeSecret(s)
		if err != nil {
			return
		}
		if len(secret) == 0 {
			t.Fatalf("DecodeSecret(%q) returned an empty secret", s)
		}
		again, err := DecodeSecret(EncodeSecret(secret))
		if err != nil || string(again) != string(secret) {
			t.Fatalf("round trip of %x: %x, %v", secret, again, err)
		}
	})
}
