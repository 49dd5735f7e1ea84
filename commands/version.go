package commands

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"
)

type versionOutput struct {
	SchemaVersion int    `json:"schemaVersion"`
	Version       string `json:"version"`
	Commit        string `json:"commit"`
	Date          string `json:"date"`
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
				Date: orUnknown(b.Date), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if f == "json" {
				return writeJSON(w.env.Stdout, out)
			}
			fmt.Fprintf(w.env.Stdout, "warden %s\ncommit %s\nbuilt  %s\n%s %s\n", out.Version, out.Commit, out.Date, out.GoVersion, out.Platform)
			return nil
		},
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
