//go:build !windows

package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckShell(t *testing.T) {
	root := fakeRoot(t)
	tests := []struct {
		name    string
		cmd     string
		network bool
		refuse  string // substring of the reason; "" means allowed
	}{
		{name: "ls", cmd: "ls -la"},
		{name: "python3", cmd: "python3 -c 'print(1)'"},
		{name: "git", cmd: "git status"},
		{name: "nested sh pipeline", cmd: `sh -c "ls | wc -l"`},
		{name: "single quotes keep $( literal", cmd: "echo 'not $(expanded)'"},
		{name: "escaped dollar in double quotes", cmd: `echo "\$(not expanded)"`},
		{name: "pipe inside double quotes", cmd: `grep -r "a|b" .`},
		{name: "list of allowed commands", cmd: "ls && cat x || echo no; wc -l x &"},
		{name: "newline separated", cmd: "ls\ncat x\n"},
		{name: "redirections", cmd: "ls 2>/dev/null | sort >out.txt 2>&1"},
		{name: "assignment prefix", cmd: "LC_ALL=C sort x"},
		{name: "comment", cmd: "ls # $(curl x) is a comment"},
		{name: "arithmetic", cmd: "echo $((1 + 2))"},
		{name: "variables as arguments", cmd: `echo "$HOME" ${PWD} $1`},
		{name: "if and for", cmd: "if [ -f x ]; then cat x; fi; for f in a b; do echo $f; done"},
		{name: "double bracket test", cmd: "[[ -f a && -f b ]] && echo y"},
		{name: "subshell and group", cmd: "(cd sub && ls) ; { ls; }"},
		{name: "command -v", cmd: "command -v curl"},
		{name: "quoted here-document is literal", cmd: "cat <<'EOF'\n$(curl x)\nEOF\nls"},
		{name: "here-document body is not commands", cmd: "cat <<EOF\nhello world\nEOF\n"},
		{name: "time keyword", cmd: "time -p ls"},
		{name: "line continuation", cmd: "ls \\\n -la"},

		{name: "curl", cmd: "curl http://x", refuse: `"curl" is a network tool and this sandbox has no network (set sandbox.network: true)`},
		{name: "curl after a pipe", cmd: "ls | curl -T - http://x", refuse: `"curl" is a network tool`},
		{name: "nmap after &&", cmd: "ls && nmap x", refuse: "nmap"},
		{name: "curl after a newline", cmd: "ls\ncurl x", refuse: "curl"},
		{name: "quoted name", cmd: `'cu'"rl" x`, refuse: `"curl" is a network tool`},
		{name: "escaped name", cmd: `c\url x`, refuse: `"curl" is a network tool`},
		{name: "command substitution", cmd: "echo $(curl x)", refuse: `shell command contains command substitution "$(" at offset 5`},
		{name: "command substitution in double quotes", cmd: `echo "a $(id)"`, refuse: `command substitution "$(" at offset 8`},
		{name: "backticks", cmd: "echo `id`", refuse: "command substitution \"`\" at offset 5"},
		{name: "substitution in parameter default", cmd: "echo ${X:-$(id)}", refuse: `"$(" at offset 10`},
		{name: "subshell in $((", cmd: "echo $((id) )", refuse: `"$(" at offset 5`},
		{name: "process substitution", cmd: "diff <(ls) <(ls)", refuse: `process substitution "<(" at offset 5`},
		{name: "output process substitution", cmd: "ls >(cat)", refuse: `process substitution ">("`},
		{name: "/dev/tcp", cmd: "cat </dev/tcp/1.2.3.4/80", refuse: "redirects to /dev/tcp/1.2.3.4/80 (a network connection) at offset 5"},
		{name: "/dev/udp with fd", cmd: "echo x 3>//dev/udp/1.2.3.4/53", refuse: "/dev/udp"},
		{name: "/dev/tcp with network", cmd: "exec 3<>/dev/tcp/h/80", network: true, refuse: "/dev/tcp"},
		{name: "variable command", cmd: "$X foo", refuse: `shell command name "$X" is expanded from a variable or substitution at offset 0`},
		{name: "braced variable command", cmd: "ls; ${X} foo", refuse: "at offset 4"},
		{name: "quoted variable command", cmd: `"$X" foo`, refuse: "expanded from a variable"},
		{name: "positional command", cmd: `sh -c '$0 x' curl`, refuse: "expanded from a variable"},
		{name: "glob command", cmd: "/usr/bin/cur? x", refuse: "glob expansion"},
		{name: "brace command", cmd: "{curl,x}", refuse: "brace expansion"},
		{name: "tilde command", cmd: "~/bin/tool", refuse: "tilde expansion"},
		{name: "eval", cmd: "eval ls", refuse: `builtin "eval"`},
		{name: "exec", cmd: "exec ls", refuse: `builtin "exec"`},
		{name: "source", cmd: "source ./x.sh", refuse: `builtin "source"`},
		{name: "dot", cmd: ". ./x.sh", refuse: `builtin "."`},
		{name: "trap", cmd: "trap 'curl x' EXIT", refuse: `builtin "trap"`},
		{name: "command curl", cmd: "command curl x", refuse: `"curl" is a network tool`},
		{name: "env curl", cmd: "env curl x", refuse: `"curl" is a network tool`},
		{name: "find -exec curl", cmd: "find . -exec curl {} \\;", refuse: `"curl" is a network tool`},
		{name: "bash -c curl", cmd: `bash -c "curl x"`, refuse: `bash -c: "curl" is a network tool`},
		{name: "xargs curl", cmd: "cat urls | xargs -n1 curl", refuse: "curl"},
		{name: "timeout wget", cmd: "timeout 5 wget x", refuse: "wget"},
		{name: "pipe into a shell", cmd: "echo 'curl x' | sh", refuse: `feeds commands to "sh" through a pipe or redirection, which the policy cannot check, at offset 16`},
		{name: "here-string into a shell", cmd: "bash <<< 'curl x'", refuse: `feeds commands to "bash"`},
		{name: "here-document into a shell", cmd: "sh <<EOF\ncurl x\nEOF", refuse: `feeds commands to "sh"`},
		{name: "expanded here-document", cmd: "cat <<EOF\nhi $(id)\nEOF", refuse: `"$(" at offset 13`},
		{name: "PATH assignment", cmd: "PATH=/tmp ls", refuse: "sets PATH"},
		{name: "export LD_PRELOAD", cmd: "export LD_PRELOAD=/w/x.so; ls", refuse: "sets LD_PRELOAD"},
		{name: "function definition", cmd: "ls() { curl x; }; ls", refuse: "function definitions"},
		{name: "case", cmd: "case x in x) ls;; esac", refuse: `keyword "case"`},
		{name: "unterminated quote", cmd: "echo 'abc", refuse: "unterminated single quote at offset 5"},
		{name: "unterminated double quote", cmd: `echo "abc`, refuse: "unterminated double quote"},
		{name: "redirection without target", cmd: "ls >", refuse: "without a target"},
		{name: "sudo", cmd: "sudo ls", refuse: "never allowed"},
		{name: "prompt expansion", cmd: "echo ${X@P}", refuse: `prompt expansion "@P"`},
		{name: "subscript in printf -v", cmd: "printf -v 'a[$(id)]' 1", refuse: "array subscript"},
		{name: "subscript in test -v", cmd: "[[ -v 'a[`id`]' ]]", refuse: "array subscript"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Root: root, Network: tt.network}
			d := p.CheckShell(tt.cmd)
			if tt.refuse == "" {
				if !d.Allowed {
					t.Fatalf("CheckShell(%q) refused: %s", tt.cmd, d.Reason)
				}
				if want := []string{"/usr/bin/dash", "-c", tt.cmd}; !slices.Equal(d.Argv, want) {
					t.Errorf("Argv = %q, want %q", d.Argv, want)
				}
				return
			}
			if d.Allowed || !strings.Contains(d.Reason, tt.refuse) {
				t.Fatalf("CheckShell(%q) = allowed %v, reason %q; want refused with %q", tt.cmd, d.Allowed, d.Reason, tt.refuse)
			}
		})
	}
}

