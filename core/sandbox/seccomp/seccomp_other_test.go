//go:build !linux || !(amd64 || arm64)

package seccomp

import (
	"errors"
	"testing"
)

func TestUnsupported(t *testing.T) {
	if _, err := Program(Options{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Program: %v, want ErrUnsupported", err)
	}
	if err := Load(nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Load: %v, want ErrUnsupported", err)
	}
	if len(EscapeSyscalls) == 0 {
		t.Fatal("EscapeSyscalls is empty")
	}
}
