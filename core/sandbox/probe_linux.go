//go:build linux

package sandbox

import (
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/warden-sec/warden/core/sandbox/landlock"
)

// Probe reports what this host offers.
func Probe() Host {
	h := Host{OS: runtime.GOOS, Supported: true, Namespaces: map[string]bool{}, Root: os.Geteuid() == 0}
	for name, file := range map[string]string{"user": "user", "pid": "pid", "mount": "mnt", "net": "net", "ipc": "ipc", "uts": "uts", "cgroup": "cgroup"} {
		_, err := os.Lstat("/proc/self/ns/" + file)
		h.Namespaces[name] = err == nil
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n == 0 {
			h.Namespaces["user"] = false
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_avail"); err == nil {
		h.Seccomp = strings.Contains(string(b), "kill_process")
	}
	h.LandlockABI = landlock.ABI()
	h.Limits, h.LimitsNotes = CgroupSupport()
	if err := guardAvailable(); err != nil {
		h.LoopbackGuardNote = err.Error()
	} else {
		h.LoopbackGuard = true
	}
	return h
}
