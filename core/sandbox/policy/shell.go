package policy

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// keywords that may start a command and are skipped: the next word is a command.
var skipKeywords = set([]string{"if", "then", "else", "elif", "fi", "while", "until", "do", "done", "{", "}", "!", "time"})

// refusedKeywords are shell constructs the policy does not understand.
var refusedKeywords = set([]string{"case", "esac", "function", "coproc", "select"})

// parseShell parses a shell command string into simple commands.
func parseShell(s string) *parsed {
	ps := &parsed{}
	l := &lexer{s: s, ps: ps}
	var cur simpleCmd
	piped := false
	forHeader := false
	inTest := false // inside [[ ... ]]
	afterTime := false
	var pendingRedir string
	var redirOff int
	finish := func(pipe bool) {
		if len(cur.words) > 0 || len(cur.assigns) > 0 || len(cur.redirs) > 0 {
			cur.piped = piped
			ps.cmds = append(ps.cmds, cur)
		}
		cur = simpleCmd{}
		piped = pipe
		inTest = false
		afterTime = false
	}
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		if t.op == "" {
			w := t.w
			if pendingRedir != "" {
				cur.redirs = append(cur.redirs, redirect{op: pendingRedir, target: w})
				if pendingRedir == "<<" || pendingRedir == "<<-" {
					l.pending = append(l.pending, heredoc{delim: w.val, strip: pendingRedir == "<<-", expand: !w.quoted})
				}
				pendingRedir = ""
				continue
			}
			if forHeader {
				continue
			}
			if len(cur.words) == 0 {
				literal := !w.quoted && w.expandOff < 0
				if literal && afterTime && strings.HasPrefix(w.val, "-") {
					continue // time -p
				}
				if literal && skipKeywords[w.val] {
					afterTime = w.val == "time"
					if len(cur.assigns) == 0 && len(cur.redirs) == 0 {
						continue
					}
				}
				if literal && w.val == "for" {
					forHeader = true
					continue
				}
				if literal && refusedKeywords[w.val] {
					ps.fail(w.off, "shell keyword %q is not supported by the sandbox policy (run a script file instead)", w.val)
					continue
				}
				if !w.quoted && assignmentName(w.val) != "" {
					cur.assigns = append(cur.assigns, w)
					if n := assignmentName(w.val); dangerousEnv[n] {
						ps.fail(w.off, "%s", refuseAssignment("shell command", n))
					}
					continue
				}
				if literal && w.val == "[[" {
					inTest = true
				}
			} else if inTest && w.val == "]]" {
				inTest = false
			}
			cur.words = append(cur.words, w)
			continue
		}
		if inTest {
			switch t.op {
			case "&&", "||", "(", ")", "<", ">":
				continue
			}
		}
		switch t.op {
		case "<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "&>>", "<<", "<<-", "<<<":
			if pendingRedir != "" {
				ps.fail(t.off, "shell command has a redirection without a target")
			}
			pendingRedir, redirOff = t.op, t.off
			continue
		}
		if pendingRedir != "" {
			ps.fail(redirOff, "shell command has a redirection without a target")
			pendingRedir = ""
		}
		switch t.op {
		case "|", "|&":
			finish(true)
		case "(":
			if len(cur.words) > 0 {
				ps.fail(t.off, "shell function definitions are not supported by the sandbox policy (run a script file instead)")
			}
			finish(false)
		case "\n", ";", "&", "&&", "||", ")":
			forHeader = false
			finish(false)
		default: // ;; ;& ;;& outside case
			ps.fail(t.off, "shell command contains %q outside a case statement", t.op)
			finish(false)
		}
	}
	if pendingRedir != "" {
		ps.fail(redirOff, "shell command has a redirection without a target")
	}
	finish(false)
	return ps
}

// refusedBuiltins run their arguments as code or change how names resolve.
var refusedBuiltins = map[string]string{
	"eval":      "runs its arguments as shell code",
	"exec":      "replaces the shell or rewires its descriptors",
	"source":    "runs a file as shell code",
	".":         "runs a file as shell code",
	"trap":      "runs its argument as shell code",
	"alias":     "redefines command names",
	"enable":    "loads builtins from shared libraries",
	"hash":      "redefines where commands are found",
	"builtin":   "bypasses the policy's view of the command",
	"let":       "evaluates arithmetic that can run commands",
	"declare":   "evaluates arithmetic and attributes that can run commands",
	"typeset":   "evaluates arithmetic and attributes that can run commands",
	"local":     "evaluates arithmetic and attributes that can run commands",
	"readonly":  "evaluates arithmetic and attributes that can run commands",
	"fc":        "runs commands from the history",
	"mapfile":   "runs callbacks given as shell code",
	"readarray": "runs callbacks given as shell code",
}

