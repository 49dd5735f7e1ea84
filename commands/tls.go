package commands

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/atomicfile"
)

func (w *wiring) tlsCommand() *cli.Command {
	return &cli.Command{
		Name:  "tls",
		Usage: "make certificates for the gateway's TLS",
		Subcommands: []*cli.Command{
			{
				Name:  "self-signed",
				Usage: "make a self-signed certificate and key for local or test use (ECDSA P-256)",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "host", Usage: "DNS name or IP the certificate is for (repeatable; localhost, 127.0.0.1 and ::1 are always included)", EnvVars: []string{"WARDEN_TLS_HOST"}},
					&cli.StringFlag{Name: "out-dir", Usage: "directory for cert.pem and key.pem (default: tls/ in the state directory)", EnvVars: []string{"WARDEN_TLS_OUT_DIR"}},
					&cli.DurationFlag{Name: "valid-for", Value: 365 * 24 * time.Hour, Usage: "lifetime of the certificate", EnvVars: []string{"WARDEN_TLS_VALID_FOR"}},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing pair", EnvVars: []string{"WARDEN_TLS_FORCE"}},
				},
				Action: w.tlsSelfSigned,
			},
		},
	}
}

func (w *wiring) tlsSelfSigned(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	dir := c.String("out-dir")
	if dir == "" {
		sess, err := w.openState(c.Context, c)
		if err != nil {
			return err
		}
		dir = filepath.Join(sess.stateDir, "tls")
	}
	if c.Duration("valid-for") <= 0 {
		return usageErrorf("--valid-for must be positive")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if !c.Bool("force") {
		for _, p := range []string{certPath, keyPath} {
			if _, err := os.Stat(p); err == nil {
				return inputError(fmt.Errorf("%s exists", p), "pass --force to replace the pair")
			}
		}
	}
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, c.StringSlice("host")...)
	certPEM, keyPEM, err := selfSigned(hosts, w.env.Now(), c.Duration("valid-for"))
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyPath, keyPEM, atomicfile.Options{Mode: 0o600}); err != nil {
		return err
	}
	if err := atomicfile.Write(certPath, certPEM, atomicfile.Options{Mode: 0o600}); err != nil {
		return err
	}
	fmt.Fprintf(w.env.Stdout, "wrote %s and %s for %v\n", certPath, keyPath, hosts)
	fmt.Fprintf(w.env.Stdout, "use them in warden.yaml:\n  gateway:\n    tls:\n      cert: %s\n      key: %s\n", certPath, keyPath)
	return nil
}

// selfSigned makes a certificate for hosts, valid from now for d.
func selfSigned(hosts []string, now time.Time, d time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "warden gateway", Organization: []string{"Warden (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(d),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
