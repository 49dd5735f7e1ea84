package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/runner"
	"github.com/warden-sec/warden/core/sandbox"
)

// Exit codes of `warden sandbox run` besides the command's own status
// (128+N when a signal N ended it), as in container runtimes.
const (
	ExitSandboxFailed = 125 // the sandbox could not run the command (setup, audit log)
	ExitRefused       = 126 // the command policy refused the command
)

func (w *wiring) sandboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "sandbox",
		Usage: "run a command in the sandbox, or see which isolation layers this host offers",
		Subcommands: []*cli.Command{
			{
				Name:      "run",
				Usage:     "run one command in the sandbox and exit with its status",
				ArgsUsage: "[--] CMD [ARGS...]",
				Description: "Runs CMD confined by namespaces, seccomp, Landlock and resource limits, after the command\n" +
					"policy. The command's output streams through; the exit status is the command's (128+N when\n" +
					"signal N ended it), 125 when the sandbox could not run it, 126 when the policy refused it.\n" +
					"With --shell, one argument is a command line for /bin/sh -c, checked command by command.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "workspace", Usage: "directory mounted read-write at /workspace (default: sandbox.workspace, or workspace/ in the state dir)", EnvVars: []string{"WARDEN_SANDBOX_WORKSPACE"}},
					&cli.BoolFlag{Name: "net", Usage: "give the command the network, never this host itself (default: sandbox.network)", EnvVars: []string{"WARDEN_SANDBOX_NET"}},
					&cli.DurationFlag{Name: "timeout", Usage: "wall-clock limit (default: sandbox.timeout)", EnvVars: []string{"WARDEN_SANDBOX_TIMEOUT"}},
					&cli.BoolFlag{Name: "shell", Usage: "run the single argument as a shell command line", EnvVars: []string{"WARDEN_SANDBOX_SHELL"}},
					&cli.BoolFlag{Name: "report", Usage: "print how the command ended, as JSON, on stderr", EnvVars: []string{"WARDEN_SANDBOX_REPORT"}},
				},
				Action: w.sandboxRun,
			},
			{
				Name:  "check",
				Usage: "show which isolation layers this host offers and which are in force with the current config",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "table", Usage: "table or json", EnvVars: []string{"WARDEN_SANDBOX_FORMAT"}},
				},
				Action: w.sandboxCheck,
			},
		},
	}
}

// sandboxConfig reads the config and picks the workspace.
func (w *wiring) sandboxConfig(c *cli.Context) (*session, config.Sandbox, string, error) {
	sess, err := w.open(c.Context, c)
	if err != nil {
		return nil, config.Sandbox{}, "", err
	}
	cfg := sess.config.Config.Sandbox
	ws := c.String("workspace")
	if ws == "" {
		ws = cfg.Workspace
	}
	if ws == "" {
		ws = filepath.Join(sess.stateDir, workspaceDir)
	}
	return sess, cfg, ws, nil
}

func (w *wiring) sandboxRun(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		return usageErrorf("give the command to run: warden sandbox run [flags] -- CMD [ARGS...]")
	}
	if c.Bool("shell") && len(args) != 1 {
		return usageErrorf("--shell takes one argument, the command line")
	}
	if c.IsSet("timeout") && c.Duration("timeout") <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	sess, cfg, ws, err := w.sandboxConfig(c)
	if err != nil {
		return err
	}
	if c.IsSet("net") {
		cfg.Network = c.Bool("net")
	}
	if c.IsSet("timeout") {
		cfg.Timeout = config.Duration(c.Duration("timeout"))
	}
	// Set the sandbox up while the audit log opens; the command goes in
	// only once the audit log has recorded it.
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return fmt.Errorf("create workspace %s: %w", ws, err)
	}
	pool := sandbox.NewPool(runner.Template(cfg, ws), 1)
	defer pool.Close()
	a, err := w.openAudit(c.Context, c, sess, true)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := runner.New(runner.Options{Config: cfg, Workspace: ws, Auditor: a.log, Pool: pool})
	if err != nil {
		return err
	}
	defer r.Close()
	req := runner.Request{Actor: a.actor, SourceIP: "local", Sandbox: true,
		Stdin: w.env.Stdin, Stdout: w.env.Stdout, Stderr: w.env.Stderr}
	if c.Bool("shell") {
		req.Shell = args[0]
	} else {
		req.Argv = args
	}
	out, err := r.Run(c.Context, req)
	var refused *runner.RefusedError
	switch {
	case errors.As(err, &refused):
		hint := "the policy is a first filter; see `warden config show` (sandbox.allowed_binaries, sandbox.network)"
		return &exitError{code: ExitRefused, err: fmt.Errorf("sandbox: %w", err), hint: hint}
	case errors.Is(err, context.Canceled):
		return &exitError{code: ExitSandboxFailed, err: errors.New("sandbox: interrupted")}
	case err != nil:
		return &exitError{code: ExitSandboxFailed, err: err}
	}
	if c.Bool("report") {
		_ = writeJSON(w.env.Stderr, out)
	}
	switch {
	case out.Violation != "":
		w.warnf("%s", out.Violation)
	case out.Limit != "":
		w.warnf("sandbox: the %s limit ended the command", strings.ReplaceAll(out.Limit, "_", " "))
	}
	for _, warn := range out.Layers.Warnings {
		w.warnf("sandbox: %s", warn)
	}
	code := out.ExitCode
	if out.Signal != "" {
		code = 128 + signalNumber(out.Signal)
	}
	if code == 0 {
		return nil
	}
	return &exitError{code: code, err: fmt.Errorf("command exited with status %d", code), quiet: true}
}

