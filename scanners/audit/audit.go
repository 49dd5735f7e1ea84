// Package audit checks a Warden deployment: its config, its state
// directory, this host's sandbox layers, the audit log, the toolkit's own
// dependencies and, on request, a running gateway. Every check has a
// stable id and a severity; the results are plain structs that commands/
// renders, scores and gates on.
package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/fsperm"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

// Severity of a check.
type Severity string

// Severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// Weight is the severity's weight in the score (OpenSSF Scorecard's).
func (s Severity) Weight() float64 {
	switch s {
	case Critical:
		return 10
	case High:
		return 7.5
	case Medium:
		return 5
	case Low:
		return 2.5
	}
	return 0
}

// Rank orders severities: critical 4 … info 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, bool) {
	for _, v := range Severities {
		if strings.EqualFold(s, string(v)) {
			return v, true
		}
	}
	return "", false
}

// Status of a check after a run.
type Status string

// Statuses.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skipped Status = "skipped" // the check could not run; left out of the score
)

// Result is one check's outcome.
type Result struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Status      Status   `json:"status"`
	Evidence    []string `json:"evidence,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	// Reason says why a check was skipped.
	Reason string `json:"reason,omitempty"`
	// ConfigKey, File and Line locate the finding in the config where
	// one applies (Line 0: the key is not set in the file).
	ConfigKey string `json:"configKey,omitempty"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Fixable   bool   `json:"fixable"`
	// Suppression is set on a failed check that a config suppression accepts.
	Suppression *Suppression `json:"suppression,omitempty"`
}

// Suppression is the config entry that accepts a finding.
type Suppression struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
	Key     string `json:"configKey"`
	Line    int    `json:"line,omitempty"`
}

// Open reports a failed check that no suppression accepts.
func (r Result) Open() bool { return r.Status == Fail && r.Suppression == nil }

// Check describes one check.
type Check struct {
	ID          string
	Severity    Severity
	Title       string
	Description string // what the check looks at and why it matters
	Fixable     bool
	Deep        bool // runs only with --deep
	run         func(ctx context.Context, e *env) outcome
}

// outcome is what a check's function returns.
type outcome struct {
	status      Status
	evidence    []string
	remediation string
	reason      string
	key         string
	line        int
}

func pass() outcome { return outcome{status: Pass} }

func skip(format string, args ...any) outcome {
	return outcome{status: Skipped, reason: fmt.Sprintf(format, args...)}
}

// Catalog lists every check, in report order.
func Catalog() []Check {
	var out []Check
	out = append(out, configChecks()...)
	out = append(out, hostChecks()...)
	out = append(out, deepChecks()...)
	return out
}

