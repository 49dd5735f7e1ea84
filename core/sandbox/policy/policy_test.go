//go:build !windows

package policy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeRoot builds a small Debian-like tree: /bin -> usr/bin, python3 ->
// python3.13, sh -> dash, which -> /etc/alternatives/which (absolute, so the
// walk must stay inside the root) -> /usr/bin/which.debianutils.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/local/bin", "etc/alternatives", "home"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{
		"ls", "cat", "echo", "wc", "sort", "grep", "git", "python3.13", "dash", "bash",
		"env", "find", "xargs", "timeout", "nice", "curl", "wget", "nmap", "openssl",
		"which.debianutils", "sudo", "nsenter", "gcc-14", "tar", "gzip",
	} {
		if err := os.WriteFile(filepath.Join(root, "usr/bin", name), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin", "notexec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"bin":                    "usr/bin",
		"usr/bin/python3":        "python3.13",
		"usr/bin/sh":             "dash",
		"usr/bin/which":          "/etc/alternatives/which",
		"etc/alternatives/which": "/usr/bin/which.debianutils",
		"usr/bin/gcc":            "gcc-14",
		"usr/local/bin/loop":     "loop",
	}
	for link, target := range links {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func withCurl() []string { return append(DefaultAllowed(), "curl", "wget", "openssl") }

func TestCheckArgv(t *testing.T) {
	root := fakeRoot(t)
	tests := []struct {
		name    string
		argv    []string
		network bool
		allowed []string
		want    []string // resolved argv when allowed
		refuse  string   // substring of the reason when refused
	}{
		{name: "ls", argv: []string{"ls", "-la"}, want: []string{"/usr/bin/ls", "-la"}},
		{name: "python3 through a versioned symlink", argv: []string{"python3", "-c", "print(1)"}, want: []string{"/usr/bin/python3.13", "-c", "print(1)"}},
		{name: "git", argv: []string{"git", "status"}, want: []string{"/usr/bin/git", "status"}},
		{name: "sh -c pipeline", argv: []string{"sh", "-c", "ls | wc -l"}, want: []string{"/usr/bin/dash", "-c", "ls | wc -l"}},
		{name: "absolute path through a symlinked dir", argv: []string{"/bin/ls"}, want: []string{"/usr/bin/ls"}},
		{name: "absolute links stay inside root", argv: []string{"which", "ls"}, want: []string{"/usr/bin/which.debianutils", "ls"}},
		{name: "dash version suffix", argv: []string{"gcc", "-c", "x.c"}, want: []string{"/usr/bin/gcc-14", "-c", "x.c"}},
		{name: "curl without network", argv: []string{"curl", "http://x"}, refuse: `"curl" is a network tool and this sandbox has no network (set sandbox.network: true)`},
		{name: "wget without network", argv: []string{"wget"}, allowed: withCurl(), refuse: "sandbox.network: true"},
		{name: "curl with network but not allowed", argv: []string{"curl", "http://x"}, network: true, refuse: `"curl" is not in the allowed programs (sandbox.allowed_binaries)`},
		{name: "curl with network and allowed", argv: []string{"curl", "http://x"}, network: true, allowed: withCurl(), want: []string{"/usr/bin/curl", "http://x"}},
		{name: "wget with network and allowed", argv: []string{"wget", "http://x"}, network: true, allowed: withCurl(), want: []string{"/usr/bin/wget", "http://x"}},
		{name: "nmap", argv: []string{"nmap", "10.0.0.1"}, network: true, refuse: `"nmap" is not in the allowed programs (sandbox.allowed_binaries)`},
		{name: "nmap without network", argv: []string{"nmap"}, refuse: "network tool"},
		{name: "not installed", argv: []string{"perl", "-e", "1"}, refuse: `"perl" was not found in PATH`},
		{name: "not executable", argv: []string{"/usr/bin/notexec"}, allowed: []string{"notexec"}, refuse: "not an executable file"},
		{name: "relative path", argv: []string{"./run.sh"}, refuse: "relative path"},
		{name: "empty", argv: nil, refuse: "empty"},
		{name: "sudo is never allowed", argv: []string{"sudo", "ls"}, allowed: append(DefaultAllowed(), "sudo"), refuse: "never allowed"},
		{name: "openssl digest", argv: []string{"openssl", "dgst", "x"}, allowed: withCurl(), want: []string{"/usr/bin/openssl", "dgst", "x"}},
		{name: "openssl s_client", argv: []string{"openssl", "s_client", "-connect", "x:443"}, allowed: withCurl(), refuse: `"openssl s_client" is a network tool`},
		{name: "allowed by path", argv: []string{"ls"}, allowed: []string{"/usr/bin/ls"}, want: []string{"/usr/bin/ls"}},
		{name: "not allowed by path", argv: []string{"cat", "x"}, allowed: []string{"/usr/bin/ls"}, refuse: "not in the allowed programs"},
		{name: "symlink loop", argv: []string{"loop"}, allowed: []string{"loop"}, refuse: "not found"},

		// wrappers are looked through
		{name: "env curl", argv: []string{"env", "curl", "x"}, refuse: `"curl" is a network tool`},
		{name: "env with options and assignments", argv: []string{"env", "-i", "-u", "HOME", "FOO=1", "ls"}, want: []string{"/usr/bin/env", "-i", "-u", "HOME", "FOO=1", "/usr/bin/ls"}},
		{name: "env PATH", argv: []string{"env", "PATH=/tmp", "ls"}, refuse: "env sets PATH"},
		{name: "env LD_PRELOAD", argv: []string{"env", "LD_PRELOAD=/w/x.so", "ls"}, refuse: "env sets LD_PRELOAD"},
		{name: "env -S", argv: []string{"env", "-S", "curl x"}, refuse: "env -S"},
		{name: "env alone", argv: []string{"env"}, want: []string{"/usr/bin/env"}},
		{name: "timeout curl", argv: []string{"timeout", "-s", "KILL", "5", "curl", "x"}, refuse: `"curl" is a network tool`},
		{name: "timeout ls", argv: []string{"timeout", "-k5", "5", "ls"}, want: []string{"/usr/bin/timeout", "-k5", "5", "/usr/bin/ls"}},
		{name: "nice curl", argv: []string{"nice", "-n", "5", "curl"}, refuse: `"curl" is a network tool`},
		{name: "nice obsolete form", argv: []string{"nice", "-10", "wget"}, refuse: `"wget" is a network tool`},
		{name: "xargs curl", argv: []string{"xargs", "-n", "1", "-P4", "curl"}, refuse: `"curl" is a network tool`},
		{name: "xargs -I ls", argv: []string{"xargs", "-I", "{}", "ls", "{}"}, want: []string{"/usr/bin/xargs", "-I", "{}", "/usr/bin/ls", "{}"}},
		{name: "find -exec curl", argv: []string{"find", ".", "-exec", "curl", "{}", ";"}, refuse: `"curl" is a network tool`},
		{name: "find -execdir second", argv: []string{"find", ".", "-exec", "ls", "{}", "+", "-execdir", "nmap", ";"}, refuse: "nmap"},
		{name: "find -exec ls", argv: []string{"find", ".", "-name", "*.go", "-exec", "ls", "{}", "+"}, want: []string{"/usr/bin/find", ".", "-name", "*.go", "-exec", "/usr/bin/ls", "{}", "+"}},
		{name: "find -exec found files", argv: []string{"find", ".", "-exec", "{}", ";"}, refuse: "not in the allowed programs"},
		{name: "bash -c curl", argv: []string{"bash", "-c", "curl x"}, refuse: `bash -c: "curl" is a network tool`},
		{name: "bash -lc", argv: []string{"bash", "-lc", "ls"}, want: []string{"/usr/bin/bash", "-lc", "ls"}},
		{name: "bash -c without a string", argv: []string{"bash", "-c"}, refuse: "needs a command string"},
		{name: "sh -c substitution", argv: []string{"sh", "-c", "echo $(id)"}, refuse: `sh -c: shell command contains command substitution "$(" at offset 5`},
		{name: "nested wrappers", argv: []string{"env", "timeout", "5", "sh", "-c", "xargs env curl"}, refuse: `"curl" is a network tool`},
		{name: "tar -I gzip", argv: []string{"tar", "-I", "gzip -9", "-cf", "x.tgz", "."}, want: []string{"/usr/bin/tar", "-I", "gzip -9", "-cf", "x.tgz", "."}},
		{name: "tar -I curl", argv: []string{"tar", "-Icurl", "-xf", "x"}, refuse: `tar -I: "curl" is a network tool`},
		{name: "tar --to-command", argv: []string{"tar", "-xf", "x", "--to-command=sh -c 'wget x'"}, refuse: `"wget" is a network tool`},
		{name: "tar checkpoint exec", argv: []string{"tar", "-cf", "x", "--checkpoint=1", "--checkpoint-action=exec=eval id", "."}, refuse: `builtin "eval"`},
		{name: "sort --compress-program", argv: []string{"sort", "--compress-program", "nmap", "x"}, refuse: "nmap"},
		{name: "nesting is bounded", argv: slices.Concat(slices.Repeat([]string{"env"}, 20), []string{"ls"}), refuse: "levels deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Root: root, Network: tt.network, Allowed: tt.allowed}
			d := p.CheckArgv(tt.argv)
			if tt.refuse != "" {
				if d.Allowed || !strings.Contains(d.Reason, tt.refuse) {
					t.Fatalf("CheckArgv(%q) = allowed %v, reason %q; want refused with %q", tt.argv, d.Allowed, d.Reason, tt.refuse)
				}
				if d.Argv != nil {
					t.Errorf("refused decision has Argv %q", d.Argv)
				}
				return
			}
			if !d.Allowed {
				t.Fatalf("CheckArgv(%q) refused: %s", tt.argv, d.Reason)
			}
			if !slices.Equal(d.Argv, tt.want) {
				t.Errorf("Argv = %q, want %q", d.Argv, tt.want)
			}
		})
	}
}

// A program in PATH named like an allowed one but linking to a network tool
// is refused as that tool.
func TestSymlinkToNetworkTool(t *testing.T) {
	dir := t.TempDir()
	curl := filepath.Join(dir, "curl")
	if err := os.WriteFile(curl, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(curl, filepath.Join(dir, "ls")); err != nil {
		t.Fatal(err)
	}
	p := Policy{Path: dir}
	d := p.CheckArgv([]string{"ls", "-la"})
	if d.Allowed || !strings.Contains(d.Reason, `"ls" resolves to `+curl) || !strings.Contains(d.Reason, `"curl" is a network tool`) {
		t.Errorf("no network: allowed %v, reason %q", d.Allowed, d.Reason)
	}
	p.Network = true
	d = p.CheckArgv([]string{"ls"})
	if d.Allowed || !strings.Contains(d.Reason, `"curl" is not in the allowed programs`) {
		t.Errorf("network, curl not allowed: allowed %v, reason %q", d.Allowed, d.Reason)
	}
	p.Allowed = []string{"ls", "curl"}
	if d = p.CheckArgv([]string{"ls"}); !d.Allowed || d.Argv[0] != curl {
		t.Errorf("network, curl allowed: allowed %v, reason %q, argv %q", d.Allowed, d.Reason, d.Argv)
	}
}

// The host's own tools, when present, pass the default policy.
func TestHostSystem(t *testing.T) {
	var p Policy
	for _, cmd := range []string{"ls -la", "sh -c 'ls | wc -l'", "echo hi | sort"} {
		d := p.CheckShell(cmd)
		if !d.Allowed {
			if strings.Contains(d.Reason, "not found") {
				t.Skipf("host lacks a tool: %s", d.Reason)
			}
			t.Errorf("CheckShell(%q) refused: %s", cmd, d.Reason)
			continue
		}
		if !filepath.IsAbs(d.Argv[0]) {
			t.Errorf("Argv[0] = %q, want an absolute path", d.Argv[0])
		}
	}
}

func TestLists(t *testing.T) {
	allowed := DefaultAllowed()
	for _, n := range NetworkTools() {
		if slices.Contains(allowed, n) {
			t.Errorf("DefaultAllowed contains network tool %q", n)
		}
	}
	for _, n := range []string{"sh", "bash", "ls", "cat", "find", "grep", "sed", "awk", "tar", "git", "make", "python3", "node", "go", "gcc", "jq", "xargs", "timeout", "nice"} {
		if !slices.Contains(allowed, n) {
			t.Errorf("DefaultAllowed lacks %q", n)
		}
	}
	for _, n := range []string{"chroot", "mknod", "sudo", "nsenter", "mount"} {
		if slices.Contains(allowed, n) {
			t.Errorf("DefaultAllowed contains %q", n)
		}
	}
	allowed[0] = "changed"
	if DefaultAllowed()[0] == "changed" {
		t.Error("DefaultAllowed returns a shared slice")
	}
	if slices.Contains(NetworkTools(), "openssl") {
		t.Error("openssl is only a network tool with s_client/s_server")
	}
}
