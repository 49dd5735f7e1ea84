package deps

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/scanners/deps/lockfile"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

func testDB(t *testing.T, records ...string) *osv.DB {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, r := range records {
		w, _ := zw.Create(fmt.Sprintf("%d.json", i))
		w.Write([]byte(r))
	}
	zw.Close()
	b, err := osv.ReadZip(context.Background(), "all.zip", bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	db := &osv.DB{Dir: t.TempDir()}
	if _, err := db.Import(context.Background(), []*osv.Batch{b}, time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

const lodashRecord = `{"id":"GHSA-35jh-r3h4-6jhm","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-23337"],"summary":"Command injection in lodash",
 "database_specific":{"severity":"HIGH"},
 "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`

func TestMatchAndGate(t *testing.T) {
	db := testDB(t, lodashRecord,
		`{"id":"OSV-LOW","modified":"2024-01-01T00:00:00Z","database_specific":{"severity":"LOW"},"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"versions":["4.17.20"]}]}`,
		`{"id":"OSV-NOSEV","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"versions":["1.0.0"]}]}`)
	pkgs := []lockfile.Package{
		{Name: "lodash", Version: "4.17.20", Ecosystem: "npm", File: "package-lock.json", Line: 10, Dependency: lockfile.Direct},
		{Name: "lodash", Version: "4.17.21", Ecosystem: "npm", File: "package-lock.json", Line: 20},
		{Name: "left-pad", Version: "1.0.0", Ecosystem: "npm", File: "package-lock.json", Line: 30},
	}
	fs, infos, err := Match(context.Background(), db, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Ecosystem != "npm" {
		t.Errorf("infos %+v", infos)
	}
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s@%s %s %s %s:%d", f.Package, f.Version, f.ID, f.Severity, f.File, f.Line))
	}
	want := "lodash@4.17.20 GHSA-35jh-r3h4-6jhm high package-lock.json:10|lodash@4.17.20 OSV-LOW low package-lock.json:10|left-pad@1.0.0 OSV-NOSEV unknown package-lock.json:30"
	if strings.Join(got, "|") != want {
		t.Errorf("findings\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if fs[0].Fixed[0] != "4.17.21" || fs[0].Aliases[0] != "CVE-2021-23337" || fs[0].Dependency != "direct" {
		t.Errorf("details: %+v", fs[0])
	}
	if n := Gate(fs, osv.Unknown, true); n != 3 {
		t.Errorf("any: %d", n)
	}
	if n := Gate(fs, osv.High, false); n != 1 {
		t.Errorf("high: %d", n)
	}
	if n := Gate(fs, osv.Critical, false); n != 0 {
		t.Errorf("critical: %d", n)
	}
	rest, n := Ignore(append([]Finding(nil), fs...), map[string]bool{"CVE-2021-23337": true})
	if n != 1 || len(rest) != 2 {
		t.Errorf("ignore by alias: %d %d", n, len(rest))
	}

	_, _, err = Match(context.Background(), db, append(pkgs, lockfile.Package{Name: "x", Version: "1", Ecosystem: "PyPI"}))
	var me *MissingDatabaseError
	if !errors.As(err, &me) || me.Ecosystems[0] != "PyPI" || !errors.Is(err, osv.ErrNoDatabase) {
		t.Errorf("missing ecosystem: %v", err)
	}
}

// alertJSON is a Dependabot alert as the REST API returns it.
func alertJSON(number int, ghsa, cve, pkg, eco, manifest, severity, vulnRange, patched string) string {
	return fmt.Sprintf(`{
  "number": %d,
  "state": "open",
  "dependency": {"package": {"ecosystem": %q, "name": %q}, "manifest_path": %q, "scope": "runtime", "relationship": "direct"},
  "security_advisory": {
    "ghsa_id": %q, "cve_id": %q, "summary": "advisory %s", "description": "long text",
    "vulnerabilities": [{"package": {"ecosystem": %q, "name": %q}, "severity": %q, "vulnerable_version_range": %q, "first_patched_version": {"identifier": %q}}],
    "severity": %q,
    "cvss": {"vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "score": 9.8},
    "cwes": [{"cwe_id": "CWE-79", "name": "XSS"}],
    "identifiers": [{"value": %q, "type": "GHSA"}, {"value": %q, "type": "CVE"}],
    "references": [{"url": "https://example.com/advisory"}],
    "published_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z", "withdrawn_at": null
  },
  "security_vulnerability": {"package": {"ecosystem": %q, "name": %q}, "severity": %q, "vulnerable_version_range": %q, "first_patched_version": {"identifier": %q}},
  "url": "https://api.example/repos/o/r/dependabot/alerts/%d",
  "html_url": "https://github.example/o/r/security/dependabot/%d",
  "created_at": "2024-01-03T00:00:00Z", "updated_at": "2024-01-03T00:00:00Z",
  "dismissed_at": null, "dismissed_by": null, "dismissed_reason": null, "dismissed_comment": null, "fixed_at": null, "auto_dismissed_at": null
}`, number, eco, pkg, manifest, ghsa, cve, ghsa, eco, pkg, severity, vulnRange, patched, severity, ghsa, cve,
		eco, pkg, severity, vulnRange, patched, number, number)
}

func TestDependabotAlerts(t *testing.T) {
	var srvURL string
	var auths []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/app/dependabot/alerts", func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		if r.URL.Query().Get("state") != "open" {
			http.Error(w, "want state=open", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.URL.Query().Get("after") == "" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/repos/acme/app/dependabot/alerts?state=open&per_page=100&after=Y3Vyc29yOjI%%3D>; rel="next"`, srvURL))
			fmt.Fprintf(w, "[%s]", alertJSON(1, "GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "lodash", "npm", "package-lock.json", "high", "< 4.17.21", "4.17.21"))
			return
		}
		fmt.Fprintf(w, "[%s]", alertJSON(2, "GHSA-xxxx-yyyy-zzzz", "CVE-2024-9999", "Django", "pip", "requirements.txt", "critical", ">= 4.0, < 4.2.1", "4.2.1"))
	})
	mux.HandleFunc("GET /repos/acme/private/dependabot/alerts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.example/rest"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	alerts, err := DependabotAlerts(context.Background(), GitHubOptions{Owner: "acme", Repo: "app", Token: "t0ken", BaseURL: srv.URL, Client: NewHTTPClient(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 2 || len(auths) != 2 || auths[0] != "Bearer t0ken" {
		t.Fatalf("alerts %d, requests %v", len(alerts), auths)
	}
	a := alerts[1]
	if a.Package != "django" || a.Ecosystem != "PyPI" || a.ID != "GHSA-xxxx-yyyy-zzzz" || a.Severity != "critical" || a.Fixed[0] != "4.2.1" ||
		a.File != "requirements.txt" || a.Source != "github" || !strings.HasSuffix(a.URL, "/dependabot/2") || a.Score != 9.8 {
		t.Errorf("alert: %+v", a)
	}

	db := testDB(t, lodashRecord)
	local, _, err := Match(context.Background(), db, []lockfile.Package{{Name: "lodash", Version: "4.17.20", Ecosystem: "npm", File: "package-lock.json", Line: 3}})
	if err != nil {
		t.Fatal(err)
	}
	merged := MergeAlerts(local, alerts)
	if len(merged) != 2 || merged[0].Source != "osv+github" || merged[0].Line != 3 || merged[1].Source != "github" {
		t.Errorf("merged: %+v", merged)
	}

	_, err = DependabotAlerts(context.Background(), GitHubOptions{Owner: "acme", Repo: "private", BaseURL: srv.URL, Client: NewHTTPClient(srv.URL)})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("forbidden: %v", err)
	}
}

func TestHTTPClientRefusesPrivateAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	// Configured by literal IP: trusted.
	if resp, err := NewHTTPClient(srv.URL).Get(srv.URL); err != nil {
		t.Fatalf("trusted literal address: %v", err)
	} else {
		resp.Body.Close()
	}
	// The same server by a host name resolving to loopback: refused.
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if _, err := NewHTTPClient(byName).Get(byName); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("loopback by name: %v", err)
	}
	// A redirect from a trusted server to another private address: refused.
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer redir.Close()
	if _, err := NewHTTPClient(redir.URL).Get(redir.URL); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("redirect to metadata: %v", err)
	}
}

func TestScanWarden(t *testing.T) {
	// The test binary's own build info, as `warden deps scan --binary` reads it.
	exe, _ := os.Executable()
	pkgs, err := lockfile.ParseGoBinary(exe)
	if err != nil {
		t.Fatal(err)
	}
	var stdlib lockfile.Package
	for _, p := range pkgs {
		if p.Name == "stdlib" {
			stdlib = p
		}
	}
	db := testDB(t, `{"id":"GO-TEST-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"999.0.0"}]}]}]}`)
	fs, _, err := Match(context.Background(), db, []lockfile.Package{stdlib})
	if err != nil || len(fs) != 1 || fs[0].File != exe {
		t.Errorf("stdlib finding: %+v %v", fs, err)
	}
}
