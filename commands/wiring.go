package commands

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/fsperm"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/core/store"
)

// wiring builds what commands depend on, on demand, from flags, the
// environment and the config.
type wiring struct {
	env Env

	tty    *os.File // the controlling terminal, opened for prompts when stderr is redirected
	ttyErr error
}

func (w *wiring) warnf(format string, args ...any) {
	fmt.Fprintf(w.env.Stderr, "warden: warning: "+format+"\n", args...)
}

func (w *wiring) notef(format string, args ...any) {
	fmt.Fprintf(w.env.Stderr, "warden: "+format+"\n", args...)
}

// keyring returns the identities and passphrase source for this command.
// --identity names a file; the key itself is accepted only from
// WARDEN_IDENTITY, because a command line is readable by every local user.
func (w *wiring) keyring(c *cli.Context) (*secrets.Keyring, error) {
	def, err := secrets.DefaultIdentityPath()
	if err != nil {
		return nil, err
	}
	kr := &secrets.Keyring{
		Explicit:         flagString(c, "identity"),
		DefaultPath:      def,
		ScryptWorkFactor: w.env.ScryptWorkFactor,
		Passphrase: func(ctx context.Context, prompt string) (string, error) {
			return w.passphrase(c, prompt, false)
		},
	}
	kr.ExplicitSource = kr.Explicit
	if isAgeKey(kr.Explicit) {
		// urfave/cli fills the flag from the variable too. Run has
		// already refused a key among the arguments; a key that is not
		// the variable's value came from a command line all the same.
		if strings.TrimSpace(w.env.Getenv("WARDEN_IDENTITY")) != strings.TrimSpace(kr.Explicit) {
			return nil, identityOnCommandLine()
		}
		kr.ExplicitSource = "WARDEN_IDENTITY"
	}
	return kr, nil
}

// passphrase reads the secret store passphrase: --passphrase-file, then
// WARDEN_PASSPHRASE, then a hidden prompt (twice when confirm is set).
func (w *wiring) passphrase(c *cli.Context, prompt string, confirm bool) (string, error) {
	if f := flagString(c, "passphrase-file"); f != "" {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			// Not named: a value that is no file may be the passphrase.
			return "", inputError(errors.New("--passphrase-file: no such file"),
				"the flag takes the path of a 0600 file holding the passphrase; the passphrase itself goes in WARDEN_PASSPHRASE")
		}
		if err != nil {
			return "", fmt.Errorf("read passphrase file: %w", err)
		}
		p := strings.TrimRight(strings.SplitN(string(data), "\n", 2)[0], "\r")
		if p == "" {
			return "", fmt.Errorf("passphrase file %s: %w", f, secrets.ErrNoPassphrase)
		}
		return p, nil
	}
	if p := w.env.Getenv("WARDEN_PASSPHRASE"); p != "" {
		return p, nil
	}
	if !w.canPrompt(c) {
		return "", inputError(secrets.ErrNoPassphrase,
			"set WARDEN_PASSPHRASE or --passphrase-file, or run on a terminal to be prompted")
	}
	p, err := w.readHidden(prompt)
	if err != nil {
		return "", err
	}
	if confirm {
		again, err := w.readHidden("confirm passphrase: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", inputError(errors.New("the passphrases do not match"), "")
		}
	}
	return p, nil
}

// configPath returns the config file to use, or "" for the embedded defaults.
func (w *wiring) configPath(c *cli.Context) (string, error) {
	if p := flagString(c, "config"); p != "" {
		return p, nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	ucd, err := os.UserConfigDir()
	if err != nil {
		ucd = ""
	}
	return config.Discover(cwd, ucd)
}

// loadConfig finds, decrypts (in memory) and validates the config.
func (w *wiring) loadConfig(ctx context.Context, c *cli.Context, kr *secrets.Keyring) (*config.Loaded, error) {
	path, err := w.configPath(c)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return config.FromDefaults(), nil
	}
	return config.Load(ctx, path, kr.Decrypt)
}

