package strength

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEstimatePatterns(t *testing.T) {
	tests := []struct {
		in    string
		kinds []string
	}{
		{"", nil},
		{strings.Repeat("a", 40), []string{"repeat"}},
		{strings.Repeat("password", 5), []string{"repeat"}},
		{"abcdefghijklmnopqrstuvwxyz", []string{"sequence"}},
		{"97531", []string{"sequence"}},
		{"qwertyuiop", []string{"keyboard"}},
		{"LKJHGFDSA", []string{"keyboard"}},
		{"correcthorse", []string{"dictionary", "dictionary"}},
		{"P@SSW0RD", []string{"dictionary"}},
		{"x9#Kq", []string{"random"}},
		{"x9#Kqpassword", []string{"random", "dictionary"}},
		{"Zq8#rT2!aaaaaaaaaa", []string{"random", "repeat"}},
	}
	for _, tt := range tests {
		r := Estimate(tt.in)
		var kinds []string
		for _, p := range r.Patterns {
			kinds = append(kinds, p.Kind)
		}
		if strings.Join(kinds, ",") != strings.Join(tt.kinds, ",") {
			t.Errorf("Estimate(%q) patterns %+v, want kinds %v", tt.in, r.Patterns, tt.kinds)
		}
	}
}

func TestEstimateBits(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi float64
	}{
		{"", 0, 0},
		{"a", math.Log2(26), math.Log2(26)},
		{strings.Repeat("a", 40), 10, 20},
		{strings.Repeat("password", 5), 15, 30},
		{"3f9c1e0b7a52d48e96c2f1a0b3d7e58c", 150, 166},
		// A random unit repeated costs its unit plus one bit and the pattern cost.
		{strings.Repeat("3f9c1e0b7a52d48e96c2f1a0b3d7e58c", 2), 150, 175},
	}
	for _, tt := range tests {
		if b := Estimate(tt.in).Bits; b < tt.lo-1e-9 || b > tt.hi+1e-9 {
			t.Errorf("Estimate(%q).Bits = %.2f, want %.0f..%.0f", tt.in, b, tt.lo, tt.hi)
		}
	}
	// Patterns make a token cheaper than random characters of its length.
	if a, b := Estimate("x9#Kq"+strings.Repeat("ab", 10)).Bits, Estimate("x9#Kq"+"Zq8#rT2!bN5vL0pY3mW7").Bits; a >= b {
		t.Errorf("repeat %.1f bits, random %.1f bits", a, b)
	}
}

func TestEstimateCapsInput(t *testing.T) {
	long := strings.Repeat("x7Qp", 2000) // 8000 runes
	r := Estimate(long)
	if got := joinTokens(r.Patterns); got != long[:maxRunes] {
		t.Fatalf("patterns cover %d bytes, want the first %d", len(got), maxRunes)
	}
	if Estimate(long).Bits != Estimate(long[:maxRunes]).Bits {
		t.Fatal("characters past the cap changed the estimate")
	}
}

func TestDictionaryList(t *testing.T) {
	ws := strings.Fields(words)
	if len(ws) < 300 || len(ws) > 600 {
		t.Errorf("%d words, want 300..600", len(ws))
	}
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w] {
			t.Errorf("duplicate word %q", w)
		}
		seen[w] = true
		if len(w) < minWord || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Errorf("bad word %q", w)
		}
	}
	if d := dictionary(); d.count != len(ws) || d.bits < 9 || d.bits > 12 {
		t.Errorf("dictionary of %d words, %.1f bits a word", d.count, d.bits)
	}
}

func joinTokens(ps []Pattern) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Token)
	}
	return b.String()
}

// capped returns the prefix of s that Estimate looks at.
func capped(s string) string {
	n := 0
	for i := range s {
		if n == maxRunes {
			return s[:i]
		}
		n++
	}
	return s
}

func checkEstimate(t *testing.T, s string) {
	t.Helper()
	r := Estimate(s)
	if r.Bits < 0 || math.IsNaN(r.Bits) || math.IsInf(r.Bits, 0) {
		t.Fatalf("Estimate(%q).Bits = %v", s, r.Bits)
	}
	if got, want := joinTokens(r.Patterns), capped(s); got != want {
		t.Fatalf("Estimate(%q) tokens join to %q", s, got)
	}
	sum := 0.0
	for _, p := range r.Patterns {
		if p.Token == "" || p.Bits < 0 {
			t.Fatalf("Estimate(%q): bad pattern %+v", s, p)
		}
		sum += p.Bits
	}
	if math.Abs(sum-r.Bits) > 1e-6*max(1, r.Bits) {
		t.Fatalf("Estimate(%q): patterns sum to %v, Bits %v", s, sum, r.Bits)
	}
	if n := utf8.RuneCountInString(capped(s)); r.Bits > float64(n)*math.Log2(195)+1e-9 {
		t.Fatalf("Estimate(%q).Bits = %v, more than random characters", s, r.Bits)
	}
}

func FuzzEstimate(f *testing.F) {
	for _, s := range []string{
		"", "a", "aa", "abcabc", strings.Repeat("password", 5), "qwertyuiop", "3f9c1e0b7a52d48e96c2f1a0b3d7e58c",
		"P@ssw0rd!", "\xff\xfe\xff\xfe", "ééé", "日本語日本語", "1111111111", "abababa", string(rune(0x10ffff)),
	} {
		f.Add(s)
	}
	f.Fuzz(checkEstimate)
}

// TestEstimateWorstCases runs the estimator on inputs at the cap that
// stress the repeat search and the dictionary walk.
func TestEstimateWorstCases(t *testing.T) {
	fib := [2]string{"b", "a"}
	for len(fib[1]) < maxRunes {
		fib[0], fib[1] = fib[1], fib[1]+fib[0]
	}
	var seq strings.Builder
	for i := range maxRunes {
		seq.WriteRune(rune(0x4e00 + i))
	}
	unit := strings.Repeat("Zq8#rT2!bN5vL0pY3mW7", 69)[:1365]
	for name, s := range map[string]string{
		"a":          strings.Repeat("a", maxRunes),
		"ab":         strings.Repeat("ab", maxRunes/2),
		"ones":       strings.Repeat("1", maxRunes),
		"fibonacci":  fib[1],
		"sequence":   seq.String(),
		"unit*3":     strings.Repeat(unit, 3),
		"alphabet":   strings.Repeat("abcdefghijklmnopqrstuvwxyz", 160),
		"aaab":       strings.Repeat("aaab", 1024),
		"invalid":    strings.Repeat("\xff", maxRunes+10),
		"random-ish": strings.Repeat("3f9c1e0b7a52d48e96c2f1a0b3d7e58c", 1) + strings.Repeat("x", maxRunes),
	} {
		t.Run(name, func(t *testing.T) { checkEstimate(t, s) })
	}
}

func BenchmarkCheck(b *testing.B) {
	tok := "9b1f0c6e2d8a47f3b5e0c9d2a1f47e6b8c3d5a0f9e2b7c4d1a6f8e3b0c5d9a27"
	p := TokenPolicy()
	for b.Loop() {
		if err := p.Check(tok); err != nil {
			b.Fatal(err)
		}
	}
}
