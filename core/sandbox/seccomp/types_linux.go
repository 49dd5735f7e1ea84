//go:build linux

package seccomp

import "golang.org/x/sys/unix"

// SockFilter is one classic BPF instruction; on Linux it is unix.SockFilter,
// so a []unix.SockFilter can be passed to Load as is.
type SockFilter = unix.SockFilter

// SockFprog is the program header passed to seccomp(2); on Linux it is
// unix.SockFprog.
type SockFprog = unix.SockFprog