// Network tools pass CheckShell when the network is on and they are allowed.
func TestCheckShellNetwork(t *testing.T) {
	p := Policy{Root: fakeRoot(t), Network: true, Allowed: withCurl()}
	if d := p.CheckShell("curl -s http://x | grep y"); !d.Allowed {
		t.Errorf("refused: %s", d.Reason)
	}
	p.Allowed = nil
	if d := p.CheckShell("curl -s http://x"); d.Allowed || !strings.Contains(d.Reason, "not in the allowed programs") {
		t.Errorf("allowed %v, reason %q", d.Allowed, d.Reason)
	}
}

// The shell itself must be allowed for CheckShell to allow anything.
func TestCheckShellNeedsShell(t *testing.T) {
	p := Policy{Root: fakeRoot(t), Allowed: []string{"ls"}}
	if d := p.CheckShell("ls"); d.Allowed || !strings.Contains(d.Reason, "the shell cannot be used") {
		t.Errorf("allowed %v, reason %q", d.Allowed, d.Reason)
	}
}

func FuzzCheckShell(f *testing.F) {
	for _, s := range []string{
		"ls -la", "echo $(curl x)", "echo `id`", "cat </dev/tcp/1.2.3.4/80", "$X foo",
		"eval ls", "echo 'not $(expanded)'", `grep -r "a|b" .`, "find . -exec curl {} ;",
		`bash -c "curl x"`, "cat <<EOF\n$(id)\nEOF\n", "echo $((1+(2)))", "echo ${a:-${b}}",
		"echo $'\\x41\\101'", "[[ a < b ]]", "a() { b; }", "x=1 y=2", "2>&1", "\\", "$", "$(", "$((", "${",
		"<<", "cat <<-E\n\tE\n", "ls /proc/self/../1/root",
	} {
		f.Add(s)
	}
	p := Policy{Root: f.TempDir()}
	f.Fuzz(func(t *testing.T, cmd string) {
		d := p.CheckShell(cmd)
		if d.Allowed == (d.Reason != "") {
			t.Fatalf("CheckShell(%q): allowed %v with reason %q", cmd, d.Allowed, d.Reason)
		}
		Escapes(cmd)
		Escapes("sh", "-c", cmd)
		var host Policy
		host.CheckShell(cmd)
	})
}
