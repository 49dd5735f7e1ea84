package auditfwd

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/store"
)

func newLog(t *testing.T, dir string) *auditlog.Log {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(dir, "warden.db")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := auditlog.Open(context.Background(), db, make([]byte, 32), auditlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); db.Close() })
	return l
}

func appendN(t *testing.T, l *auditlog.Log, from, n int) {
	for i := from; i < from+n; i++ {
		if _, err := l.Append(context.Background(), auditlog.Event{Actor: "cli:root", Action: "secret.set", Target: fmt.Sprintf("s%d", i), Outcome: auditlog.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
}

// syslogReceiver accepts octet-counted RFC 5424 frames and collects them.
type syslogReceiver struct {
	mu   sync.Mutex
	msgs []string
}

func (r *syslogReceiver) serve(t *testing.T, ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					lenStr, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSpace(lenStr))
					if err != nil {
						t.Errorf("bad frame length %q", lenStr)
						return
					}
					buf := make([]byte, n)
					if _, err := io.ReadFull(br, buf); err != nil {
						return
					}
					r.mu.Lock()
					r.msgs = append(r.msgs, string(buf))
					r.mu.Unlock()
				}
			}(c)
		}
	}()
}

func (r *syslogReceiver) seqs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	re := regexp.MustCompile(`\[warden@32473 seq="(\d+)"`)
	for _, m := range r.msgs {
		if s := re.FindStringSubmatch(m); s != nil {
			n, _ := strconv.Atoi(s[1])
			out = append(out, n)
		}
	}
	return out
}

func wantExactlyOnce(t *testing.T, seqs []int, n int) {
	t.Helper()
	seen := map[int]int{}
	for _, s := range seqs {
		seen[s]++
	}
	for i := 1; i <= n; i++ {
		if seen[i] != 1 {
			t.Fatalf("entry %d delivered %d times (%d messages)", i, seen[i], len(seqs))
		}
	}
	if len(seqs) != n {
		t.Fatalf("%d messages, want %d", len(seqs), n)
	}
}

func TestSyslogTCPResumesAcrossRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var r syslogReceiver
	r.serve(t, ln)
	dir := t.TempDir()
	l := newLog(t, dir)
	appendN(t, l, 1, 30)
	dest, _ := NewSyslog(SyslogConfig{Network: "tcp", Address: ln.Addr().String(), Hostname: "host1"})
	if n, err := l.ForwardOnce(context.Background(), dest, 7); err != nil || n != 30 {
		t.Fatalf("%d %v", n, err)
	}
	dest.Close()
	l.Close()
	// A new process: same database, new Log and destination.
	l2 := newLog(t, dir)
	appendN(t, l2, 31, 20)
	dest2, _ := NewSyslog(SyslogConfig{Network: "tcp", Address: ln.Addr().String(), Hostname: "host1"})
	defer dest2.Close()
	if n, err := l2.ForwardOnce(context.Background(), dest2, 0); err != nil || n != 20 {
		t.Fatalf("after restart: %d %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.seqs()) < 50 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	wantExactlyOnce(t, r.seqs(), 50)
	r.mu.Lock()
	first := r.msgs[0]
	r.mu.Unlock()
	if !regexp.MustCompile(`^<86>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z host1 warden \d+ secret.set \[warden@32473 seq="1" hash="[0-9a-f]{64}" prev="0{64}"\] \{"seq":1,`).MatchString(first) {
		t.Fatalf("message: %s", first)
	}
}

func TestSyslogDownThenUp(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nobody listens yet
	l := newLog(t, t.TempDir())
	appendN(t, l, 1, 5)
	dest, _ := NewSyslog(SyslogConfig{Network: "tcp", Address: addr})
	defer dest.Close()
	if _, err := l.ForwardOnce(context.Background(), dest, 0); err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	st, _ := l.ForwardState(context.Background(), []string{"syslog"})
	if st[0].Cursor != 0 || st[0].Pending != 5 {
		t.Fatalf("cursor moved on failure: %+v", st)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skip("port reused by someone else")
	}
	defer ln.Close()
	var r syslogReceiver
	r.serve(t, ln)
	if n, err := l.ForwardOnce(context.Background(), dest, 0); err != nil || n != 5 {
		t.Fatalf("%d %v", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.seqs()) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	wantExactlyOnce(t, r.seqs(), 5)
}

func TestSyslogUnixAndTLS(t *testing.T) {
	t.Run("unix", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "syslog.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var r syslogReceiver
		r.serve(t, ln)
		l := newLog(t, t.TempDir())
		appendN(t, l, 1, 3)
		dest, _ := NewSyslog(SyslogConfig{Network: "unix", Address: sock})
		defer dest.Close()
		if _, err := l.ForwardOnce(context.Background(), dest, 0); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(r.seqs()) < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		wantExactlyOnce(t, r.seqs(), 3)
	})
	t.Run("tls", func(t *testing.T) {
		certPEM, keyPEM := selfSigned(t)
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var r syslogReceiver
		r.serve(t, ln)
		ca := filepath.Join(t.TempDir(), "ca.pem")
		os.WriteFile(ca, certPEM, 0o600)
		l := newLog(t, t.TempDir())
		appendN(t, l, 1, 4)
		// Without the CA the server is not trusted.
		untrusted, _ := NewSyslog(SyslogConfig{Network: "tls", Address: ln.Addr().String(), ServerName: "localhost"})
		if _, err := l.ForwardOnce(context.Background(), untrusted, 0); err == nil {
			t.Fatal("an untrusted certificate was accepted")
		}
		dest, err := NewSyslog(SyslogConfig{Network: "tls", Address: ln.Addr().String(), CAFile: ca, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer dest.Close()
		if _, err := l.ForwardOnce(context.Background(), dest, 0); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(r.seqs()) < 4 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		wantExactlyOnce(t, r.seqs(), 4)
	})
}

func selfSigned(t *testing.T) ([]byte, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func TestHTTPDestination(t *testing.T) {
	var mu sync.Mutex
	var got []auditlog.Exported
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Idempotency-Key") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var batch []auditlog.Exported
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got = append(got, batch...)
	}))
	defer srv.Close()
	l := newLog(t, t.TempDir())
	appendN(t, l, 1, 12)
	if _, err := l.ForwardOnce(context.Background(), NewHTTP(srv.URL, "wrong", nil), 0); err == nil {
		t.Fatal("a rejected request counted as delivered")
	}
	dest := NewHTTP(srv.URL, "s3cret", nil)
	if _, err := l.ForwardOnce(context.Background(), dest, 5); err == nil {
		t.Fatal("a 503 counted as delivered")
	}
	if n, err := l.ForwardOnce(context.Background(), dest, 5); err != nil || n != 12 {
		t.Fatalf("%d %v", n, err)
	}
	var seqs []int
	for _, e := range got {
		seqs = append(seqs, int(e.Seq))
	}
	wantExactlyOnce(t, seqs, 12)
}

func TestForwardLoopStopsCleanly(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	var r syslogReceiver
	r.serve(t, ln)
	l := newLog(t, t.TempDir())
	dest, _ := NewSyslog(SyslogConfig{Network: "tcp", Address: ln.Addr().String()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Forward(ctx, []auditlog.Destination{dest}, time.Hour, nil); close(done) }()
	appendN(t, l, 1, 10)
	deadline := time.Now().Add(5 * time.Second)
	for len(r.seqs()) < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	wantExactlyOnce(t, r.seqs(), 10)
}
