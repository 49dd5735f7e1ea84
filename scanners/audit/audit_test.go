package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/scanners/audit"
	"github.com/warden-sec/warden/scanners/audit/audittest"
)

func run(t *testing.T, o audit.Options) *audit.Report {
	t.Helper()
	rep, err := audit.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func byID(rep *audit.Report) map[string]audit.Result {
	m := map[string]audit.Result{}
	for _, r := range rep.Results {
		m[r.ID] = r
	}
	return m
}

// The insecure fixture trips every check but sandbox.not_all (mode off
// is the worse finding of the two) and the deep ones (not requested).
func TestInsecureTripsEveryCheck(t *testing.T) {
	f := audittest.Insecure(t)
	rep := run(t, f.Options)
	got := byID(rep)
	for _, c := range audit.Catalog() {
		r, ok := got[c.ID]
		switch {
		case c.Deep:
			if ok {
				t.Errorf("%s ran without --deep", c.ID)
			}
		case c.ID == "sandbox.not_all":
			if r.Status != audit.Pass {
				t.Errorf("%s: %s", c.ID, r.Status)
			}
		case r.Status != audit.Fail:
			t.Errorf("%s: status %s (%s), want fail", c.ID, r.Status, r.Reason)
		}
	}
	if rep.Score > 10 || rep.Band != "exposed" {
		t.Errorf("score %d band %s capped %v", rep.Score, rep.Band, rep.Capped)
	}
	// Evidence names every loose file, not a sample, and never the workspace.
	files := strings.Join(got["files.state_files"].Evidence, "\n")
	for _, want := range []string{"warden.db: mode 0644", "sessions: mode 0755", "main.jsonl: mode 0640"} {
		if !strings.Contains(files, want) {
			t.Errorf("files.state_files evidence lacks %q:\n%s", want, files)
		}
	}
	if strings.Contains(files, "workspace") {
		t.Errorf("the sandbox workspace was checked:\n%s", files)
	}
	// Secrets are named, never shown.
	for _, r := range rep.Results {
		for _, e := range r.Evidence {
			if strings.Contains(e, "password1234") || strings.Contains(e, "AAHdqTcv") {
				t.Errorf("%s evidence leaks a secret: %s", r.ID, e)
			}
		}
	}
	// Config findings carry the key and the line as written.
	if r := got["channels.dm_policy_open"]; r.ConfigKey != "channels.dm_policy" || r.Line != 20 || !r.Fixable {
		t.Errorf("dm_policy finding: %+v", r)
	}
	if r := got["gateway.exposed"]; r.Line != 7 || r.File == "" {
		t.Errorf("gateway.exposed: %+v", r)
	}
}

func TestHardenedScoresHigh(t *testing.T) {
	f := audittest.Hardened(t)
	rep := run(t, f.Options)
	if rep.Score < 90 || rep.Band != "hardened" {
		t.Fatalf("score %d (%s); findings: %+v", rep.Score, rep.Band, rep.Findings())
	}
	if len(rep.Findings()) != 0 {
		t.Errorf("findings: %+v", rep.Findings())
	}
	sup := rep.Suppressed()
	if len(sup) != 1 || sup[0].ID != "sandbox.layers" || sup[0].Suppression.Reason == "" || sup[0].Suppression.Line == 0 {
		t.Errorf("suppressed: %+v", sup)
	}
	if rep.Counts.Suppressed != 1 || rep.Counts.Skipped != 1 {
		t.Errorf("counts %+v", rep.Counts)
	}
}

func TestScoreFormula(t *testing.T) {
	// Hardened with one high and one low finding: 100 × (W-10)/W floored.
	f := audittest.Hardened(t)
	raw := strings.Replace(string(f.Options.Raw), "mode: all", "mode: non-main", 1)
	raw = strings.Replace(raw, "network: false", "network: true", 1)
	o := f.Options
	o.Raw = []byte(raw)
	o.Owner = func(context.Context) (audit.OwnerAccount, error) {
		return audit.OwnerAccount{Name: "alice", Active: true}, nil
	}
	rep := run(t, o)
	var total float64
	for _, r := range rep.Results {
		if r.Status != audit.Skipped && r.Suppression == nil {
			total += r.Severity.Weight()
		}
	}
	want := int((total - 2.5 - 5) * 100 / total)
	if rep.Score != want || rep.Counts.Failed != 2 || rep.Capped {
		t.Errorf("score %d, want %d (total weight %.1f); counts %+v", rep.Score, want, total, rep.Counts)
	}
	// One open critical caps at 49 whatever the ratio.
	o.Raw = []byte(strings.Replace(raw, "mode: non-main", `mode: "off"`, 1))
	rep = run(t, o)
	if rep.Score != 49 || !rep.Capped || rep.Band != "exposed" {
		t.Errorf("with sandbox off: score %d capped %v band %s", rep.Score, rep.Capped, rep.Band)
	}
}

func TestBands(t *testing.T) {
	for score, band := range map[int]string{0: "exposed", 49: "exposed", 50: "needs work", 79: "needs work", 80: "good", 89: "good", 90: "hardened", 100: "hardened"} {
		if got := audit.BandOf(score); got != band {
			t.Errorf("BandOf(%d) = %s, want %s", score, got, band)
		}
	}
}

func TestSuppressionExpiry(t *testing.T) {
	f := audittest.Hardened(t)
	o := f.Options
	o.Config.Config.Security.Audit.Suppressions[0].Expires, _ = config.ParseDate("2026-11-21")
	rep := run(t, o)
	r := byID(rep)["sandbox.layers"]
	if r.Suppression != nil || !r.Open() {
		t.Fatalf("an expired suppression still applies: %+v", r)
	}
	if !slices.ContainsFunc(r.Evidence, func(s string) bool { return strings.Contains(s, "expired on 2026-11-21") }) {
		t.Errorf("evidence does not say the suppression expired: %v", r.Evidence)
	}
	// Through the expiry day itself it still applies.
	o.Now = time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	if r := byID(run(t, o))["sandbox.layers"]; r.Suppression == nil {
		t.Errorf("suppression ignored on its expiry day")
	}
}

func TestSkippedChecksLeftOut(t *testing.T) {
	f := audittest.Hardened(t)
	o := f.Options
	o.StateDir = filepath.Join(f.Root, "missing")
	o.VerifyLog = nil
	rep := run(t, o)
	got := byID(rep)
	for _, id := range []string{"files.state_dir", "files.state_files", "files.symlinks", "log.chain", "log.mode"} {
		if got[id].Status != audit.Skipped || got[id].Reason == "" {
			t.Errorf("%s: %s %q", id, got[id].Status, got[id].Reason)
		}
	}
	if rep.Score != 100 {
		t.Errorf("skipped checks changed the score: %d", rep.Score)
	}
}

func TestFixThenReaudit(t *testing.T) {
	f := audittest.Insecure(t)
	o := f.Options
	rep := run(t, o)
	dry, err := audit.Fix(context.Background(), o, rep, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Changes) == 0 {
		t.Fatal("dry run lists no changes")
	}
	if fi, _ := os.Stat(o.StateDir); fi.Mode().Perm() != 0o755 {
		t.Fatalf("dry run changed the state dir: %v", fi.Mode())
	}
	before, _ := os.ReadFile(o.Config.File)
	if string(before) != string(o.Raw) {
		t.Fatal("dry run changed the config")
	}
	res, err := audit.Fix(context.Background(), o, rep, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != len(dry.Changes) {
		t.Errorf("dry run listed %d changes, fix made %d", len(dry.Changes), len(res.Changes))
	}
	after, err := os.ReadFile(o.Config.File)
	if err != nil {
		t.Fatal(err)
	}
	text := string(after)
	for _, want := range []string{"dm_policy: pairing", `allow_from: ["@alice"]`, "retention_days: 90", "# An old, insecure config"} {
		if !strings.Contains(text, want) {
			t.Errorf("fixed config lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `- "*"`) {
		t.Errorf("block-list wildcard left:\n%s", text)
	}
	if fi, _ := os.Stat(o.Config.File); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %04o", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(o.IdentityPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("identity mode %04o", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(o.StateDir, "workspace", "notes.txt")); fi.Mode().Perm() != 0o666 {
		t.Errorf("the workspace was touched: %04o", fi.Mode().Perm())
	}
	// Re-audit on the fixed files: the fixed checks pass.
	l, err := config.Parse(context.Background(), o.Config.File, after, nil)
	var ve *config.ValidationError
	if err != nil && !asValidation(err, &ve) {
		t.Fatal(err)
	}
	o.Config, o.ConfigErr, o.Raw = l, ve, after
	rep2 := run(t, o)
	got := byID(rep2)
	for _, id := range []string{"channels.dm_policy_open", "channels.allow_wildcard", "log.retention", "files.state_dir",
		"files.state_files", "files.config_mode", "secrets.identity", "log.mode"} {
		if got[id].Status != audit.Pass {
			t.Errorf("after --fix %s is %s: %v", id, got[id].Status, got[id].Evidence)
		}
	}
	if rep2.Score <= rep.Score && rep.Score != 0 {
		t.Errorf("score did not improve: %d -> %d", rep.Score, rep2.Score)
	}
	// Repeatable: a second fix finds nothing to change.
	again, err := audit.Fix(context.Background(), o, rep2, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Changes) != 0 {
		t.Errorf("second fix changed: %+v", again.Changes)
	}
}

func asValidation(err error, ve **config.ValidationError) bool {
	v, ok := err.(*config.ValidationError)
	*ve = v
	return ok
}

func TestRawValuesExplainRefusedConfig(t *testing.T) {
	// The loader replaces refused values with defaults; audit reads the file.
	dir := t.TempDir()
	p := filepath.Join(dir, "warden.yaml")
	data := "version: 1\ngateway:\n  rate_limit:\n    attempts: 5000\n  allowed_origins: [\"*\"]\nchannels:\n  dm_policy: open\n"
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := config.Parse(context.Background(), p, []byte(data), nil)
	if err == nil {
		t.Fatal("the loader accepted the file")
	}
	rep := run(t, audit.Options{Config: l, ConfigErr: err.(*config.ValidationError), Raw: []byte(data), Now: audittest.Now})
	got := byID(rep)
	for id, line := range map[string]int{"gateway.rate_limit": 4, "gateway.origins": 5, "channels.dm_policy_open": 7, "config.loads": 4} {
		if got[id].Status != audit.Fail || got[id].Line != line {
			t.Errorf("%s: %s at line %d, want fail at %d", id, got[id].Status, got[id].Line, line)
		}
	}
}

// Mode non-main is the default; it is a finding only while the owner,
// whose own sessions run on the host, signs in with a password alone.
func TestSandboxNotAllWeighsTheOwnersLogin(t *testing.T) {
	owner := func(a audit.OwnerAccount, err error) func(context.Context) (audit.OwnerAccount, error) {
		return func(context.Context) (audit.OwnerAccount, error) { return a, err }
	}
	for _, c := range []struct {
		name  string
		mode  string
		owner func(context.Context) (audit.OwnerAccount, error)
		want  audit.Status
	}{
		{"mode all", "all", owner(audit.OwnerAccount{Name: "alice", Active: true}, nil), audit.Pass},
		{"no database yet", "non-main", owner(audit.OwnerAccount{}, audit.ErrNoAuditLog), audit.Pass},
		{"no owner yet", "non-main", owner(audit.OwnerAccount{}, nil), audit.Pass},
		{"owner named but not created", "non-main", owner(audit.OwnerAccount{Name: "alice"}, nil), audit.Pass},
		{"owner with two-factor", "non-main", owner(audit.OwnerAccount{Name: "alice", Active: true, TwoFactor: true}, nil), audit.Pass},
		{"owner with a password alone", "non-main", owner(audit.OwnerAccount{Name: "alice", Active: true}, nil), audit.Fail},
		{"accounts unreadable", "non-main", owner(audit.OwnerAccount{}, os.ErrPermission), audit.Skipped},
		{"no way to read accounts", "non-main", nil, audit.Skipped},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := audittest.Hardened(t)
			o := f.Options
			o.Raw = []byte(strings.Replace(string(o.Raw), "mode: all", "mode: "+c.mode, 1))
			o.Owner = c.owner
			r := byID(run(t, o))["sandbox.not_all"]
			if r.Status != c.want {
				t.Fatalf("status %s (%s), want %s", r.Status, r.Reason, c.want)
			}
			if r.Status == audit.Fail {
				if r.Fixable || r.ConfigKey != "sandbox.mode" || r.Line == 0 ||
					!strings.Contains(r.Remediation, "warden users 2fa enroll alice") || !strings.Contains(r.Remediation, "sandbox.mode: all") {
					t.Errorf("finding: %+v", r)
				}
			}
		})
	}
}
