package gitpack

import "golang.org/x/sys/unix"

// populate maps all of b's pages at once. Kernels before 5.14 refuse the
// advice; the pages then fault in as they are read.
func populate(b []byte) {
	_ = unix.Madvise(b, unix.MADV_POPULATE_READ)
}
