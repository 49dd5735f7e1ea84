package commands

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/atomicfile"
	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/gateway"
	"github.com/warden-sec/warden/core/maintenance"
	"github.com/warden-sec/warden/core/runner"
	"github.com/warden-sec/warden/core/sandbox"
)

// execPoolSize sandboxes are kept set up for the exec API, so a command
// starts without waiting for namespaces and mounts (docs/performance.md).
const execPoolSize = 2

func (w *wiring) serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the gateway: HTTP and WebSocket API, dashboard, metrics, audit log upkeep",
		Description: "Starts the gateway with the config's settings (embedded defaults when there is no config):\n" +
			"loopback only unless TLS is configured. On first run it creates the secret store and, while\n" +
			"there are no users, prints a one-time setup code for creating the first admin in the dashboard.\n" +
			"Stops gracefully on SIGINT or SIGTERM.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Usage: "address to listen on, overriding gateway.listen (port 0 picks a free port)", EnvVars: []string{"WARDEN_LISTEN"}},
			&cli.StringFlag{Name: "addr-file", TakesFile: true, Usage: "write the address actually listened on to this file once ready", EnvVars: []string{"WARDEN_ADDR_FILE"}},
			&cli.StringFlag{Name: "log-format", Usage: "format of the log lines on stderr, overriding logging.format (json: every line, messages and errors included): text or json", EnvVars: []string{"WARDEN_SERVE_LOG_FORMAT"}},
		},
		Action: w.serve,
	}
}

