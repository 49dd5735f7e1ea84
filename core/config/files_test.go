package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for hosts, valid from
// notBefore to notAfter, and its key.
func writePair(t *testing.T, dir, name string, hosts []string, notBefore, notAfter time.Time) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: notBefore, NotAfter: notAfter}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// loadIn writes a config into dir and loads it.
func loadIn(t *testing.T, dir, src string) *Loaded {
	t.Helper()
	path := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := Load(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestResolvePathIsRelativeToTheConfigFile(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, c := range []struct{ file, p, want string }{
		{"/etc/warden/warden.yaml", "tls/cert.pem", "/etc/warden/tls/cert.pem"},
		{"/etc/warden/warden.yaml", "/srv/cert.pem", "/srv/cert.pem"},
		{"/etc/warden/warden.yaml", "~/cert.pem", filepath.Join(home, "cert.pem")},
		{"conf/warden.yaml", "../tls/cert.pem", "tls/cert.pem"},
		{"", "tls/cert.pem", "tls/cert.pem"},
		{"/etc/warden/warden.yaml", "", ""},
	} {
		if got := ResolvePath(c.file, c.p); got != c.want {
			t.Errorf("ResolvePath(%q, %q) = %q, want %q", c.file, c.p, got, c.want)
		}
	}
	// state_dir follows the same rule.
	l, err := Parse(context.Background(), "/etc/warden/warden.yaml", []byte("version: 1\nstate_dir: state\n"), nil)
	if err != nil || l.Config.StateDir != "/etc/warden/state" {
		t.Fatalf("state_dir %q, %v", l.Config.StateDir, err)
	}
}

func TestCheckFiles(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	writePair(t, filepath.Join(dir, "tls"), "good", []string{"localhost", "127.0.0.1", "gw.example"}, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	writePair(t, filepath.Join(dir, "tls"), "other", []string{"localhost"}, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	writePair(t, filepath.Join(dir, "tls"), "old", []string{"localhost"}, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	if err := os.WriteFile(filepath.Join(dir, "tls", "garbage.pem"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(listen, cert, key string) string {
		return "version: 1\ngateway:\n  listen: " + listen + "\n  tls:\n    cert: " + cert + "\n    key: " + key + "\n"
	}
	for _, c := range []struct {
		name, src string
		errs      []string // rendered diagnostics, each a substring
		warns     []string
	}{
		{name: "relative to the config's directory", src: cfg("127.0.0.1:7443", "tls/good.crt", "tls/good.key")},
		{name: "a host the certificate names", src: cfg("gw.example:7443", "tls/good.crt", "tls/good.key")},
		{name: "a wildcard listen is not checked", src: cfg("0.0.0.0:7443", "tls/good.crt", "tls/good.key")},
		{name: "missing files", src: cfg("127.0.0.1:7443", "tls/none.crt", "tls/none.key"),
			errs: []string{"warden.yaml:5: gateway.tls.cert: " + filepath.Join(dir, "tls/none.crt") + ": no such file",
				"warden.yaml:6: gateway.tls.key: " + filepath.Join(dir, "tls/none.key") + ": no such file"}},
		{name: "garbage", src: cfg("127.0.0.1:7443", "tls/garbage.pem", "tls/good.key"),
			errs: []string{"warden.yaml:5: gateway.tls.cert: " + filepath.Join(dir, "tls/garbage.pem") + ": holds no PEM certificate"}},
		{name: "swapped", src: cfg("127.0.0.1:7443", "tls/good.key", "tls/good.crt"),
			errs: []string{"gateway.tls.cert: " + filepath.Join(dir, "tls/good.key") + ": holds a private key, not a certificate"}},
		{name: "another pair's key", src: cfg("127.0.0.1:7443", "tls/good.crt", "tls/other.key"),
			errs: []string{"warden.yaml:6: gateway.tls.key: " + filepath.Join(dir, "tls/other.key") + ": private key does not match public key"}},
		{name: "a key that is no key", src: cfg("127.0.0.1:7443", "tls/good.crt", "tls/garbage.pem"),
			errs: []string{"warden.yaml:6: gateway.tls.key: " + filepath.Join(dir, "tls/garbage.pem") + ": failed to find any PEM data in key input"}},
		{name: "expired", src: cfg("localhost:7443", "tls/old.crt", "tls/old.key"),
			warns: []string{"warden.yaml:5: gateway.tls.cert: " + filepath.Join(dir, "tls/old.crt") + ": the certificate expired on 2025-06-01"}},
		{name: "another host", src: cfg("192.0.2.7:7443", "tls/other.crt", "tls/other.key"),
			warns: []string{"the certificate is for localhost, not 192.0.2.7 (gateway.listen)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := loadIn(t, dir, c.src)
			warns, err := l.CheckFiles(now)
			if len(c.errs) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(c.errs) > 0 {
				ds := diagnostics(t, err)
				if len(ds) != len(c.errs) {
					t.Fatalf("%d diagnostics, want %d: %v", len(ds), len(c.errs), err)
				}
				for i, want := range c.errs {
					if !strings.Contains(ds[i].String(), want) {
						t.Errorf("diagnostic %d = %q, want %q", i, ds[i], want)
					}
				}
			}
			if len(warns) != len(c.warns) {
				t.Fatalf("warnings %v, want %v", warns, c.warns)
			}
			for i, want := range c.warns {
				if !strings.Contains(warns[i].String(), want) {
					t.Errorf("warning %d = %q, want %q", i, warns[i], want)
				}
			}
		})
	}
	// A key readable by others is a warning (serve reads it all the same).
	l := loadIn(t, dir, cfg("127.0.0.1:7443", "tls/good.crt", "tls/good.key"))
	if err := os.Chmod(filepath.Join(dir, "tls", "good.key"), 0o640); err != nil {
		t.Fatal(err)
	}
	warns, err := l.CheckFiles(now)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0].String(), "mode 0640 lets other users read the private key") {
		t.Fatalf("loose key: %v, %v", warns, err)
	}
	// Without TLS there is nothing to check.
	if warns, err := loadIn(t, dir, "version: 1\n").CheckFiles(now); err != nil || warns != nil {
		t.Fatalf("no tls: %v, %v", warns, err)
	}
}

func TestCheckSecret(t *testing.T) {
	if msg := CheckSecret("gateway.auth.token", "short"); !strings.Contains(msg, "5 characters") {
		t.Errorf("weak token: %q", msg)
	}
	if msg := CheckSecret("gateway.auth.token", strongToken); msg != "" {
		t.Errorf("strong token: %q", msg)
	}
	if msg := CheckSecret("channels.telegram.webhook_secret", "has spaces"); msg == "" {
		t.Error("a Telegram secret with spaces passed")
	}
	if msg := CheckSecret("channels.slack.bot_token", "x"); msg != "" {
		t.Errorf("a secret without value rules: %q", msg)
	}
}
