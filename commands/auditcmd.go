package commands

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/fsperm"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/core/store"
	"github.com/warden-sec/warden/scanners/audit"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

// AuditHostProbe reports this host's sandbox layers to `warden audit`;
// nil means sandbox.Probe. Tests set it to pin a host.
var AuditHostProbe func() sandbox.Host

func (w *wiring) auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "check the config, state dir, host and (with --deep) a running gateway; score 0-100 and gate CI",
		Description: "Runs every check (ids in docs/audit.md), prints the findings with evidence and remediation,\n" +
			"and a score: 100 × Σ(weight × passed) / Σ(weight of checks that ran), weights critical 10,\n" +
			"high 7.5, medium 5, low 2.5, info 0; any open critical caps it at 49. Bands: < 50 exposed,\n" +
			"50-79 needs work, 80-89 good, >= 90 hardened. Suppressions live in security.audit.suppressions.\n" +
			"Exit codes: 0 ok (no gate flags: always), 1 --fail-under or --fail-on crossed, 2 the audit\n" +
			"could not run (unreadable config, --deep and the gateway did not answer).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "table", Usage: "table, json, sarif or markdown", EnvVars: []string{"WARDEN_AUDIT_FORMAT"}},
			&cli.IntFlag{Name: "fail-under", Value: -1, DefaultText: "off", Usage: "exit 1 when the score is below `N` (0-100)", EnvVars: []string{"WARDEN_AUDIT_FAIL_UNDER"}},
			&cli.StringFlag{Name: "fail-on", Usage: "exit 1 on an open finding of `SEVERITY` or worse (critical, high, medium, low, info)", EnvVars: []string{"WARDEN_AUDIT_FAIL_ON"}},
			&cli.BoolFlag{Name: "fix", Usage: "make the safe, repeatable fixes (modes, dm_policy open, allow-list wildcards, retention), then audit again", EnvVars: []string{"WARDEN_AUDIT_FIX"}},
			&cli.BoolFlag{Name: "dry-run", Usage: "with --fix: show the changes without making them", EnvVars: []string{"WARDEN_AUDIT_DRY_RUN"}},
			&cli.BoolFlag{Name: "deep", Usage: "also probe the running gateway (at gateway.listen or --gateway-url)", EnvVars: []string{"WARDEN_AUDIT_DEEP"}},
			&cli.StringFlag{Name: "gateway-url", Usage: "base `URL` of the gateway for --deep", EnvVars: []string{"WARDEN_AUDIT_GATEWAY_URL"}},
			&cli.DurationFlag{Name: "deep-timeout", Value: 5 * time.Second, Usage: "limit for each deep probe", EnvVars: []string{"WARDEN_AUDIT_DEEP_TIMEOUT"}},
			&cli.StringFlag{Name: "dir-mode", Value: "0700", Usage: "most open mode expected of the state dir and its directories (e.g. 0750 for a shared group)", EnvVars: []string{"WARDEN_AUDIT_DIR_MODE"}},
			&cli.StringFlag{Name: "file-mode", Value: "0600", Usage: "most open mode expected of files in the state dir and of the config (e.g. 0640)", EnvVars: []string{"WARDEN_AUDIT_FILE_MODE"}},
		},
		Action: w.audit,
	}
}

// auditOptions are the parsed flags of `warden audit`.
type auditOptions struct {
	format    string
	failUnder int
	failOn    audit.Severity
	fix       bool
	dryRun    bool
	deep      bool
	url       string
	timeout   time.Duration
	dirMode   fs.FileMode
	fileMode  fs.FileMode
}