// serve boots the gateway. It refuses to start, with the reason, when the
// config is invalid, the state dir or config file is group/world accessible
// and cannot be fixed, the address is beyond loopback without TLS, or the
// audit log cannot be opened or written.
func (w *wiring) serve(c *cli.Context) (err error) {
	if err := noArgs(c); err != nil {
		return err
	}
	logFormat := c.String("log-format")
	if logFormat != "" && logFormat != "text" && logFormat != "json" {
		return usageErrorf("--log-format %q is not one of text, json", logFormat)
	}
	stderr := w.env.Stderr
	if logFormat == "json" {
		// Known before the config is read: what comes before it is JSON too.
		defer w.jsonMessages(stderr, config.Logging{Format: "json"})(&err)
	}
	ctx := c.Context
	sess, err := w.serveSession(c)
	if err != nil {
		return err
	}
	cfg := sess.config.Config
	logging := cfg.Logging
	if logFormat != "" {
		logging.Format = logFormat
	} else if logging.Format == "json" {
		defer w.jsonMessages(stderr, logging)(&err)
	}
	logger := newLogger(stderr, logging)

	listen := cfg.Gateway.Listen
	if l := c.String("listen"); l != "" {
		listen = l
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return inputError(fmt.Errorf("listen address %q: %w", listen, err), "use host:port, such as 127.0.0.1:7420")
	}
	if !config.IsLoopbackHost(host) && !cfg.Gateway.TLS.Enabled() {
		return inputError(fmt.Errorf("refusing to listen on %s without TLS: only loopback addresses may serve plain HTTP", listen),
			"set gateway.tls.cert and gateway.tls.key (`warden tls self-signed` makes a pair), or listen on 127.0.0.1")
	}
	var tlsConfig *tls.Config
	if cfg.Gateway.TLS.Enabled() {
		if tlsConfig, err = loadTLS(cfg.Gateway.TLS, sess.config.File); err != nil {
			return err
		}
	}

	if err := w.bootstrapSecrets(c, sess); err != nil {
		return err
	}
	a, err := w.openAudit(ctx, c, sess, true)
	if err != nil {
		return fmt.Errorf("open the audit log: %w", err)
	}
	defer a.Close()
	// Room on the disk for the audit log alone: a full disk then refuses
	// commands, not the record of them.
	reservePath := filepath.Join(sess.stateDir, auditlog.ReserveFileName)
	if ok, err := a.log.KeepReserve(reservePath, 0); err != nil {
		return err
	} else if !ok {
		w.warnf("the disk holding %s has no room for the audit log's %d MiB reserve; free some space", sess.stateDir, auditlog.DefaultReserveBytes>>20)
	}
	if err := w.resolveSecrets(ctx, c, sess.config, sess.keyring); err != nil {
		return err
	}
	metrics := gateway.NewMetrics()
	auditor := metrics.Auditor(a.log)
	access, err := w.ensureKey(ctx, a, accessKeySecret, auth.KeySize)
	if err != nil {
		return err
	}
	totpKey, err := w.ensureKey(ctx, a, totpKeySecret, 32)
	if err != nil {
		return err
	}
	ao := authOptions(a, access, totpKey, w.env.Now)
	ao.Audit = auditor
	if tok := cfg.Gateway.Auth.Token.Reveal(); tok != "" {
		if err := auth.CheckSharedToken(tok); err != nil {
			return inputError(fmt.Errorf("gateway.auth.token: %w", err), "use `warden tokens create` for per-client tokens, or a random value of 32+ characters")
		}
		ao.SharedToken = tok
	}
	svc, err := auth.New(ao)
	if err != nil {
		return err
	}
	trusted, err := ratelimit.ParseTrusted(cfg.Gateway.TrustedProxies)
	if err != nil {
		return inputError(fmt.Errorf("gateway.trusted_proxies: %w", err), "")
	}

	// Commands for the agent: the runner keeps a few sandboxes set up.
	// The owner's main session has a workspace of its own.
	ws, mainWS := cfg.Sandbox.Workspace, cfg.Sandbox.MainWorkspace
	if ws == "" {
		ws = filepath.Join(sess.stateDir, workspaceDir)
	}
	if mainWS == "" {
		mainWS = filepath.Join(sess.stateDir, mainWorkspaceDir)
	}
	if cfg.Sandbox.Mode == config.SandboxAll {
		mainWS = "" // nothing runs on the host
	}
	quota := sandbox.Quota{Bytes: int64(cfg.Sandbox.WorkspaceQuota), Inodes: int64(cfg.Sandbox.WorkspaceFiles), Reserve: int64(cfg.Sandbox.DiskReserve)}
	var gwRef atomic.Pointer[gateway.Server]
	run, err := runner.New(runner.Options{Config: cfg.Sandbox, Workspace: ws, MainWorkspace: mainWS, Quota: quota, Auditor: auditor, PoolSize: execPoolSize,
		OnViolation: func(v runner.Violation) {
			if gw := gwRef.Load(); gw != nil {
				gw.NotifyViolation(v)
			}
		},
		OnAuditError: func(err error) { logger.Error("audit append failed", "action", "sandbox.exec", "error", err) }})
	if err != nil {
		return inputError(fmt.Errorf("sandbox: %w", err), "sandbox.main_workspace must be a private directory of its own, outside sandbox.workspace")
	}
	defer run.Close()
	if err := w.announceOwner(ctx, svc, cfg, run); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return inputError(fmt.Errorf("listen on %s: %w", listen, err), "is another warden serve running? pick another port with --listen")
	}
	defer ln.Close()
	bound := ln.Addr().(*net.TCPAddr)
	hosts, err := allowedHosts(cfg.Gateway, tlsConfig)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Options{
		Auth: svc, Audit: a.log, Auditor: auditor, DB: a.db, Logger: logger, Metrics: metrics,
		TLS: tlsConfig != nil, Loopback: bound.IP.IsLoopback(),
		MetricsEnabled: cfg.Gateway.Metrics.Enabled, MetricsRequireToken: cfg.Gateway.Metrics.RequireToken,
		AllowedOrigins: cfg.Gateway.AllowedOrigins, TrustedProxies: trusted, Hosts: hosts, ListenAddr: bound,
		MaxBodyBytes: int64(cfg.Gateway.MaxBodyBytes), Version: w.env.Build.Version, Now: w.env.Now,
		Runner: run,
	})
	if err != nil {
		return err
	}
	gwRef.Store(gw)
	if _, err := auditor.Append(ctx, auditlog.Event{Actor: "system", Action: "gateway.start", Target: bound.String(),
		Outcome: auditlog.OutcomeSuccess, Details: map[string]any{"version": w.env.Build.Version, "tls": tlsConfig != nil}}); err != nil {
		return auditFailed(err)
	}

	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s", scheme, bound.String())
	if err := w.announceSetup(ctx, svc, url); err != nil {
		return err
	}
	if f := c.String("addr-file"); f != "" {
		if err := atomicfile.WriteFile(f, []byte(bound.String()+"\n")); err != nil {
			return err
		}
	}
	w.notef("listening on %s (dashboard at %s/); stop with Ctrl-C or SIGTERM", url, url)
	logger.Info("gateway started", "addr", bound.String(), "tls", tlsConfig != nil, "version", w.env.Build.Version)

	mctx, stopMaint := context.WithCancel(context.WithoutCancel(ctx))
	maintDone := make(chan struct{})
	go func() {
		defer close(maintDone)
		w.maintain(mctx, c, a, svc, logger)
	}()

	serveErr := gw.Serve(ctx, ln, tlsConfig, cfg.Gateway.ShutdownGrace.D())
	if _, err := auditor.Append(context.WithoutCancel(ctx), auditlog.Event{Actor: "system", Action: "gateway.stop", Target: bound.String(),
		Outcome: auditlog.OutcomeSuccess}); err != nil {
		logger.Error("audit append failed", "action", "gateway.stop", "error", err)
	}
	stopMaint() // forwarding delivers what is left, gateway.stop included, before it stops
	<-maintDone
	if serveErr != nil {
		return serveErr
	}
	w.notef("stopped")
	return nil
}

