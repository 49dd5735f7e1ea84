package totp

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B seeds: the ASCII string "1234567890" repeated to the
// hash's recommended key length.
const (
	seedSHA1   = "12345678901234567890"
	seedSHA256 = "12345678901234567890123456789012"
	seedSHA512 = "1234567890123456789012345678901234567890123456789012345678901234"
)

func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte(seedSHA1),
		"SHA256": []byte(seedSHA256),
		"SHA512": []byte(seedSHA512),
	}
	// RFC 6238 Appendix B, the full table.
	vectors := []struct {
		unix int64
		step int64
		hash string
		code string
	}{
		{59, 0x1, "SHA1", "94287082"},
		{59, 0x1, "SHA256", "46119246"},
		{59, 0x1, "SHA512", "90693936"},
		{1111111109, 0x23523EC, "SHA1", "07081804"},
		{1111111109, 0x23523EC, "SHA256", "68084774"},
		{1111111109, 0x23523EC, "SHA512", "25091201"},
		{1111111111, 0x23523ED, "SHA1", "14050471"},
		{1111111111, 0x23523ED, "SHA256", "67062674"},
		{1111111111, 0x23523ED, "SHA512", "99943326"},
		{1234567890, 0x273EF07, "SHA1", "89005924"},
		{1234567890, 0x273EF07, "SHA256", "91819424"},
		{1234567890, 0x273EF07, "SHA512", "93441116"},
		{2000000000, 0x3F940AA, "SHA1", "69279037"},
		{2000000000, 0x3F940AA, "SHA256", "90698825"},
		{2000000000, 0x3F940AA, "SHA512", "38618901"},
		{20000000000, 0x27BC86AA, "SHA1", "65353130"},
		{20000000000, 0x27BC86AA, "SHA256", "77737706"},
		{20000000000, 0x27BC86AA, "SHA512", "47863826"},
	}
	for _, v := range vectors {
		step := Step(time.Unix(v.unix, 0).UTC())
		if step != v.step {
			t.Errorf("Step(%d) = %#x, want %#x", v.unix, step, v.step)
		}
		got, err := CodeWith(seeds[v.hash], step, 8, v.hash)
		if err != nil {
			t.Fatalf("CodeWith(%s, %d): %v", v.hash, step, err)
		}
		if got != v.code {
			t.Errorf("%s at %d: got %s, want %s", v.hash, v.unix, got, v.code)
		}
		if v.hash == "SHA1" {
			// Code is the 6-digit SHA-1 form: the last 6 digits of the 8-digit one.
			if c := Code(seeds["SHA1"], step); c != v.code[2:] {
				t.Errorf("Code at %d = %s, want %s", v.unix, c, v.code[2:])
			}
		}
	}
}

func TestRFC4226Vectors(t *testing.T) {
	// RFC 4226 Appendix D: HOTP values for counters 0..9.
	want := []string{
		"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489",
	}
	for counter, w := range want {
		if got := Code([]byte(seedSHA1), int64(counter)); got != w {
			t.Errorf("Code(counter %d) = %s, want %s", counter, got, w)
		}
		got, err := CodeWith([]byte(seedSHA1), int64(counter), 6, "SHA1")
		if err != nil || got != w {
			t.Errorf("CodeWith(counter %d) = %q, %v, want %s", counter, got, err, w)
		}
	}
}

