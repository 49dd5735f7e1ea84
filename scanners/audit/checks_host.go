package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/fsperm"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/internal/lazyre"
	"github.com/warden-sec/warden/scanners/deps"
	"github.com/warden-sec/warden/scanners/deps/lockfile"
	"github.com/warden-sec/warden/scanners/deps/osv"
)

// hostChecks look at this host, the state dir and the files around the config.
func hostChecks() []Check {
	return []Check{
		{ID: "sandbox.off", Severity: Critical, Title: "sandbox is off",
			Description: "With sandbox.mode off every command the agent runs executes with the gateway's own rights on the host.",
			run:         checkSandboxOff},
		{ID: "sandbox.not_all", Severity: Low, Title: "sandbox does not cover every session",
			Description: "Mode non-main (the default) runs the owner's own login sessions on the host, unsandboxed; it fails while the owner signs in with a password alone, since that password is then a shell on the host. Enroll the owner in two-factor, or use mode all.",
			run:         checkSandboxNotAll},
		{ID: "sandbox.network", Severity: Medium, Title: "sandboxed commands may use the network",
			Description: "Network access lets an injected command exfiltrate data or fetch payloads.",
			run:         checkSandboxNetwork},
		{ID: "sandbox.layers", Severity: Medium, Title: "sandbox layers missing on this host",
			Description: "The sandbox relies on user namespaces, seccomp filters, Landlock and cgroup v2; each one missing on the host removes a layer of isolation.",
			run:         checkSandboxLayers},
		{ID: "sandbox.root", Severity: Medium, Title: "warden runs as root",
			Description: "Warden needs no root rights; as root, any escape from the gateway or a sandbox owns the machine.",
			run:         checkRoot},
		{ID: "sandbox.env", Severity: High, Title: "dangerous environment variables are set",
			Description: "Variables such as LD_PRELOAD, LD_AUDIT, GLIBC_TUNABLES or NODE_OPTIONS inject code into the gateway and every program it starts.",
			run:         checkDangerousEnv},
		{ID: "files.state_dir", Severity: High, Title: "state directory is not private",
			Description: "The state dir holds the database, the secret store and the audit log; it must be 0700 (or the configured mode).",
			Fixable:     true, run: checkStateDirMode},
		{ID: "files.state_files", Severity: High, Title: "files in the state directory are readable by others",
			Description: "Every file in the state dir must be 0600 and every directory 0700 (or the configured modes), and all of them owned by warden's user.",
			Fixable:     true, run: checkStateFiles},
		{ID: "files.symlinks", Severity: High, Title: "symbolic links lead out of the state directory",
			Description: "A link out of the state dir lets whoever controls its target redirect Warden's reads and writes.",
			run:         checkSymlinks},
		{ID: "files.synced", Severity: Medium, Title: "state directory is inside a synced folder",
			Description: "Dropbox, iCloud Drive, Google Drive and OneDrive copy the state dir (database, secret store, sessions) to a third party and every linked device.",
			run:         checkSynced},
		{ID: "files.config_mode", Severity: Medium, Title: "config file is readable by others",
			Description: "The config names secrets, listen addresses and suppressions; it should be 0600 (or the configured mode).",
			Fixable:     true, run: checkConfigMode},
		{ID: "secrets.dotenv", Severity: High, Title: "plaintext secrets in .env files next to the config",
			Description: ".env files beside the config often hold the same tokens in the clear, outside the encrypted secret store.",
			run:         checkDotEnv},
		{ID: "secrets.identity", Severity: High, Title: "identity file is readable by others",
			Description: "The age identity decrypts the secret store and encrypted configs; it must be 0600.",
			Fixable:     true, run: checkIdentity},
		{ID: "log.chain", Severity: Critical, Title: "audit log chain is broken",
			Description: "A broken hash chain means audit entries were edited, deleted or reordered outside Warden.",
			run:         checkLogChain},
		{ID: "log.mode", Severity: High, Title: "audit log database is readable by others",
			Description: "The database holding the audit log, sessions and users must be 0600.",
			Fixable:     true, run: checkLogMode},
		{ID: "deps.self", Severity: High, Title: "the warden binary contains known-vulnerable modules",
			Description: "The toolkit audits itself: the modules built into the running binary are matched against the offline OSV database.",
			run:         checkSelfDeps},
	}
}

func (e *env) sandboxMode() string { return e.str("sandbox.mode", e.cfg.Sandbox.Mode) }

func checkSandboxOff(_ context.Context, e *env) outcome {
	if e.sandboxMode() != config.SandboxOff {
		return pass()
	}
	return fail("sandbox.mode", "set sandbox.mode: all (or at least non-main)", "sandbox.mode is off")
}