// serveSession loads the config and prepares the state dir, refusing what
// it cannot make private.
func (w *wiring) serveSession(c *cli.Context) (*session, error) {
	kr, err := w.keyring(c)
	if err != nil {
		return nil, err
	}
	cfg, err := w.loadConfig(c.Context, c, kr)
	if err != nil {
		return nil, err
	}
	if cfg.File != "" {
		if err := tightenFile(cfg.File); err != nil {
			return nil, inputError(err, "the config file must be readable by its owner only: chmod 600 it, as its owner")
		}
	}
	dir, err := w.stateDir(c, cfg.Config)
	if err != nil {
		return nil, err
	}
	if err := w.openStateDir(dir); err != nil {
		return nil, err
	}
	if problems, err := stateProblems(dir); err != nil {
		return nil, err
	} else if len(problems) > 0 {
		return nil, inputError(fmt.Errorf("state directory %s: %s", dir, strings.Join(problems, "; ")),
			"the state directory and every file in it must belong to the user running warden and be private to it")
	}
	return &session{keyring: kr, config: cfg, stateDir: dir}, nil
}

// tightenFile makes a file private to its owner, or says why it cannot.
func tightenFile(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil {
		return fmt.Errorf("config %s is accessible to group or others (%04o) and cannot be fixed: %w", path, fi.Mode().Perm(), err)
	}
	return nil
}

// bootstrapSecrets creates the secret store (and the identity it is
// encrypted to) on first run, so `warden serve` works on a fresh machine.
func (w *wiring) bootstrapSecrets(c *cli.Context, sess *session) error {
	st := sess.secretStore(w)
	if st.Exists() {
		return nil
	}
	idPath, created, err := w.ensureIdentity(sess.keyring)
	if err != nil {
		return err
	}
	own, err := sess.keyring.DefaultRecipients()
	if err != nil {
		return err
	}
	if err := st.Init(c.Context, own); err != nil {
		return err
	}
	if err := w.recordCreation(c, sess, "secrets.init", st.Path(), map[string]any{"recipients": labels(own), "by": "serve"}); err != nil {
		_ = os.Remove(st.Path())
		return fmt.Errorf("open the audit log: %w", err)
	}
	if created {
		w.notef("created identity %s; back it up: without it the secret store cannot be opened", idPath)
	}
	w.notef("created secret store %s", st.Path())
	return nil
}

// announceOwner says whose session is the main one, and warns when the
// configured owner cannot be (then nothing runs on the host).
func (w *wiring) announceOwner(ctx context.Context, svc *auth.Service, cfg *config.Config, run *runner.Runner) error {
	if cfg.Sandbox.Mode == config.SandboxAll {
		return nil
	}
	owner, err := svc.Owner(ctx)
	if err != nil {
		return err
	}
	if owner == "" {
		return nil // the first admin created becomes the owner
	}
	u, err := svc.GetUser(ctx, owner)
	switch {
	case errors.Is(err, auth.ErrNotFound):
		w.notef("warning: the owner %q is not a user: every command runs in the sandbox (create the user, or set gateway.owner)", owner)
		return nil
	case err != nil:
		return err
	case u.Role != auth.RoleAdmin || u.Disabled != nil:
		w.notef("warning: the owner %q is not an enabled admin: every command runs in the sandbox", owner)
		return nil
	}
	if cfg.Sandbox.Mode == config.SandboxNonMain {
		w.notef("owner %s: commands from their own login sessions run on the host in %s; everyone else's in the sandbox", owner, run.MainWorkspace())
	}
	return nil
}

