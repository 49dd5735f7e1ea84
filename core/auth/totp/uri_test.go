package totp

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

func TestEncodeDecodeSecret(t *testing.T) {
	secret := []byte(seedSHA1)
	enc := EncodeSecret(secret)
	if enc != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("EncodeSecret = %s", enc)
	}
	// 10 bytes need no padding; 11 bytes would need "======" in padded form.
	if got := EncodeSecret([]byte("12345678901")); strings.Contains(got, "=") || got != strings.ToUpper(got) {
		t.Errorf("EncodeSecret(11 bytes) = %s, want upper case without padding", got)
	}
	inputs := []string{
		enc,
		strings.ToLower(enc),
		"gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
		"GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
		" " + enc + "\n",
	}
	for _, in := range inputs {
		got, err := DecodeSecret(in)
		if err != nil || !bytes.Equal(got, secret) {
			t.Errorf("DecodeSecret(%q) = %x, %v, want %x", in, got, err, secret)
		}
	}
	// Padding is accepted.
	odd := []byte("12345678901")
	padded := strings.ToLower(EncodeSecret(odd)) + "======"
	if got, err := DecodeSecret(padded); err != nil || !bytes.Equal(got, odd) {
		t.Errorf("DecodeSecret(%q) = %x, %v, want %x", padded, got, err, odd)
	}
	for _, in := range []string{"", "  ", "====", "G", "GEZ", "GEZDGN", "GEZDGNBVG", "GEZDGNB1", "GEZDGNB!", "GEZDGNBVG", "ÄEZDGNBV", "GEZD=GNBV"} {
		if got, err := DecodeSecret(in); err == nil {
			t.Errorf("DecodeSecret(%q) = %x, want an error", in, got)
		}
	}
	// Round trip for random secrets of every length.
	for n := 1; n <= 64; n++ {
		s := make([]byte, n)
		for i := range s {
			s[i] = byte(i*37 + n)
		}
		got, err := DecodeSecret(EncodeSecret(s))
		if err != nil || !bytes.Equal(got, s) {
			t.Errorf("round trip of %d bytes: %x, %v", n, got, err)
		}
	}
}

func TestURI(t *testing.T) {
	secret := []byte(seedSHA1)
	got, err := URI("Warden", "alice", secret)
	if err != nil {
		t.Fatal(err)
	}
	want := "otpauth://totp/Warden:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Warden&algorithm=SHA1&digits=6&period=30"
	if got != want {
		t.Errorf("URI =\n%s\nwant\n%s", got, want)
	}
}

func TestURIEscaping(t *testing.T) {
	secret := []byte(seedSHA1)
	cases := []struct {
		issuer, account string
		label, qissuer  string // expected escaped label and issuer parameter
	}{
		{"ACME Co", "john.doe@example.com", "ACME%20Co:john.doe%40example.com", "ACME%20Co"},
		{"Wärden Gateway", "Zoë Ünlü", "W%C3%A4rden%20Gateway:Zo%C3%AB%20%C3%9Cnl%C3%BC", "W%C3%A4rden%20Gateway"},
		{"日本", "ユーザー", "%E6%97%A5%E6%9C%AC:%E3%83%A6%E3%83%BC%E3%82%B6%E3%83%BC", "%E6%97%A5%E6%9C%AC"},
		{"a&b=c?d#e/f+g%h", "x/y?z#w", "a%26b%3Dc%3Fd%23e%2Ff%2Bg%25h:x%2Fy%3Fz%23w", "a%26b%3Dc%3Fd%23e%2Ff%2Bg%25h"},
	}
	for _, c := range cases {
		s, err := URI(c.issuer, c.account, secret)
		if err != nil {
			t.Errorf("URI(%q, %q): %v", c.issuer, c.account, err)
			continue
		}
		if want := "otpauth://totp/" + c.label + "?"; !strings.HasPrefix(s, want) {
			t.Errorf("URI(%q, %q) = %s, want prefix %s", c.issuer, c.account, s, want)
		}
		if want := "&issuer=" + c.qissuer + "&"; !strings.Contains(s, want) {
			t.Errorf("URI(%q, %q) = %s, want %s", c.issuer, c.account, s, want)
		}
		if strings.ContainsAny(s, " @+") || strings.IndexFunc(s, func(r rune) bool { return r > 0x7e }) >= 0 {
			t.Errorf("URI(%q, %q) = %s has unescaped characters", c.issuer, c.account, s)
		}

		// Round trip through net/url.
		u, err := url.Parse(s)
		if err != nil {
			t.Errorf("url.Parse(%s): %v", s, err)
			continue
		}
		if u.Scheme != "otpauth" || u.Host != "totp" {
			t.Errorf("%s: scheme %q host %q", s, u.Scheme, u.Host)
		}
		if want := "/" + c.issuer + ":" + c.account; u.Path != want {
			t.Errorf("%s: path %q, want %q", s, u.Path, want)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Errorf("%s: query: %v", s, err)
			continue
		}
		wantQ := url.Values{
			"secret":    {EncodeSecret(secret)},
			"issuer":    {c.issuer},
			"algorithm": {"SHA1"},
			"digits":    {"6"},
			"period":    {"30"},
		}
		if len(q) != len(wantQ) {
			t.Errorf("%s: query %v, want %v", s, q, wantQ)
		}
		for k, v := range wantQ {
			if len(q[k]) != 1 || q[k][0] != v[0] {
				t.Errorf("%s: %s = %q, want %q", s, k, q[k], v)
			}
		}
		if dec, err := DecodeSecret(q.Get("secret")); err != nil || !bytes.Equal(dec, secret) {
			t.Errorf("%s: secret decodes to %x, %v", s, dec, err)
		}
	}
}

func TestURIRefuses(t *testing.T) {
	secret := []byte(seedSHA1)
	cases := []struct{ issuer, account string }{
		{"Evil:Corp", "alice"},
		{":", "alice"},
		{"Warden", "alice:admin"},
		{"", "alice"},
		{"Warden", ""},
		{"War\nden", "alice"},
		{"Warden", "ali\x00ce"},
		{"Warden", "ali\xffce"},
	}
	for _, c := range cases {
		if s, err := URI(c.issuer, c.account, secret); err == nil {
			t.Errorf("URI(%q, %q) = %s, want an error", c.issuer, c.account, s)
		}
	}
	if s, err := URI("Warden", "alice", nil); err == nil {
		t.Errorf("URI with an empty secret = %s, want an error", s)
	}
}