func (w *wiring) auditOptions(c *cli.Context) (*auditOptions, error) {
	if err := noArgs(c); err != nil {
		return nil, err
	}
	f, err := format(c, "table", "json", "sarif", "markdown")
	if err != nil {
		return nil, err
	}
	o := &auditOptions{format: f, failUnder: c.Int("fail-under"), fix: c.Bool("fix"), dryRun: c.Bool("dry-run"),
		deep: c.Bool("deep") || c.String("gateway-url") != "", url: c.String("gateway-url"), timeout: c.Duration("deep-timeout")}
	if c.IsSet("fail-under") && (o.failUnder < 0 || o.failUnder > 100) {
		return nil, usageErrorf("--fail-under %d is not between 0 and 100", o.failUnder)
	}
	if s := c.String("fail-on"); s != "" {
		sev, ok := audit.ParseSeverity(s)
		if !ok {
			return nil, usageErrorf("--fail-on %q is not one of critical, high, medium, low, info", s)
		}
		o.failOn = sev
	}
	if o.dryRun && !o.fix {
		return nil, usageErrorf("--dry-run goes with --fix")
	}
	if o.timeout <= 0 {
		return nil, usageErrorf("--deep-timeout must be positive")
	}
	for _, m := range []struct {
		flag string
		into *fs.FileMode
	}{{"dir-mode", &o.dirMode}, {"file-mode", &o.fileMode}} {
		v, err := strconv.ParseUint(c.String(m.flag), 8, 32)
		if err != nil || v > 0o777 {
			return nil, usageErrorf("--%s %q is not an octal mode such as 0700", m.flag, c.String(m.flag))
		}
		*m.into = fs.FileMode(v)
	}
	return o, nil
}

// auditInputs builds the scanner's inputs: the config as written (a
// config the loader refuses is audited, not rejected), the state dir
// (never created or tightened here), and lazy access to the secret store
// and the audit log.
func (w *wiring) auditInputs(c *cli.Context, o *auditOptions) (audit.Options, func(), error) {
	ctx := c.Context
	kr, err := w.keyring(c)
	if err != nil {
		return audit.Options{}, nil, err
	}
	path, err := w.configPath(c)
	if err != nil {
		return audit.Options{}, nil, inputError(err, "")
	}
	in := audit.Options{Getenv: w.env.Getenv, Now: w.env.Now(), Probe: AuditHostProbe,
		Policy: fsperm.Policy{DirMode: o.dirMode, FileMode: o.fileMode, Exclude: []string{"workspace"}}, ConfigMode: o.fileMode}
	loaded := config.FromDefaults()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return in, nil, inputError(fmt.Errorf("read config: %w", err), "name a readable config with --config")
		}
		l, err := config.Parse(ctx, path, data, kr.Decrypt)
		var ve *config.ValidationError
		switch {
		case errors.As(err, &ve) && l != nil:
			in.ConfigErr = ve
		case err != nil:
			return in, nil, err
		}
		loaded = l
		if !l.Encrypted {
			in.Raw = data
		}
	}
	in.Config = loaded
	if in.StateDir, err = w.stateDir(c, loaded.Config); err != nil {
		return in, nil, err
	}
	if kr.Explicit != "" && !secrets.IsKey(kr.Explicit) {
		in.IdentityPath = kr.Explicit
	} else if kr.Explicit == "" {
		in.IdentityPath = kr.DefaultPath
	}
	in.VulnDB = &osv.DB{Dir: filepath.Join(in.StateDir, depsDBDir)}

	sess := &session{keyring: kr, config: loaded, stateDir: in.StateDir}
	st := sess.secretStore(w)
	var once sync.Once
	var snap map[string]string
	var snapErr error
	in.ResolveSecret = func(ctx context.Context, name string) (string, error) {
		once.Do(func() {
			if !st.Exists() {
				snapErr = secrets.ErrStoreMissing
				return
			}
			snap, snapErr = st.Snapshot(ctx)
		})
		if snapErr != nil {
			return "", snapErr
		}
		v, ok := snap[name]
		if !ok {
			return "", fmt.Errorf("%w: %s", config.ErrSecretMissing, name)
		}
		return v, nil
	}
	var closers []func()
	in.VerifyLog = func(ctx context.Context) (auditlog.Report, error) {
		rep, closer, err := w.verifyAuditLog(ctx, st, in.StateDir)
		if closer != nil {
			closers = append(closers, closer)
		}
		return rep, err
	}
	in.Owner = func(ctx context.Context) (audit.OwnerAccount, error) {
		db, closer, err := openAuditDB(ctx, in.StateDir)
		if closer != nil {
			closers = append(closers, closer)
		}
		if err != nil {
			return audit.OwnerAccount{}, err
		}
		return w.ownerAccount(ctx, db, loaded.Config.Gateway.Owner)
	}
	if o.deep {
		in.Deep = &audit.DeepOptions{URL: o.url, Timeout: o.timeout}
	}
	cleanup := func() {
		for _, c := range closers {
			c()
		}
	}
	return in, cleanup, nil
}