// announceSetup prints a one-time setup code while there are no users.
func (w *wiring) announceSetup(ctx context.Context, svc *auth.Service, url string) error {
	needed, err := svc.SetupNeeded(ctx)
	if err != nil || !needed {
		return err
	}
	code, exp, err := svc.IssueSetupCode(ctx)
	if err != nil {
		return err
	}
	w.notef("no users yet. Create the first admin at %s/ with the one-time setup code\n\n    %s\n\n"+
		"  (valid until %s, once), or run `warden users add NAME --role admin`.", url, code, exp.Local().Format("15:04:05"))
	return nil
}

// maintain runs the periodic jobs until ctx ends: session cleanup and
// rate-limit sweeps, audit retention, signed checkpoints, and forwarding
// of audit entries.
func (w *wiring) maintain(ctx context.Context, c *cli.Context, a *auditSession, svc *auth.Service, logger *slog.Logger) {
	audit := a.config.Config.Security.Audit
	jobs := []maintenance.Job{
		{Name: "sessions.cleanup", Every: 10 * time.Minute, AtStart: true, Run: func(ctx context.Context) error {
			n, err := svc.CleanupSessions(ctx)
			if n > 0 {
				logger.Info("expired sessions removed", "count", n)
			}
			return err
		}},
		{Name: "auth.sweep", Every: time.Minute, Run: func(context.Context) error { svc.Sweep(); return nil }},
		// The audit log's disk reserve comes back once it was used and
		// there is room again.
		{Name: "audit.reserve", Every: time.Minute, Run: func(context.Context) error {
			ok, err := a.log.KeepReserve(filepath.Join(a.stateDir, auditlog.ReserveFileName), 0)
			if err == nil && !ok {
				logger.Warn("no room on the disk for the audit log's reserve", "dir", a.stateDir)
			}
			return err
		}},
	}
	a.log.SetRetentionHold(forwardNames(audit.Forward)...)
	if audit.RetentionDays > 0 || audit.MaxEntries > 0 {
		jobs = append(jobs, maintenance.Job{Name: "audit.retention", Every: time.Hour, AtStart: true, Run: func(ctx context.Context) error {
			n, err := a.log.EnforceRetention(ctx, audit.RetentionDays, audit.MaxEntries)
			if n > 0 {
				logger.Info("audit retention purged entries", "count", n)
			}
			return err
		}})
	}
	if audit.Checkpoint.File != "" {
		jobs = append(jobs, maintenance.Job{Name: "audit.checkpoint", Every: audit.Checkpoint.Interval.D(), AtStart: true, Run: func(ctx context.Context) error {
			return w.writeCheckpoint(ctx, a, audit.Checkpoint.File)
		}})
	}
	forwardDone := make(chan struct{})
	dests, err := w.destinations(ctx, c, a)
	if err != nil {
		logger.Error("audit forwarding disabled", "error", err)
	}
	if len(dests) > 0 {
		go func() {
			defer close(forwardDone)
			a.log.Forward(ctx, dests, time.Second, func(err error) { logger.Warn("audit forwarding (will retry)", "error", err) })
			// A last delivery on the way out, so a clean stop leaves nothing
			// pending; what fails here is sent by the next run.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for _, d := range dests {
				if _, err := a.log.ForwardOnce(fctx, d, 0); err != nil {
					logger.Warn("audit forwarding at shutdown (the next start delivers the rest)", "error", err)
				}
				_ = d.Close()
			}
		}()
	} else {
		close(forwardDone)
	}
	maintenance.Run(ctx, jobs, func(r maintenance.Result) {
		if r.Err != nil {
			logger.Error("maintenance job failed", "job", r.Job, "error", r.Err)
		} else {
			logger.Debug("maintenance job done", "job", r.Job, "duration", r.Duration)
		}
	})
	<-forwardDone
}

// writeCheckpoint appends a signed checkpoint line to path ("-" is stdout).
func (w *wiring) writeCheckpoint(ctx context.Context, a *auditSession, path string) error {
	priv, err := w.checkpointKey(ctx, a.secrets)
	if err != nil {
		return err
	}
	cp, err := a.log.NewCheckpoint(ctx, priv)
	if err != nil {
		return err
	}
	line, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if _, err := a.log.Append(ctx, auditlog.Event{Actor: "system", Action: "audit.checkpoint", Target: "audit_log",
		Outcome: auditlog.OutcomeSuccess, Details: map[string]any{"seq": cp.Seq, "hash": cp.Hash}}); err != nil {
		return err
	}
	if path == "-" {
		_, err := fmt.Fprintf(w.env.Stdout, "%s\n", line)
		return err
	}
	return appendLine(path, line)
}

