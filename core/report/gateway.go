package report

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/scanners/audit"
)

// GatewayRun is a gateway on this host that the audit log records as
// started (gateway.start, whose target is the address it listened on,
// after --listen and port 0 were resolved) and not stopped since.
type GatewayRun struct {
	Addr    string    `json:"addr"`
	Started time.Time `json:"started"`
	TLS     bool      `json:"tls"`
	// Answering: the gateway answered GET /healthz when the report was
	// made. A run that does not answer ended without recording its stop
	// (a crash, a kill -9, a power cut).
	Answering bool `json:"answering"`
}

// GatewaySearcher is the part of the audit log that finds gateway starts
// and stops.
type GatewaySearcher interface {
	Search(ctx context.Context, q auditlog.Query) ([]auditlog.Entry, error)
}

// maxGatewayEntries bounds how far back the search for open runs reaches,
// in gateway.start and gateway.stop entries.
const maxGatewayEntries = 50

// OpenGateways returns the gateways on this host that the audit log's
// latest gateway.start and gateway.stop entries leave running, newest
// first. A start on an address that is not this host's (a replica
// elsewhere sharing the store) is left out: the report does not reach
// beyond the host.
func OpenGateways(ctx context.Context, log GatewaySearcher) ([]GatewayRun, error) {
	entries, err := log.Search(ctx, auditlog.Query{Action: "gateway.", Limit: maxGatewayEntries})
	if err != nil {
		return nil, err
	}
	decided := map[string]bool{}
	var runs []GatewayRun
	for _, e := range entries { // newest first: the latest entry per address decides
		if decided[e.Target] || (e.Action != "gateway.start" && e.Action != "gateway.stop") {
			continue
		}
		decided[e.Target] = true
		if e.Action == "gateway.stop" || !onThisHost(e.Target) {
			continue
		}
		var d struct {
			TLS bool `json:"tls"`
		}
		_ = json.Unmarshal(e.Details, &d)
		runs = append(runs, GatewayRun{Addr: e.Target, Started: e.Time.UTC(), TLS: d.TLS})
	}
	return runs, nil
}

// onThisHost reports whether addr (host:port) is a loopback or wildcard
// address or one of this host's interfaces.
func onThisHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return false
	case ip.IsLoopback(), ip.IsUnspecified():
		return true
	}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// ProbeGateways asks each run's /healthz, on loopback for a wildcard
// address, and marks those that answer. Each probe waits at most timeout;
// it sends no credentials and does not check the certificate (often
// self-signed): it asks only whether the gateway is up.
func ProbeGateways(ctx context.Context, runs []GatewayRun, timeout time.Duration) {
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
		DialContext: (&net.Dialer{Timeout: timeout}).DialContext, TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range runs {
		runs[i].Answering = healthy(ctx, client, audit.DeepURL(runs[i].Addr, runs[i].TLS)+"/healthz")
	}
}

func healthy(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body)
	return err == nil && resp.StatusCode == http.StatusOK && body.Status == "ok"
}