func (w *wiring) runAudit(c *cli.Context, o *auditOptions) (*audit.Report, audit.Options, error) {
	in, cleanup, err := w.auditInputs(c, o)
	if err != nil {
		return nil, in, err
	}
	defer cleanup()
	rep, err := audit.Run(c.Context, in)
	if errors.Is(err, audit.ErrDeepUnreachable) {
		return nil, in, inputError(err, "start `warden serve`, or name its address with --gateway-url")
	}
	return rep, in, err
}

// auditOutput is what every format renders.
type auditOutput struct {
	SchemaVersion int               `json:"schemaVersion"`
	Config        string            `json:"config"`
	StateDir      string            `json:"stateDir"`
	Score         int               `json:"score"`
	Band          string            `json:"band"`
	Capped        bool              `json:"capped"`
	Counts        audit.Counts      `json:"counts"`
	Findings      []audit.Result    `json:"findings"`
	Suppressed    []audit.Result    `json:"suppressed"`
	Skipped       []audit.Result    `json:"skipped"`
	Passed        []string          `json:"passed"`
	Fix           *audit.FixResult  `json:"fix,omitempty"`
	Gate          *auditGateOutcome `json:"gate,omitempty"`
}

type auditGateOutcome struct {
	FailUnder *int     `json:"failUnder,omitempty"`
	FailOn    string   `json:"failOn,omitempty"`
	Failed    bool     `json:"failed"`
	Reasons   []string `json:"reasons"`
}

func (w *wiring) audit(c *cli.Context) error {
	o, err := w.auditOptions(c)
	if err != nil {
		return err
	}
	rep, in, err := w.runAudit(c, o)
	if err != nil {
		return err
	}
	var fix *audit.FixResult
	if o.fix {
		if fix, err = audit.Fix(c.Context, in, rep, o.dryRun); err != nil {
			return err
		}
		if !o.dryRun {
			// Audit again: the report shows the state after the fixes.
			if rep, _, err = w.runAudit(c, o); err != nil {
				return err
			}
		}
	}
	out := newAuditOutput(rep, in, fix, o)
	if err := w.renderAudit(o.format, &out); err != nil {
		return err
	}
	if out.Gate != nil && out.Gate.Failed {
		for _, r := range out.Gate.Reasons {
			fmt.Fprintf(w.env.Stderr, "warden: audit gate failed: %s\n", r)
		}
		return gateFailed(errors.New(strings.Join(out.Gate.Reasons, "; ")))
	}
	return nil
}

// newAuditOutput assembles what the formats render, with the gate's outcome.
func newAuditOutput(rep *audit.Report, in audit.Options, fix *audit.FixResult, o *auditOptions) auditOutput {
	out := auditOutput{SchemaVersion: jsonSchemaVersion, Config: in.Config.File, StateDir: in.StateDir, Score: rep.Score, Band: rep.Band,
		Capped: rep.Capped, Counts: rep.Counts, Findings: rep.Findings(), Suppressed: rep.Suppressed(), Skipped: rep.SkippedChecks(),
		Passed: []string{}, Fix: fix}
	for _, r := range rep.Results {
		if r.Status == audit.Pass {
			out.Passed = append(out.Passed, r.ID)
		}
	}
	if o.failUnder >= 0 || o.failOn != "" {
		g := &auditGateOutcome{Reasons: []string{}}
		if o.failUnder >= 0 {
			n := o.failUnder
			g.FailUnder = &n
			if rep.Score < n {
				g.Reasons = append(g.Reasons, fmt.Sprintf("score %d is below --fail-under %d", rep.Score, n))
			}
		}
		if o.failOn != "" {
			g.FailOn = string(o.failOn)
			n := 0
			for _, f := range out.Findings {
				if f.Severity.Rank() >= o.failOn.Rank() {
					n++
				}
			}
			if n > 0 {
				g.Reasons = append(g.Reasons, fmt.Sprintf("%d open finding%s at or above --fail-on %s", n, plural(n), o.failOn))
			}
		}
		g.Failed = len(g.Reasons) > 0
		out.Gate = g
	}
	return out
}

