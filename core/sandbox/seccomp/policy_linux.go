//go:build linux && (amd64 || arm64)

package seccomp

// The policy, by syscall name. Names are resolved to numbers through
// sysnums (sysnums_linux.go and the per-architecture files); a name missing there is a bug
// that Program reports and the tests catch. Syscalls that exist on one
// architecture only are listed in archAllow and escapeArch.

// allowCommon lists the syscalls allowed with any arguments.
var allowCommon = []string{
	// Files and directories.
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "lseek", "close", "close_range",
	"fstat", "newfstatat", "statx", "statfs", "fstatfs",
	"faccessat", "faccessat2", "getdents64", "getcwd", "chdir", "fchdir",
	"mkdirat", "unlinkat", "renameat", "renameat2", "linkat",
	"symlinkat", "readlinkat", "fchown",
	"fchownat", "umask", "utimensat", "truncate", "ftruncate", "fallocate",
	"fadvise64", "readahead", "flock", "fsync", "fdatasync", "sync", "syncfs",
	"sync_file_range", "sendfile", "copy_file_range", "splice", "tee",
	"vmsplice", "cachestat",
	"getxattr", "lgetxattr", "fgetxattr", "getxattrat", "listxattr",
	"llistxattr", "flistxattr", "listxattrat", "setxattr", "lsetxattr",
	"fsetxattr", "setxattrat", "removexattr", "lremovexattr", "fremovexattr",
	"removexattrat", "file_getattr", "file_setattr",
	"inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	// File descriptors, pipes and event loops.
	"dup", "dup3", "fcntl", "pipe2", "eventfd2", "signalfd4",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2",
	"pselect6", "ppoll",
	// Legacy AIO (io_uring is an escape).
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
	"io_pgetevents",
	// Memory.
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore",
	"msync", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
	"membarrier", "mseal", "map_shadow_stack", "pkey_mprotect", "pkey_alloc", "pkey_free",
	"get_mempolicy", "set_mempolicy", "mbind",
	// Processes and threads (clone and clone3 have rules of their own).
	"execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"set_tid_address", "set_robust_list", "get_robust_list", "rseq",
	"rseq_slice_yield", "restart_syscall", "prctl", "seccomp",
	"getpid", "getppid", "gettid", "getpgid", "setpgid", "getsid", "setsid",
	"pidfd_open", "pidfd_send_signal", "getrandom", "uname", "sysinfo",
	"getrlimit", "setrlimit", "prlimit64", "getrusage", "times", "capget",
	"getcpu",
	// Credentials: without capabilities these can only drop.
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "getgroups", "setgroups",
	// Scheduling.
	"sched_yield", "sched_getaffinity", "sched_setaffinity",
	"sched_getparam", "sched_setparam", "sched_getscheduler",
	"sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_getattr", "sched_setattr",
	"getpriority", "setpriority", "ioprio_get", "ioprio_set",
	// Futexes.
	"futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
	// Signals.
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	"rt_sigsuspend", "sigaltstack", "kill", "tkill", "tgkill",
	// Time.
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
	"gettimeofday", "getitimer", "setitimer", "timer_create",
	"timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	// Sockets (socket and socketpair have rules of their own).
	"connect", "bind", "listen", "accept", "accept4", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "getsockopt",
	"setsockopt", "getsockname", "getpeername", "shutdown",
	// System V and POSIX IPC (isolation is the IPC namespace's job).
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
	"semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
	"mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
	"mq_getsetattr",
}

// modeCommon lists the syscalls that take a file mode, by where the mode
// is: a mode with S_ISUID or S_ISGID is refused (see actMode). open and
// openat check it only when they create (O_CREAT, O_TMPFILE). openat2
// takes its mode in a struct the filter cannot read: it answers ENOSYS,
// and the C library and Go fall back to openat.
var modeCommon = map[string]action{
	"fchmod":    actMode1,
	"fchmodat":  actMode2,
	"fchmodat2": actMode2,
	"mknodat":   actMode2,
	"openat":    actOpenat,
}

// Syscalls with an argument rule (see the rule* functions in
// seccomp_linux.go). socket and socketpair share one rule.
const (
	nameClone       = "clone"
	nameClone3      = "clone3"
	nameOpenat2     = "openat2"
	nameMemfd       = "memfd_create"
	nameSocket      = "socket"
	nameSocketpair  = "socketpair"
	nameIoctl       = "ioctl"
	namePersonality = "personality"
)
