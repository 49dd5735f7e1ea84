//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// owner returns a file's host uid:gid.
func owner(t *testing.T, path string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}

func chownAll(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A user's workspace keeps its owner: the sandbox sees it as its own
// (uid 0 inside), and what it creates belongs to that owner on the host.
// Nothing is chowned, and a file of another user stays out of reach.
func TestWorkspaceKeepsItsOwner(t *testing.T) {
	requireRoot(t)
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "notes"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	chownAll(t, ws, 1234, 1235)
	if err := os.WriteFile(filepath.Join(ws, "rootfile"), []byte("root's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, out, errs := run(t, ws, `set -e
id -u
stat -c %u:%g . notes rootfile
echo made > made
mkdir -p sub/deeper
echo x > sub/deeper/file
ln -s notes link
echo more >> notes
echo w >> rootfile 2>/dev/null && echo WROTE-ROOTFILE
true`, nil)
	want := "0\n0:0\n0:0\n65534:65534\n"
	if res.ExitCode != 0 || out != want {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %s", res.ExitCode, out, want, errs)
	}
	for _, f := range []string{".", "notes", "made", "sub", "sub/deeper", "sub/deeper/file", "link"} {
		if got := owner(t, filepath.Join(ws, f)); got != "1234:1235" {
			t.Errorf("%s belongs to %s on the host, want 1234:1235", f, got)
		}
	}
	if got := owner(t, filepath.Join(ws, "rootfile")); got != "0:0" {
		t.Errorf("rootfile belongs to %s, want 0:0", got)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "rootfile")); string(b) != "root's\n" {
		t.Errorf("rootfile was written: %q", b)
	}
	l := res.Layers
	if l.Workspace != WorkspaceIdmapped || l.WorkspaceOwner != "1234:1235" || l.UIDMap != "0 100000 65536" || len(l.Warnings) != 0 {
		t.Fatalf("layers: %+v", l)
	}

	// A pooled sandbox maps the same way.
	p := NewPool(Spec{Workspace: ws}, 1)
	defer p.Close()
	res, err := p.Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "echo pooled > pooled"}, Workspace: ws})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("pooled: %+v %v", res, err)
	}
	if got := owner(t, filepath.Join(ws, "pooled")); got != "1234:1235" {
		t.Errorf("a pooled sandbox's file belongs to %s, want 1234:1235", got)
	}
}

// A workspace an older Warden handed to the sandbox's host user keeps
// working as it is, and the result says how to give it back.
func TestHandedOverWorkspaceIsLeftAsItIs(t *testing.T) {
	requireRoot(t)
	ws := t.TempDir()
	chownAll(t, ws, HostIDBase, HostIDBase)
	res, out, _ := run(t, ws, `echo x > f && stat -c %u .`, func(s *Spec) { s.Strict = false })
	if res.ExitCode != 0 || out != "0\n" {
		t.Fatalf("exit %d stdout %q", res.ExitCode, out)
	}
	if got := owner(t, filepath.Join(ws, "f")); got != fmt.Sprintf("%d:%d", HostIDBase, HostIDBase) {
		t.Errorf("f belongs to %s", got)
	}
	if len(res.Layers.Warnings) != 1 || !strings.Contains(res.Layers.Warnings[0], "chown -R USER: "+ws) {
		t.Fatalf("warnings: %q", res.Layers.Warnings)
	}
}

// On a file system without idmapped mounts the workspace goes in as it
// is (nothing chowned; the command works as an unprivileged host uid),
// with a warning; strict mode refuses.
func TestWorkspaceWithoutIdmappedMounts(t *testing.T) {
	requireRoot(t)
	ws := t.TempDir()
	if err := unix.Mount("none", ws, "ramfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount ramfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(ws, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(ws, "notes"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, out, _ := run(t, ws, `touch new 2>/dev/null && echo WROTE; cat notes`, func(s *Spec) { s.Strict = false })
	if out != "x" {
		t.Fatalf("stdout %q", out)
	}
	if res.Layers.Workspace != WorkspaceUnmapped || len(res.Layers.Warnings) != 1 || !strings.Contains(res.Layers.Warnings[0], "ramfs cannot be idmapped") {
		t.Fatalf("layers: %+v", res.Layers)
	}
	for _, f := range []string{".", "notes"} {
		if got := owner(t, filepath.Join(ws, f)); got != "0:0" {
			t.Errorf("%s belongs to %s, want 0:0 (nothing chowned)", f, got)
		}
	}
	_, err := Run(context.Background(), Spec{Argv: []string{"/bin/true"}, Workspace: ws, Strict: true})
	if err == nil || !strings.Contains(err.Error(), "ramfs cannot be idmapped") {
		t.Fatalf("strict mode: %v", err)
	}
}

// The user namespace holder for idmapped mounts ends once its namespace
// is open, traced or (where tracing is refused) waiting on stdin: nothing
// is left running per owner, and the namespace is one of its own.
func TestIdmapUserns(t *testing.T) {
	requireRoot(t)
	self, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	for _, traced := range []bool{true, false} {
		t.Run(fmt.Sprintf("traced=%v", traced), func(t *testing.T) {
			usernsTraced = traced
			defer func() { usernsTraced = true }()
			ns, err := newUserns(4321, 4322)
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Close()
			if got, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", ns.Fd())); !strings.HasPrefix(got, "user:[") || got == self {
				t.Fatalf("not a user namespace of its own: %q (ours %q)", got, self)
			}
			// As an idmap it shows 4321:4322 as the sandbox's root.
			dir, mnt := t.TempDir(), t.TempDir()
			if err := os.Chown(dir, 4321, 4322); err != nil {
				t.Fatal(err)
			}
			tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(tree)
			if err := idmapTree(tree, ns); err != nil {
				t.Fatal(err)
			}
			if err := unix.MoveMount(tree, "", unix.AT_FDCWD, mnt, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
				t.Fatal(err)
			}
			defer unix.Unmount(mnt, unix.MNT_DETACH)
			if got, want := owner(t, mnt), fmt.Sprintf("%d:%d", HostIDBase, HostIDBase); got != want {
				t.Errorf("through the idmapped mount: %s, want %s", got, want)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				left := ""
				procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
				for _, f := range procs {
					if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), usernsArg0) {
						left = f
					}
				}
				if left == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a user namespace holder is still running: %s", left)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	a, err := idmapUserns(4321, 4322)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := idmapUserns(4321, 4322); err != nil || a != b {
		t.Fatalf("not cached: %v", err)
	}
}

// envRootlessRun makes the test binary run one sandbox in the workspace
// it names and print the result as JSON (see TestRootlessWorkspace).
const envRootlessRun = "WARDEN_SANDBOX_TEST_ROOTLESS_WORKSPACE"

func rootlessRun(ws string) int {
	res, err := Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "stat -c %u . >&2 && touch made"}, Workspace: ws, Network: true,
		Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// Without root the caller's own ids are the sandbox's: files stay the
// caller's with no idmapped mount, a workspace under /tmp (which the
// sandbox's root file system is built on) works, and a command with
// network runs without the loopback guard, saying so.
func TestRootlessWorkspace(t *testing.T) {
	requireRoot(t)
	const nobody = 65534
	bin, err := os.MkdirTemp("/var/tmp", "warden-sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bin)
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, "sandbox.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ws, err := os.MkdirTemp("/tmp", "warden-sandbox-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(ws)
	chownAll(t, ws, nobody, nobody)
	cmd := exec.Command(exe)
	cmd.Env = []string{envRootlessRun + "=" + ws, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%v: %q", err, stdout.String())
	}
	l := res.Layers
	if res.ExitCode != 0 || l.Workspace != WorkspaceOwnIDs || l.WorkspaceOwner != "65534:65534" || l.Network != NetworkUnguarded {
		t.Fatalf("%+v\n%s", res, stderr.String())
	}
	if !strings.Contains(stderr.String(), "0\n") {
		t.Errorf("the workspace is not the sandbox's own inside: %s", stderr.String())
	}
	if !slices.ContainsFunc(l.Warnings, func(w string) bool { return strings.Contains(w, "loopback guard is unavailable") }) {
		t.Errorf("no warning about the loopback guard: %q", l.Warnings)
	}
	if got := owner(t, filepath.Join(ws, "made")); got != "65534:65534" {
		t.Errorf("made belongs to %s", got)
	}
}

// BenchmarkIdmapUserns is what a new owner costs, once per process.
func BenchmarkIdmapUserns(b *testing.B) {
	for b.Loop() {
		ns, err := newUserns(4321, 4321)
		if err != nil {
			b.Fatal(err)
		}
		ns.Close()
	}
}
