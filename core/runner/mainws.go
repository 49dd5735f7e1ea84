package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// prepareMainWorkspace creates the owner's main workspace and checks
// that nothing less trusted can write it: it must neither contain nor
// sit inside the shared workspace (which sandboxed commands write), and
// it and every directory above it must be out of other users' reach.
// It returns the directory's real path.
func prepareMainWorkspace(dir, shared string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("main workspace %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create main workspace %s: %w", abs, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("main workspace %s: %w", abs, err)
	}
	realShared, err := filepath.EvalSymlinks(shared)
	if err != nil {
		return "", fmt.Errorf("workspace %s: %w", shared, err)
	}
	if within(real, realShared) || within(realShared, real) {
		return "", fmt.Errorf("the main workspace %s and the sandbox workspace %s must not contain one another: "+
			"sandboxed commands write the sandbox workspace, and the owner's commands run on the host in the main one", real, realShared)
	}
	if err := checkPrivate(real); err != nil {
		return "", fmt.Errorf("main workspace %s: %w", real, err)
	}
	return real, nil
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	if path == dir {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}