// safeBuiltins run inside the shell and start no program.
var safeBuiltins = set([]string{
	"cd", "pwd", "true", "false", ":", "exit", "return", "shift", "wait", "export",
	"unset", "set", "umask", "test", "[", "[[", "echo", "printf", "read", "kill",
	"getopts", "break", "continue", "times", "ulimit", "type", "unalias", "shopt",
})

// checkShell checks every command of a shell string.
func (p Policy) checkShell(s string, depth int) string {
	if depth > maxDepth {
		return fmt.Sprintf("the command wraps other commands more than %d levels deep", maxDepth)
	}
	ps := parseShell(s)
	if ps.refuse != "" {
		return ps.refuse
	}
	for i := range ps.cmds {
		if r := p.checkSimple(&ps.cmds[i], depth); r != "" {
			return r
		}
	}
	return ""
}

func (p Policy) checkSimple(c *simpleCmd, depth int) string {
	for _, r := range c.redirs {
		t := path.Clean(r.target.val)
		if strings.HasPrefix(t, "/dev/tcp/") || strings.HasPrefix(t, "/dev/udp/") || t == "/dev/tcp" || t == "/dev/udp" {
			return fmt.Sprintf("shell command redirects to %s (a network connection) at offset %d", r.target.val, r.target.off)
		}
	}
	if len(c.words) == 0 {
		return ""
	}
	words := c.words
	name := words[0]
	// "command [-p] X" runs X; "command -v X" only looks it up.
	if name.val == "command" && name.expandOff < 0 && !name.glob {
		i := 1
		for i < len(words) && strings.HasPrefix(words[i].val, "-") {
			if strings.ContainsAny(words[i].val, "vV") {
				return ""
			}
			i++
		}
		if i == len(words) {
			return ""
		}
		words = words[i:]
		name = words[0]
	}
	switch {
	case name.expandOff >= 0:
		return fmt.Sprintf("shell command name %q is expanded from a variable or substitution at offset %d; write the program name literally", name.val, name.off)
	case name.glob && name.val != "[" && name.val != "[[":
		return fmt.Sprintf("shell command name %q uses glob expansion at offset %d; write the program name literally", name.val, name.off)
	case name.brace && name.val != "{" && name.val != "}":
		return fmt.Sprintf("shell command name %q uses brace expansion at offset %d; write the program name literally", name.val, name.off)
	case name.tilde:
		return fmt.Sprintf("shell command name %q uses tilde expansion at offset %d; write the program name literally", name.val, name.off)
	}
	if why, ok := refusedBuiltins[name.val]; ok {
		return fmt.Sprintf("shell command uses builtin %q (it %s) at offset %d", name.val, why, name.off)
	}
	if safeBuiltins[name.val] {
		// bash evaluates array subscripts in names given to these builtins
		// (printf -v 'a[$(id)]', read, test -v, unset), running the substitution.
		for _, w := range words[1:] {
			if strings.Contains(w.val, "[") && (strings.Contains(w.val, "$(") || strings.Contains(w.val, "`")) {
				return fmt.Sprintf("shell command passes %q to builtin %q, whose array subscript would run a command, at offset %d", w.val, name.val, w.off)
			}
		}
		if name.val == "export" {
			for _, w := range words[1:] {
				n := w.val
				if i := strings.IndexByte(n, '='); i >= 0 {
					n = n[:i]
				}
				if dangerousEnv[n] {
					return refuseAssignment("shell command", n) + " at offset " + strconv.Itoa(w.off)
				}
			}
		}
		return ""
	}
	argv := make([]string, len(words))
	for i, w := range words {
		argv[i] = w.val
	}
	if shellSet[programName(path.Base(name.val))] && shellReadsStdin(argv) && (c.piped || c.stdinRedirected()) {
		return fmt.Sprintf("shell command feeds commands to %q through a pipe or redirection, which the policy cannot check, at offset %d", name.val, name.off)
	}
	_, r := p.checkArgv(argv, depth)
	return r
}
