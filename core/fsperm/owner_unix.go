//go:build !windows

package fsperm

import (
	"io/fs"
	"os"
	"syscall"
)

func ownedByCurrentUser(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	return int(st.Uid) == os.Geteuid()
}

func chmod(path string, mode fs.FileMode) error { return os.Chmod(path, mode) }

func modesSupported() bool { return true }
