package password

import (
	"errors"
	"testing"
)

// FuzzVerifyMalformed feeds arbitrary encoded strings to Verify: it must
// never panic, and must either verify or fail with ErrMalformed. Inputs
// that parse to costly parameters are only parsed, not hashed, to keep the
// fuzzer fast; the parser is what faces untrusted bytes.
func FuzzVerifyMalformed(f *testing.F) {
	h := NewHasher(lowParams, 1)
	good, err := h.Hash(f.Context(), "seed")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good,
		"",
		"$",
		"$$$$$",
		"$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=1048576,t=64,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2i$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, enc string) {
		p, _, _, err := decode(enc)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode(%q) = %v; want ErrMalformed", enc, err)
			}
		} else if p.Memory > 64*1024 || p.Time > 4 {
			return
		}
		_, _, err = h.Verify(t.Context(), "seed", enc)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify(%q) = %v; want nil or ErrMalformed", enc, err)
		}
	})
}
