package sandbox

import (
	"io"
	"os"
)

// initArg0 is argv[0] of the re-executed binary that sets up a sandbox.
const initArg0 = "warden-sandbox-init"

// usernsArg0 is argv[0] of the re-executed binary that only holds a user
// namespace while the parent opens it, for an idmapped mount of the
// workspace: it waits for EOF on stdin.
const usernsArg0 = "warden-sandbox-userns"

// Init must be called first thing in main (and in TestMain of tests that
// run sandboxes): in the re-executed sandbox process it sets up the
// confinement and executes the command, and never returns. Elsewhere it
// returns at once.
func Init() {
	if len(os.Args) == 0 {
		return
	}
	switch os.Args[0] {
	case initArg0:
		childMain() // does not return
	case usernsArg0:
		holdUserns()
	}
}

// holdUserns keeps this process, and so its user namespace, alive until
// the parent closes stdin.
func holdUserns() {
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// setupConfig is what the parent sends the child first.
type setupConfig struct {
	Network       bool   `json:"network"`
	WorkspaceExec bool   `json:"workspaceExec"`
	Strict        bool   `json:"strict"`
	Landlock      bool   `json:"landlock"` // the parent found Landlock available
	Hostname      string `json:"hostname"`
	Workspace     string `json:"workspace"`     // host path
	WorkspaceTree bool   `json:"workspaceTree"` // fdWorkspace is a detached mount tree
	Limits        Limits `json:"limits"`
	NoCgroup      bool   `json:"noCgroup"` // rlimits are the only limits
	// Host: no confinement, only a PID namespace of its own (RunHost);
	// the command runs in Workspace on the host's file system.
	Host bool `json:"host"`
}

// execConfig is what the parent sends when the command should run; a
// pooled sandbox waits for it after setting up.
type execConfig struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	// FileSizeCap lowers the file size limit for this command alone
	// (Spec.FileSizeCap); 0 leaves it.
	FileSizeCap int64 `json:"fileSizeCap,omitempty"`
}

// Status bytes the child writes on its status pipe: statusReady when set
// up, then statusExit with the command's end, or statusError and a
// message when something failed.
const (
	statusReady = 'R'
	statusError = 'E'
	statusExit  = 'X' // followed by an exitRecord
)

// exitRecord is how the command ended, as the sandbox's init saw it.
type exitRecord struct {
	Status    uint32 `json:"status"` // wait status
	UserCPU   int64  `json:"userCpuNs"`
	SysCPU    int64  `json:"sysCpuNs"`
	MaxRSSKiB int64  `json:"maxRssKiB"`
	// Refused counts the system calls the filter refused, by name.
	Refused map[string]int `json:"refused,omitempty"`
}
