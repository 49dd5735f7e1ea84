// Package report turns a Warden deployment's live state into compliance
// evidence: audit findings and score, the audit log's chain and event
// populations over a period, users and roles, the policies in force,
// secrets at rest, TLS, the last dependency scan and release notes, each
// rolled up to the SOC 2 criteria and ISO 27001:2022 Annex A controls it
// supports (controls.go). It returns plain structs; commands/ renders them.
package report

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/scanners/audit"
)

// Evidence statuses.
const (
	EvPass      = "pass"
	EvFail      = "fail"
	EvException = "exception" // a failed check accepted by a suppression with a reason
	EvManual    = "manual"    // nothing automated to show: an auditor looks
	EvInfo      = "info"      // context that neither passes nor fails a control
)

// Control statuses.
const (
	Pass      = "PASS"
	Fail      = "FAIL"
	Exception = "EXCEPTION"
	Manual    = "MANUAL"
)

// Statuses lists the control statuses in display order.
var Statuses = []string{Pass, Fail, Exception, Manual}

// Evidence is one piece of evidence.
type Evidence struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"` // audit, log, access, policy, secrets, tls, deps, change, ir
	Title    string   `json:"title"`
	Status   string   `json:"status"`
	Severity string   `json:"severity,omitempty"`
	Details  []string `json:"details,omitempty"`
	// Exception, for status exception: the accepting suppression.
	Exception *Waiver `json:"exception,omitempty"`
}

// Waiver is an accepted finding: a reason and an optional expiry.
type Waiver struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
}

// ControlResult is one control rolled up from its evidence.
type ControlResult struct {
	Control
	Status   string     `json:"status"`
	Evidence []Evidence `json:"evidence"`
}