func TestCodeWithDigitsAndErrors(t *testing.T) {
	secret := []byte(seedSHA1)
	// RFC 4226 Appendix D lists the truncated 31-bit values; counter 0 gives
	// 1284755224, so 10 digits show it whole and shorter codes are suffixes.
	full, err := CodeWith(secret, 0, 10, "SHA1")
	if err != nil || full != "1284755224" {
		t.Fatalf("10 digits = %q, %v, want 1284755224", full, err)
	}
	for d := 6; d <= 10; d++ {
		got, err := CodeWith(secret, 0, d, "SHA1")
		if err != nil || got != full[10-d:] {
			t.Errorf("%d digits = %q, %v, want %q", d, got, err, full[10-d:])
		}
	}
	// Zero padding: counter 1 truncates to 1094287082, so 9 digits keep
	// a leading zero.
	if got, _ := CodeWith(secret, 1, 9, "SHA1"); got != "094287082" {
		t.Errorf("9 digits for counter 1 = %q, want 094287082", got)
	}
	for _, d := range []int{-1, 0, 5, 11} {
		if _, err := CodeWith(secret, 0, d, "SHA1"); err == nil {
			t.Errorf("CodeWith(digits %d): no error", d)
		}
	}
	for _, h := range []string{"", "MD5", "sha1", "SHA-1", "SHA384"} {
		if _, err := CodeWith(secret, 0, 6, h); err == nil {
			t.Errorf("CodeWith(hash %q): no error", h)
		}
	}
}

func TestStep(t *testing.T) {
	cases := []struct {
		unix int64
		want int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2},
		{-1, -1}, {-30, -1}, {-31, -2},
	}
	for _, c := range cases {
		if got := Step(time.Unix(c.unix, 999_999_999)); got != c.want {
			t.Errorf("Step(%d.999999999) = %d, want %d", c.unix, got, c.want)
		}
	}
	// The location does not matter, only the instant.
	ts := time.Unix(1234567890, 0)
	if Step(ts.In(time.FixedZone("x", 5*3600+1800))) != Step(ts.UTC()) {
		t.Error("Step depends on the time zone")
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != SecretSize || len(b) != SecretSize {
		t.Fatalf("lengths %d, %d, want %d", len(a), len(b), SecretSize)
	}
	if bytes.Equal(a, b) {
		t.Error("two secrets are equal")
	}
	if bytes.Equal(a, make([]byte, SecretSize)) {
		t.Error("secret is all zero")
	}
}

// matchFixture is a secret and a time whose codes for the five steps around
// it are pairwise distinct (checked by the tests), so a match identifies
// the step.
func matchFixture(t testing.TB) (secret []byte, now time.Time, codes map[int64]string) {
	t.Helper()
	secret = []byte(seedSHA1)
	now = time.Unix(1700000015, 0) // the middle of a step
	codes = make(map[int64]string)
	seen := make(map[string]bool)
	for d := int64(-2); d <= 2; d++ {
		s := Step(now) + d
		c := Code(secret, s)
		if seen[c] {
			t.Fatalf("fixture codes collide at step %d", s)
		}
		seen[c] = true
		codes[s] = c
	}
	return secret, now, codes
}

func TestMatchWindow(t *testing.T) {
	secret, now, codes := matchFixture(t)
	cur := Step(now)
	for d := int64(-2); d <= 2; d++ {
		s := cur + d
		for skew := 0; skew <= 2; skew++ {
			step, ok := Match(secret, codes[s], now, skew)
			wantOK := d >= -int64(skew) && d <= int64(skew)
			if ok != wantOK {
				t.Errorf("step now%+d, skew %d: ok = %v, want %v", d, skew, ok, wantOK)
				continue
			}
			if ok && step != s {
				t.Errorf("step now%+d, skew %d: matched step %d, want %d", d, skew, step, s)
			}
			if !ok && step != 0 {
				t.Errorf("step now%+d, skew %d: no match but step %d", d, skew, step)
			}
		}
	}
	// A negative skew counts as 0.
	if _, ok := Match(secret, codes[cur], now, -1); !ok {
		t.Error("skew -1 rejects the current code")
	}
	if _, ok := Match(secret, codes[cur-1], now, -1); ok {
		t.Error("skew -1 accepts the previous code")
	}
	// The edges of the current step.
	start := time.Unix(cur*Period, 0)
	end := time.Unix(cur*Period+Period-1, 999_999_999)
	for _, at := range []time.Time{start, end} {
		if step, ok := Match(secret, codes[cur], at, 0); !ok || step != cur {
			t.Errorf("at %v: Match = %d, %v, want %d, true", at, step, ok, cur)
		}
	}
	if _, ok := Match(secret, codes[cur], end.Add(time.Nanosecond), 0); ok {
		t.Error("code accepted after its step with skew 0")
	}
}

