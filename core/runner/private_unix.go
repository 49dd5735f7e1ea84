//go:build unix

package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// checkPrivate makes dir private to the user running Warden (0700) and
// checks that no other user can replace it: it belongs to that user, and
// every directory above it belongs to root or that user and is not
// writable by others unless sticky (as /tmp is: then only the owner can
// rename what is inside).
func checkPrivate(dir string) error {
	uid := uint32(os.Geteuid())
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.IsDir() {
		return fmt.Errorf("not a directory")
	}
	if st.Uid != uid {
		return fmt.Errorf("belongs to uid %d, not to the user running warden (uid %d)", st.Uid, uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make it private (0700): %w", err)
		}
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			if st.Uid != 0 && st.Uid != uid {
				return fmt.Errorf("%s above it belongs to uid %d, who could replace it", p, st.Uid)
			}
			if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
				return fmt.Errorf("%s above it is writable by other users (%04o), who could replace it", p, fi.Mode().Perm())
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
