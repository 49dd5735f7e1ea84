package sandbox

// Host is what this host offers the sandbox, found without running one.
type Host struct {
	OS         string          `json:"os"`
	Supported  bool            `json:"supported"`
	Namespaces map[string]bool `json:"namespaces"` // user, pid, mount, net, ipc, uts, cgroup
	// Seccomp: the kernel has seccomp filters with the kill-process action.
	Seccomp     bool `json:"seccomp"`
	LandlockABI int  `json:"landlockAbi"`
	// Limits is "cgroup2", "cgroup1" or "rlimit"; LimitsNotes says why not
	// a better one.
	Limits      string   `json:"limits"`
	LimitsNotes []string `json:"limitsNotes,omitempty"`
	Root        bool     `json:"root"` // Warden runs as root: the sandbox maps to host ids 100000+
	// LoopbackGuard: a command with network can be kept off this host's
	// own addresses (cgroup BPF); LoopbackGuardNote says why not.
	LoopbackGuard     bool   `json:"loopbackGuard"`
	LoopbackGuardNote string `json:"loopbackGuardNote,omitempty"`
}
