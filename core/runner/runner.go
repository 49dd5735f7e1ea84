// Package runner runs the commands an agent (or an operator) asks for:
// the command policy first, then an audit entry (fail closed), then the
// sandbox or, for the owner's main session when the mode allows it, the
// host; then an audit entry with the result. Escape signals become
// sandbox_violation entries and events. The CLI (warden sandbox run) and
// the gateway (POST /api/v1/exec, the exec request on /ws) both use it.
//
// The trust boundary it keeps: a command that runs on the host never
// runs in a directory, with a HOME or with an environment that a less
// trusted caller can write. Sandboxed commands share the workspace; the
// owner's host commands run in a main workspace of their own that no
// sandbox can reach, with a fixed environment.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/sandbox"
	"github.com/warden-sec/warden/core/sandbox/policy"
)

// Auditor appends audit entries.
type Auditor interface {
	Append(ctx context.Context, ev auditlog.Event) (auditlog.Entry, error)
}

// Options configure a Runner.
type Options struct {
	Config config.Sandbox
	// Workspace is the directory sandboxed commands run in (created 0700
	// if missing); the config's sandbox.workspace resolved by the caller.
	Workspace string
	// MainWorkspace is where the owner's main session runs commands on
	// the host: their working directory, HOME and TMPDIR (created 0700).
	// It must be private to the user running Warden, all the way up, and
	// must neither contain nor sit inside Workspace. Empty: main-session
	// commands are sandboxed like everyone else's.
	MainWorkspace string
	// Quota bounds Workspace (bytes, inodes, the disk's reserve): a run
	// starts only within it and is ended when it crosses it.
	Quota   sandbox.Quota
	Auditor Auditor
	// PoolSize sandboxes are kept set up and waiting (0: none).
	PoolSize int
	// Pool, instead, is a pool the caller made and closes; the runner
	// neither refills nor closes it (warden sandbox run starts setting
	// its one sandbox up while it opens the audit log).
	Pool *sandbox.Pool
	// MaxConcurrent bounds commands running at once (0: 2 × CPUs, at
	// least 4). One slot of them is kept for the owner's main session;
	// MaxPerClient bounds what one client (a token or a session) holds
	// (0: half of the others' slots, rounded up), so one caller cannot
	// take every slot.
	MaxConcurrent int
	MaxPerClient  int
	// OnViolation, if set, is told about every escape signal after it is
	// audited (the gateway sends an event to the dashboard).
	OnViolation func(Violation)
	// OnAuditError is told when a result entry written in the background
	// (Request.ResultInBackground) could not be written.
	OnAuditError func(error)
}