// loadTLS reads the certificate pair; relative paths are relative to the
// config file.
func loadTLS(t config.TLS, configPath string) (*tls.Config, error) {
	certPath, keyPath := config.ResolvePath(configPath, t.Cert), config.ResolvePath(configPath, t.Key)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, inputError(fmt.Errorf("gateway.tls: load %s and %s: %w", certPath, keyPath, err),
			"`warden config validate` names the file and line at fault; `warden tls self-signed` makes a pair for local use")
	}
	min := uint16(tls.VersionTLS13)
	if t.MinVersion == "1.2" {
		min = tls.VersionTLS12
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: min, NextProtos: []string{"h2", "http/1.1"}}, nil
}

// newLogger writes operational logs (not the audit log) to stderr.
func newLogger(out io.Writer, l config.Logging) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// jsonMessages makes serve's own messages (notes, warnings, the setup
// code) and a failure to start JSON log records on out, so that a log
// pipeline reading stderr gets JSON lines only. They are written whatever
// the level, as they are in text. The function it returns, deferred with
// serve's error, logs that error (with its hints) instead of Run.
func (w *wiring) jsonMessages(out io.Writer, l config.Logging) func(*error) {
	h := newLogger(out, l).Handler()
	w.env.Stderr = &messageLog{h: h, now: w.env.Now}
	return func(errp *error) {
		err := *errp
		if err == nil {
			return
		}
		rec := slog.NewRecord(w.env.Now(), slog.LevelError, "serve failed", 0)
		rec.AddAttrs(slog.String("error", err.Error()))
		if hints := hintsOf(err); len(hints) > 0 {
			rec.AddAttrs(slog.Any("hints", hints))
		}
		_ = h.Handle(context.Background(), rec)
		*errp = &exitError{code: exitCode(err), err: err, quiet: true}
	}
}

// messageLog turns each "warden: …" message written to it into a record.
type messageLog struct {
	h   slog.Handler
	now func() time.Time
}

func (m *messageLog) Write(p []byte) (int, error) {
	msg := strings.TrimPrefix(strings.TrimSpace(string(p)), "warden: ")
	level := slog.LevelInfo
	if rest, ok := strings.CutPrefix(msg, "warning: "); ok {
		level, msg = slog.LevelWarn, rest
	}
	rec := slog.NewRecord(m.now(), level, strings.Join(strings.Fields(msg), " "), 0)
	if err := m.h.Handle(context.Background(), rec); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stateProblems lists what in the state dir is still not private after
// openStateDir tried to fix it.
func stateProblems(dir string) ([]string, error) {
	var out []string
	skip := map[string]bool{filepath.Join(dir, workspaceDir): true, filepath.Join(dir, mainWorkspaceDir): true}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if runtime.GOOS == "windows" {
			return filepath.SkipAll
		}
		// The workspaces hold what commands wrote, with the modes they
		// chose; openStateDir leaves them alone too.
		if d.IsDir() && skip[p] {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if fi.Mode()&os.ModeSymlink == 0 && fi.Mode().Perm()&0o077 != 0 {
			out = append(out, fmt.Sprintf("%s is %04o", p, fi.Mode().Perm()))
		}
		return nil
	})
	return out, err
}

// allowedHosts are the names the gateway answers to besides IP literals
// and localhost: gateway.hosts and, under TLS, the certificate's names.
func allowedHosts(g config.Gateway, tlsConfig *tls.Config) ([]string, error) {
	hosts := append([]string(nil), g.Hosts...)
	if tlsConfig == nil {
		return hosts, nil
	}
	for _, c := range tlsConfig.Certificates {
		leaf := c.Leaf
		if leaf == nil && len(c.Certificate) > 0 {
			var err error
			if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
				return nil, inputError(fmt.Errorf("gateway.tls.cert: %w", err), "")
			}
		}
		if leaf != nil {
			hosts = append(hosts, leaf.DNSNames...)
		}
	}
	return hosts, nil
}
