package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/statedir"
	"github.com/warden-sec/warden/templates"
)

// Shell completion. `warden completion SHELL` prints a small script for
// bash, zsh or fish; the script hands the words typed so far to the hidden
// `warden __complete` command, which answers from the command tree itself,
// so subcommands, flags and their values never go stale in the scripts.
// urfave/cli's own completion (EnableBashCompletion) was not used: it
// completes only command names and flags, runs the command's parsing on a
// half-typed line (whose errors would land on the terminal), and ships no
// fish script that can ask for values such as secret names.
//
// __complete never prompts, never writes, never prints an error and never
// prints a secret: values it offers come from the flags' own lists, the
// code's constants, and the secret store's names (read from the file's
// structure, without decrypting it).

// completeCommandName is the hidden command the scripts call.
const completeCommandName = "__complete"

// completionShells are the shells `warden completion` has a script for.
var completionShells = []string{"bash", "zsh", "fish"}

func (w *wiring) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "SHELL",
		Description: "Completes subcommands, flags, and values such as formats, roles, sandbox modes and\n" +
			"secret names (never their values). Load it for the current shell, or install it:\n\n" +
			"  bash  source <(warden completion bash)\n" +
			"        warden completion bash > ~/.local/share/bash-completion/completions/warden\n" +
			"  zsh   source <(warden completion zsh)      (after compinit)\n" +
			"        warden completion zsh > \"${fpath[1]}/_warden\"\n" +
			"  fish  warden completion fish | source\n" +
			"        warden completion fish > ~/.config/fish/completions/warden.fish",
		Action: w.completion,
	}
}

func (w *wiring) completion(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("completion takes one SHELL: %s", strings.Join(completionShells, ", "))
	}
	var script string
	switch sh := c.Args().First(); sh {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	default:
		return usageErrorf("no completion script for %q: use %s", sh, strings.Join(completionShells, ", "))
	}
	_, err := fmt.Fprint(w.env.Stdout, script)
	return err
}

func (w *wiring) completeCommand() *cli.Command {
	return &cli.Command{
		Name:      completeCommandName,
		Usage:     "print completion candidates for the words after --, for the completion scripts",
		ArgsUsage: "-- WORD... CURRENT",
		Hidden:    true,
		Action: func(c *cli.Context) error {
			comp := w.complete(c.App, c.Args().Slice())
			// Nothing here may fail loudly: a completion that breaks
			// prints nothing, and the shell offers nothing.
			_, _ = fmt.Fprint(w.env.Stdout, comp.String())
			return nil
		},
	}
}

// completionResult is what __complete prints: a first line that tells the
// script what to do ("files": let the shell complete file names; "words":
// offer the lines that follow), then one candidate a line, as
// "VALUE<TAB>DESCRIPTION" or "VALUE".
type completionResult struct {
	files bool
	items []completionItem
}

type completionItem struct{ value, desc string }