// stateDir picks the state directory: --state-dir, the config's state_dir,
// then the user state dir.
func (w *wiring) stateDir(c *cli.Context, cfg *config.Config) (string, error) {
	dir := flagString(c, "state-dir")
	if dir == "" && cfg != nil {
		dir = cfg.StateDir
	}
	if dir == "" {
		var err error
		if dir, err = statedir.Default(w.env.Getenv); err != nil {
			return "", err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("state directory %s: %w", dir, err)
	}
	return abs, nil
}

// workspaceDir is the default sandbox workspace's name in the state dir. It
// belongs to the sandbox's user (docs/sandbox.md) and holds whatever the
// commands run there created, links included: the state dir's checks
// neither walk into it nor refuse because of it.
const workspaceDir = "workspace"

// mainWorkspaceDir is the owner's main workspace's default name in the
// state dir: it holds what the owner's host commands created, with the
// modes they chose, so the state dir's checks leave it alone as well
// (the runner checks that it is private itself).
const mainWorkspaceDir = "main"

// stateFiles are the files Warden keeps directly in the state dir. They
// are opened without following links (core/statedir); they are also
// checked up front so a command refuses before it changes anything.
func stateFiles() []string {
	var out []string
	for _, db := range []string{statedir.DatabaseFile, auditlog.IndexFileName} {
		out = append(out, store.Files(db)...)
	}
	return append(out, secrets.StoreFileName, secrets.StoreFileName+".lock", auditlog.HeadFileName, auditlog.ReserveFileName)
}

// openStateDir creates or checks the state dir and makes it private,
// reporting what it fixed. A state file that is a symbolic link is
// refused; the state dir itself may be one (moved to another disk).
func (w *wiring) openStateDir(dir string) error {
	if err := statedir.CheckFiles(dir, stateFiles()...); err != nil {
		return err
	}
	pol := fsperm.Private()
	pol.Exclude = []string{workspaceDir, mainWorkspaceDir}
	rep, err := statedir.Prepare(dir, pol)
	for _, ch := range rep.Fixed {
		w.warnf("tightened %s", ch)
	}
	for _, p := range rep.Problems {
		w.warnf("state directory: %s (left alone; `warden audit` reports it)", p)
	}
	if err != nil {
		return inputError(err, "the state directory and every file in it must belong to the user running warden")
	}
	return nil
}

// session bundles what most state-dir commands need.
type session struct {
	keyring  *secrets.Keyring
	config   *config.Loaded
	stateDir string
}

// openState prepares the state dir for commands that need nothing else
// from the config: with --state-dir the config is not read at all.
func (w *wiring) openState(ctx context.Context, c *cli.Context) (*session, error) {
	if dir := flagString(c, "state-dir"); dir != "" {
		kr, err := w.keyring(c)
		if err != nil {
			return nil, err
		}
		abs, err := w.stateDir(c, nil)
		if err != nil {
			return nil, err
		}
		if err := w.openStateDir(abs); err != nil {
			return nil, err
		}
		return &session{keyring: kr, stateDir: abs}, nil
	}
	return w.open(ctx, c)
}

// open loads the config and prepares the state dir. The secret commands
// must work with a config that is still broken (storing a secret is how a
// config is fixed), so a config that breaks rules other than state_dir
// only gives a warning there.
func (w *wiring) open(ctx context.Context, c *cli.Context) (*session, error) {
	kr, err := w.keyring(c)
	if err != nil {
		return nil, err
	}
	cfg, err := w.loadConfig(ctx, c, kr)
	var ve *config.ValidationError
	if errors.As(err, &ve) && cfg != nil && !ve.Concerns("state_dir") {
		w.warnf("%s has problems (see `warden config validate %s`); using its state_dir", ve.File, ve.File)
	} else if err != nil {
		return nil, err
	}
	dir, err := w.stateDir(c, cfg.Config)
	if err != nil {
		return nil, err
	}
	if err := w.openStateDir(dir); err != nil {
		return nil, err
	}
	return &session{keyring: kr, config: cfg, stateDir: dir}, nil
}

func (s *session) secretStore(w *wiring) *secrets.Store {
	return secrets.NewStore(s.stateDir, s.keyring, w.env.Now)
}

func (s *session) database(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, store.Options{Path: filepath.Join(s.stateDir, statedir.DatabaseFile)})
}
