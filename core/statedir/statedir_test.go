package statedir

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestDefaultFollowsXDG(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG applies to Linux and other Unixes")
	}
	env := map[string]string{"XDG_STATE_HOME": "/srv/state"}
	got, err := Default(func(k string) string { return env[k] })
	if err != nil || got != "/srv/state/warden" {
		t.Fatalf("%q %v", got, err)
	}
	// A relative XDG_STATE_HOME is ignored, as the spec requires.
	env["XDG_STATE_HOME"] = "relative"
	t.Setenv("HOME", "/home/u")
	got, _ = Default(func(k string) string { return env[k] })
	if got != filepath.Join("/home/u", ".local", "state", "warden") {
		t.Fatalf("%q", got)
	}
}
