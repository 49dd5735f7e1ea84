package testscript

import (
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/warden-sec/warden/commands"
	"github.com/warden-sec/warden/core/sandbox"
)

// WARDEN_TEST_HOST pins what `warden audit` sees of the host's sandbox
// layers, so scripts do not depend on the kernel they run on: "full" has
// every layer and an unprivileged user, "bare" lacks Landlock, user
// namespaces and cgroup v2 and runs as root. Unset, the real probe runs.
func init() {
	switch os.Getenv("WARDEN_TEST_HOST") {
	case "full":
		commands.AuditHostProbe = func() sandbox.Host {
			return sandbox.Host{OS: "linux", Supported: true, Seccomp: true, LandlockABI: 4, Limits: "cgroup2",
				Namespaces: map[string]bool{"user": true, "pid": true, "mount": true, "net": true, "ipc": true, "uts": true, "cgroup": true}}
		}
	case "bare":
		commands.AuditHostProbe = func() sandbox.Host {
			return sandbox.Host{OS: "linux", Supported: true, Seccomp: true, LandlockABI: 0, Limits: "rlimit", Root: true,
				LimitsNotes: []string{"cgroup v2: no unified hierarchy"},
				Namespaces:  map[string]bool{"user": false, "pid": true, "mount": true, "net": true, "ipc": true, "uts": true, "cgroup": true}}
		}
	}
}

// gwurl [-tls] ADDRFILE VAR sets VAR to the base URL of a gateway from
// the file warden serve wrote with --addr-file.
func cmdGWURL(ts *testscript.TestScript, neg bool, args []string) {
	tlsOn := len(args) > 0 && args[0] == "-tls"
	if tlsOn {
		args = args[1:]
	}
	if len(args) != 2 || neg {
		ts.Fatalf("usage: gwurl [-tls] ADDRFILE VAR")
	}
	ts.Setenv(args[1], gatewayURL(ts, args[0], tlsOn))
}

// badgw VAR serves a gateway that gets everything wrong on 127.0.0.1
// until the script ends: it answers unauthenticated API calls and
// /metrics, sends no security headers and accepts any WebSocket origin.
func cmdBadGW(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: badgw VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("Upgrade", "websocket")
			w.Header().Set("Connection", "Upgrade")
			w.WriteHeader(http.StatusSwitchingProtocols)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	})}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], "http://"+ln.Addr().String())
}
