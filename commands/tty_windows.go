//go:build windows

package commands

import "os"

func openControllingTerminal() (*os.File, error) { return os.OpenFile("CONOUT$", os.O_WRONLY, 0) }
