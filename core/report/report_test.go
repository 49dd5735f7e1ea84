package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/scanners/audit"
)

// catalogueProblems lists what is wrong with a mapping: an audit check or
// evidence id without controls, a control id not in Controls, an id
// without a control in each framework, a mapped id nothing produces.
func catalogueProblems(t *testing.T, mapping map[string][]string) []string {
	var out []string
	ids := map[string]bool{}
	for _, c := range Controls {
		if ids[c.ID] {
			out = append(out, "control "+c.ID+" listed twice")
		}
		ids[c.ID] = true
		if c.Framework != SOC2 && c.Framework != ISO27001 {
			out = append(out, "control "+c.ID+": unknown framework "+c.Framework)
		}
	}
	check := func(id string) {
		ctrls, ok := mapping[id]
		if !ok {
			out = append(out, id+" is not mapped to any control")
			return
		}
		fw := map[string]bool{}
		for _, c := range ctrls {
			ctl, ok := LookupControl(c)
			if !ok {
				out = append(out, id+" maps to unknown control "+c)
				continue
			}
			fw[ctl.Framework] = true
		}
		if !fw[SOC2] || !fw[ISO27001] {
			out = append(out, id+" must map to a SOC 2 criterion and an ISO 27001 control")
		}
	}
	for _, c := range audit.Catalog() {
		check(c.ID)
	}
	rep, err := Build(Input{Now: time.Now(), Period: 90 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range rep.Evidence {
		check(e.ID)
		seen[e.ID] = true
	}
	for id := range mapping {
		if _, isCheck := audit.Lookup(id); !isCheck && !seen[id] {
			out = append(out, "mapping names "+id+", which is neither an audit check nor evidence the report collects")
		}
	}
	return out
}

// The catalogue maps every audit check and every evidence id to known
// controls of both frameworks.
func TestCatalogueComplete(t *testing.T) {
	for _, p := range catalogueProblems(t, Mapping) {
		t.Errorf("core/report/controls.go: %s", p)
	}
}

// The check above can fail: an unmapped check, an unknown control and a
// stray id are each caught.
func TestCatalogueCatchesMistakes(t *testing.T) {
	bad := map[string][]string{}
	for k, v := range Mapping {
		bad[k] = v
	}
	delete(bad, "log.chain")
	bad["log.mode"] = []string{"CC7.2", "A.9.9"}
	bad["no.such.check"] = []string{"CC7.2", "A.8.15"}
	got := strings.Join(catalogueProblems(t, bad), "\n")
	for _, want := range []string{"log.chain is not mapped", "log.mode maps to unknown control A.9.9", "mapping names no.such.check"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
}

func TestRollUp(t *testing.T) {
	for _, c := range []struct {
		ev   []string
		want string
	}{
		{nil, Manual},
		{[]string{EvInfo, EvManual}, Manual},
		{[]string{EvPass, EvInfo}, Pass},
		{[]string{EvPass, EvException}, Exception},
		{[]string{EvPass, EvException, EvFail}, Fail},
	} {
		var ev []Evidence
		for _, s := range c.ev {
			ev = append(ev, Evidence{Status: s})
		}
		if got := rollUp(ev); got != c.want {
			t.Errorf("rollUp(%v) = %s, want %s", c.ev, got, c.want)
		}
	}
}

func TestBuildRollsUpEvidence(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	old := now.AddDate(0, -6, 0)
	recent := now.AddDate(0, 0, -3)
	cfg := config.FromDefaults().Config
	rep, err := Build(Input{
		Now: now, Period: 90 * 24 * time.Hour, Framework: "all", Config: cfg, ConfigHash: "abc",
		Audit: &audit.Report{Results: []audit.Result{
			{ID: "log.chain", Severity: audit.Critical, Status: audit.Pass},
			{ID: "sandbox.not_all", Severity: audit.Low, Status: audit.Fail, Suppression: &audit.Suppression{Reason: "owner session trusted", Expires: "2027-01-01"}},
			{ID: "gateway.rate_limit", Severity: audit.High, Status: audit.Fail, Evidence: []string{"rate limiting off"}},
		}},
		Log: LogSummary{Present: true, Verified: true, Entries: 3, First: 1, HeadSeq: 3, HeadHash: "ff"},
		Users: []auth.User{
			{Name: "alice", Role: auth.RoleAdmin, Created: old, LastLogin: &recent, TwoFactorEnabled: true},
			{Name: "bob", Role: auth.RoleViewer, Created: old},
			{Name: "carol", Role: auth.RoleViewer, Created: recent},
		},
		Secrets:   SecretsStatus{Exists: true, Recipients: []string{"age1x"}, Names: 2},
		Pseudonym: func(s string) string { return "user-" + s[:1] },
	})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, c := range rep.Controls {
		status[c.ID] = c.Status
	}
	want := map[string]string{
		"CC7.3": Pass,      // log.chain passes, log verified
		"CC6.8": Exception, // sandbox.not_all suppressed
		"A.8.5": Fail,      // gateway.rate_limit open
		"CC6.2": Fail,      // bob is stale; carol is new, not stale
		"CC9.2": Manual,    // no automated evidence
		"A.8.8": Manual,    // no dependency scan given
	}
	for id, w := range want {
		if status[id] != w {
			t.Errorf("%s: %s, want %s", id, status[id], w)
		}
	}
	var stale []string
	for _, u := range rep.Users {
		if u.Stale {
			stale = append(stale, u.Name)
		}
		if strings.Contains(u.Name, "alice") || strings.Contains(u.Name, "bob") {
			t.Errorf("--redact left a username: %s", u.Name)
		}
	}
	if strings.Join(stale, ",") != "user-b" {
		t.Errorf("stale accounts %v, want user-b", stale)
	}
	if rep.Integrity.ConfigHash != "abc" || rep.Integrity.AuditHeadSeq != 3 || rep.Integrity.FindingsHash == "" {
		t.Errorf("integrity %+v", rep.Integrity)
	}
	if n := rep.Summary.ByStatus[Pass] + rep.Summary.ByStatus[Fail] + rep.Summary.ByStatus[Exception] + rep.Summary.ByStatus[Manual]; n != len(Controls) {
		t.Errorf("summary counts %d controls, want %d", n, len(Controls))
	}
	soc, _ := Build(Input{Now: now, Period: time.Hour, Framework: SOC2})
	for _, c := range soc.Controls {
		if c.Framework != SOC2 {
			t.Errorf("--framework soc2 lists %s", c.ID)
		}
	}
	if _, err := Build(Input{Framework: "pci"}); err == nil {
		t.Error("unknown framework accepted")
	}
}

// The findings hash follows outcomes, not wording.
func TestFindingsHash(t *testing.T) {
	a := &audit.Report{Results: []audit.Result{{ID: "x", Status: audit.Pass}, {ID: "y", Status: audit.Fail, Evidence: []string{"one"}}}}
	b := &audit.Report{Results: []audit.Result{{ID: "y", Status: audit.Fail, Evidence: []string{"two"}}, {ID: "x", Status: audit.Pass}}}
	c := &audit.Report{Results: []audit.Result{{ID: "x", Status: audit.Fail}, {ID: "y", Status: audit.Fail}}}
	if FindingsHash(a) != FindingsHash(b) {
		t.Error("order or wording changed the hash")
	}
	if FindingsHash(a) == FindingsHash(c) {
		t.Error("a changed outcome kept the hash")
	}
}

type entries []auditlog.Entry

func (es entries) Each(_ context.Context, _ uint64, since time.Time, fn func(auditlog.Entry) error) error {
	for _, e := range es {
		if !e.Time.Before(since) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestCountEvents(t *testing.T) {
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	es := entries{
		{Time: day.AddDate(0, 0, -30), Action: "login", Outcome: "success"}, // before the period
		{Time: day, Action: "login", Outcome: "success"},
		{Time: day, Action: "login", Outcome: "failure"},
		{Time: day, Action: "login", Outcome: "denied"},
		{Time: day.Add(time.Hour), Action: "login.rate_limited", Outcome: "denied"},
		{Time: day.AddDate(0, 0, 1), Action: "2fa.enable", Outcome: "allowed"},
		{Time: day.AddDate(0, 0, 1), Action: "session.revoke_all", Outcome: "allowed"},
		{Time: day.AddDate(0, 0, 1), Action: "sandbox.exec", Outcome: "success"},
		{Time: day.AddDate(0, 0, 1), Action: "sandbox_violation", Outcome: "denied"},
		{Time: day.AddDate(0, 0, 2), Action: "secret.set", Outcome: "success"},
	}
	pops, daily, err := CountEvents(context.Background(), es, day.AddDate(0, 0, -2), day.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, p := range pops {
		got[p.Name] = p.Count
	}
	want := map[string]int{"logins": 1, "failed logins": 2, "rate-limit trips": 1, "2FA enrolments": 1, "session revocations": 1,
		"sandbox runs": 1, "sandbox violations": 1, "secret changes": 1, "config changes": 0, "access changes": 0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d", k, got[k], v)
		}
	}
	if len(daily) != 5 || daily[2].Count != 4 || daily[3].Count != 4 || daily[4].Count != 1 || daily[0].Count != 0 {
		t.Errorf("daily %+v", daily)
	}
}

// docs/report.md lists every control and the mapping as controls.go has it.
func TestDocsListCatalogue(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Controls {
		if !strings.Contains(string(doc), "| "+c.ID+" | "+c.Title+" |") {
			t.Errorf("docs/report.md does not list control %s %s", c.ID, c.Title)
		}
	}
	for id, ctrls := range Mapping {
		if row := "| `" + id + "` | " + strings.Join(ctrls, ", ") + " |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/report.md lacks the mapping row %s", row)
		}
	}
}

func TestWaivers(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	rep, err := Build(Input{Now: now, Period: 24 * time.Hour, Config: config.FromDefaults().Config,
		Secrets: SecretsStatus{Exists: true},
		Audit:   &audit.Report{Results: []audit.Result{{ID: "gateway.rate_limit", Severity: audit.High, Status: audit.Fail}}},
		Waivers: []ControlWaiver{
			{Control: "CC9.2", Reason: "vendor reports on file", Expires: day("2026-11-22")}, // holds through today
			{Control: "A.8.5", Reason: "limiter replaced by the proxy's", Expires: day("2027-01-31")},
			{Control: "CC6.7", Reason: "old", Expires: day("2026-11-21")},                 // lapsed; CC6.7 passes anyway
			{Control: "CC8.1", Reason: "old release process", Expires: day("2026-11-01")}, // lapsed: stays MANUAL
			{Control: "A.8.24", Reason: "not needed", Expires: day("2027-01-01")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"CC9.2": Exception, "A.8.5": Exception, "CC8.1": Manual, "A.8.24": Pass}
	for _, c := range rep.Controls {
		w, ok := want[c.ID]
		if !ok {
			continue
		}
		if c.Status != w {
			t.Errorf("%s: %s, want %s", c.ID, c.Status, w)
		}
		last := c.Evidence[len(c.Evidence)-1]
		if last.ID != EvWaiver || last.Exception == nil {
			t.Errorf("%s: the waiver is not listed: %+v", c.ID, last)
		}
	}
	if rep.Summary.ByStatus[Exception] != 2 {
		t.Errorf("summary counts %d exceptions, want 2", rep.Summary.ByStatus[Exception])
	}
}

// A dependency scan passes without critical or high findings, and only
// while its advisories are fresh.
func TestDepsEvidenceFreshness(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		imported time.Time
		findings map[string]int
		want     string
	}{
		{now.AddDate(0, 0, -2), map[string]int{"medium": 3}, EvPass},
		{now.AddDate(0, 0, -2), map[string]int{"high": 1}, EvFail},
		{now.AddDate(0, 0, -8), map[string]int{}, EvFail},
		{time.Time{}, map[string]int{}, EvPass},
	} {
		e := depsEvidence(Input{Now: now, Deps: &DepsScan{Source: "deps.json", Imported: c.imported, Findings: c.findings}})
		if e.Status != c.want {
			t.Errorf("imported %v, findings %v: %s, want %s (%v)", c.imported, c.findings, e.Status, c.want, e.Details)
		}
	}
}
