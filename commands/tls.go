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
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

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
					resultFormatFlag(),
				},
				Action: w.tlsSelfSigned,
			},
		},
	}
}

// tlsPair is what `tls self-signed --format json` prints.
type tlsPair struct {
	SchemaVersion int       `json:"schemaVersion"`
	Cert          string    `json:"cert"`
	Key           string    `json:"key"`
	Hosts         []string  `json:"hosts"`
	NotAfter      time.Time `json:"notAfter"`
}

func (w *wiring) tlsSelfSigned(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	outFormat, ferr := format(c, "text", "json")
	if ferr != nil {
		return ferr
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
	// The config resolves a relative path against its own directory, not
	// against where this command runs: print paths that need no resolving.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("locate %s: %w", c.String("out-dir"), err)
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
	if outFormat == "json" {
		return writeJSON(w.env.Stdout, tlsPair{SchemaVersion: jsonSchemaVersion, Cert: certPath, Key: keyPath,
			Hosts: uniq(hosts), NotAfter: w.env.Now().Add(c.Duration("valid-for")).UTC().Truncate(time.Second)})
	}
	snippet, err := tlsSnippet(certPath, keyPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(w.env.Stdout, "wrote %s and %s (mode 0600) for %s, valid until %s\n", certPath, keyPath,
		strings.Join(uniq(hosts), ", "), w.env.Now().Add(c.Duration("valid-for")).UTC().Format(time.DateOnly))
	fmt.Fprintf(w.env.Stdout, "add to warden.yaml (then check with `warden config validate`):\n\n%s", snippet)
	return nil
}

// tlsSnippet is the gateway.tls section for a pair, as YAML to paste
// (quoted where a path needs it).
func tlsSnippet(certPath, keyPath string) (string, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"gateway": map[string]any{"tls": map[string]string{"cert": certPath, "key": keyPath}}}); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

func uniq(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
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
