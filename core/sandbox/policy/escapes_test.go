//go:build !windows

package policy

import (
	"slices"
	"testing"
)

func TestEscapes(t *testing.T) {
	tests := []struct {
		name string
		in   []string // one element: a shell string; more: an argv
		want []string
	}{
		{name: "proc root", in: []string{"cat /proc/1/root/etc/shadow"}, want: []string{"proc-root: /proc/1/root"}},
		{name: "proc self dotdot", in: []string{"ls /proc/self/../1/root"}, want: []string{"proc-root: /proc/1/root"}},
		{name: "proc self root", in: []string{"ls /proc/self/root/"}, want: []string{"proc-root: /proc/self/root"}},
		{name: "quoting and slash tricks", in: []string{`cat '/pr'"oc"//1/./root/x`}, want: []string{"proc-root: /proc/1/root"}},
		{name: "task root", in: []string{"ls /proc/1/task/1/cwd"}, want: []string{"proc-root: /proc/1/task/1/cwd"}},
		{name: "proc ns", in: []string{"readlink /proc/1/ns/mnt"}, want: []string{"proc-ns: /proc/1/ns/"}},
		{name: "nsenter", in: []string{"nsenter -t 1 -m"}, want: []string{"namespace-tool: nsenter"}},
		{name: "nsenter by path through env", in: []string{"env", "-i", ".//usr/sbin/nsenter", "-t", "1"}, want: []string{"namespace-tool: nsenter"}},
		{name: "unshare in sh -c", in: []string{"sh", "-c", "ls; unshare -r sh"}, want: []string{"namespace-tool: unshare"}},
		{name: "mount in substitution", in: []string{"echo $(mount -t proc p /x)"}, want: []string{"mount-tool: mount"}},
		{name: "release agent", in: []string{"echo x > /sys/fs/cgroup/release_agent"}, want: []string{"release-agent: release_agent", "cgroupfs: /sys/fs/cgroup"}},
		{name: "notify_on_release", in: []string{"echo 1 > x/notify_on_release"}, want: []string{"release-agent: notify_on_release"}},
		{name: "docker socket", in: []string{"curl --unix-socket /var/run/docker.sock http://x/containers/json"}, want: []string{"container-socket: /var/run/docker.sock"}},
		{name: "docker socket after =", in: []string{"curl", "--unix-socket=/run/containerd/containerd.sock", "x"}, want: []string{"container-socket: /run/containerd/containerd.sock"}},
		{name: "core pattern", in: []string{"echo '|/x' > /proc/sys/kernel/core_pattern"}, want: []string{"core-pattern: core_pattern", "proc-sys-kernel: /proc/sys/kernel"}},
		{name: "dev mem", in: []string{"dd if=/dev/mem of=x"}, want: []string{"dev-mem: /dev/mem"}},
		{name: "chroot", in: []string{"chroot /host sh"}, want: []string{"chroot: chroot"}},
		{name: "capsh", in: []string{"find . -exec capsh --print ;"}, want: []string{"capability-tool: capsh"}},
		{name: "modprobe via xargs", in: []string{"echo x | xargs modprobe"}, want: []string{"kernel-module: modprobe"}},
		{name: "gdb -p", in: []string{"gdb -p 1"}, want: []string{"ptrace: gdb -p"}},
		{name: "strace -p attached", in: []string{"strace", "-p1"}, want: []string{"ptrace: strace -p"}},
		{name: "ptrace in code", in: []string{"python3", "-c", "libc.ptrace(16, 1)"}, want: []string{"ptrace: libc.ptrace"}},
		{name: "path inside interpreter code", in: []string{"python3", "-c", "open('/proc/1/root/etc/shadow')"}, want: []string{"proc-root: /proc/1/root"}},

		{name: "proc cpuinfo", in: []string{"ls /proc/cpuinfo"}},
		{name: "readme", in: []string{"cat README.md"}},
		{name: "strace a child", in: []string{"strace ls"}},
		{name: "a mount point word", in: []string{"grep mounted /proc/mounts"}},
		{name: "dev in a project", in: []string{"cat src/dev/memory.go"}},
		{name: "empty", in: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Escapes(tt.in...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Escapes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Decisions carry escape signals, also when they refuse.
func TestDecisionEscapes(t *testing.T) {
	p := Policy{Root: fakeRoot(t)}
	d := p.CheckShell("curl --unix-socket /var/run/docker.sock http://x")
	if d.Allowed || !slices.Contains(d.Escapes, "container-socket: /var/run/docker.sock") {
		t.Errorf("CheckShell: allowed %v, escapes %q", d.Allowed, d.Escapes)
	}
	d = p.CheckArgv([]string{"cat", "/proc/1/root/etc/shadow"})
	if !d.Allowed || !slices.Equal(d.Escapes, []string{"proc-root: /proc/1/root"}) {
		t.Errorf("CheckArgv: allowed %v (%s), escapes %q", d.Allowed, d.Reason, d.Escapes)
	}
	d = p.CheckArgv([]string{"nsenter", "-t", "1", "-m"})
	if d.Allowed || !slices.Equal(d.Escapes, []string{"namespace-tool: nsenter"}) {
		t.Errorf("CheckArgv nsenter: allowed %v, escapes %q", d.Allowed, d.Escapes)
	}
}
