package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// lowParams keeps tests fast. It is the only cost knob and lives in tests:
// production code receives its parameters from the caller.
var lowParams = Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestDefault(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := Default(); got != want {
		t.Fatalf("Default() = %+v, want %+v", got, want)
	}
	if err := Default().validate(); err != nil {
		t.Fatalf("Default() invalid: %v", err)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(lowParams, 0)
	const pw = "correct horse battery staple, but longer"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("unexpected PHC string %q", enc)
	}
	if strings.Contains(enc, "=$") || strings.HasSuffix(enc, "=") {
		t.Fatalf("PHC string has base64 padding: %q", enc)
	}
	p, salt, key, err := decode(enc)
	if err != nil {
		t.Fatalf("decode own hash: %v", err)
	}
	if p != lowParams || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("decoded %+v salt %d key %d", p, len(salt), len(key))
	}

	ok, rehash, err := h.Verify(ctx, pw, enc)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	for _, wrong := range []string{"", pw + " ", strings.ToUpper(pw), pw[:len(pw)-1]} {
		ok, rehash, err := h.Verify(ctx, wrong, enc)
		if err != nil || ok || rehash {
			t.Fatalf("Verify(wrong %q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
}

func TestHashesDiffer(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(lowParams, 0)
	a, err := h.Hash(ctx, "same password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(ctx, "same password")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal: %q", a)
	}
	sa := strings.Split(a, "$")[4]
	sb := strings.Split(b, "$")[4]
	if sa == sb {
		t.Fatalf("salts are equal: %q", sa)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := t.Context()
	const pw = "a passphrase made with yesterday's parameters"
	old, err := NewHasher(lowParams, 0).Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	cur := NewHasher(Default(), 0)
	ok, rehash, err := cur.Verify(ctx, pw, old)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(old params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	// A failed login never asks for a rehash.
	ok, rehash, err = cur.Verify(ctx, "wrong", old)
	if err != nil || ok || rehash {
		t.Fatalf("Verify(old params, wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
	// Any differing parameter counts, not just memory.
	for _, p := range []Params{
		{Memory: 8192, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		_, rehash, err := NewHasher(p, 0).Verify(ctx, pw, old)
		if err != nil || !rehash {
			t.Errorf("Verify with %+v: rehash = %v, err = %v; want true, nil", p, rehash, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(lowParams, 1)
	good, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	salt, key := f[4], f[5]
	with := func(params string) string {
		return "$argon2id$v=19$" + params + "$" + salt + "$" + key
	}
	cases := map[string]string{
		"empty":             "",
		"garbage":           "not a hash",
		"no leading dollar": strings.TrimPrefix(good, "$"),
		"trailing dollar":   good + "$",
		"argon2i":           "$argon2i$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"argon2d":           "$argon2d$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"uppercase alg":     "$ARGON2ID$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"bcrypt":            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"version 16":        "$argon2id$v=16$m=8192,t=1,p=1$" + salt + "$" + key,
		"version 019":       "$argon2id$v=019$m=8192,t=1,p=1$" + salt + "$" + key,
		"version missing":   "$argon2id$m=8192,t=1,p=1$" + salt + "$" + key,
		"version empty":     "$argon2id$v=$m=8192,t=1,p=1$" + salt + "$" + key,
		"params missing":    "$argon2id$v=19$" + salt + "$" + key,
		"salt missing":      "$argon2id$v=19$m=8192,t=1,p=1$" + key,
		"hash empty":        "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$",
		"salt empty":        "$argon2id$v=19$m=8192,t=1,p=1$$" + key,
		"p missing":         with("m=8192,t=1"),
		"extra param":       with("m=8192,t=1,p=1,keyid=x"),
		"wrong order":       with("t=1,m=8192,p=1"),
		"spaces":            with("m=8192, t=1, p=1"),
		"plus sign":         with("m=+8192,t=1,p=1"),
		"negative":          with("m=-8192,t=1,p=1"),
		"leading zero":      with("m=08192,t=1,p=1"),
		"hex":               with("m=0x2000,t=1,p=1"),
		"m=0":               with("m=0,t=1,p=1"),
		"m below 8p":        with("m=15,t=1,p=2"),
		"m above 1 GiB":     with("m=1048577,t=1,p=1"),
		"m above 4 GiB":     with("m=4294967296,t=1,p=1"),
		"m huge":            with("m=99999999999999999999999,t=1,p=1"),
		"t=0":               with("m=8192,t=0,p=1"),
		"t absurd":          with("m=8192,t=4294967295,p=1"),
		"p=0":               with("m=8192,t=1,p=0"),
		"p=256":             with("m=8192,t=1,p=256"),
		"p=257":             with("m=8192,t=1,p=257"),
		"bad base64 salt":   "$argon2id$v=19$m=8192,t=1,p=1$!!!!$" + key,
		"bad base64 hash":   "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "*",
		"padded hash":       "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "=",
		"url alphabet":      "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + strings.NewReplacer("+", "-", "/", "_").Replace(key) + "-_",
		"newline in hash":   "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:8] + "\n" + key[8:],
		"non-canonical b64": "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "B",
		"short salt":        "$argon2id$v=19$m=8192,t=1,p=1$AAAAAAAAAA$" + key,
		"short hash":        "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$AAAAAAAAAAAAAAAAAAAA", // 15 bytes
		"long hash":         "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + strings.Repeat("A", 1<<20),
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, "pw", enc)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) err = %v; want ErrMalformed", enc, err)
			}
			if ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v with error", enc, ok, rehash)
			}
		})
	}
	if h.MaxInFlight() != 1 {
		t.Fatalf("MaxInFlight = %d; malformed hashes must not run argon2id", h.MaxInFlight())
	}
}

func TestInvalidHasherParams(t *testing.T) {
	ctx := t.Context()
	for _, p := range []Params{
		{},
		{Memory: 8192, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 4},
	} {
		h := NewHasher(p, 1)
		if _, err := h.Hash(ctx, "pw"); err == nil {
			t.Errorf("Hash with %+v: no error", p)
		}
		if err := h.VerifyDummy(ctx, "pw"); err == nil {
			t.Errorf("VerifyDummy with %+v: no error", p)
		}
	}
}

func TestVerifyDummy(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(lowParams, 1)
	if err := h.VerifyDummy(ctx, "anything"); err != nil {
		t.Fatal(err)
	}
	first := h.dummy
	if _, _, _, err := decode(first); err != nil {
		t.Fatalf("dummy hash malformed: %v", err)
	}
	if err := h.VerifyDummy(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if h.dummy != first {
		t.Fatal("dummy hash recomputed")
	}
	if other := NewHasher(lowParams, 1); other.VerifyDummy(ctx, "x") != nil || other.dummy == first {
		t.Fatal("dummy hash shared between Hashers")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.VerifyDummy(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("VerifyDummy(cancelled) = %v; want context.Canceled", err)
	}
}

// TestVerifyDummyCost checks that VerifyDummy does the work of a failing
// Verify: exactly one derivation, with the Hasher's own parameters, through
// the same path. The equal wall-clock cost follows from that and is shown
// by BenchmarkVerifyWrong against BenchmarkVerifyDummy.
func TestVerifyDummyCost(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(lowParams, 1)
	before := h.Derivations()
	if err := h.VerifyDummy(ctx, "a wrong guess"); err != nil {
		t.Fatal(err)
	}
	if got := h.Derivations() - before; got != 1 {
		t.Fatalf("VerifyDummy ran %d derivations; want 1", got)
	}
	p, _, _, err := decode(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash does not parse: %v", err)
	}
	if p != lowParams {
		t.Fatalf("dummy hash params %+v; want the hasher's %+v", p, lowParams)
	}
	enc, err := h.Hash(ctx, "the real password of a real user")
	if err != nil {
		t.Fatal(err)
	}
	before = h.Derivations()
	if ok, _, err := h.Verify(ctx, "a wrong guess", enc); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	if got := h.Derivations() - before; got != 1 {
		t.Fatalf("failing Verify ran %d derivations; want 1", got)
	}
}

func BenchmarkVerifyWrong(b *testing.B) {
	h := NewHasher(lowParams, 1)
	enc, err := h.Hash(b.Context(), "the real password of a real user")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "a wrong guess", enc); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := NewHasher(lowParams, 1)
	for b.Loop() {
		if err := h.VerifyDummy(b.Context(), "a wrong guess"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestConcurrencyCap(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(lowParams, 2)
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = h.Hash(ctx, "flood")
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Hash %d: %v", i, err)
		}
	}
	if got := h.MaxInFlight(); got != 2 {
		t.Fatalf("MaxInFlight = %d; want 2", got)
	}
	if got := h.InFlight(); got != 0 {
		t.Fatalf("InFlight after all done = %d; want 0", got)
	}
}

func TestHashWaitsForSlot(t *testing.T) {
	h := NewHasher(lowParams, 1)
	h.sem <- struct{}{} // occupy the only slot, as a long hash would
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Hash(ctx, "waiting")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with full slots = %v; want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Fatalf("Hash returned after %v, before its deadline", el)
	}
	if _, _, err := h.Verify(ctx, "waiting", "$argon2id$v=19$m=8192,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with full slots = %v; want context.DeadlineExceeded", err)
	}
	if h.MaxInFlight() != 0 {
		t.Fatal("a hash ran without a slot")
	}
	<-h.sem
	if _, err := h.Hash(t.Context(), "now there is room"); err != nil {
		t.Fatalf("Hash after slot freed: %v", err)
	}
}

func TestHashCancelledNeverRuns(t *testing.T) {
	h := NewHasher(lowParams, 4) // free slots: the ended ctx must still win
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 20 {
		if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Hash(cancelled) = %v; want context.Canceled", err)
		}
	}
	if h.MaxInFlight() != 0 {
		t.Fatal("a hash ran with an ended context")
	}
}

func BenchmarkHashDefault(b *testing.B) {
	p := Default()
	h := NewHasher(p, 1)
	ctx := b.Context()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple, a passphrase"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Memory)/1024, "MiB/hash")
}
