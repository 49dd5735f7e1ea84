//go:build linux && (amd64 || arm64)

package seccomp

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// notif is struct seccomp_notif; notifResp is struct seccomp_notif_resp.
type notif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// LoadListener installs prog (built with Options.Notify) on the calling
// thread, like Load, and returns the listener descriptor on which the
// refusals arrive (SECCOMP_FILTER_FLAG_NEW_LISTENER). Serve must answer
// them: until it does, the refused caller waits.
func LoadListener(prog []SockFilter) (int, error) {
	if len(prog) == 0 || len(prog) > maxInsns {
		return -1, unix.EINVAL
	}
	fprog := SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER,
		uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// Serve answers every refusal that arrives on listener with EPERM (what
// the filter returns without Notify) and calls refused with the calling
// thread's id and the syscall's number first. It returns when the
// listener fails, which happens when every filtered task has exited. It
// must run on a thread the filter does not cover: a filtered thread
// refused while serving would wait for itself.
func Serve(listener int, refused func(tid int, nr uint32)) error {
	for {
		var n notif
		if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
			if err == unix.EINTR {
				continue
			}
			return err
		}
		refused(int(n.PID), uint32(n.Nr))
		resp := notifResp{ID: n.ID, Error: -int32(unix.EPERM)}
		// ENOENT: the caller died meanwhile (a signal); nothing to answer.
		if err := ioctl(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil && err != unix.ENOENT && err != unix.EINTR {
			return err
		}
	}
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

//go:generate go run ./internal/gennames

// Name returns the name of syscall nr on this architecture, or
// "syscall N" for a number it does not know.
func Name(nr uint32) string {
	if int(nr) < len(syscallNames) && syscallNames[nr] != "" {
		return syscallNames[nr]
	}
	return fmt.Sprintf("syscall %d", nr)
}
