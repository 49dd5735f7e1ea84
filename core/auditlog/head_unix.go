//go:build !windows

package auditlog

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// oNoFollow makes open(2) fail on a symbolic link in the last component.
const oNoFollow = unix.O_NOFOLLOW

// lockFile takes an exclusive advisory lock on f, waiting at most wait.
// It polls rather than blocks so that a writer stopped while holding the
// lock makes appends fail (closed) instead of hanging them.
func lockFile(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	delay := 50 * time.Microsecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("held by another writer for more than %s", wait)
		}
		time.Sleep(delay)
		delay = min(2*delay, 5*time.Millisecond)
	}
}

func unlockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
