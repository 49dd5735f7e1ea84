// Package policy is the command policy Warden applies before anything runs in
// its sandbox, and the detector for escape patterns.
//
// The policy is a first filter, not the security boundary. The boundary is the
// kernel layers core/sandbox sets up: user, PID, mount, network, IPC and UTS
// namespaces, seccomp, Landlock, no_new_privs and resource limits. The policy
// exists to refuse obviously wrong requests early, with a reason a user
// understands, and to raise escape signals for the audit log. It decides on
// names and on the text of a command; it cannot see what a program does.
//
// What the policy checks:
//   - argv[0] must be an allowed program (by name, or by absolute path),
//     resolved through PATH to an absolute path with every symbolic link
//     followed; the resolved target must be allowed too, so a link named "ls"
//     pointing at curl is refused as curl. Relative paths ("./run.sh") are
//     refused.
//   - network tools (NetworkTools) are refused unless Policy.Network is set;
//     openssl counts as a network tool only when its first argument is
//     s_client, s_server or s_time.
//   - sudo, su, doas, pkexec and runuser are always refused.
//   - wrappers are looked through and the wrapped command is checked too,
//     recursively up to a bounded depth: env, nice, nohup, timeout, setsid,
//     ionice, stdbuf, xargs, find -exec/-execdir/-ok/-okdir, and sh/bash/dash/
//     zsh/ksh -c "...". Options whose value is a command are checked as shell
//     strings: tar -I/--use-compress-program/--to-command/-F/
//     --checkpoint-action=exec=, sort --compress-program, zip -TT. env -S and
//     assignments to PATH, LD_PRELOAD and other loader or start-up variables
//     are refused.
//   - shell strings (CheckShell) are parsed into simple commands and every
//     command is checked. Command substitution ($(...) and backticks),
//     process substitution (<(...) and >(...)), eval, exec, source, ".",
//     trap, alias, command names taken from variables or built by glob, brace
//     or tilde expansion, redirections to /dev/tcp and /dev/udp, and a shell
//     fed its commands through a pipe or redirection are refused, with the
//     byte offset of the construct. Lists and pipelines (;, &&, ||, |, &,
//     newlines) are allowed when every command in them is allowed.
//
// What the policy cannot stop (the kernel layers must):
//   - an allowed interpreter or build tool (python3, node, perl, ruby, awk,
//     make, go, gcc, git, npm) runs whatever code it is given: it can open
//     sockets, spawn any binary present, or make any system call the kernel
//     layers permit. Script files given to a shell ("sh script.sh") and
//     programs read from stdin by an interpreter are not inspected.
//   - a program that is allowed by name but is something else: the policy
//     trusts names, not file contents (a copy of curl named "ls" in PATH).
//   - commands run by allowed programs from their options, configuration or
//     input: git (-c core.sshCommand=, aliases, hooks), make recipes, awk
//     system(), sed's e command, less and more (!cmd), npm scripts.
//   - wrappers it does not know (flock, watch, script, chrt, taskset, or any
//     program that runs another) if an operator adds them to the allowed list.
//   - bash features evaluated at run time from values it cannot see: array
//     subscripts and arithmetic on variables whose value holds "$(...)",
//     indirect expansion, and variables inherited from the environment. Complex bash syntax (case, function definitions, coproc) is
//     refused rather than understood.
//   - network use by allowed programs (git clone, pip, go get, npm install):
//     only the network namespace stops it.
//
// Escapes reports escape patterns (host /proc roots, container runtime
// sockets, cgroup release agents, kernel tunables, namespace, mount, module
// and ptrace tools) as stable identifiers with what matched, for the
// sandbox_violation audit entry. It is a signal, not a refusal: CheckArgv and
// CheckShell fill Decision.Escapes but do not refuse on it alone.
package policy
