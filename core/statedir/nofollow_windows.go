//go:build windows

package statedir

// oNoFollow is zero on Windows, which has no such open flag: the Lstat
// check before the open is what refuses a link there (creating one needs a
// privilege, and the state dir is private).
const oNoFollow = 0
