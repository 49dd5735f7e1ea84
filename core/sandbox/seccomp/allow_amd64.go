//go:build linux && amd64

package seccomp

import "golang.org/x/sys/unix"

// nativeArch is the audit architecture of every syscall the filter allows.
const nativeArch = unix.AUDIT_ARCH_X86_64

// x32Bit marks x32 syscalls on amd64; it does not exist on arm64.
const x32Bit = 0x40000000

// archAllow lists the allowed syscalls that exist on amd64 only.
var archAllow = []string{
	"stat", "lstat", "access", "pipe", "dup2", "poll",
	"select", "pause", "alarm", "fork", "vfork", "getdents", "rename",
	"mkdir", "rmdir", "link", "unlink", "symlink", "readlink",
	"chown", "lchown", "utime", "utimes", "futimesat", "time",
	"getpgrp", "arch_prctl", "epoll_create", "epoll_wait", "eventfd",
	"signalfd", "inotify_init",
}

// modeArch lists the syscalls with a file mode argument (see modeCommon)
// that exist on amd64 only.
var modeArch = map[string]action{
	"chmod": actMode1,
	"creat": actMode1,
	"mknod": actMode1,
	"open":  actOpen,
}

// escapeArch lists the escape-class syscalls that exist on amd64 only.
var escapeArch = []string{
	"iopl", "ioperm",
}

// archSysnums maps the syscall names the policy uses that exist on amd64
// only; sysnums_linux.go holds the names both architectures have.
var archSysnums = map[string]uint32{
	"open":         unix.SYS_OPEN,
	"stat":         unix.SYS_STAT,
	"lstat":        unix.SYS_LSTAT,
	"poll":         unix.SYS_POLL,
	"access":       unix.SYS_ACCESS,
	"pipe":         unix.SYS_PIPE,
	"select":       unix.SYS_SELECT,
	"dup2":         unix.SYS_DUP2,
	"pause":        unix.SYS_PAUSE,
	"alarm":        unix.SYS_ALARM,
	"fork":         unix.SYS_FORK,
	"vfork":        unix.SYS_VFORK,
	"getdents":     unix.SYS_GETDENTS,
	"rename":       unix.SYS_RENAME,
	"mkdir":        unix.SYS_MKDIR,
	"rmdir":        unix.SYS_RMDIR,
	"creat":        unix.SYS_CREAT,
	"link":         unix.SYS_LINK,
	"unlink":       unix.SYS_UNLINK,
	"symlink":      unix.SYS_SYMLINK,
	"readlink":     unix.SYS_READLINK,
	"chmod":        unix.SYS_CHMOD,
	"chown":        unix.SYS_CHOWN,
	"lchown":       unix.SYS_LCHOWN,
	"getpgrp":      unix.SYS_GETPGRP,
	"utime":        unix.SYS_UTIME,
	"mknod":        unix.SYS_MKNOD,
	"arch_prctl":   unix.SYS_ARCH_PRCTL,
	"iopl":         unix.SYS_IOPL,
	"ioperm":       unix.SYS_IOPERM,
	"time":         unix.SYS_TIME,
	"epoll_create": unix.SYS_EPOLL_CREATE,
	"epoll_wait":   unix.SYS_EPOLL_WAIT,
	"utimes":       unix.SYS_UTIMES,
	"inotify_init": unix.SYS_INOTIFY_INIT,
	"futimesat":    unix.SYS_FUTIMESAT,
	"signalfd":     unix.SYS_SIGNALFD,
	"eventfd":      unix.SYS_EVENTFD,
}
