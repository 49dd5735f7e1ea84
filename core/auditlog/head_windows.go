//go:build windows

package auditlog

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// oNoFollow is zero on Windows, which has no such open flag: the Lstat
// check before the open is what refuses a link there.
const oNoFollow = 0

// Windows byte-range locks are mandatory, so the lock covers one byte far
// past the records instead of the records themselves: readers that do not
// lock can still read both slots.
const lockOffsetHigh = 1 // offset 1<<32

func lockFile(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	delay := 50 * time.Microsecond
	for {
		ol := &windows.Overlapped{OffsetHigh: lockOffsetHigh}
		err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
		if err == nil {
			return nil
		}
		if !errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("held by another writer for more than %s", wait)
		}
		time.Sleep(delay)
		delay = min(2*delay, 5*time.Millisecond)
	}
}

func unlockFile(f *os.File) error {
	ol := &windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}

// syncDir is a no-op: Windows has no way to sync a directory (NTFS
// journals the rename itself).
func syncDir(string) error { return nil }
