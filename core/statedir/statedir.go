// Package statedir locates Warden's state directory and keeps it private:
// 0700 for the directory and everything below it, 0600 for every file,
// enforced each time a command opens it.
package statedir

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/warden-sec/warden/core/fsperm"
)

// DatabaseFile is the SQLite database's name in the state dir.
const DatabaseFile = "warden.db"

// Default returns the user state directory for Warden:
// $XDG_STATE_HOME/warden or ~/.local/state/warden on Linux and other
// Unixes, ~/Library/Application Support/warden/state on macOS,
// %LocalAppData%\warden on Windows.
func Default(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "warden"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locate home directory: %w", err)
		}
		return filepath.Join(home, "Library", "Application Support", "warden", "state"), nil
	default:
		if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, "warden"), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate home directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "warden"), nil
}

// Prepare creates dir if needed and brings it and everything in it to the
// policy, fixing what it can. It returns what it changed and what it left
// (symbolic links), and fails when something cannot be made private.
func Prepare(dir string, p fsperm.Policy) (fsperm.Report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fsperm.Report{}, fmt.Errorf("state directory %s: %w", dir, err)
	}
	rep, err := fsperm.EnsureDir(abs, p)
	if err != nil {
		return rep, err
	}
	rest, err := fsperm.Enforce(abs, p)
	rep.Fixed = append(rep.Fixed, rest.Fixed...)
	rep.Problems = append(rep.Problems, rest.Problems...)
	if err != nil {
		return rep, fmt.Errorf("state directory %s: %w", abs, err)
	}
	return rep, nil
}
