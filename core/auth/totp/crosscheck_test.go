package totp

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"
)

// TestCrossCheckPquerna compares Code and CodeWith with an independent
// implementation, github.com/pquerna/otp, for random secrets and times.
func TestCrossCheckPquerna(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x7070))
	algs := []struct {
		name string
		alg  otp.Algorithm
	}{
		{"SHA1", otp.AlgorithmSHA1},
		{"SHA256", otp.AlgorithmSHA256},
		{"SHA512", otp.AlgorithmSHA512},
	}
	for i := range 100 {
		// Half the secrets have Warden's size, the others 1 to 64 bytes.
		n := SecretSize
		if i%2 == 1 {
			n = 1 + rng.IntN(64)
		}
		secret := make([]byte, n)
		for j := range secret {
			secret[j] = byte(rng.Uint32())
		}
		at := time.Unix(rng.Int64N(1<<34), int64(rng.IntN(1e9)))

		want, err := pqtotp.GenerateCodeCustom(EncodeSecret(secret), at, pqtotp.ValidateOpts{
			Period:    Period,
			Digits:    otp.DigitsSix,
			Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := Code(secret, Step(at)); got != want {
			t.Errorf("secret %x at %d: Code = %s, pquerna/otp = %s", secret, at.Unix(), got, want)
		}
		if step, ok := Match(secret, want, at, 0); !ok || step != Step(at) {
			t.Errorf("secret %x at %d: Match(pquerna's code) = %d, %v", secret, at.Unix(), step, ok)
		}

		a := algs[i%len(algs)]
		want8, err := pqtotp.GenerateCodeCustom(EncodeSecret(secret), at, pqtotp.ValidateOpts{
			Period:    Period,
			Digits:    otp.DigitsEight,
			Algorithm: a.alg,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := CodeWith(secret, Step(at), 8, a.name); err != nil || got != want8 {
			t.Errorf("secret %x at %d: CodeWith(8, %s) = %s, %v, pquerna/otp = %s", secret, at.Unix(), a.name, got, err, want8)
		}
	}
}
