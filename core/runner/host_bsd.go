//go:build unix && !linux

package runner

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warden-sec/warden/core/sandbox"
)

// runHost runs a command on the host (mode off, or the main session in
// mode non-main) in the directory and environment the runner chose. Off
// Linux there are no PID namespaces: the command gets its own process
// group, which the timeout kills; a process that leaves the group with
// setsid is not contained (docs/sandbox.md).
func runHost(ctx context.Context, spec sandbox.Spec) (sandbox.Result, error) {
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Workspace
	cmd.Env = append([]string{}, spec.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := sandbox.Result{Duration: time.Since(start)}
	if cmd.ProcessState == nil {
		return res, fmt.Errorf("start %s: %w", spec.Argv[0], err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	res.ExitCode = ws.ExitStatus()
	if ws.Signaled() {
		res.ExitCode, res.Signal = -1, unix.SignalName(ws.Signal())
	}
	if ctx.Err() == context.DeadlineExceeded {
		res.Limit = sandbox.LimitTimeout
		res.LimitsHit = []string{sandbox.LimitTimeout}
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.UserCPU, res.SysCPU, res.MaxRSS = time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), ru.Maxrss*1024
	}
	return res, nil
}
