//go:build unix

package sandbox

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

type fileID struct{ dev, ino uint64 }

// statOf is a file's identity, the space it takes on disk and its link
// count.
func statOf(fi fs.FileInfo) (fileID, int64, uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, fi.Size(), 1
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, int64(st.Blocks) * 512, uint64(st.Nlink)
}

// FreeSpace is what unprivileged writers may still use on dir's file
// system (root's reserved blocks are not counted: they are not a reserve
// Warden can rely on).
func FreeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