// signalNumber maps the signal names the sandbox reports to numbers.
func signalNumber(name string) int {
	for n, s := range []string{"", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
		"SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",
		"SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
		"SIGPWR", "SIGSYS"} {
		if s == name && n > 0 {
			return n
		}
	}
	return 0
}

// checkOutput is `warden sandbox check --format json`.
type checkOutput struct {
	SchemaVersion int             `json:"schemaVersion"`
	Host          sandbox.Host    `json:"host"`
	Mode          string          `json:"mode"`
	InForce       *sandbox.Layers `json:"inForce,omitempty"`
	Error         string          `json:"error,omitempty"`
}

func (w *wiring) sandboxCheck(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	format := c.String("format")
	if format != "table" && format != "json" {
		return usageErrorf("--format must be table or json")
	}
	_, cfg, ws, err := w.sandboxConfig(c)
	if err != nil {
		return err
	}
	out := checkOutput{SchemaVersion: jsonSchemaVersion, Host: sandbox.Probe(), Mode: cfg.Mode}
	// What is in force: run /bin/true the way commands will run.
	if out.Host.Supported {
		ctx, cancel := context.WithTimeout(c.Context, 30*time.Second)
		res, err := runProbe(ctx, cfg, ws)
		cancel()
		if err != nil {
			out.Error = err.Error()
		} else {
			out.InForce = &res.Layers
		}
	} else {
		out.Error = sandbox.ErrUnsupported.Error()
	}
	if format == "json" {
		if err := writeJSON(w.env.Stdout, out); err != nil {
			return err
		}
	} else if err := writeTable(w.env.Stdout, []string{"LAYER", "HOST", "IN FORCE"}, checkRows(out)); err != nil {
		return err
	}
	if out.Error != "" {
		return &exitError{code: ExitGate, err: fmt.Errorf("the sandbox cannot run here: %s", out.Error), quiet: format == "json"}
	}
	return nil
}

// runProbe runs /bin/true the way commands will run (a fixed probe, not a
// user's command, so it is not audited).
func runProbe(ctx context.Context, cfg config.Sandbox, ws string) (sandbox.Result, error) {
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return sandbox.Result{}, fmt.Errorf("create workspace %s: %w", ws, err)
	}
	return sandbox.Run(ctx, sandbox.Spec{Argv: []string{"/bin/true"}, Workspace: ws, WorkspaceExec: cfg.WorkspaceExec,
		Network: cfg.Network, Strict: cfg.Mode == config.SandboxAll,
		Limits: sandbox.Limits{Memory: int64(cfg.Memory), Pids: cfg.Pids, CPUSeconds: cfg.CPUSeconds, FileSize: int64(cfg.FileSize), OpenFiles: cfg.OpenFiles}})
}

func checkRows(o checkOutput) [][]string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var inNS map[string]bool
	if o.InForce != nil {
		inNS = map[string]bool{}
		for _, n := range o.InForce.Namespaces {
			inNS[n] = true
		}
	}
	force := func(f func() string) string {
		if o.InForce == nil {
			return "-"
		}
		return f()
	}
	var rows [][]string
	for _, ns := range []string{"user", "pid", "mount", "net", "ipc", "uts", "cgroup"} {
		rows = append(rows, []string{ns + " namespace", yes(o.Host.Namespaces[ns]), force(func() string {
			if ns == "net" && !inNS[ns] {
				return "no (sandbox.network: true)"
			}
			return yes(inNS[ns])
		})})
	}
	guardHost := yes(o.Host.LoopbackGuard)
	if o.Host.LoopbackGuardNote != "" {
		guardHost += " (" + o.Host.LoopbackGuardNote + ")"
	}
	rows = append(rows,
		[]string{"loopback guard (with network)", guardHost, force(func() string { return networkText(o.InForce.Network) })},
		[]string{"workspace ownership", "-", force(func() string { return workspaceText(*o.InForce) })},
		[]string{"seccomp allow-list", yes(o.Host.Seccomp), force(func() string { return yes(o.InForce.Seccomp) })},
		[]string{"landlock", landlockText(o.Host.LandlockABI), force(func() string { return landlockText(o.InForce.Landlock) })},
		[]string{"capabilities dropped, no_new_privs", "yes", force(func() string { return "yes" })},
		[]string{"memory and pids limits", o.Host.Limits, force(func() string { return o.InForce.Limits })},
		[]string{"uid map (inside host count)", "-", force(func() string { return o.InForce.UIDMap })},
		[]string{"mode", o.Mode, "-"},
	)
	if o.InForce != nil {
		for _, warn := range o.InForce.Warnings {
			rows = append(rows, []string{"warning", "", warn})
		}
	}
	if o.Error != "" {
		rows = append(rows, []string{"error", "", o.Error})
	}
	return rows
}

// networkText says what network the command has.
func networkText(n string) string {
	switch n {
	case sandbox.NetworkNone:
		return "- (no network)"
	case sandbox.NetworkGuarded:
		return "yes: this host's own addresses refused"
	case sandbox.NetworkUnguarded:
		return "NO: this host's services are reachable"
	}
	return n
}

// workspaceText says how the workspace's files keep their owner.
func workspaceText(l sandbox.Layers) string {
	switch l.Workspace {
	case sandbox.WorkspaceIdmapped:
		return "idmapped mount: host " + l.WorkspaceOwner + " is 0:0 inside"
	case sandbox.WorkspaceOwnIDs:
		return "own ids: host " + l.WorkspaceOwner + " is 0:0 inside"
	case sandbox.WorkspaceUnmapped:
		return "unmapped: the command works as host uid " + strconv.Itoa(sandbox.HostIDBase)
	}
	return l.Workspace
}

func landlockText(abi int) string {
	if abi == 0 {
		return "no"
	}
	return "ABI " + strconv.Itoa(abi)
}