// Request is one command to run.
type Request struct {
	Actor    string // who asks, as the audit log names them
	Client   string // concurrency key: a token or session id ("" = Actor)
	SourceIP string
	// Argv, or Shell: a command line run by /bin/sh -c once the policy
	// has checked every command in it.
	Argv  []string
	Shell string
	// Main: the request comes from the owner's main session, which mode
	// non-main runs on the host, in the main workspace.
	Main bool
	// Owner is the designated owner (gateway.owner), recorded with every
	// command so the log says whose session counted as main.
	Owner string
	// Sandbox forces the sandbox whatever the mode (warden sandbox run).
	Sandbox bool
	// Timeout shortens the configured timeout (0: the configured one).
	Timeout time.Duration
	// ResultInBackground records the result entry after Run returns
	// (the gateway answers without waiting for that fsync). The entry
	// before the command is always written first: nothing runs
	// unrecorded. Close waits for background entries.
	ResultInBackground bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Outcome is a command's result.
type Outcome struct {
	sandbox.Result
	Argv      []string `json:"argv"` // as run: the program resolved
	Sandboxed bool     `json:"sandboxed"`
}

// Violation is an escape signal: a command matching escape patterns, or
// one the kernel killed for a forbidden system call.
type Violation struct {
	Actor    string    `json:"actor"`
	SourceIP string    `json:"sourceIp,omitempty"`
	Argv     []string  `json:"argv"`
	Signals  []string  `json:"signals"`
	Time     time.Time `json:"time"`
}

// RefusedError is a command the policy refused.
type RefusedError struct {
	Reason  string
	Escapes []string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// ErrBusy means too many commands run at once (globally or for this
// client); try again shortly.
var ErrBusy = errors.New("too many commands running; try again shortly")

// QuotaError (sandbox.QuotaError) is a run refused because the
// workspace is full or the disk is at its reserve.
type QuotaError = sandbox.QuotaError

// ErrAuditUnavailable means the audit log could not record the command,
// so it did not run.
var ErrAuditUnavailable = errors.New("audit log unavailable: command not run")

// Runner runs commands; safe for concurrent use.
type Runner struct {
	opts         Options
	policy       policy.Policy
	pool         *sandbox.Pool
	externalPool bool

	mu          sync.Mutex
	running     int // commands running
	mainRunning int // of which the owner's main session's
	per         map[string]int
	reserved    int // slots only the main session may use
	hostEnvUser string
	usage       usageCache // the shared workspace's, for quota checks

	background sync.WaitGroup // result entries written after Run returned
}

// New returns a Runner; Close releases its pool.
func New(opts Options) (*Runner, error) {
	if opts.Auditor == nil {
		return nil, errors.New("runner: no audit log")
	}
	if opts.Workspace == "" {
		return nil, errors.New("runner: no workspace")
	}
	ws, err := filepath.Abs(opts.Workspace)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", opts.Workspace, err)
	}
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return nil, fmt.Errorf("create workspace %s: %w", ws, err)
	}
	opts.Workspace = ws
	if opts.MainWorkspace != "" {
		if opts.MainWorkspace, err = prepareMainWorkspace(opts.MainWorkspace, ws); err != nil {
			return nil, err
		}
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = max(4, 2*runtime.NumCPU())
	}
	reserved := 0
	if opts.MaxConcurrent >= 2 && opts.MainWorkspace != "" {
		reserved = 1
	}
	if opts.MaxPerClient <= 0 {
		opts.MaxPerClient = max(1, (opts.MaxConcurrent-reserved+1)/2)
	}
	r := &Runner{opts: opts, per: map[string]int{}, reserved: reserved, hostEnvUser: currentUser(),
		policy: policy.Policy{Allowed: opts.Config.AllowedBinaries, Network: opts.Config.Network}}
	switch {
	case opts.Pool != nil:
		r.pool, r.externalPool = opts.Pool, true
	case opts.PoolSize > 0 && opts.Config.Mode != config.SandboxOff:
		r.pool = sandbox.NewPool(r.spec(Request{}, nil), opts.PoolSize)
	}
	return r, nil
}

// Close waits for result entries still being written and discards the
// pooled sandboxes.
func (r *Runner) Close() {
	r.background.Wait()
	r.usage.wait()
	if r.pool != nil && !r.externalPool {
		r.pool.Close()
	}
}

// Workspace is where sandboxed commands run.
func (r *Runner) Workspace() string { return r.opts.Workspace }

// MainWorkspace is where the owner's main session runs commands on the
// host ("" when it has none).
func (r *Runner) MainWorkspace() string { return r.opts.MainWorkspace }

// Sandboxed reports whether a request would run in the sandbox.
func (r *Runner) Sandboxed(req Request) bool {
	switch {
	case req.Sandbox:
		return true
	case r.opts.Config.Mode == config.SandboxOff:
		return false
	case r.opts.Config.Mode == config.SandboxAll:
		return true
	default:
		// Without a main workspace there is nowhere safe on the host.
		return !req.Main || r.opts.MainWorkspace == ""
	}
}

// Template is the sandbox shape commands get with cfg and workspace: what
// a pool for them must be made from.
func Template(cfg config.Sandbox, workspace string) sandbox.Spec {
	return (&Runner{opts: Options{Config: cfg, Workspace: workspace}}).spec(Request{}, nil)
}

func (r *Runner) spec(req Request, argv []string) sandbox.Spec {
	c := r.opts.Config
	timeout := time.Duration(c.Timeout)
	if req.Timeout > 0 && (timeout == 0 || req.Timeout < timeout) {
		timeout = req.Timeout
	}
	return sandbox.Spec{
		Argv: argv, Env: sandbox.BaseEnv(), Workspace: r.opts.Workspace, WorkspaceExec: c.WorkspaceExec,
		Network: c.Network, Timeout: timeout, Strict: c.Mode == config.SandboxAll,
		Limits: sandbox.Limits{Memory: int64(c.Memory), Pids: c.Pids, CPUSeconds: c.CPUSeconds, FileSize: int64(c.FileSize), OpenFiles: c.OpenFiles},
		Quota:  r.opts.Quota,
		Stdin:  req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr,
	}
}