// checkSandboxNotAll weighs mode non-main by what guards the one session
// it leaves on the host. Non-main is the default and a sound one (the
// owner keeps a shell; every other admin, token and agent is sandboxed)
// as long as the owner's login takes more than a password: a phished or
// reused password would otherwise be a shell on the host. So the check
// fails only while the owner's account is active without a second
// factor. --fix does not touch it: enrolling needs the owner's
// authenticator, and mode all takes the host shell away from the owner.
func checkSandboxNotAll(ctx context.Context, e *env) outcome {
	if e.sandboxMode() != config.SandboxNonMain {
		return pass()
	}
	if e.o.Owner == nil {
		return skip("the owner's account cannot be read")
	}
	owner, err := e.o.Owner(ctx)
	switch {
	case errors.Is(err, ErrNoAuditLog):
		return pass() // no database: no account, so no main session yet
	case err != nil:
		return skip("the owner's account: %v", err)
	case owner.Name == "" || !owner.Active || owner.TwoFactor:
		return pass()
	}
	return fail("sandbox.mode",
		fmt.Sprintf("%s, the owner, signs in with a password alone: enroll a second factor with `warden users 2fa enroll %s` and `warden users 2fa confirm %s`, or set sandbox.mode: all to sandbox %s's commands too",
			owner.Name, owner.Name, owner.Name, owner.Name),
		"sandbox.mode is non-main: the owner's main session runs unsandboxed")
}

func checkSandboxNetwork(_ context.Context, e *env) outcome {
	if !e.boolean("sandbox.network", e.cfg.Sandbox.Network) {
		return pass()
	}
	return fail("sandbox.network", "set sandbox.network: false; give network access to specific tools outside the agent instead", "sandbox.network is true")
}

func checkSandboxLayers(_ context.Context, e *env) outcome {
	h := e.probe()
	if !h.Supported {
		return fail("", "run warden on Linux 5.13 or newer for the full sandbox", fmt.Sprintf("the sandbox is not supported on %s", h.OS))
	}
	var ev, fixes []string
	for _, ns := range []string{"user", "pid", "mount", "net", "ipc", "uts"} {
		if !h.Namespaces[ns] {
			ev = append(ev, ns+" namespaces are not available")
		}
	}
	if len(ev) > 0 && h.Namespaces["user"] {
		fixes = append(fixes, "use a kernel built with the missing namespaces (CONFIG_PID_NS, CONFIG_NET_NS, CONFIG_IPC_NS, CONFIG_UTS_NS)")
	}
	if !h.Namespaces["user"] {
		fixes = append(fixes, "allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000; on Debian/Ubuntu also kernel.unprivileged_userns_clone=1 and, on Ubuntu 24.04+, an AppArmor profile or kernel.apparmor_restrict_unprivileged_userns=0)")
	}
	if !h.Seccomp {
		ev = append(ev, "seccomp filters with the kill-process action are not available")
		fixes = append(fixes, "use a kernel with CONFIG_SECCOMP_FILTER (4.14 or newer)")
	}
	if h.LandlockABI < 1 {
		ev = append(ev, "Landlock is not available (ABI 0)")
		fixes = append(fixes, "enable Landlock: a 5.13+ kernel with landlock in the lsm= boot parameter")
	}
	if h.Limits != "cgroup2" {
		ev = append(ev, fmt.Sprintf("resource limits use %s, not cgroup v2", h.Limits))
		ev = append(ev, h.LimitsNotes...)
		fixes = append(fixes, "boot with the unified cgroup v2 hierarchy (systemd.unified_cgroup_hierarchy=1) and delegate a subtree to warden's service (systemd: Delegate=yes)")
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", strings.Join(fixes, "; ")+"; `warden sandbox check` shows the layers", ev...)
}

func checkRoot(_ context.Context, e *env) outcome {
	if !e.probe().Root {
		return pass()
	}
	return fail("", "run warden as an unprivileged user (systemd: User= or DynamicUser=yes)", "warden runs with effective uid 0")
}

// dangerousEnv are variables that load code into a process or change how
// its runtime behaves.
var dangerousEnv = []string{"LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "GLIBC_TUNABLES", "DYLD_INSERT_LIBRARIES",
	"DYLD_LIBRARY_PATH", "NODE_OPTIONS", "PYTHONSTARTUP", "PERL5OPT", "RUBYOPT", "BASH_ENV", "GODEBUG"}

func checkDangerousEnv(_ context.Context, e *env) outcome {
	var ev []string
	for _, k := range dangerousEnv {
		if v := e.o.Getenv(k); v != "" {
			ev = append(ev, k+" is set")
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", "unset them in the service's environment (systemd: Environment= and EnvironmentFile=; a shell profile)", ev...)
}

// stateProblems runs fsperm.Check once per run.
func (e *env) stateProblems() ([]fsperm.Problem, outcome, bool) {
	dir := e.o.StateDir
	if dir == "" {
		return nil, skip("no state directory was given"), false
	}
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, skip("the state directory %s does not exist (run `warden init`)", dir), false
	case err != nil:
		return nil, skip("state directory %s: %v", dir, err), false
	case !fi.IsDir():
		return nil, fail("state_dir", "point state_dir at a directory", dir+" is not a directory"), false
	}
	probs, err := fsperm.Check(dir, e.o.Policy)
	if err != nil {
		return nil, skip("state directory %s: %v", dir, err), false
	}
	return probs, outcome{}, true
}

func checkStateDirMode(_ context.Context, e *env) outcome {
	probs, o, ok := e.stateProblems()
	if !ok {
		return o
	}
	for _, p := range probs {
		if p.Path == filepath.Clean(e.o.StateDir) && (p.Issue == fsperm.IssueMode || p.Issue == fsperm.IssueOwner) {
			return fail("", fmt.Sprintf("chmod %04o %s (`warden audit --fix` does)", e.o.Policy.DirMode.Perm(), e.o.StateDir), p.String())
		}
	}
	return pass()
}

func checkStateFiles(_ context.Context, e *env) outcome {
	probs, o, ok := e.stateProblems()
	if !ok {
		return o
	}
	var ev []string
	for _, p := range probs {
		if p.Path == filepath.Clean(e.o.StateDir) || (p.Issue != fsperm.IssueMode && p.Issue != fsperm.IssueOwner) {
			continue
		}
		ev = append(ev, p.String())
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", fmt.Sprintf("make every directory %04o and every file %04o: `warden audit --fix` (files owned by another user need chown first)",
		e.o.Policy.DirMode.Perm(), e.o.Policy.FileMode.Perm()), ev...)
}

func checkSymlinks(_ context.Context, e *env) outcome {
	probs, o, ok := e.stateProblems()
	if !ok {
		return o
	}
	root, err := filepath.EvalSymlinks(e.o.StateDir)
	if err != nil {
		root = filepath.Clean(e.o.StateDir)
	}
	var ev []string
	for _, p := range probs {
		if p.Issue != fsperm.IssueSymlink {
			continue
		}
		target := p.Target
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p.Path), target)
		}
		if resolved, err := filepath.EvalSymlinks(target); err == nil {
			target = resolved
		}
		if rel, err := filepath.Rel(root, target); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		ev = append(ev, fmt.Sprintf("%s -> %s", p.Path, p.Target))
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", "replace each link with the file itself, or move the state dir to where the data really is", ev...)
}

