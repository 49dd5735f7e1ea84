//go:build !windows

package commands

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-sec/warden/core/statedir"
)

// Every file Warden keeps in the state dir is refused as a link before
// anything is created; a link elsewhere in the dir only gets a warning.
func TestOpenStateDirRefusesLinkedStateFiles(t *testing.T) {
	for _, name := range stateFiles() {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("../elsewhere", filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			var errOut bytes.Buffer
			w := &wiring{env: testEnv(new(bytes.Buffer), &errOut)}
			err := w.openStateDir(dir)
			var le *statedir.LinkError
			if !errors.As(err, &le) || le.Path != filepath.Join(dir, name) || le.Target != "../elsewhere" {
				t.Fatalf("err = %v, want a LinkError for %s", err, name)
			}
			if exitCode(err) != ExitInput {
				t.Fatalf("exit code %d", exitCode(err))
			}
		})
	}
	dir := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(dir, "backup")); err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	w := &wiring{env: testEnv(new(bytes.Buffer), &errOut)}
	if err := w.openStateDir(dir); err != nil {
		t.Fatalf("a link that is no state file: %v", err)
	}
	if !strings.Contains(errOut.String(), "backup: symbolic link to /etc") {
		t.Fatalf("no warning: %q", errOut.String())
	}
}

// serve's last check before starting does not walk into the sandbox
// workspace, whose files have the modes sandboxed commands gave them.
func TestStateProblemsSkipsTheWorkspace(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The sandbox workspace and the owner's main workspace both hold
	// files with the modes their commands chose.
	for _, ws := range []string{filepath.Join(dir, workspaceDir), filepath.Join(dir, mainWorkspaceDir)} {
		if err := os.MkdirAll(filepath.Join(ws, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(ws, "out.txt"), filepath.Join(ws, "sub", "x")} {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(ws, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := stateProblems(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("problems %v err %v", problems, err)
	}
	// Outside the workspace a loose file is still a problem.
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	if problems, _ := stateProblems(dir); len(problems) != 1 || !strings.Contains(problems[0], "loose is 0644") {
		t.Fatalf("problems %v", problems)
	}
}