func TestMatchNormalisation(t *testing.T) {
	secret, now, codes := matchFixture(t)
	cur := Step(now)
	code := codes[cur]
	accepted := []string{
		code,
		code[:3] + " " + code[3:],
		" " + code + " ",
		"\t" + code[:2] + " " + code[2:4] + " " + code[4:] + "\n",
		code[:3] + "\u00a0" + code[3:], // no-break space from a copy-paste
	}
	for _, in := range accepted {
		if step, ok := Match(secret, in, now, 1); !ok || step != cur {
			t.Errorf("Match(%q) = %d, %v, want %d, true", in, step, ok, cur)
		}
	}

	long, err := CodeWith(secret, cur, 8, "SHA1") // ends with code
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(long, code) {
		t.Fatalf("8-digit code %s does not end with %s", long, code)
	}
	fullwidth := strings.Map(func(r rune) rune { return r - '0' + '０' }, code)
	arabic := strings.Map(func(r rune) rune { return r - '0' + '٠' }, code)
	rejected := []string{
		"",
		" ",
		code[:5],
		code + "0",
		"0" + code,
		long,
		code[:5] + "a",
		"a" + code[1:],
		strings.ToUpper("abcdef"),
		code[:3] + "-" + code[3:],
		code[:3] + "." + code[3:],
		"+" + code[1:],
		"-" + code[1:],
		fullwidth,
		arabic,
		code[:5] + "\xff",
		code[:5] + "\x00",
		code + "\x00",
	}
	for _, in := range rejected {
		if step, ok := Match(secret, in, now, 1); ok || step != 0 {
			t.Errorf("Match(%q) = %d, %v, want 0, false", in, step, ok)
		}
	}

	// A wrong secret or an empty one never matches.
	if _, ok := Match([]byte("another secret......"), code, now, 1); ok {
		t.Error("code accepted with another secret")
	}
	if _, ok := Match(nil, Code(nil, cur), now, 1); ok {
		t.Error("empty secret accepted")
	}
}

func TestMatchPrefersNearestStep(t *testing.T) {
	// Secrets (found by search) whose code repeats within ±2 steps of now:
	// Match must return the nearest matching step, the earlier on a tie.
	now := time.Unix(1700000015, 0)
	cur := Step(now)
	cases := []struct {
		i          int   // secret index, see secret below
		a, b, want int64 // the repeating steps relative to now, and the expected one
	}{
		{874374, -1, 1, -1},
		{1021278, -2, 2, -2},
		{308504, 0, 1, 0},
		{583480, -1, 0, 0},
		{1538057, 0, 2, 0},
		{463998, -1, 2, -1},
		{200460, -2, 1, 1},
	}
	for _, c := range cases {
		secret := []byte{byte(c.i), byte(c.i >> 8), byte(c.i >> 16), 1, 2, 3, 4, 5, 6, 7}
		code := Code(secret, cur+c.a)
		if Code(secret, cur+c.b) != code {
			t.Fatalf("secret %d: codes at now%+d and now%+d differ", c.i, c.a, c.b)
		}
		step, ok := Match(secret, code, now, 2)
		if !ok || step != cur+c.want {
			t.Errorf("secret %d: Match = now%+d, %v, want now%+d", c.i, step-cur, ok, c.want)
		}
		// With a window that holds only one of them, that one is returned.
		if step, ok := Match(secret, code, time.Unix((cur+c.b)*Period, 0), 0); !ok || step != cur+c.b {
			t.Errorf("secret %d: skew 0 at now%+d: Match = now%+d, %v", c.i, c.b, step-cur, ok)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	secret, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1700000015, 0)
	code := Code(secret, Step(now)+1)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Match(secret, code, now, 1); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkCode(b *testing.B) {
	secret, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := int64(0); b.Loop(); i++ {
		_ = Code(secret, i)
	}
}
