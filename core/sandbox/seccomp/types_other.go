//go:build !linux

package seccomp

// SockFilter mirrors unix.SockFilter (struct sock_filter), which
// golang.org/x/sys/unix defines on Linux only, so that the API compiles
// everywhere.
type SockFilter struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// SockFprog mirrors unix.SockFprog (struct sock_fprog).
type SockFprog struct {
	Len    uint16
	Filter *SockFilter
}
