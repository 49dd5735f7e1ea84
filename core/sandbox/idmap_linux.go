//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The workspace keeps its owner: when Warden runs as root the sandbox's
// uid and gid 0 are host ids HostIDBase, and the mount tree of the
// workspace is idmapped so that its owner's host uid and gid are those:
// the command sees the workspace as its own (uid 0 inside), and what it
// creates belongs on disk to the workspace's owner. Only that one mount
// is idmapped; everywhere else the command is host uid HostIDBase.

// idmaps caches, by owner, the user namespaces that idmapped mounts use:
// one process start per owner for the life of this process.
var idmaps struct {
	mu sync.Mutex
	ns map[[2]uint32]*os.File
}

// idmapUserns returns a user namespace whose uid map sends host uid uid
// (and gid map host gid gid) to HostIDBase: as a mount's idmap, a file
// of uid on disk is HostIDBase (the sandbox's root) through the mount,
// and a file the sandbox creates there is uid's on disk.
func idmapUserns(uid, gid uint32) (*os.File, error) {
	idmaps.mu.Lock()
	defer idmaps.mu.Unlock()
	key := [2]uint32{uid, gid}
	if f := idmaps.ns[key]; f != nil {
		return f, nil
	}
	ns, err := newUserns(uid, gid)
	if err != nil {
		return nil, err
	}
	if idmaps.ns == nil {
		idmaps.ns = map[[2]uint32]*os.File{}
	}
	idmaps.ns[key] = ns
	return ns, nil
}

// usernsTraced: start user namespace holders traced (tests turn it off
// to exercise the fallback).
var usernsTraced = true

// newUserns makes the user namespace idmapUserns caches: a process is
// started in it, the namespace opened, and the process ended and reaped
// in the background. The process is this binary stopped by the kernel
// right after its exec (traced), so it runs nothing; where tracing is
// refused (Yama's ptrace_scope 3) it is this binary waiting for EOF on
// stdin (see Init).
func newUserns(uid, gid uint32) (*os.File, error) {
	start := func(traced bool) (*exec.Cmd, *os.File, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		// /proc/self/exe in the child is this binary, even if its file was
		// replaced since it started.
		cmd := &exec.Cmd{Path: "/proc/self/exe", Args: []string{usernsArg0}, Env: []string{}, Dir: "/", Stdin: r,
			SysProcAttr: &syscall.SysProcAttr{
				Ptrace:      traced,
				Cloneflags:  unix.CLONE_NEWUSER,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: int(uid), HostID: HostIDBase, Size: 1}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: int(gid), HostID: HostIDBase, Size: 1}},
			}}
		err = cmd.Start()
		r.Close()
		if err != nil {
			w.Close()
			return nil, nil, err
		}
		return cmd, w, nil
	}
	cmd, w, err := start(usernsTraced)
	if err != nil {
		if cmd, w, err = start(false); err != nil {
			return nil, fmt.Errorf("start a user namespace holder: %w", err)
		}
	}
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	_ = cmd.Process.Kill()
	w.Close()
	go func() { _ = cmd.Wait() }()
	return ns, err
}

// idmapTree idmaps the detached mount tree tree (from open_tree with
// OPEN_TREE_CLONE) with the user namespace ns (see idmapUserns).
func idmapTree(tree int, ns *os.File) error {
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	return unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr)
}

// fsName names a file system type from statfs(2)'s magic number.
func fsName(magic int64) string {
	names := map[int64]string{
		unix.EXT4_SUPER_MAGIC: "ext4", unix.XFS_SUPER_MAGIC: "xfs", unix.BTRFS_SUPER_MAGIC: "btrfs",
		unix.TMPFS_MAGIC: "tmpfs", unix.RAMFS_MAGIC: "ramfs", unix.NFS_SUPER_MAGIC: "nfs",
		unix.CIFS_SUPER_MAGIC: "cifs", unix.SMB2_SUPER_MAGIC: "smb", unix.FUSE_SUPER_MAGIC: "fuse",
		unix.OVERLAYFS_SUPER_MAGIC: "overlay", unix.F2FS_SUPER_MAGIC: "f2fs", unix.MSDOS_SUPER_MAGIC: "vfat",
		0x2fc12fc1: "zfs", unix.ECRYPTFS_SUPER_MAGIC: "ecryptfs", unix.V9FS_MAGIC: "9p",
	}
	if n, ok := names[magic]; ok {
		return n
	}
	return fmt.Sprintf("file system type %#x", magic)
}
