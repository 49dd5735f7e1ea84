package commands

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a leaf command's flags in front of its positional
// arguments, so `warden config decrypt FILE -o OUT` works like
// `warden config decrypt -o OUT FILE` (urfave/cli v2 stops reading flags at
// the first positional argument). Everything after "--" is left alone.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	cmds := app.Commands
	flags := app.Flags
	i := 1
	leaf := false
	// Walk down the command names, keeping flags placed between them.
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			out = append(out, a)
			if takesValue(flags, a) && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			i++
			continue
		}
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(a) {
				next = c
			}
		}
		if next == nil {
			break
		}
		out = append(out, a)
		i++
		flags = next.Flags
		if len(next.Subcommands) == 0 {
			leaf = true
			break
		}
		cmds = next.Subcommands
	}
	if !leaf {
		return append(out, args[i:]...)
	}
	var flagArgs, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flagArgs = append(flagArgs, a)
			if takesValue(flags, a) && i+1 < len(args) {
				flagArgs = append(flagArgs, args[i+1])
				i++
			}
			continue
		}
		positional = append(positional, a)
	}
	out = append(out, flagArgs...)
	return append(out, positional...)
}

// takesValue reports whether arg names a flag that reads the next argument.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
