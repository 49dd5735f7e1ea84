//go:build !linux || !(amd64 || arm64)

package seccomp

import (
	"strconv"
	"syscall"
)

// escapeArch is empty: there are no architecture-specific escape syscalls
// to list where no filter is built.
var escapeArch []string

// Program returns ErrUnsupported: filters exist for linux/amd64 and
// linux/arm64 only.
func Program(opts Options) ([]SockFilter, error) {
	return nil, ErrUnsupported
}

// Prepare returns a header for prog; LoadPrepared cannot load it here.
func Prepare(prog []SockFilter) *SockFprog {
	p := &SockFprog{Len: uint16(len(prog))}
	if len(prog) > 0 {
		p.Filter = &prog[0]
	}
	return p
}

// LoadPrepared returns ENOSYS: there is no seccomp on this platform.
func LoadPrepared(p *SockFprog) syscall.Errno {
	return syscall.ENOSYS
}

// Load returns ErrUnsupported.
func Load(prog []SockFilter) error {
	return ErrUnsupported
}

// LoadListener returns ErrUnsupported.
func LoadListener(prog []SockFilter) (int, error) {
	return -1, ErrUnsupported
}

// Serve returns ErrUnsupported.
func Serve(listener int, refused func(tid int, nr uint32)) error {
	return ErrUnsupported
}

// Name returns "syscall N".
func Name(nr uint32) string {
	return "syscall " + strconv.FormatUint(uint64(nr), 10)
}