// Lookup returns the check with id.
func Lookup(id string) (Check, bool) {
	for _, c := range Catalog() {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// Options are the audit's inputs. Commands build them; every function
// field may be nil, which makes the checks that need it skip.
type Options struct {
	// Config is the config as far as it could be decoded; ConfigErr holds
	// what the loader refused in it. Raw is the plaintext file (nil for
	// the embedded defaults or an encrypted file).
	Config    *config.Loaded
	ConfigErr *config.ValidationError
	Raw       []byte

	StateDir string
	// Policy holds the expected modes of the state dir; ConfigMode the
	// expected mode of the config file and the identity.
	Policy     fsperm.Policy
	ConfigMode fs.FileMode
	// IdentityPath is the age identity file ("" when none is used).
	IdentityPath string

	Getenv func(string) string
	Now    time.Time
	Probe  func() sandbox.Host
	// ResolveSecret returns a secret store value.
	ResolveSecret func(ctx context.Context, name string) (string, error)
	// VerifyLog verifies the audit log chain; ErrNoAuditLog when there is none.
	VerifyLog func(ctx context.Context) (auditlog.Report, error)
	// Owner reads the owner's account (the one whose own sessions are
	// the main session); ErrNoAuditLog when there is no database yet.
	Owner func(ctx context.Context) (OwnerAccount, error)
	// VulnDB and Binary feed the self-audit of the toolkit's modules.
	VulnDB *osv.DB
	Binary string

	// Deep, when set, probes a running gateway.
	Deep *DeepOptions
}

// ErrNoAuditLog means the state dir holds no audit log yet.
var ErrNoAuditLog = errors.New("no audit log")

// OwnerAccount is what the sandbox check needs to know of the owner.
type OwnerAccount struct {
	// Name is the owner (gateway.owner, or the first admin created);
	// "" when there is none yet.
	Name string
	// Active: the account exists, is enabled and is an admin, so its
	// login sessions are the main session.
	Active bool
	// TwoFactor: the account signs in with a second factor.
	TwoFactor bool
}

// Report is the result of an audit.
type Report struct {
	Results []Result `json:"results"`
	Score   int      `json:"score"`
	Band    string   `json:"band"`
	// Capped reports that an open critical finding capped the score at 49.
	Capped bool   `json:"capped"`
	Counts Counts `json:"counts"`
}

// Counts summarise a report.
type Counts struct {
	Checks     int              `json:"checks"` // checks that ran
	Passed     int              `json:"passed"`
	Failed     int              `json:"failed"` // open findings
	Skipped    int              `json:"skipped"`
	Suppressed int              `json:"suppressed"`
	Open       map[Severity]int `json:"open"` // open findings by severity
}

// Findings are the open failed checks, most severe first.
func (r *Report) Findings() []Result { return r.filter(func(x Result) bool { return x.Open() }) }

// Suppressed are the failed checks a suppression accepts.
func (r *Report) Suppressed() []Result {
	return r.filter(func(x Result) bool { return x.Status == Fail && x.Suppression != nil })
}

// SkippedChecks are the checks that could not run.
func (r *Report) SkippedChecks() []Result {
	return r.filter(func(x Result) bool { return x.Status == Skipped })
}

func (r *Report) filter(keep func(Result) bool) []Result {
	out := []Result{}
	for _, x := range r.Results {
		if keep(x) {
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity.Rank() > out[j].Severity.Rank() })
	return out
}

// Run runs every check (the deep ones only with Options.Deep) and scores
// the result. Deep probes that cannot reach the gateway return an error
// wrapping ErrDeepUnreachable, as the audit was asked for and could not run.
func Run(ctx context.Context, o Options) (*Report, error) {
	e := newEnv(o)
	if o.Deep != nil {
		if err := e.connectDeep(ctx); err != nil {
			return nil, err
		}
	}
	rep := &Report{}
	for _, c := range Catalog() {
		if c.Deep && o.Deep == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out := c.run(ctx, e)
		r := Result{ID: c.ID, Severity: c.Severity, Title: c.Title, Status: out.status, Evidence: out.evidence,
			Remediation: out.remediation, Reason: out.reason, ConfigKey: out.key, Line: out.line, Fixable: c.Fixable && out.status == Fail}
		if out.key != "" && e.file != "" {
			r.File = e.file
			if r.Line == 0 {
				r.Line = e.line(out.key)
			}
		}
		if r.Status == Fail {
			if r.Suppression = e.suppression(c.ID); r.Suppression == nil {
				r.Evidence = append(r.Evidence, e.expiredSuppressions(c.ID)...)
			}
		}
		rep.Results = append(rep.Results, r)
	}
	rep.score()
	return rep, nil
}

// score computes 100 × Σ(weight × passed) / Σ(weight of checks that ran),
// floored; suppressed findings are accepted risk and left out like skipped
// checks; an open critical caps the score at 49.
func (r *Report) score() {
	r.Counts = Counts{Open: map[Severity]int{}}
	var earned, total float64
	critical := false
	for _, x := range r.Results {
		switch {
		case x.Status == Skipped:
			r.Counts.Skipped++
			continue
		case x.Status == Fail && x.Suppression != nil:
			r.Counts.Checks++
			r.Counts.Suppressed++
			continue
		}
		r.Counts.Checks++
		total += x.Severity.Weight()
		if x.Status == Pass {
			r.Counts.Passed++
			earned += x.Severity.Weight()
			continue
		}
		r.Counts.Failed++
		r.Counts.Open[x.Severity]++
		critical = critical || x.Severity == Critical
	}
	s := 100.0
	if total > 0 {
		s = math.Floor(100*earned/total + 1e-9)
	}
	r.Score = int(s)
	if critical && r.Score > 49 {
		r.Score, r.Capped = 49, true
	}
	r.Band = BandOf(r.Score)
}

// BandOf names the band of a score: exposed (< 50), needs work (50-79),
// good (80-89), hardened (>= 90).
func BandOf(score int) string {
	switch {
	case score < 50:
		return "exposed"
	case score < 80:
		return "needs work"
	case score < 90:
		return "good"
	}
	return "hardened"
}
