package report

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
)

// searched answers a search for gateway entries as the audit log does:
// matching entries, newest first.
type searched []auditlog.Entry

func (s searched) Search(_ context.Context, q auditlog.Query) ([]auditlog.Entry, error) {
	var out []auditlog.Entry
	for i := len(s) - 1; i >= 0 && len(out) < q.Limit; i-- {
		if strings.HasPrefix(s[i].Action, q.Action) {
			out = append(out, s[i])
		}
	}
	return out, nil
}

func gwEntry(action, target string, at time.Time, tls bool) auditlog.Entry {
	e := auditlog.Entry{Action: action, Target: target, Time: at, Actor: "system", Outcome: auditlog.OutcomeSuccess}
	if action == "gateway.start" {
		e.Details, _ = json.Marshal(map[string]any{"tls": tls, "version": "v1"})
	}
	return e
}

// The latest start or stop per address decides; addresses of other hosts
// are left out.
func TestOpenGateways(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	log := searched{
		gwEntry("gateway.start", "127.0.0.1:7420", t0, false),
		gwEntry("gateway.stop", "127.0.0.1:7420", t0.Add(time.Hour), false),
		gwEntry("gateway.start", "127.0.0.1:41234", t0.Add(2*time.Hour), false), // never stopped
		gwEntry("gateway.start", "192.0.2.7:8443", t0.Add(3*time.Hour), true),   // a replica elsewhere
		gwEntry("gateway.start", "[::]:8443", t0.Add(4*time.Hour), true),
		gwEntry("gateway.stop", "[::]:8443", t0.Add(5*time.Hour), true),
		gwEntry("gateway.start", "[::]:8443", t0.Add(6*time.Hour), true), // started again
		{Action: "login", Target: "alice", Time: t0.Add(7 * time.Hour)},
	}
	runs, err := OpenGateways(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	want := []GatewayRun{{Addr: "[::]:8443", Started: t0.Add(6 * time.Hour), TLS: true}, {Addr: "127.0.0.1:41234", Started: t0.Add(2 * time.Hour)}}
	if len(runs) != len(want) {
		t.Fatalf("runs %+v, want %+v", runs, want)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Errorf("run %d: %+v, want %+v", i, runs[i], want[i])
		}
	}
}

// A gateway answers when its /healthz says ok; a closed port or another
// service does not.
func TestProbeGateways(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer gw.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, gwPort, _ := net.SplitHostPort(gw.Listener.Addr().String())

	runs := []GatewayRun{{Addr: gw.Listener.Addr().String()}, {Addr: "0.0.0.0:" + gwPort}, {Addr: other.Listener.Addr().String()}, {Addr: closed}}
	start := time.Now()
	ProbeGateways(context.Background(), runs, 2*time.Second)
	for i, want := range []bool{true, true, false, false} {
		if runs[i].Answering != want {
			t.Errorf("%s: answering %v, want %v", runs[i].Addr, runs[i].Answering, want)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("probing took %v", d)
	}
}

// The report names the running gateway's address where it is not
// gateway.listen, and judges TLS by what runs.
func TestReportLiveGateway(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cfg := config.FromDefaults().Config
	build := func(runs ...GatewayRun) (string, Evidence) {
		rep, err := Build(Input{Now: now, Period: 24 * time.Hour, Config: cfg, Gateways: runs})
		if err != nil {
			t.Fatal(err)
		}
		listen := ""
		for _, s := range rep.Policies {
			if s.Name == "gateway.listen" {
				listen = s.Value
			}
		}
		for _, e := range rep.Evidence {
			if e.ID == EvTLS {
				return listen, e
			}
		}
		t.Fatal("no TLS evidence")
		return "", Evidence{}
	}
	since := now.Add(-time.Hour)

	listen, tls := build()
	if listen != cfg.Gateway.Listen || tls.Status != EvPass || len(tls.Details) != 2 {
		t.Errorf("no gateway: %q, %+v", listen, tls)
	}
	listen, tls = build(GatewayRun{Addr: "127.0.0.1:41234", Started: since, Answering: true})
	if want := cfg.Gateway.Listen + " in the config; the running gateway listens on 127.0.0.1:41234"; listen != want {
		t.Errorf("listen %q, want %q", listen, want)
	}
	if last := tls.Details[len(tls.Details)-1]; tls.Status != EvPass || last != "the running gateway listens on 127.0.0.1:41234 (since 2026-11-22T11:00:00Z): TLS off, loopback only" {
		t.Errorf("loopback: %s %q", tls.Status, last)
	}
	// Where the config says: the setting reads as the config.
	if listen, _ = build(GatewayRun{Addr: cfg.Gateway.Listen, Started: since, Answering: true}); listen != cfg.Gateway.Listen {
		t.Errorf("same address: %q", listen)
	}
	// Beyond loopback without TLS fails, though the config is fine.
	if _, tls = build(GatewayRun{Addr: "0.0.0.0:8080", Started: since, Answering: true}); tls.Status != EvFail {
		t.Errorf("plain HTTP beyond loopback: %s %v", tls.Status, tls.Details)
	}
	// A start nothing answers for is noted and changes nothing else.
	listen, tls = build(GatewayRun{Addr: "127.0.0.1:41234", Started: since})
	if listen != cfg.Gateway.Listen || tls.Status != EvPass ||
		!strings.HasSuffix(tls.Details[len(tls.Details)-1], "127.0.0.1:41234 at 2026-11-22T11:00:00Z and no stop since; nothing answers there now") {
		t.Errorf("silent start: %q, %s %v", listen, tls.Status, tls.Details)
	}
}
