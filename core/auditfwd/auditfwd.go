// Package auditfwd delivers copies of audit entries to systems outside
// Warden: a syslog server (RFC 5424 messages over TCP or unix sockets with
// RFC 6587 octet counting, or TLS per RFC 5425) and HTTP endpoints (JSON
// batches). Delivery is at least once: every message carries the entry's
// sequence number and hash, so a receiver can drop the rare duplicate that
// a crash between delivery and bookkeeping can cause.
package auditfwd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
)

// SyslogConfig configures a syslog destination.
type SyslogConfig struct {
	Network    string // tcp, tls or unix
	Address    string // host:port, or a socket path for unix
	AppName    string
	CAFile     string
	ServerName string
	Hostname   string // HOSTNAME field (default os.Hostname)
}

// Syslog sends RFC 5424 messages.
type Syslog struct {
	cfg     SyslogConfig
	tlsConf *tls.Config
	conn    net.Conn
}

// NewSyslog checks cfg and returns a destination; it connects on first Send.
func NewSyslog(cfg SyslogConfig) (*Syslog, error) {
	s := &Syslog{cfg: cfg}
	switch cfg.Network {
	case "tcp", "unix":
	case "tls":
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("syslog ca_file: %w", err)
			}
			pool = x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("syslog ca_file %s: no PEM certificates", cfg.CAFile)
			}
		}
		name := cfg.ServerName
		if name == "" {
			name, _, _ = net.SplitHostPort(cfg.Address)
		}
		s.tlsConf = &tls.Config{RootCAs: pool, ServerName: name, MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("syslog network %q: use tcp, tls or unix", cfg.Network)
	}
	if s.cfg.AppName == "" {
		s.cfg.AppName = "warden"
	}
	if s.cfg.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "-"
		}
		s.cfg.Hostname = h
	}
	return s, nil
}

// Name identifies the destination's delivery cursor.
func (s *Syslog) Name() string { return "syslog" }

func (s *Syslog) connect(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	network := s.cfg.Network
	if network == "tls" {
		td := tls.Dialer{NetDialer: &d, Config: s.tlsConf}
		c, err := td.DialContext(ctx, "tcp", s.cfg.Address)
		if err != nil {
			return err
		}
		s.conn = c
		return nil
	}
	c, err := d.DialContext(ctx, network, s.cfg.Address)
	if err != nil {
		return err
	}
	s.conn = c
	return nil
}

// Send writes one framed message per entry.
func (s *Syslog) Send(ctx context.Context, entries []auditlog.Entry) error {
	if err := s.connect(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", s.cfg.Address, err)
	}
	var buf bytes.Buffer
	for _, e := range entries {
		msg, err := Format5424(e, s.cfg.Hostname, s.cfg.AppName)
		if err != nil {
			return err
		}
		buf.WriteString(strconv.Itoa(len(msg)))
		buf.WriteByte(' ')
		buf.Write(msg)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetWriteDeadline(dl)
	}
	if _, err := s.conn.Write(buf.Bytes()); err != nil {
		_ = s.conn.Close()
		s.conn = nil
		return fmt.Errorf("write to %s: %w", s.cfg.Address, err)
	}
	return nil
}

// Close closes the connection.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// facilityAuthpriv is syslog facility 10 (security/authorization, private).
const facilityAuthpriv = 10

// Format5424 renders an entry as an RFC 5424 message: the structured data
// element warden@32473 carries seq, hash and previous hash; the message is
// the entry as JSON (the export format).
func Format5424(e auditlog.Entry, hostname, app string) ([]byte, error) {
	severity := 6 // informational
	switch e.Outcome {
	case auditlog.OutcomeFailure, auditlog.OutcomeDenied:
		severity = 4 // warning
	}
	msgID := printable(e.Action, 32)
	if msgID == "" {
		msgID = "-"
	}
	body, err := json.Marshal(auditlog.ToExported(e))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d %s [warden@32473 seq=\"%d\" hash=\"%s\" prev=\"%s\"] ",
		facilityAuthpriv*8+severity, e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		printable(hostname, 255), printable(app, 48), os.Getpid(), msgID,
		e.Seq, hex.EncodeToString(e.Hash), hex.EncodeToString(e.PrevHash))
	b.Write(body)
	return b.Bytes(), nil
}

// printable keeps the visible ASCII an RFC 5424 header field allows.
func printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// HTTP posts JSON arrays of exported entries.
type HTTP struct {
	url    string
	token  string
	client *http.Client
}

// NewHTTP returns an HTTP destination; token may be empty.
func NewHTTP(url, token string, client *http.Client) *HTTP {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &HTTP{url: url, token: token, client: client}
}

// Name identifies the destination's delivery cursor.
func (h *HTTP) Name() string { return "http" }

// ErrRejected means the endpoint answered with a non-2xx status.
var ErrRejected = errors.New("rejected")

// Send posts the batch; the Idempotency-Key names its last entry's hash.
func (h *HTTP) Send(ctx context.Context, entries []auditlog.Entry) error {
	out := make([]auditlog.Exported, len(entries))
	for i, e := range entries {
		out[i] = auditlog.ToExported(e)
	}
	body, err := json.Marshal(out)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("%d-%s", entries[len(entries)-1].Seq, hex.EncodeToString(entries[len(entries)-1].Hash)))
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%w: %s answered %s", ErrRejected, h.url, resp.Status)
	}
	return nil
}

// Close releases idle connections.
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
