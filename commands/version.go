package commands

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

type versionOutput struct {
	SchemaVersion int    `json:"schemaVersion"`
	Version       string `json:"version"`
	Commit        string `json:"commit"`
	Date          string `json:"date"`
	Modified      bool   `json:"modified"`
	GoVersion     string `json:"goVersion"`
	Platform      string `json:"platform"`
}

func (w *wiring) versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit and build date",
		Flags: []cli.Flag{formatFlag("WARDEN_VERSION_FORMAT", "text", "json")},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			f, err := format(c, "text", "json")
			if err != nil {
				return err
			}
			b := w.env.Build
			out := versionOutput{SchemaVersion: jsonSchemaVersion, Version: orUnknown(b.Version), Commit: orUnknown(b.Commit),
				Date: orUnknown(b.Date), Modified: b.Modified, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if f == "json" {
				return writeJSON(w.env.Stdout, out)
			}
			commit := out.Commit
			switch {
			case b.Commit == "":
				commit += " (no VCS stamp: built outside a git checkout, or with -buildvcs=false)"
			case b.Modified:
				commit += " (with uncommitted changes)"
			}
			fmt.Fprintf(w.env.Stdout, "warden %s\ncommit %s\nbuilt  %s\n%s %s\n", out.Version, commit, out.Date, out.GoVersion, out.Platform)
			return nil
		},
	}
}

// stamped fills what the linker left out of b from the build info the Go
// toolchain records: `go build` and `go install` in a git checkout stamp
// the commit (vcs.revision), its time (vcs.time) and whether the tree had
// uncommitted changes (vcs.modified), and since Go 1.24 a version derived
// from them. A commit the linker gave is kept, and so is its date; the
// stamp then only says whether the tree was modified, if it is of the same
// commit.
func stamped(b BuildInfo, info *debug.BuildInfo) BuildInfo {
	if info == nil {
		return b
	}
	var rev, when string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if (b.Version == "" || b.Version == "dev") && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if rev == "" {
		return b
	}
	if b.Commit == "" {
		b.Commit = rev
		if b.Date == "" {
			b.Date = when
		}
	}
	if b.Commit == rev {
		b.Modified = modified
	}
	return b
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
