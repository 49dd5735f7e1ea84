//go:build !windows

package statedir

import "golang.org/x/sys/unix"

// oNoFollow makes open(2) fail on a symbolic link in the last component.
const oNoFollow = unix.O_NOFOLLOW
