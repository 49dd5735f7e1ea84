//go:build !windows

package commands

import "os"

func openControllingTerminal() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_WRONLY, 0) }