// hostSpec turns a sandbox spec into a host run's: the main session gets
// its own workspace (no quota: it is the owner's), everyone else (mode
// off) the shared one. Either way the environment is a fixed allow-list
// with HOME and TMPDIR in that workspace: nothing of Warden's own
// environment (PYTHONPATH, GIT_*, LD_*, NODE_OPTIONS, secrets) gets
// through, and no configuration file a sandboxed caller planted is read.
func (r *Runner) hostSpec(spec sandbox.Spec, main bool) sandbox.Spec {
	if main {
		spec.Workspace, spec.Quota = r.opts.MainWorkspace, sandbox.Quota{}
	}
	tmp := filepath.Join(spec.Workspace, ".tmp")
	_ = os.Mkdir(tmp, 0o700)
	spec.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + spec.Workspace,
		"TMPDIR=" + tmp,
		"LANG=C.UTF-8",
		"TERM=dumb",
		"USER=" + r.hostEnvUser,
		"LOGNAME=" + r.hostEnvUser,
	}
	return spec
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return fmt.Sprint(os.Geteuid())
}

// acquire takes a slot: at most MaxConcurrent in all, of which the
// reserved ones only for the owner's main session, and at most
// MaxPerClient for one client other than the main session.
func (r *Runner) acquire(client string, main bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running >= r.opts.MaxConcurrent {
		return false
	}
	if !main {
		if r.running-r.mainRunning >= r.opts.MaxConcurrent-r.reserved || r.per[client] >= r.opts.MaxPerClient {
			return false
		}
	}
	r.running++
	if main {
		r.mainRunning++
	}
	r.per[client]++
	return true
}

func (r *Runner) release(client string, main bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.per[client]--; r.per[client] <= 0 {
		delete(r.per, client)
	}
	r.running--
	if main {
		r.mainRunning--
	}
}

