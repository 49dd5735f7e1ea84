package policy

import (
	"fmt"
	"strings"
)

// inner is a command found inside another command's arguments.
type inner struct {
	start, end int    // argv[start:end] is a wrapped argv
	shell      bool   // cmd is a shell command string (sh -c, tar --to-command)
	cmd        string // the shell command string
	via        string // how the string is run, for reasons ("bash -c", "tar --to-command")
	refuse     string // a use of the wrapper the policy refuses
}

var wrapperSet = set(append([]string{"env", "nice", "nohup", "timeout", "setsid", "ionice", "stdbuf", "xargs", "find", "tar", "sort", "zip"}, shells...))

// commandOptions are options of ordinary programs whose value is a command
// the program runs (through /bin/sh -c, or directly): the value is checked
// as a shell string. Long options take "--x=V" or "--x V", short ones
// "-xV" or "-x V".
var commandOptions = map[string][]string{
	"tar":  {"-I", "--use-compress-program", "--to-command", "-F", "--info-script", "--new-volume-script"},
	"sort": {"--compress-program"},
	"zip":  {"-TT", "--unzip-command"},
}

// optionCommands returns the command strings given to prog's command options.
func optionCommands(prog string, argv []string) []inner {
	opts := commandOptions[prog]
	var in []inner
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		if prog == "tar" && strings.HasPrefix(a, "--checkpoint-action=exec=") {
			in = append(in, inner{shell: true, cmd: strings.TrimPrefix(a, "--checkpoint-action=exec="), via: "tar --checkpoint-action"})
			continue
		}
		for _, o := range opts {
			var v string
			switch {
			case a == o && i+1 < len(argv):
				i++
				v = argv[i]
			case strings.HasPrefix(o, "--") && strings.HasPrefix(a, o+"="):
				v = a[len(o)+1:]
			case !strings.HasPrefix(o, "--") && strings.HasPrefix(a, o) && len(a) > len(o):
				v = a[len(o):]
			default:
				continue
			}
			in = append(in, inner{shell: true, cmd: v, via: prog + " " + o})
			break
		}
	}
	return in
}

// programName returns the wrapper base stands for, or "".
func programName(base string) string { return canonical(base, wrapperSet) }

// dangerousEnv are variables that change which program runs or inject code
// into it; setting them in front of a command is refused.
var dangerousEnv = set([]string{
	"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG_OUTPUT",
	"BASH_ENV", "ENV", "IFS", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND",
	"GCONV_PATH", "HOSTALIASES", "NODE_OPTIONS", "PYTHONSTARTUP", "PERL5OPT",
	"RUBYOPT", "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND",
})

// assignmentName returns NAME when w is NAME=VALUE (or NAME+=VALUE), or "".
func assignmentName(w string) string {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return ""
	}
	n := strings.TrimSuffix(w[:i], "+")
	if j := strings.IndexByte(n, '['); j > 0 && strings.HasSuffix(n, "]") {
		n = n[:j]
	}
	if !isName(n) {
		return ""
	}
	return n
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func refuseAssignment(prog, name string) string {
	return fmt.Sprintf("%s sets %s, which changes the program that runs or what it loads", prog, name)
}

// optSpec describes a wrapper's options: which take an argument.
type optSpec struct {
	short    string          // short options that take an argument
	shortOpt string          // short options with an optional, attached argument
	long     map[string]bool // long options that take an argument (without "--")
}

// skipOptions returns the index of the first operand of argv[1:] after the
// options described by spec.
func skipOptions(argv []string, spec optSpec) int {
	i := 1
	for i < len(argv) {
		a := argv[i]
		if a == "--" {
			return i + 1
		}
		if len(a) < 2 || a[0] != '-' {
			return i
		}
		if strings.HasPrefix(a, "--") {
			n := a[2:]
			i++
			if !strings.Contains(n, "=") && spec.long[n] {
				i++
			}
			continue
		}
		i++
		for k := 1; k < len(a); k++ {
			c := a[k]
			if strings.IndexByte(spec.shortOpt, c) >= 0 {
				break
			}
			if strings.IndexByte(spec.short, c) >= 0 {
				if k == len(a)-1 {
					i++ // the argument is the next word
				}
				break
			}
		}
	}
	return i
}

