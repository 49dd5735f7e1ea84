package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/config"
)

func TestProcIP(t *testing.T) {
	for hex, want := range map[string]string{
		"0100007F":                         "127.0.0.1",
		"00000000":                         "0.0.0.0",
		"00000000000000000000000001000000": "::1",
		"00000000000000000000000000000000": "::",
		"0000000000000000FFFF00000100007F": "::ffff:127.0.0.1",
	} {
		if got := procIP(hex); got == nil || !got.Equal(net.ParseIP(want)) {
			t.Errorf("procIP(%s) = %v, want %s", hex, got, want)
		}
	}
}

func TestDeepURL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:7420": "http://127.0.0.1:7420",
		"0.0.0.0:443":    "http://127.0.0.1:443",
		"[::]:7420":      "http://[::1]:7420",
		":7420":          "http://127.0.0.1:7420",
	} {
		if got := DeepURL(listen, false); got != want {
			t.Errorf("DeepURL(%s) = %s, want %s", listen, got, want)
		}
	}
	if got := DeepURL("gw.example:8443", true); got != "https://gw.example:8443" {
		t.Errorf("tls: %s", got)
	}
}

// A well-behaved gateway on loopback, with a /proc/net/tcp that shows
// its port also bound on every interface: deep.bind fails, the rest pass.
func TestDeepProbes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok"))
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	procNet := t.TempDir()
	tcp := "  sl  local_address rem_address   st\n" +
		fmt.Sprintf("   0: 0100007F:%04X 00000000:0000 0A\n", port) +
		fmt.Sprintf("   1: 00000000:%04X 00000000:0000 0A\n", port) +
		"   2: 0100007F:0016 0100007F:9C40 01\n"
	if err := os.WriteFile(filepath.Join(procNet, "tcp"), []byte(tcp), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{Config: config.FromDefaults(), Now: time.Now(),
		Deep: &DeepOptions{URL: srv.URL, Timeout: 2 * time.Second, ProcNet: procNet}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range rep.Results {
		got[r.ID] = r
	}
	for id, want := range map[string]Status{"deep.auth": Pass, "deep.metrics": Pass, "deep.headers": Pass, "deep.ws_origin": Pass, "deep.tls": Skipped, "deep.bind": Fail} {
		if got[id].Status != want {
			t.Errorf("%s: %s %v %s, want %s", id, got[id].Status, got[id].Evidence, got[id].Reason, want)
		}
	}
	// Unreachable: the audit could not run.
	srv.Close()
	_, err = Run(context.Background(), Options{Config: config.FromDefaults(), Deep: &DeepOptions{URL: srv.URL, Timeout: time.Second}})
	if !errors.Is(err, ErrDeepUnreachable) {
		t.Errorf("closed gateway: %v", err)
	}
}

// A gateway configured for one address must not listen on every one.
func TestDeepBindSpecificAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	for table, want := range map[string]Status{
		fmt.Sprintf("   0: 0302010A:%04X 00000000:0000 0A\n", port): Pass, // 10.1.2.3
		fmt.Sprintf("   0: 00000000:%04X 00000000:0000 0A\n", port): Fail, // 0.0.0.0
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "tcp"), []byte("header\n"+table), 0o600); err != nil {
			t.Fatal(err)
		}
		l := config.FromDefaults()
		l.Config.Gateway.Listen = fmt.Sprintf("10.1.2.3:%d", port)
		rep, err := Run(context.Background(), Options{Config: l, Deep: &DeepOptions{URL: srv.URL, Timeout: time.Second, ProcNet: dir}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Results {
			if r.ID == "deep.bind" && r.Status != want {
				t.Errorf("%q: deep.bind %s %v, want %s", table, r.Status, r.Evidence, want)
			}
		}
	}
}
