package commands

import (
	"bytes"
	"slices"
	"sort"
	"testing"

	"github.com/urfave/cli/v2"
)

// noResult names the commands whose output is not a result for --format
// json to carry, and says why. Everything else that runs an action must
// offer --format json.
var noResult = map[string]string{
	"warden serve":          "a daemon: what it prints is its log (--log-format json)",
	"warden sandbox run":    "prints the sandboxed command's own output",
	"warden secrets get":    "prints the raw value, for pipes",
	"warden config decrypt": "prints the decrypted document itself",
	"warden log export":     "prints JSON Lines already (--format jsonl)",
	"warden completion":     "prints a shell script",
	"warden docs man":       "prints a manual page",
}

// withoutJSONYet are commands that print a result but have no --format
// json yet. An entry goes when its command gets the flag: the test fails
// while a listed command already has it.
var withoutJSONYet = map[string]bool{}

// lackingJSON walks the tree and lists the commands with an action that
// have no --format flag offering json and are in neither list above.
func lackingJSON(cmds []*cli.Command) (lacking, stale []string) {
	walk(cmds, "warden", func(name string, c *cli.Command) {
		// A group's own action only shows its help; a group with flags of
		// its own (report) runs something.
		if c.Hidden || c.Action == nil || len(c.Subcommands) > 0 && len(c.Flags) == 0 {
			return
		}
		has := false
		for _, f := range c.Flags {
			if f.Names()[0] == "format" && slices.Contains(flagChoices(f), "json") {
				has = true
			}
		}
		switch {
		case has && withoutJSONYet[name]:
			stale = append(stale, name)
		case !has && noResult[name] == "" && !withoutJSONYet[name]:
			lacking = append(lacking, name)
		}
	})
	sort.Strings(lacking)
	return lacking, stale
}

// Every command that prints a result offers --format json (a document
// with a schemaVersion; the testscripts check each one's output). A
// command added without it fails here.
func TestEveryResultHasJSON(t *testing.T) {
	app := newApp(testEnv(new(bytes.Buffer), new(bytes.Buffer)))
	lacking, stale := lackingJSON(app.Commands)
	for _, name := range lacking {
		t.Errorf("%s prints a result but has no --format json: add resultFormatFlag() (or, if its output is no result, say why in noResult)", name)
	}
	for _, name := range stale {
		t.Errorf("%s has --format json now: remove it from withoutJSONYet", name)
	}
	for name := range noResult {
		if findPath(app.Commands, name) == nil {
			t.Errorf("noResult names %q, which is no command", name)
		}
	}
	for name := range withoutJSONYet {
		if findPath(app.Commands, name) == nil {
			t.Errorf("withoutJSONYet names %q, which is no command", name)
		}
	}
}

// The check itself catches a command added later without the flag.
func TestEveryResultHasJSONCatchesANewCommand(t *testing.T) {
	app := newApp(testEnv(new(bytes.Buffer), new(bytes.Buffer)))
	tokens := findPath(app.Commands, "warden tokens")
	tokens.Subcommands = append(tokens.Subcommands, &cli.Command{Name: "rotate", Usage: "rotate a token", Action: func(*cli.Context) error { return nil }})
	lacking, _ := lackingJSON(app.Commands)
	if !slices.Contains(lacking, "warden tokens rotate") {
		t.Fatalf("a new command without --format json is not reported: %v", lacking)
	}
}

func findPath(cmds []*cli.Command, name string) *cli.Command {
	var found *cli.Command
	walk(cmds, "warden", func(n string, c *cli.Command) {
		if n == name {
			found = c
		}
	})
	return found
}
