//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseNoFile lifts the soft open-file limit to the hard one and checks
// that at least need descriptors are allowed.
func raiseNoFile(need uint64) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("open-file limit: %w", err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return fmt.Errorf("raise open-file limit: %w", err)
		}
	}
	if rl.Cur < need {
		return fmt.Errorf("open-file limit is %d, %d needed (ulimit -n)", rl.Cur, need)
	}
	return nil
}