// verifyAuditLog verifies the state dir's audit log without changing the
// state dir: opening a database tightens a loose file to 0600, so a loose
// one is verified from a private copy and the audit reports its mode as
// it found it.
func (w *wiring) verifyAuditLog(ctx context.Context, st *secrets.Store, stateDir string) (auditlog.Report, func(), error) {
	if !st.Exists() {
		return auditlog.Report{}, nil, audit.ErrNoAuditLog
	}
	db, closer, err := openAuditDB(ctx, stateDir)
	if err != nil {
		return auditlog.Report{}, closer, err
	}
	key, err := w.auditKey(ctx, st, db, false)
	if err != nil {
		return auditlog.Report{}, closer, err
	}
	lg, err := auditlog.Open(ctx, db, key, auditlog.Options{Now: w.env.Now, HeadFile: filepath.Join(stateDir, auditlog.HeadFileName)})
	if err != nil {
		return auditlog.Report{}, closer, err
	}
	defer lg.Close()
	rep, err := lg.Verify(ctx, runtime.NumCPU())
	return rep, closer, err
}

// ownerAccount reads the owner's account for the sandbox check, through
// the identity service (read only: no key is needed to list users, so
// throwaway ones stand in, and nothing may be recorded).
func (w *wiring) ownerAccount(ctx context.Context, db *store.Store, configured string) (audit.OwnerAccount, error) {
	key := func(n int) []byte {
		k := make([]byte, n)
		_, _ = rand.Read(k)
		return k
	}
	svc, err := auth.New(auth.Options{DB: db, Audit: readOnlyAuditor{}, AccessKey: key(auth.KeySize), TOTPKey: key(32),
		Hasher: password.NewHasher(password.Default(), 0), Owner: configured, Now: w.env.Now})
	if err != nil {
		return audit.OwnerAccount{}, err
	}
	users, err := svc.ListUsers(ctx)
	if err != nil {
		return audit.OwnerAccount{}, err
	}
	name, err := svc.Owner(ctx)
	if err != nil {
		return audit.OwnerAccount{}, err
	}
	out := audit.OwnerAccount{Name: name}
	for _, u := range users {
		if u.Name == name {
			out.Active = u.Disabled == nil && u.Role == auth.RoleAdmin
			out.TwoFactor = u.TwoFactorEnabled
		}
	}
	return out, nil
}

// readOnlyAuditor stands in for the audit log of an identity service that
// only reads: an append reached by mistake fails (closed).
type readOnlyAuditor struct{}

func (readOnlyAuditor) Append(context.Context, auditlog.Event) (auditlog.Entry, error) {
	return auditlog.Entry{}, errors.New("read-only identity service: nothing may be recorded")
}

// openAuditDB opens the state dir's database without changing the state
// dir: opening a database tightens a loose file to 0600, so a loose one
// is opened from a private copy and the audit reports its mode as it
// found it. audit.ErrNoAuditLog means there is no database yet.
func openAuditDB(ctx context.Context, stateDir string) (*store.Store, func(), error) {
	dbPath := filepath.Join(stateDir, statedir.DatabaseFile)
	if _, err := os.Stat(dbPath); err != nil {
		return nil, nil, audit.ErrNoAuditLog
	}
	var cleanup []func()
	closer := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	loose := false
	for _, suffix := range []string{"", "-wal", "-shm"} {
		// store.Open tightens any group or other bit.
		if fi, err := os.Stat(dbPath + suffix); err == nil && fi.Mode().Perm()&0o077 != 0 {
			loose = true
		}
	}
	if loose {
		tmp, err := os.MkdirTemp("", "warden-audit-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = append(cleanup, func() { _ = os.RemoveAll(tmp) })
		for _, suffix := range []string{"", "-wal"} {
			data, err := os.ReadFile(dbPath + suffix)
			if errors.Is(err, fs.ErrNotExist) && suffix != "" {
				continue
			}
			if err != nil {
				closer()
				return nil, nil, err
			}
			if err := os.WriteFile(filepath.Join(tmp, statedir.DatabaseFile+suffix), data, 0o600); err != nil {
				closer()
				return nil, nil, err
			}
		}
		dbPath = filepath.Join(tmp, statedir.DatabaseFile)
	}
	db, err := store.Open(ctx, store.Options{Path: dbPath})
	if err != nil {
		closer()
		return nil, nil, err
	}
	cleanup = append(cleanup, func() { _ = db.Close() })
	return db, closer, nil
}
