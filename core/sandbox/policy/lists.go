package policy

// shells run command strings given with -c; the policy parses those strings.
var shells = []string{"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"}

var defaultAllowed = []string{
	// shells
	"sh", "bash", "dash", "zsh",
	// GNU coreutils, without chroot, mknod, chcon, runcon and stdbuf
	"[", "arch", "b2sum", "base32", "base64", "basename", "basenc", "cat", "chgrp",
	"chmod", "chown", "cksum", "comm", "cp", "csplit", "cut", "date", "dd", "df",
	"dir", "dircolors", "dirname", "du", "echo", "env", "expand", "expr", "factor",
	"false", "fmt", "fold", "groups", "head", "hostid", "id", "install", "join",
	"link", "ln", "logname", "ls", "md5sum", "mkdir", "mkfifo", "mktemp", "mv",
	"nice", "nl", "nohup", "nproc", "numfmt", "od", "paste", "pathchk", "pr",
	"printenv", "printf", "ptx", "pwd", "readlink", "realpath", "rm", "rmdir",
	"seq", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "shred",
	"shuf", "sleep", "sort", "split", "stat", "stty", "sum", "sync", "tac", "tail",
	"tee", "test", "timeout", "touch", "tr", "true", "truncate", "tsort", "tty",
	"uname", "unexpand", "uniq", "unlink", "uptime", "users", "vdir", "wc", "who",
	"whoami", "yes",
	// findutils, diffutils, text tools
	"find", "xargs", "grep", "egrep", "fgrep", "sed", "awk", "gawk", "mawk", "nawk",
	"diff", "diff3", "sdiff", "cmp", "patch", "less", "more", "jq", "file", "which",
	"xxd", "hexdump", "column", "iconv", "kill",
	// archives and compression
	"tar", "gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat", "xz", "unxz",
	"xzcat", "zstd", "unzstd", "zstdcat", "unzip", "zip",
	// development tools and interpreters
	"git", "make", "python3", "python", "node", "nodejs", "npm", "npx", "go",
	"gofmt", "gcc", "cc", "g++", "c++", "clang", "clang++", "ruby", "perl",
}

var networkTools = []string{
	"curl", "wget", "wget2", "nc", "ncat", "netcat", "socat", "ssh", "scp", "sftp",
	"ssh-keyscan", "sshpass", "rsync", "telnet", "ftp", "tftp", "lftp", "ncftp",
	"rsh", "rlogin", "rcp", "nmap", "dig", "nslookup", "host", "whois", "nsupdate",
	"ping", "ping6", "arping", "hping3", "traceroute", "traceroute6", "tracepath",
	"mtr", "aria2c", "axel", "http", "https", "httpie", "xh", "curlie",
	"websocat", "wscat", "grpcurl", "tcpdump", "tshark",
}

// openssl is a network tool only for these subcommands.
var opensslNetwork = map[string]bool{"s_client": true, "s_server": true, "s_time": true}

// privileged programs change user or privileges; they are never allowed.
var privileged = map[string]bool{"sudo": true, "su": true, "doas": true, "pkexec": true, "runuser": true}

// DefaultAllowed returns the programs a Policy with a nil Allowed list permits:
// the shells, GNU coreutils (without chroot, mknod, chcon, runcon, stdbuf),
// findutils, diffutils, grep, sed, awk, jq, less, patch, the usual archive and
// compression tools, and the interpreters and build tools an agent's tools
// normally use (git, make, python3, node, npm, go, gcc, clang, ruby, perl).
// It holds no network tool. The slice is a fresh copy.
func DefaultAllowed() []string { return append([]string(nil), defaultAllowed...) }

// NetworkTools returns the programs refused when the sandbox has no network.
// openssl is not listed: it is refused only when its first argument is
// s_client, s_server or s_time. The slice is a fresh copy.
func NetworkTools() []string { return append([]string(nil), networkTools...) }

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	shellSet   = set(shells)
	networkSet = set(networkTools)
)