// Period is the window the report covers.
type Period struct {
	Days int       `json:"days"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// AuditSummary is the audit's score and open findings by severity.
type AuditSummary struct {
	Score      int            `json:"score"`
	Band       string         `json:"band"`
	Capped     bool           `json:"capped"`
	Checks     int            `json:"checks"`
	Passed     int            `json:"passed"`
	Failed     int            `json:"failed"`
	Suppressed int            `json:"suppressed"`
	Skipped    int            `json:"skipped"`
	Open       map[string]int `json:"open"` // by severity, every severity present
}

// LogSummary is the audit log's verification and activity.
type LogSummary struct {
	Present  bool   `json:"present"`
	Verified bool   `json:"verified"`
	Entries  uint64 `json:"entries"`
	First    uint64 `json:"first"`
	HeadSeq  uint64 `json:"headSeq"`
	HeadHash string `json:"headHash"`
	Break    string `json:"break,omitempty"`
	// Populations counts events in the period, in display order.
	Populations []Population `json:"populations"`
	// Daily counts every event in the period per UTC day, oldest first.
	Daily []DayCount `json:"daily"`
}

// DayCount is the number of events on one day.
type DayCount struct {
	Day   string `json:"day"` // YYYY-MM-DD
	Count int    `json:"count"`
}

// UserRow is a user as the report shows it.
type UserRow struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Status    string `json:"status"` // active, disabled
	TwoFactor bool   `json:"twoFactor"`
	LastLogin string `json:"lastLogin,omitempty"`
	Stale     bool   `json:"stale"`
}

// Setting is one policy value in force.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Integrity is what `warden report verify` re-checks.
type Integrity struct {
	AuditHeadSeq  uint64 `json:"auditHeadSeq"`
	AuditHeadHash string `json:"auditHeadHash"`
	ConfigFile    string `json:"configFile"`
	ConfigHash    string `json:"configHash"`
	FindingsHash  string `json:"findingsHash"`
	// ReportMAC is an HMAC-SHA256 of the whole report, keyed by the audit
	// log's key, over the document with this field set to
	// MACPlaceholder: an edit anywhere in the report breaks it, and only
	// someone holding the state's secret store can make a new one.
	ReportMAC string `json:"reportMac,omitempty"`
}

// Summary counts controls by status.
type Summary struct {
	Controls int            `json:"controls"`
	ByStatus map[string]int `json:"byStatus"`
}

// Report is the whole report.
type Report struct {
	Generated time.Time       `json:"generated"`
	Framework string          `json:"framework"`
	Period    Period          `json:"period"`
	Redacted  bool            `json:"redacted"`
	Summary   Summary         `json:"summary"`
	Controls  []ControlResult `json:"controls"`
	Audit     *AuditSummary   `json:"audit,omitempty"`
	Log       LogSummary      `json:"log"`
	Users     []UserRow       `json:"users"`
	Policies  []Setting       `json:"policies"`
	// Gateways are the gateways on this host the audit log records as
	// running, each with whether it answered (gateway.go).
	Gateways  []GatewayRun `json:"gateways"`
	Evidence  []Evidence   `json:"evidence"`
	Integrity Integrity    `json:"integrity"`
}

// SecretsStatus is the secret store as found.
type SecretsStatus struct {
	Path       string
	Exists     bool
	Recipients []string
	Names      int
	Err        error
}

// MaxAdvisoryAge is how old a scan's advisories may be for the scan to
// count as evidence (the age at which `warden deps scan` warns).
const MaxAdvisoryAge = 7 * 24 * time.Hour

// DepsScan is the part of a `warden deps scan --format json` the report uses.
type DepsScan struct {
	Source string
	// Imported is when the newest advisory database the scan used was
	// imported (zero when the document does not say).
	Imported time.Time
	Packages int            // packages scanned
	Findings map[string]int // by severity
	Total    int
}

// ReleaseNotes is the part of `warden release-notes --format json` the report uses.
type ReleaseNotes struct {
	Source   string
	Version  string
	Range    string
	Changes  int
	Breaking int
	Security int
}

// Input is the live state the report is built from. A nil field means the
// evidence could not be collected; the controls it supports say why.
type Input struct {
	Now       time.Time
	Period    time.Duration
	Framework string // soc2, iso27001 or all

	Audit    *audit.Report
	AuditErr error

	Log    LogSummary
	LogErr error

	Users    []auth.User
	UsersErr error

	Config     *config.Config
	ConfigFile string
	ConfigHash string

	Secrets SecretsStatus

	// Gateways are the running gateways (OpenGateways, ProbeGateways):
	// the live address can differ from gateway.listen (serve --listen,
	// WARDEN_LISTEN, port 0).
	Gateways []GatewayRun

	Deps         *DepsScan
	ReleaseNotes *ReleaseNotes
	Playbooks    []string

	// Waivers accept a control's failure or lack of evidence for a while.
	Waivers []ControlWaiver

	// Pseudonym, when set, replaces every username (--redact).
	Pseudonym func(string) string
}

// ControlWaiver accepts a control that FAILs or is MANUAL, with the reason
// and the day it lapses (in the style of InSpec waivers).
type ControlWaiver struct {
	Control string
	Reason  string
	Expires time.Time // the waiver holds through this day (UTC)
}

// EvWaiver is the id of a waiver's evidence.
const EvWaiver = "waiver"

// applyWaivers turns a FAIL or MANUAL control into EXCEPTION while one of
// its waivers holds; a lapsed or unneeded waiver is listed as context.
func applyWaivers(cr *ControlResult, waivers []ControlWaiver, now time.Time) {
	for _, w := range waivers {
		if w.Control != cr.ID {
			continue
		}
		exp := w.Expires.UTC().Format(time.DateOnly)
		e := Evidence{ID: EvWaiver, Kind: "waiver", Title: "waiver", Exception: &Waiver{Reason: w.Reason, Expires: exp}}
		switch {
		case now.UTC().Format(time.DateOnly) > exp:
			e.Status = EvInfo
			e.Details = []string{"lapsed on " + exp + ": " + w.Reason}
		case cr.Status == Pass || cr.Status == Exception:
			e.Status = EvInfo
			e.Details = []string{"not needed: the control does not fail"}
		default:
			e.Status = EvException
			e.Details = []string{fmt.Sprintf("accepts %s until %s: %s", cr.Status, exp, w.Reason)}
			cr.Status = Exception
		}
		cr.Evidence = append(cr.Evidence, e)
	}
}

// Build rolls the evidence up to the framework's controls.
func Build(in Input) (*Report, error) {
	if in.Framework == "" {
		in.Framework = "all"
	}
	if in.Framework != "all" && in.Framework != SOC2 && in.Framework != ISO27001 {
		return nil, fmt.Errorf("unknown framework %q (soc2, iso27001 or all)", in.Framework)
	}
	from := in.Now.Add(-in.Period)
	r := &Report{
		Generated: in.Now.UTC(), Framework: in.Framework, Redacted: in.Pseudonym != nil,
		Period: Period{Days: int(in.Period / (24 * time.Hour)), From: from.UTC(), To: in.Now.UTC()},
		Log:    in.Log,
	}
	if r.Log.Populations == nil {
		r.Log.Populations = []Population{}
	}
	if r.Log.Daily == nil {
		r.Log.Daily = []DayCount{}
	}
	var ev []Evidence
	ev = append(ev, auditEvidence(in, r)...)
	ev = append(ev, logEvidence(in))
	users, usersEv := accessEvidence(in, from)
	r.Users = users
	ev = append(ev, usersEv...)
	pol, polEv := policyEvidence(in)
	r.Policies = pol
	r.Gateways = append([]GatewayRun{}, in.Gateways...)
	ev = append(ev, polEv...)
	ev = append(ev, secretsEvidence(in), depsEvidence(in), releaseEvidence(in), playbookEvidence(in))
	r.Evidence = ev

	byID := map[string][]Evidence{}
	for _, e := range ev {
		for _, c := range Mapping[e.ID] {
			byID[c] = append(byID[c], e)
		}
	}
	r.Summary = Summary{ByStatus: map[string]int{}}
	for _, s := range Statuses {
		r.Summary.ByStatus[s] = 0
	}
	for _, c := range Controls {
		if in.Framework != "all" && c.Framework != in.Framework {
			continue
		}
		cr := ControlResult{Control: c, Evidence: byID[c.ID]}
		if cr.Evidence == nil {
			cr.Evidence = []Evidence{}
		}
		cr.Status = rollUp(cr.Evidence)
		applyWaivers(&cr, in.Waivers, in.Now)
		r.Controls = append(r.Controls, cr)
		r.Summary.Controls++
		r.Summary.ByStatus[cr.Status]++
	}
	r.Integrity = Integrity{AuditHeadSeq: in.Log.HeadSeq, AuditHeadHash: in.Log.HeadHash,
		ConfigFile: in.ConfigFile, ConfigHash: in.ConfigHash, FindingsHash: FindingsHash(in.Audit)}
	return r, nil
}

// rollUp: any failing evidence fails the control; otherwise an accepted
// exception makes it EXCEPTION; otherwise passing evidence passes it; a
// control with nothing automated to show is MANUAL.
func rollUp(ev []Evidence) string {
	has := map[string]bool{}
	for _, e := range ev {
		has[e.Status] = true
	}
	switch {
	case has[EvFail]:
		return Fail
	case has[EvException]:
		return Exception
	case has[EvPass]:
		return Pass
	}
	return Manual
}

// FindingsHash is the SHA-256 of the audit's outcome: one line per check
// with its id, status and whether a suppression accepts it, in id order.
// Evidence text is left out, so the hash changes when a check's outcome
// changes, not when its wording does.
func FindingsHash(rep *audit.Report) string {
	if rep == nil {
		return ""
	}
	lines := make([]string, 0, len(rep.Results))
	for _, x := range rep.Results {
		lines = append(lines, fmt.Sprintf("%s %s %v\n", x.ID, x.Status, x.Suppression != nil))
	}
	sort.Strings(lines)
	return HashBytes([]byte(strings.Join(lines, "")))
}

// MACPlaceholder stands for the report's MAC while the MAC is computed.
const MACPlaceholder = "warden-report-mac-pending"

// MAC is the hex HMAC-SHA256 of a rendered report, keyed by key.
func MAC(key, doc []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("warden report v1\x00"))
	m.Write(doc)
	return hex.EncodeToString(m.Sum(nil))
}

// HashBytes is the hex SHA-256 of data.
func HashBytes(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func auditEvidence(in Input, r *Report) []Evidence {
	if in.Audit == nil {
		reason := "the audit did not run"
		if in.AuditErr != nil {
			reason += ": " + in.AuditErr.Error()
		}
		var out []Evidence
		for _, c := range audit.Catalog() {
			out = append(out, Evidence{ID: c.ID, Kind: "audit", Title: c.Title, Status: EvManual, Severity: string(c.Severity), Details: []string{reason}})
		}
		return out
	}
	a := in.Audit
	s := &AuditSummary{Score: a.Score, Band: a.Band, Capped: a.Capped, Checks: a.Counts.Checks, Passed: a.Counts.Passed,
		Failed: a.Counts.Failed, Suppressed: a.Counts.Suppressed, Skipped: a.Counts.Skipped, Open: map[string]int{}}
	for _, sev := range audit.Severities {
		s.Open[string(sev)] = a.Counts.Open[sev]
	}
	r.Audit = s
	var out []Evidence
	for _, x := range a.Results {
		e := Evidence{ID: x.ID, Kind: "audit", Title: x.Title, Severity: string(x.Severity)}
		switch {
		case x.Status == audit.Pass:
			e.Status = EvPass
			e.Details = []string{"passed: the check found no such problem"}
		case x.Status == audit.Skipped:
			e.Status = EvInfo
			e.Details = []string{"not run: " + x.Reason}
		case x.Suppression != nil:
			e.Status = EvException
			e.Exception = &Waiver{Reason: x.Suppression.Reason, Expires: x.Suppression.Expires}
			e.Details = append([]string{}, x.Evidence...)
		default:
			e.Status = EvFail
			e.Details = append([]string{}, x.Evidence...)
			if x.Remediation != "" {
				e.Details = append(e.Details, "remediation: "+x.Remediation)
			}
		}
		out = append(out, e)
	}
	return out
}

func logEvidence(in Input) Evidence {
	e := Evidence{ID: EvLogEvents, Kind: "log", Title: "audit log chain and activity over the period"}
	switch {
	case in.LogErr != nil:
		e.Status = EvFail
		e.Details = []string{"the audit log could not be read: " + in.LogErr.Error()}
	case !in.Log.Present:
		e.Status = EvFail
		e.Details = []string{"no audit log in the state dir: nothing is recorded"}
	case !in.Log.Verified:
		e.Status = EvFail
		e.Details = []string{"chain verification failed: " + in.Log.Break}
	default:
		e.Status = EvPass
		e.Details = []string{fmt.Sprintf("chain verified: %d entries, seq %d to %d", in.Log.Entries, in.Log.First, in.Log.HeadSeq)}
	}
	for _, p := range in.Log.Populations {
		e.Details = append(e.Details, fmt.Sprintf("%s: %d", p.Name, p.Count))
	}
	return e
}

func accessEvidence(in Input, from time.Time) ([]UserRow, []Evidence) {
	users := Evidence{ID: EvUsers, Kind: "access", Title: "users, roles and stale accounts"}
	mfa := Evidence{ID: EvAdminMFA, Kind: "access", Title: "administrators use a second factor"}
	rows := []UserRow{}
	if in.UsersErr != nil {
		users.Status, mfa.Status = EvManual, EvManual
		users.Details = []string{"users could not be read: " + in.UsersErr.Error()}
		mfa.Details = users.Details
		return rows, []Evidence{users, mfa}
	}
	name := func(n string) string {
		if in.Pseudonym != nil {
			return in.Pseudonym(n)
		}
		return n
	}
	var stale, noMFA []string
	roles := map[string]int{}
	admins := 0
	for _, u := range in.Users {
		row := UserRow{Name: name(u.Name), Role: string(u.Role), Status: "active", TwoFactor: u.TwoFactorEnabled}
		if u.LastLogin != nil {
			row.LastLogin = u.LastLogin.UTC().Format(time.RFC3339)
		}
		if u.Disabled != nil {
			row.Status = "disabled"
		} else {
			roles[string(u.Role)]++
			// An account is stale when it has not logged in during the
			// period; one created within the period is not stale yet.
			row.Stale = (u.LastLogin == nil || u.LastLogin.Before(from)) && u.Created.Before(from)
			if row.Stale {
				stale = append(stale, row.Name)
			}
			if u.Role == auth.RoleAdmin {
				admins++
				if !u.TwoFactorEnabled {
					noMFA = append(noMFA, row.Name)
				}
			}
		}
		rows = append(rows, row)
	}
	var rs []string
	for r, n := range roles {
		rs = append(rs, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(rs)
	active := 0
	for _, r := range rows {
		if r.Status == "active" {
			active++
		}
	}
	users.Details = []string{fmt.Sprintf("%d users, %d active; roles: %s", len(rows), active, orNone(strings.Join(rs, ", ")))}
	switch {
	case len(rows) == 0:
		users.Status = EvManual
		users.Details = []string{"no gateway users: access is by the state dir's owner only"}
	case len(stale) > 0:
		users.Status = EvFail
		users.Details = append(users.Details, fmt.Sprintf("stale accounts (no login in the period): %s; disable them with `warden users disable NAME`", strings.Join(stale, ", ")))
	default:
		users.Status = EvPass
		users.Details = append(users.Details, "no stale accounts: every active user logged in during the period")
	}
	switch {
	case admins == 0:
		mfa.Status = EvManual
		mfa.Details = []string{"no active administrators"}
	case len(noMFA) > 0:
		mfa.Status = EvFail
		mfa.Details = []string{fmt.Sprintf("administrators without two-factor: %s; enrol with `warden users 2fa enroll NAME`", strings.Join(noMFA, ", "))}
	default:
		mfa.Status = EvPass
		mfa.Details = []string{fmt.Sprintf("all %d active administrators have two-factor enabled", admins)}
	}
	return rows, []Evidence{users, mfa}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func policyEvidence(in Input) ([]Setting, []Evidence) {
	pw := Evidence{ID: EvPasswordPol, Kind: "policy", Title: "password policy in force"}
	sess := Evidence{ID: EvSessionPol, Kind: "policy", Title: "session lifetimes and rate limiting in force"}
	tls := Evidence{ID: EvTLS, Kind: "tls", Title: "TLS on the gateway"}
	c := in.Config
	if c == nil {
		for _, e := range []*Evidence{&pw, &sess, &tls} {
			e.Status = EvManual
			e.Details = []string{"the config could not be read"}
		}
		return []Setting{}, []Evidence{pw, sess, tls}
	}
	g := c.Gateway
	rl := g.RateLimit
	set := []Setting{
		{"auth.password_min_length", fmt.Sprint(c.Auth.PasswordMinLength)},
		{"gateway.auth.access_ttl", HumanDuration(g.Auth.AccessTTL.D())},
		{"gateway.auth.session_ttl", HumanDuration(g.Auth.SessionTTL.D())},
		{"gateway.auth.remember_me_ttl", HumanDuration(g.Auth.RememberMeTTL.D())},
		{"gateway.auth.idle_timeout", HumanDuration(g.Auth.IdleTimeout.D())},
		{"gateway.rate_limit", fmt.Sprintf("enabled=%v, %d %s per IP, %d %s per account", rl.Enabled, rl.Attempts, Per(rl.Window.D()), rl.AccountAttempts, Per(rl.AccountWindow.D()))},
		{"gateway.listen", listenSetting(g.Listen, in.Gateways)},
		{"gateway.tls", tlsSummary(c)},
		{"sandbox.mode", c.Sandbox.Mode},
		{"sandbox.network", fmt.Sprint(c.Sandbox.Network)},
		{"channels.dm_policy", c.Channels.DMPolicy},
		{"security.audit.retention_days", retention(c.Security.Audit.RetentionDays)},
	}
	pw.Details = []string{fmt.Sprintf("minimum length %d characters, hashed with argon2id", c.Auth.PasswordMinLength)}
	if c.Auth.PasswordMinLength >= 12 {
		pw.Status = EvPass
	} else {
		pw.Status = EvFail
	}
	sess.Details = []string{fmt.Sprintf("access tokens %s, sessions %s (remember me %s), idle timeout %s",
		HumanDuration(g.Auth.AccessTTL.D()), HumanDuration(g.Auth.SessionTTL.D()), HumanDuration(g.Auth.RememberMeTTL.D()), HumanDuration(g.Auth.IdleTimeout.D()))}
	if rl.Enabled {
		sess.Details = append(sess.Details, fmt.Sprintf("failed attempts limited to %d %s per client IP", rl.Attempts, Per(rl.Window.D())))
	} else {
		sess.Details = append(sess.Details, "failed-attempt rate limiting is off")
	}
	sess.Status = EvPass
	if !rl.Enabled || g.Auth.SessionTTL.D() > 24*time.Hour {
		sess.Status = EvFail
	}
	tls.Details = []string{"gateway.listen " + g.Listen + ": " + tlsSummary(c)}
	switch {
	case g.TLS.Enabled() && g.TLS.MinVersion != "" && g.TLS.MinVersion < "1.2":
		tls.Status = EvFail
	case g.TLS.Enabled():
		tls.Status = EvPass
	case listenLoopback(g.Listen):
		tls.Status = EvPass
		tls.Details = append(tls.Details, "loopback only: traffic does not leave the host, TLS is not required")
	default:
		tls.Status = EvFail
		tls.Details = append(tls.Details, "listening beyond loopback without TLS")
	}
	liveTLS(&tls, in.Gateways)
	return set, []Evidence{pw, sess, tls}
}

// listenSetting is gateway.listen, and where the running gateway listens
// when that is elsewhere.
func listenSetting(listen string, runs []GatewayRun) string {
	var elsewhere []string
	for _, r := range runs {
		if r.Answering && r.Addr != listen {
			elsewhere = append(elsewhere, r.Addr)
		}
	}
	if len(elsewhere) == 0 {
		return listen
	}
	return listen + " in the config; the running gateway listens on " + strings.Join(elsewhere, ", ")
}

// liveTLS adds the running gateways to the TLS evidence: one that answers
// beyond loopback without TLS fails it, whatever the config says now; a
// recorded start that nothing answers for is noted.
func liveTLS(e *Evidence, runs []GatewayRun) {
	for _, r := range runs {
		since := r.Started.Format(time.RFC3339)
		if !r.Answering {
			e.Details = append(e.Details, fmt.Sprintf("the audit log records a gateway started on %s at %s and no stop since; nothing answers there now", r.Addr, since))
			continue
		}
		line := fmt.Sprintf("the running gateway listens on %s (since %s): TLS %s", r.Addr, since, pick(r.TLS, "on", "off"))
		switch {
		case r.TLS:
		case listenLoopback(r.Addr):
			line += ", loopback only"
		default:
			line += ", beyond loopback"
			e.Status = EvFail
		}
		e.Details = append(e.Details, line)
	}
}

func pick(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func retention(days int) string {
	if days == 0 {
		return "kept forever"
	}
	return HumanDuration(time.Duration(days) * 24 * time.Hour)
}

func listenLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	return config.IsLoopbackHost(host)
}

func tlsSummary(c *config.Config) string {
	t := c.Gateway.TLS
	if !t.Enabled() {
		return "off"
	}
	min := t.MinVersion
	if min == "" {
		min = "1.3"
	}
	return "on, minimum TLS " + min
}

func secretsEvidence(in Input) Evidence {
	e := Evidence{ID: EvSecretsAtRest, Kind: "secrets", Title: "secrets encrypted at rest"}
	s := in.Secrets
	switch {
	case s.Err != nil:
		e.Status = EvFail
		e.Details = []string{"the secret store could not be read: " + s.Err.Error()}
	case !s.Exists:
		e.Status = EvFail
		e.Details = []string{"no secret store: create one with `warden secrets init`"}
	default:
		e.Status = EvPass
		e.Details = []string{fmt.Sprintf("secret store encrypted with age (SOPS format) for %d recipient(s); %d secrets", len(s.Recipients), s.Names)}
	}
	return e
}

func depsEvidence(in Input) Evidence {
	e := Evidence{ID: EvDepsScan, Kind: "deps", Title: "dependency vulnerability scan"}
	d := in.Deps
	if d == nil {
		e.Status = EvManual
		e.Details = []string{"no scan given: pass the output of `warden deps scan --format json` with --deps-json"}
		return e
	}
	e.Details = []string{fmt.Sprintf("%s: %d packages, %d findings", d.Source, d.Packages, d.Total)}
	stale := false
	if !d.Imported.IsZero() {
		age := in.Now.Sub(d.Imported)
		e.Details = append(e.Details, "advisories imported "+d.Imported.UTC().Format(time.RFC3339))
		if stale = age > MaxAdvisoryAge; stale {
			e.Details = append(e.Details, fmt.Sprintf("stale evidence: the advisories were %s old at the report; run `warden deps db update` and scan again",
				HumanDuration(age.Truncate(24*time.Hour))))
		}
	}
	var sev []string
	for _, s := range []string{"critical", "high", "medium", "low", "unknown"} {
		if n := d.Findings[s]; n > 0 {
			sev = append(sev, fmt.Sprintf("%s %d", s, n))
		}
	}
	if len(sev) > 0 {
		e.Details = append(e.Details, "by severity: "+strings.Join(sev, ", "))
	}
	e.Status = EvPass
	if stale || d.Findings["critical"]+d.Findings["high"] > 0 {
		e.Status = EvFail
	}
	return e
}

func releaseEvidence(in Input) Evidence {
	e := Evidence{ID: EvReleaseNotes, Kind: "change", Title: "latest release notes (change management)"}
	n := in.ReleaseNotes
	if n == nil {
		e.Status = EvManual
		e.Details = []string{"no release notes given: pass the output of `warden release-notes --format json` with --release-notes-json"}
		return e
	}
	e.Status = EvPass
	v := n.Version
	if v == "" {
		v = "unreleased"
	}
	e.Details = []string{fmt.Sprintf("%s: %s (%s): %d changes, %d breaking, %d security", n.Source, v, orNone(n.Range), n.Changes, n.Breaking, n.Security)}
	return e
}

func playbookEvidence(in Input) Evidence {
	e := Evidence{ID: EvPlaybooks, Kind: "ir", Title: "incident response playbooks", Status: EvManual,
		Details: []string{"playbooks available: " + orNone(strings.Join(in.Playbooks, ", ")) + " (`warden report playbook NAME`)",
			"whether they were reviewed and exercised is for the auditor to confirm"}}
	return e
}
