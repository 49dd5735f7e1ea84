//go:build linux && arm64

package seccomp

import "golang.org/x/sys/unix"

// nativeArch is the audit architecture of every syscall the filter allows.
const nativeArch = unix.AUDIT_ARCH_AARCH64

// x32Bit marks x32 syscalls on amd64; it does not exist on arm64.
const x32Bit = 0

// archAllow lists the allowed syscalls that exist on arm64 only.
var archAllow []string

// modeArch lists the syscalls with a file mode argument (see modeCommon)
// that exist on arm64 only.
var modeArch = map[string]action{}

// escapeArch lists the escape-class syscalls that exist on arm64 only.
var escapeArch []string

// archSysnums maps the syscall names the policy uses that exist on arm64
// only; sysnums_linux.go holds the names both architectures have.
var archSysnums = map[string]uint32{}
