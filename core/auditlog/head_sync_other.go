//go:build !linux

package auditlog

import "os"

func syncData(f *os.File) error { return f.Sync() }