var (
	envSpec     = optSpec{short: "uCP", long: map[string]bool{"unset": true, "chdir": true}}
	niceSpec    = optSpec{short: "n", long: map[string]bool{"adjustment": true}}
	timeoutSpec = optSpec{short: "sk", long: map[string]bool{"signal": true, "kill-after": true}}
	setsidSpec  = optSpec{}
	ioniceSpec  = optSpec{short: "cnpPu", long: map[string]bool{"class": true, "classdata": true, "pid": true, "pgid": true, "uid": true}}
	stdbufSpec  = optSpec{short: "ioe", long: map[string]bool{"input": true, "output": true, "error": true}}
	xargsSpec   = optSpec{short: "adEILnPs", shortOpt: "eil", long: map[string]bool{
		"arg-file": true, "delimiter": true, "max-args": true, "max-procs": true,
		"max-chars": true, "process-slot-var": true,
	}}
)

// wrapped returns the commands that the wrapper prog runs from argv.
func wrapped(prog string, argv []string) []inner {
	rest := func(i int) []inner {
		if i >= len(argv) {
			return nil
		}
		return []inner{{start: i, end: len(argv)}}
	}
	switch prog {
	case "env":
		for _, a := range argv[1:] {
			if a == "-S" || strings.HasPrefix(a, "--split-string") || (len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.ContainsRune(a, 'S')) {
				return []inner{{refuse: "env -S (split string) is not allowed: pass the command as separate arguments"}}
			}
			if a == "--" || (len(a) > 0 && a[0] != '-') {
				break
			}
		}
		i := skipOptions(argv, envSpec)
		for ; i < len(argv); i++ {
			n := assignmentName(argv[i])
			if n == "" {
				break
			}
			if dangerousEnv[n] {
				return []inner{{refuse: refuseAssignment("env", n)}}
			}
		}
		return rest(i)
	case "nice":
		i := 1
		if i < len(argv) && len(argv[i]) > 1 && argv[i][0] == '-' && isVersion(strings.TrimPrefix(argv[i][1:], "-")) {
			i++ // obsolete "nice -10 cmd"
		} else {
			i = skipOptions(argv, niceSpec)
		}
		return rest(i)
	case "nohup":
		i := 1
		if i < len(argv) && argv[i] == "--" {
			i++
		}
		return rest(i)
	case "timeout":
		return rest(skipOptions(argv, timeoutSpec) + 1) // skip the duration
	case "setsid":
		return rest(skipOptions(argv, setsidSpec))
	case "ionice":
		for _, a := range argv[1:] {
			if a == "-p" || a == "-P" || a == "-u" || strings.HasPrefix(a, "--pid") || strings.HasPrefix(a, "--pgid") || strings.HasPrefix(a, "--uid") {
				return nil // changes existing processes, runs nothing
			}
		}
		return rest(skipOptions(argv, ioniceSpec))
	case "stdbuf":
		return rest(skipOptions(argv, stdbufSpec))
	case "xargs":
		return rest(skipOptions(argv, xargsSpec))
	case "tar", "sort", "zip":
		return optionCommands(prog, argv)
	case "find":
		var in []inner
		for i := 1; i < len(argv); i++ {
			switch argv[i] {
			case "-exec", "-execdir", "-ok", "-okdir":
				j := i + 1
				for j < len(argv) && argv[j] != ";" && argv[j] != "+" {
					j++
				}
				if j > i+1 {
					in = append(in, inner{start: i + 1, end: j})
				}
				i = j
			}
		}
		return in
	}
	if shellSet[prog] {
		if c, ok := shellCommand(argv); ok {
			if c < 0 {
				return []inner{{refuse: fmt.Sprintf("%s -c needs a command string", prog)}}
			}
			return []inner{{shell: true, cmd: argv[c], via: prog + " -c"}}
		}
	}
	return nil
}

// shellCommand reports whether a shell argv uses -c, and the index of the
// command string (-1 when missing).
func shellCommand(argv []string) (int, bool) {
	hasC := false
	i := 1
	for i < len(argv) {
		a := argv[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		if strings.HasPrefix(a, "--") {
			i++
			if a == "--rcfile" || a == "--init-file" {
				i++
			}
			continue
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		i++
		if a[0] == '-' && strings.ContainsRune(a[1:], 'c') {
			hasC = true
		}
		if strings.ContainsAny(a[1:], "oO") {
			i++ // -o option / -O shopt take a name
		}
	}
	if !hasC {
		return 0, false
	}
	if i >= len(argv) {
		return -1, true
	}
	return i, true
}

// shellReadsStdin reports whether a shell argv (without -c) takes its
// commands from standard input.
func shellReadsStdin(argv []string) bool {
	if _, ok := shellCommand(argv); ok {
		return false
	}
	i := 1
	for i < len(argv) {
		a := argv[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break
		}
		if a[0] == '-' && !strings.HasPrefix(a, "--") && strings.ContainsRune(a[1:], 's') {
			return true
		}
		i++
		if !strings.HasPrefix(a, "--") && strings.ContainsAny(a[1:], "oO") {
			i++
		}
	}
	return i >= len(argv)
}