// Run checks, audits and runs one command. The error is non-nil when the
// command did not run (refused, busy, audit log unavailable, sandbox not
// available); how a command that ran ended is in the Outcome.
func (r *Runner) Run(ctx context.Context, req Request) (Outcome, error) {
	client := req.Client
	if client == "" {
		client = req.Actor
	}
	main := req.Main && !r.Sandboxed(req)
	if !r.acquire(client, main) {
		return Outcome{}, ErrBusy
	}
	defer r.release(client, main)
	if r.pool != nil && !r.externalPool {
		// Refill the pool when everything below is done (see Pool.Fill).
		defer r.pool.Fill()
	}

	var d policy.Decision
	var escapes []string
	switch {
	case req.Shell != "" && len(req.Argv) > 0:
		return Outcome{}, errors.New("give a command line or an argument vector, not both")
	case req.Shell != "":
		d = r.policy.CheckShell(req.Shell)
		escapes = policy.Escapes(req.Shell)
	case len(req.Argv) > 0:
		d = r.policy.CheckArgv(req.Argv)
		escapes = policy.Escapes(req.Argv...)
	default:
		return Outcome{}, errors.New("no command")
	}
	shown := req.Argv
	if req.Shell != "" {
		shown = []string{"/bin/sh", "-c", req.Shell}
	}
	sandboxed := r.Sandboxed(req)
	if len(escapes) > 0 {
		d.Escapes = escapes
		if err := r.violation(ctx, req, shown, escapes); err != nil {
			return Outcome{}, err
		}
		// Contained in the sandbox; never run on the host.
		if !sandboxed && d.Allowed {
			d.Allowed = false
			d.Reason = "the command matches escape patterns (" + strings.Join(escapes, "; ") + ") and would run outside the sandbox"
		}
	}
	spec := r.spec(req, d.Argv)
	if !sandboxed {
		spec = r.hostSpec(spec, main)
	}
	details := map[string]any{"argv": clip(shown), "workspace": spec.Workspace, "sandboxed": sandboxed, "main": main}
	if req.Owner != "" {
		details["owner"] = req.Owner
	}
	if d.Allowed && !spec.Quota.Zero() {
		u, err := r.usage.check(spec.Workspace, spec.Quota)
		if err == nil && spec.Quota.Bytes > 0 {
			spec.FileSizeCap = spec.Quota.Bytes - u.Bytes
		}
		// Whatever the run does to the workspace, the next check sees it.
		defer r.usage.changed(spec.Workspace)
		if err != nil {
			var qe *QuotaError
			if !errors.As(err, &qe) {
				return Outcome{}, err
			}
			details["reason"] = qe.Error()
			details["limit"] = qe.Limit
			if _, err := r.audit(ctx, req, auditlog.OutcomeDenied, details); err != nil {
				return Outcome{}, err
			}
			return Outcome{}, qe
		}
	}
	if !d.Allowed {
		details["reason"] = d.Reason
		if _, err := r.audit(ctx, req, auditlog.OutcomeDenied, details); err != nil {
			return Outcome{}, err
		}
		return Outcome{}, &RefusedError{Reason: d.Reason, Escapes: d.Escapes}
	}
	if sandboxed {
		details["network"] = spec.Network
		l := spec.Limits
		details["limits"] = map[string]any{"memoryBytes": l.Memory, "pids": l.Pids, "cpuSeconds": l.CPUSeconds, "fileSizeBytes": l.FileSize, "openFiles": l.OpenFiles}
	}
	details["timeoutMs"] = spec.Timeout.Milliseconds()
	// Fail closed: nothing runs unless the audit log has it.
	if _, err := r.audit(ctx, req, auditlog.OutcomeAllowed, details); err != nil {
		return Outcome{}, err
	}

	out := Outcome{Argv: d.Argv, Sandboxed: sandboxed}
	var err error
	if sandboxed {
		if r.pool != nil {
			out.Result, err = r.pool.Run(ctx, spec)
		} else {
			out.Result, err = sandbox.Run(ctx, spec)
		}
	} else {
		out.Result, err = runHost(ctx, spec)
	}
	result := map[string]any{"argv": clip(shown), "sandboxed": sandboxed, "main": main}
	if req.Owner != "" {
		result["owner"] = req.Owner
	}
	if err != nil {
		result["error"] = err.Error()
		_, _ = r.audit(ctx, req, auditlog.OutcomeFailure, result)
		return Outcome{}, err
	}
	result["exitCode"] = out.ExitCode
	result["durationMs"] = out.Duration.Milliseconds()
	for k, v := range map[string]string{"signal": out.Signal, "limit": out.Limit, "violation": out.Violation} {
		if v != "" {
			result[k] = v
		}
	}
	if len(out.LimitsHit) > 0 {
		result["limitsHit"] = out.LimitsHit
	}
	outcome := auditlog.OutcomeSuccess
	if out.ExitCode != 0 {
		outcome = auditlog.OutcomeFailure
	}
	record := func(ctx context.Context) error {
		if _, err := r.audit(ctx, req, outcome, result); err != nil {
			return err
		}
		if out.Violation != "" {
			return r.violation(ctx, req, shown, []string{out.Violation})
		}
		return nil
	}
	if req.ResultInBackground {
		r.background.Add(1)
		go func() {
			defer r.background.Done()
			if err := record(context.WithoutCancel(ctx)); err != nil && r.opts.OnAuditError != nil {
				r.opts.OnAuditError(err)
			}
		}()
		return out, nil
	}
	return out, record(ctx)
}

func (r *Runner) audit(ctx context.Context, req Request, outcome string, details map[string]any) (auditlog.Entry, error) {
	e, err := r.opts.Auditor.Append(context.WithoutCancel(ctx), auditlog.Event{Actor: req.Actor, Action: "sandbox.exec",
		Outcome: outcome, SourceIP: req.SourceIP, Details: details})
	if err != nil {
		return e, fmt.Errorf("%w (%v)", ErrAuditUnavailable, err)
	}
	return e, nil
}

func (r *Runner) violation(ctx context.Context, req Request, argv, signals []string) error {
	_, err := r.opts.Auditor.Append(context.WithoutCancel(ctx), auditlog.Event{Actor: req.Actor, Action: "sandbox_violation",
		Outcome: auditlog.OutcomeDenied, SourceIP: req.SourceIP, Details: map[string]any{"argv": clip(argv), "signals": signals}})
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrAuditUnavailable, err)
	}
	if r.opts.OnViolation != nil {
		r.opts.OnViolation(Violation{Actor: req.Actor, SourceIP: req.SourceIP, Argv: clip(argv), Signals: signals, Time: time.Now().UTC()})
	}
	return nil
}

// clip bounds what a command line puts in the audit log: 512 bytes per
// argument, 32 arguments.
func clip(argv []string) []string {
	out := make([]string, 0, min(len(argv), 33))
	for i, a := range argv {
		if i == 32 {
			out = append(out, fmt.Sprintf("… %d more", len(argv)-32))
			break
		}
		if len(a) > 512 {
			a = a[:512] + "…"
		}
		out = append(out, a)
	}
	return out
}
