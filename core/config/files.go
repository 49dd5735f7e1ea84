package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ResolvePath resolves a path written in the config file named file: an
// absolute path stays as it is, ~/ is the user's home directory, and any
// other relative path is relative to the directory holding the file (not
// to the working directory of whoever runs warden). With no file (the
// embedded defaults) a relative path stays relative.
func ResolvePath(file, p string) string {
	switch {
	case p == "" || filepath.IsAbs(p):
		return p
	case strings.HasPrefix(p, "~/"):
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[2:])
		}
		return p
	case strings.HasPrefix(p, "~"):
		return p
	case file == "":
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

// ResolvePath resolves a path written in this config (see ResolvePath).
func (l *Loaded) ResolvePath(p string) string { return ResolvePath(l.File, p) }

// CheckFiles checks the files the config names, as warden serve will
// read them: gateway.tls.cert must hold a PEM certificate chain and
// gateway.tls.key the matching private key (both read with the same
// path rule as serve). What makes serve fail comes back as a
// *ValidationError; what serve would accept but clients or other users
// would not (an expired certificate, one that does not name the listen
// address, a key readable by others) comes back as warnings. Keys that
// already have a diagnostic of their own are not checked again.
func (l *Loaded) CheckFiles(now time.Time) (warnings []Diagnostic, err error) {
	t := l.Config.Gateway.TLS
	if !t.Enabled() {
		return nil, nil
	}
	var diags []Diagnostic
	diag := func(key, hint, msg string, args ...any) Diagnostic {
		return Diagnostic{File: l.File, Line: l.Line(key), Path: key, Message: fmt.Sprintf(msg, args...), Hint: hint}
	}
	certPath, keyPath := l.ResolvePath(t.Cert), l.ResolvePath(t.Key)
	certPEM, certErr := readConfigFile(certPath)
	keyPEM, keyErr := readConfigFile(keyPath)
	for _, f := range []struct {
		key, path string
		err       error
	}{{"gateway.tls.cert", certPath, certErr}, {"gateway.tls.key", keyPath, keyErr}} {
		if f.err != nil {
			diags = append(diags, diag(f.key, l.pathHint(f.key), "%s: %s", f.path, f.err))
		}
	}
	var leaf *x509.Certificate
	if certErr == nil {
		var msg string
		if leaf, msg = parseChain(certPEM); msg != "" {
			diags = append(diags, diag("gateway.tls.cert", "the file must hold the certificate (and its chain) in PEM form: -----BEGIN CERTIFICATE-----",
				"%s: %s", certPath, msg))
		}
	}
	if keyErr == nil && leaf != nil {
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			diags = append(diags, diag("gateway.tls.key", "the file must hold the private key of "+certPath+" in PEM form (-----BEGIN PRIVATE KEY-----)",
				"%s: %s", keyPath, strings.TrimPrefix(err.Error(), "tls: ")))
		}
	}
	if len(diags) > 0 {
		sortDiagnostics(diags)
		return nil, &ValidationError{File: l.File, Diagnostics: diags}
	}

	// Usable by serve; now what clients and other users would make of it.
	renew := "make a new pair (`warden tls self-signed --force` for local use) or renew the certificate"
	switch {
	case now.After(leaf.NotAfter):
		warnings = append(warnings, diag("gateway.tls.cert", renew,
			"%s: the certificate expired on %s; clients refuse it", certPath, leaf.NotAfter.UTC().Format(time.DateOnly)))
	case now.Before(leaf.NotBefore):
		warnings = append(warnings, diag("gateway.tls.cert", "check this machine's clock, or "+renew,
			"%s: the certificate is not valid before %s; clients refuse it", certPath, leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	if host, _, err := net.SplitHostPort(l.Config.Gateway.Listen); err == nil && !wildcardHost(host) {
		if err := leaf.VerifyHostname(host); err != nil {
			warnings = append(warnings, diag("gateway.tls.cert", fmt.Sprintf("use a certificate that names it (for local use: `warden tls self-signed --host %s`)", host),
				"%s: the certificate is for %s, not %s (gateway.listen); clients that check it refuse the connection", certPath, strings.Join(certNames(leaf), ", "), host))
		}
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			warnings = append(warnings, diag("gateway.tls.key", "run: chmod 600 "+keyPath,
				"%s: mode %04o lets other users read the private key", keyPath, fi.Mode().Perm()))
		}
	}
	return warnings, nil
}

// pathHint explains how a relative path in the config resolves.
func (l *Loaded) pathHint(key string) string {
	hint := "`warden tls self-signed` makes a pair and prints the lines to paste"
	if l.File != "" {
		hint += fmt.Sprintf("; a relative path is relative to the directory of %s (%s), not to the working directory", filepath.Base(l.File), filepath.Dir(l.File))
	}
	return hint
}

// readConfigFile reads a file the config names, with an error that says
// what is wrong without repeating the path.
func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	var pe *fs.PathError
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("no such file")
	case errors.Is(err, fs.ErrPermission):
		return nil, errors.New("not readable (permission denied)")
	case errors.As(err, &pe):
		return nil, pe.Err
	}
	return nil, err
}

// parseChain returns the first certificate of a PEM chain, or what is
// wrong with the data.
func parseChain(data []byte) (*x509.Certificate, string) {
	var leaf *x509.Certificate
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			if strings.Contains(b.Type, "PRIVATE KEY") {
				return nil, "holds a private key, not a certificate (are cert and key swapped?)"
			}
			continue
		}
		n++
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Sprintf("certificate %d does not parse: %v", n, err)
		}
		if leaf == nil {
			leaf = c
		}
	}
	if leaf == nil {
		return nil, "holds no PEM certificate"
	}
	return leaf, ""
}

// wildcardHost reports a listen host that stands for every address.
func wildcardHost(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// certNames lists the names and addresses a certificate is for.
func certNames(c *x509.Certificate) []string {
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	if len(out) == 0 && c.Subject.CommonName != "" {
		out = append(out, c.Subject.CommonName+" (common name only)")
	}
	if len(out) == 0 {
		out = append(out, "no name")
	}
	return out
}