// syncedNames are directory names that sync clients create.
var syncedNames = []string{"dropbox", "icloud drive", "mobile documents", "com~apple~clouddocs", "google drive", "googledrive",
	"my drive", "onedrive", "cloudstorage", "pcloud drive", "box sync"}

func checkSynced(_ context.Context, e *env) outcome {
	if e.o.StateDir == "" {
		return skip("no state directory was given")
	}
	abs, err := filepath.Abs(e.o.StateDir)
	if err != nil {
		return skip("state directory: %v", err)
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		base := strings.ToLower(filepath.Base(dir))
		for _, n := range syncedNames {
			if base == n || strings.HasPrefix(base, n+"-") || strings.HasPrefix(base, n+" (") {
				return fail("state_dir", "move the state dir out of the synced folder (the default is ~/.local/state/warden) and set state_dir", fmt.Sprintf("%s is inside %s", abs, dir))
			}
		}
		for _, marker := range []string{".dropbox", ".dropbox.cache"} {
			if _, err := os.Lstat(filepath.Join(dir, marker)); err == nil && dir != abs {
				return fail("state_dir", "move the state dir out of the synced folder and set state_dir", fmt.Sprintf("%s is inside %s (it holds %s)", abs, dir, marker))
			}
		}
		if filepath.Dir(dir) == dir {
			return pass()
		}
	}
}

// looseMode reports a mode granting bits beyond want.
func looseMode(m, want fs.FileMode) bool { return m.Perm()&^want.Perm() != 0 }

func checkConfigMode(_ context.Context, e *env) outcome {
	if e.file == "" {
		return skip("no config file (the embedded defaults are in use)")
	}
	fi, err := os.Stat(e.file)
	if err != nil {
		return skip("config file: %v", err)
	}
	if !looseMode(fi.Mode(), e.o.ConfigMode) {
		return pass()
	}
	return fail("", fmt.Sprintf("chmod %04o %s (`warden audit --fix` does)", e.o.ConfigMode.Perm(), e.file),
		fmt.Sprintf("%s: mode %04o is looser than %04o", e.file, fi.Mode().Perm(), e.o.ConfigMode.Perm()))
}

var (
	secretEnvKey = lazyre.New(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)`)
	envLine      = lazyre.New(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$`)
)