func (r completionResult) String() string {
	var b strings.Builder
	if r.files {
		b.WriteString("files\n")
		return b.String()
	}
	b.WriteString("words\n")
	for _, it := range r.items {
		b.WriteString(it.value)
		if it.desc != "" {
			b.WriteString("\t" + it.desc)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func filesResult() completionResult { return completionResult{files: true} }

// words keeps the values that start with prefix.
func words(prefix string, items ...completionItem) completionResult {
	var out []completionItem
	for _, it := range items {
		if strings.HasPrefix(it.value, prefix) {
			out = append(out, it)
		}
	}
	return completionResult{items: out}
}

func plainItems(values ...string) []completionItem {
	out := make([]completionItem, len(values))
	for i, v := range values {
		out[i] = completionItem{value: v}
	}
	return out
}

// complete answers for words (the words after "warden"; the last one is
// the word being completed, possibly empty).
func (w *wiring) complete(app *cli.App, args []string) completionResult {
	if len(args) == 0 {
		args = []string{""}
	}
	cur, typed := args[len(args)-1], args[:len(args)-1]
	var path []*cli.Command // the commands named so far
	cmds := app.Commands
	given := map[string]string{} // flags typed so far, by every name, with their values
	positional := 0
	for i := 0; i < len(typed); i++ {
		a := typed[i]
		if a == "--" {
			// What follows is a sandboxed command's own line.
			return filesResult()
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			f := lookupFlag(app, path, name)
			if f != nil && flagTakesValue(f) && !hasValue {
				if i+1 == len(typed) {
					return flagValues(f, cur, "")
				}
				i++
				value = typed[i]
			}
			if f != nil {
				for _, n := range f.Names() {
					given[n] = value
				}
			}
			continue
		}
		if positional == 0 {
			if sub := findCommand(cmds, a); sub != nil {
				path = append(path, sub)
				cmds = sub.Subcommands
				continue
			}
		}
		positional++
	}

	if strings.HasPrefix(cur, "-") {
		if name, _, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok {
			f := lookupFlag(app, path, name)
			if f == nil || !flagTakesValue(f) {
				return completionResult{}
			}
			prefix := cur[:strings.Index(cur, "=")+1]
			return flagValues(f, strings.TrimPrefix(cur, prefix), prefix)
		}
		return words(cur, flagItems(app, path, given)...)
	}
	if len(cmds) > 0 && positional == 0 {
		var items []completionItem
		for _, c := range cmds {
			if !c.Hidden {
				items = append(items, completionItem{c.Name, c.Usage})
			}
		}
		return words(cur, items...)
	}
	if len(path) == 0 {
		return completionResult{}
	}
	return w.argValues(path, positional, cur, given)
}

// argValues completes a positional argument of the command at path.
func (w *wiring) argValues(path []*cli.Command, n int, cur string, given map[string]string) completionResult {
	leaf := path[len(path)-1]
	switch commandPath(path) {
	case "secrets get", "secrets rm", "secrets set":
		if n == 0 {
			return words(cur, plainItems(w.secretNames(given)...)...)
		}
		return completionResult{}
	case "completion":
		if n == 0 {
			return words(cur, plainItems(completionShells...)...)
		}
		return completionResult{}
	case "report playbook":
		if n == 0 {
			var items []completionItem
			for _, p := range templates.Playbooks() {
				title, _ := templates.PlaybookTitle(p)
				items = append(items, completionItem{p, title})
			}
			return words(cur, items...)
		}
		return completionResult{}
	}
	if argsTakeFiles.MatchString(leaf.ArgsUsage) {
		return filesResult()
	}
	return completionResult{}
}

// argsTakeFiles matches the ArgsUsage of commands whose arguments are paths.
var argsTakeFiles = regexp.MustCompile(`\b(FILE|PATH|DIR)\b`)

// flagValues completes the value of flag f: the choices its usage lists,
// else the code's own lists for roles and sandbox modes, else file names
// for flags that take a file. prefix ("--format=") is put back in front of
// each candidate.
func flagValues(f cli.Flag, cur, prefix string) completionResult {
	var items []completionItem
	if choices := flagChoices(f); len(choices) > 0 {
		items = plainItems(choices...)
	} else {
		switch f.Names()[0] {
		case "role":
			items = plainItems(string(auth.RoleAdmin), string(auth.RoleOperator), string(auth.RoleAgent), string(auth.RoleViewer))
		case "sandbox-mode":
			items = plainItems(config.SandboxAll, config.SandboxNonMain, config.SandboxOff)
		default:
			if flagTakesFile(f) {
				return filesResult()
			}
			return completionResult{}
		}
	}
	for i := range items {
		items[i].value = prefix + items[i].value
	}
	return words(prefix+cur, items...)
}

// flagItems lists the flags the command at path accepts (the global ones
// before any command), leaving out those already given once.
func flagItems(app *cli.App, path []*cli.Command, given map[string]string) []completionItem {
	var items []completionItem
	seen := map[string]bool{}
	for _, f := range flagsInScope(app, path) {
		names := f.Names()
		if seen[names[0]] || !flagVisible(f) {
			continue
		}
		seen[names[0]] = true
		if _, ok := given[names[0]]; ok && !flagRepeats(f) {
			continue
		}
		desc := ""
		if df, ok := f.(cli.DocGenerationFlag); ok {
			desc = firstClause(df.GetUsage())
		}
		items = append(items, completionItem{"--" + names[0], desc})
	}
	if _, ok := given["help"]; !ok && !seen["help"] {
		items = append(items, completionItem{"--help", "show help"})
	}
	return items
}

// firstClause shortens a usage text for a completion menu.
func firstClause(s string) string {
	s = strings.ReplaceAll(s, "`", "")
	if i := strings.IndexAny(s, "(;"); i > 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > 70 {
		s = strings.TrimSpace(s[:67]) + "..."
	}
	return s
}

// flagsInScope are the flags the command at path accepts; global flags
// work before or after the command name.
func flagsInScope(app *cli.App, path []*cli.Command) []cli.Flag {
	var out []cli.Flag
	if len(path) > 0 {
		out = append(out, path[len(path)-1].Flags...)
	}
	return append(out, app.Flags...)
}

func lookupFlag(app *cli.App, path []*cli.Command, name string) cli.Flag {
	for _, f := range flagsInScope(app, path) {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// commandPath is "secrets get" for the commands warden secrets get.
func commandPath(path []*cli.Command) string {
	names := make([]string, len(path))
	for i, c := range path {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

func flagTakesValue(f cli.Flag) bool {
	if df, ok := f.(cli.DocGenerationFlag); ok {
		return df.TakesValue()
	}
	return false
}

func flagVisible(f cli.Flag) bool {
	if vf, ok := f.(cli.VisibleFlag); ok {
		return vf.IsVisible()
	}
	return true
}

func flagRepeats(f cli.Flag) bool {
	switch f.(type) {
	case *cli.StringSliceFlag, *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag:
		return true
	}
	return false
}

func flagTakesFile(f cli.Flag) bool {
	switch f := f.(type) {
	case *cli.StringFlag:
		return f.TakesFile
	case *cli.StringSliceFlag:
		return f.TakesFile
	case *cli.PathFlag:
		return f.TakesFile
	case *cli.GenericFlag:
		return f.TakesFile
	}
	return false
}

// choiceWord is one value in a flag's list of choices.
var choiceWord = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// flagChoices reads the values a string flag accepts from its usage text,
// which lists them by the house convention: the whole text ("table or
// json"), what follows its last colon ("output format: table, json"), or a
// final parenthesis ("… or worse (critical, high, medium, low, info)").
// A usage text that is not such a list gives none.
func flagChoices(f cli.Flag) []string {
	sf, ok := f.(*cli.StringFlag)
	if !ok {
		return nil
	}
	u := strings.TrimSpace(sf.Usage)
	type candidate struct {
		text string
		min  int // one word is a list only after a colon ("output format: jsonl")
	}
	candidates := []candidate{{u, 2}}
	if i := strings.LastIndex(u, ": "); i >= 0 {
		candidates = append(candidates, candidate{u[i+2:], 1})
	}
	if strings.HasSuffix(u, ")") {
		if i := strings.LastIndex(u, "("); i >= 0 {
			candidates = append(candidates, candidate{u[i+1 : len(u)-1], 2})
		}
	}
	for _, c := range candidates {
		if list := choiceList(c.text, c.min); list != nil {
			return list
		}
	}
	return nil
}

// choiceList splits "a, b or c" (or "a, b, c") into its words; nil when s
// is not such a list of at least min words.
func choiceList(s string, min int) []string {
	s = strings.ReplaceAll(s, " or ", ", ")
	parts := strings.Split(s, ", ")
	if len(parts) < min {
		return nil
	}
	for _, p := range parts {
		if !choiceWord.MatchString(p) {
			return nil
		}
	}
	return parts
}

// secretNames lists the secret store's names, read from the file's
// structure without decrypting it: no identity, no passphrase, no prompt.
// Any problem gives no names.
func (w *wiring) secretNames(given map[string]string) []string {
	dir := w.completionStateDir(given)
	if dir == "" {
		return nil
	}
	names, err := secrets.NewStore(dir, nil, nil).Names()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range names {
		if !reservedSecret(n) {
			out = append(out, n)
		}
	}
	return out
}

// completionStateDir finds the state dir as the command being typed would,
// without side effects: --state-dir, WARDEN_STATE_DIR, a plaintext
// config's state_dir, then the user state dir. An encrypted config is not
// decrypted (that could ask for a passphrase): its state_dir is skipped.
func (w *wiring) completionStateDir(given map[string]string) string {
	dir := given["state-dir"]
	if dir == "" {
		dir = w.env.Getenv("WARDEN_STATE_DIR")
	}
	if dir == "" {
		path := given["config"]
		if path == "" {
			path = w.env.Getenv("WARDEN_CONFIG")
		}
		if path == "" {
			if cwd, err := os.Getwd(); err == nil {
				ucd, _ := os.UserConfigDir()
				path, _ = config.Discover(cwd, ucd)
			}
		}
		if path != "" {
			if l, _ := config.Load(context.Background(), path, nil); l != nil && l.Config != nil {
				dir = l.Config.StateDir
			}
		}
	}
	if dir == "" {
		var err error
		if dir, err = statedir.Default(w.env.Getenv); err != nil {
			return ""
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	return abs
}

// The scripts ask `warden __complete -- WORDS… CURRENT` and read its
// answer (see completionResult). Each is complete on its own: the user
// sources it or drops it where the shell looks for completions.

const bashCompletion = `# bash completion for warden (generated by ` + "`warden completion bash`" + `)
# Load it now:  source <(warden completion bash)
# or install:   warden completion bash > ~/.local/share/bash-completion/completions/warden

_warden_complete() {
	local line=${COMP_LINE:0:COMP_POINT}
	local -a words
	read -r -a words <<<"$line"
	# A line that ends in a blank completes a new, empty word.
	if [[ -z $line || $line == *[[:space:]] ]]; then
		words+=("")
	fi
	local cur=${words[${#words[@]}-1]}
	# Readline replaces only what follows the last word-break character
	# (such as the = of --format=json): candidates lose what precedes it.
	local rlcur=$cur i
	for ((i = ${#cur} - 1; i >= 0; i--)); do
		if [[ $COMP_WORDBREAKS == *"${cur:i:1}"* ]]; then
			rlcur=${cur:i+1}
			break
		fi
	done
	local prefix=${cur:0:${#cur}-${#rlcur}}
	local out
	out=$(command warden __complete -- "${words[@]:1}" 2>/dev/null) || return 0
	local -a lines
	mapfile -t lines <<<"$out"
	COMPREPLY=()
	if [[ ${lines[0]} == files ]]; then
		compopt -o filenames 2>/dev/null || :
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$rlcur"))
		return 0
	fi
	local l
	for l in "${lines[@]:1}"; do
		l=${l%%$'\t'*}
		if [[ -n $l && $l == "$prefix"* ]]; then
			COMPREPLY+=("${l#"$prefix"}")
		fi
	done
	return 0
}

complete -F _warden_complete warden
`

const zshCompletion = `#compdef warden
# zsh completion for warden (generated by ` + "`warden completion zsh`" + `)
# Load it now (after compinit):  source <(warden completion zsh)
# or install it in your fpath:   warden completion zsh > "${fpath[1]}/_warden"

_warden() {
	local out
	out=$(command warden __complete -- "${(@Q)words[2,CURRENT]}" 2>/dev/null) || return 1
	local -a lines vals descs
	lines=("${(@f)out}")
	if [[ ${lines[1]} == files ]]; then
		_files
		return
	fi
	local l v
	for l in "${(@)lines[2,-1]}"; do
		[[ -n $l ]] || continue
		v=${l%%$'\t'*}
		vals+=("$v")
		if [[ $l == *$'\t'* ]]; then
			descs+=("$v  -- ${l#*$'\t'}")
		else
			descs+=("$v")
		fi
	done
	(( ${#vals} )) || return 1
	compadd -l -d descs -- "${vals[@]}"
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
	_warden "$@"
else
	compdef _warden warden
fi
`

const fishCompletion = `# fish completion for warden (generated by ` + "`warden completion fish`" + `)
# Load it now:  warden completion fish | source
# or install:   warden completion fish > ~/.config/fish/completions/warden.fish

function __warden_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l out (command warden __complete -- $words[2..-1] "$cur" 2>/dev/null)
    or return
    if test "$out[1]" = files
        __fish_complete_path "$cur"
        return
    end
    printf '%s\n' $out[2..-1]
end

complete -c warden -f -a '(__warden_complete)'
`
