// Command warden is a hardened gateway and security toolkit for self-hosted
// AI agents. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/warden-sec/warden/commands"
	"github.com/warden-sec/warden/core/sandbox"
)

// Set by the linker: -X main.version=… -X main.commit=… -X main.date=…
var (
	version = ""
	commit  = ""
	date    = ""
)

func main() {
	// In the re-executed process that sets up a sandbox this never
	// returns; it must run before anything else.
	sandbox.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Run(ctx, os.Args, commands.ProcessEnv(buildInfo()))
	stop()
	os.Exit(code)
}

// buildInfo prefers the linker's values and falls back to what the Go
// toolchain recorded (go install, go build in a checkout).
func buildInfo() commands.BuildInfo {
	b := commands.BuildInfo{Version: version, Commit: commit, Date: date}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}