func checkDotEnv(_ context.Context, e *env) outcome {
	if e.file == "" {
		return skip("no config file (the embedded defaults are in use)")
	}
	dir := filepath.Dir(e.file)
	matches, _ := filepath.Glob(filepath.Join(dir, ".env"))
	more, _ := filepath.Glob(filepath.Join(dir, ".env.*"))
	matches = append(matches, more...)
	var ev []string
	for _, m := range matches {
		if strings.HasSuffix(m, ".example") || strings.HasSuffix(m, ".sample") || strings.HasSuffix(m, ".template") {
			continue
		}
		f, err := os.Open(m)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n++
			g := envLine.FindStringSubmatch(sc.Text())
			if g == nil || !secretEnvKey.MatchString(g[1]) {
				continue
			}
			v := strings.Trim(strings.TrimSpace(g[2]), `"'`)
			if v == "" || strings.HasPrefix(v, config.SecretPrefix) || strings.HasPrefix(v, "$") {
				continue
			}
			ev = append(ev, fmt.Sprintf("%s:%d: %s holds a value", m, n, g[1]))
		}
		f.Close()
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", "move each value into the secret store (`warden secrets set NAME`), reference it as secret:NAME, delete the .env file and rotate the values", ev...)
}

func checkIdentity(_ context.Context, e *env) outcome {
	p := e.o.IdentityPath
	if p == "" {
		return skip("no identity file is in use")
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return skip("no identity file at %s", p)
	} else if err != nil {
		return skip("identity file: %v", err)
	}
	if !looseMode(fi.Mode(), 0o600) {
		return pass()
	}
	return fail("", "chmod 600 "+p+" (`warden audit --fix` does)", fmt.Sprintf("%s: mode %04o is looser than 0600", p, fi.Mode().Perm()))
}

func checkLogChain(ctx context.Context, e *env) outcome {
	if e.o.VerifyLog == nil {
		return skip("the audit log cannot be opened")
	}
	rep, err := e.o.VerifyLog(ctx)
	switch {
	case errors.Is(err, ErrNoAuditLog):
		return skip("no audit log in the state directory yet")
	case err != nil:
		return skip("audit log: %v", err)
	case rep.OK:
		return pass()
	}
	ev := []string{fmt.Sprintf("%d entries checked", rep.Entries)}
	if rep.Break != nil {
		ev = append([]string{rep.Break.Error()}, ev...)
	}
	return fail("", "run `warden log verify` for details; restore the database from a backup and compare it with your checkpoints (security.audit.checkpoint) and forwarded copies", ev...)
}

func checkLogMode(_ context.Context, e *env) outcome {
	if e.o.StateDir == "" {
		return skip("no state directory was given")
	}
	db := filepath.Join(e.o.StateDir, statedir.DatabaseFile)
	if _, err := os.Lstat(db); err != nil {
		return skip("no database at %s yet", db)
	}
	var ev []string
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		fi, err := os.Lstat(db + suffix)
		if err != nil {
			continue
		}
		if looseMode(fi.Mode(), e.o.Policy.FileMode) {
			ev = append(ev, fmt.Sprintf("%s: mode %04o is looser than %04o", db+suffix, fi.Mode().Perm(), e.o.Policy.FileMode.Perm()))
		}
	}
	if len(ev) == 0 {
		return pass()
	}
	return fail("", fmt.Sprintf("chmod %04o the database files (`warden audit --fix` does)", e.o.Policy.FileMode.Perm()), ev...)
}

func checkSelfDeps(ctx context.Context, e *env) outcome {
	if e.o.VulnDB == nil {
		return skip("no vulnerability database was given")
	}
	ix, err := e.o.VulnDB.Open(lockfile.Go)
	if err != nil {
		if errors.Is(err, osv.ErrNoDatabase) {
			return skip("no OSV database for Go; import one with `warden deps db update --ecosystem Go`")
		}
		return skip("OSV database: %v", err)
	}
	ix.Close()
	bin := e.o.Binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return skip("locate the running binary: %v", err)
		}
	}
	pkgs, err := lockfile.ParseGoBinary(bin)
	if err != nil {
		return skip("%v", err)
	}
	findings, _, err := deps.Match(ctx, e.o.VulnDB, pkgs)
	if err != nil {
		return skip("match modules: %v", err)
	}
	if len(findings) == 0 {
		return pass()
	}
	var ev []string
	for _, f := range findings {
		s := fmt.Sprintf("%s %s: %s (%s)", f.Package, f.Version, f.ID, f.Severity)
		if len(f.Fixed) > 0 {
			s += "; fixed in " + strings.Join(f.Fixed, ", ")
		}
		ev = append(ev, s)
	}
	return fail("", "upgrade warden to a release built with the fixed versions (`warden deps scan --binary "+bin+"` lists them)", ev...)
}
