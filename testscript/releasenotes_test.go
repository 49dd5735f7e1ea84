package testscript

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
	"github.com/warden-sec/warden/core/releasenotes/githubapi/githubtest"
)

// gitrepo DIR SCRIPT builds a git repository in DIR with go-git from the
// gitfixture script in file SCRIPT, and sets $MARK_name to the hash of each
// commit marked with -m name.
func cmdGitRepo(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: gitrepo DIR SCRIPT")
	}
	marks, err := gitfixture.Build(ts.MkAbs(args[0]), ts.ReadFile(args[1]))
	ts.Check(err)
	names := make([]string, 0, len(marks))
	for k := range marks {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ts.Setenv("MARK_"+k, marks[k])
		ts.Setenv("SHORT_"+k, marks[k][:7])
	}
	ts.Logf("marks: %s", strings.Join(names, " "))
}

var (
	ghMu      sync.Mutex
	ghServers = map[*testscript.TestScript]*githubtest.Server{}
)

// ghserver REPO DATA starts a GitHub REST API server on 127.0.0.1 for the
// git repository REPO with the githubtest.Data in the JSON file DATA, and
// sets $GITHUB_API to its URL. It stops when the script ends.
func cmdGHServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: ghserver REPO DATA")
	}
	var d githubtest.Data
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[1])), &d))
	srv, err := githubtest.Start(ts.MkAbs(args[0]), d)
	ts.Check(err)
	ghMu.Lock()
	ghServers[ts] = srv
	ghMu.Unlock()
	ts.Defer(func() {
		_ = srv.Close()
		ghMu.Lock()
		delete(ghServers, ts)
		ghMu.Unlock()
	})
	ts.Setenv("GITHUB_API", srv.URL)
}

// ghlog FILE writes the requests the ghserver received, one a line:
// METHOD PATH?QUERY auth=yes|no status=CODE [BODY], then the releases it holds as JSON
// lines prefixed "release ".
func cmdGHLog(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: ghlog FILE")
	}
	ghMu.Lock()
	srv := ghServers[ts]
	ghMu.Unlock()
	if srv == nil {
		ts.Fatalf("no ghserver running")
	}
	var b strings.Builder
	for _, r := range srv.Requests() {
		auth := "no"
		if r.Auth {
			auth = "yes"
		}
		fmt.Fprintf(&b, "%s %s?%s auth=%s status=%d %s\n", r.Method, r.Path, r.Query, auth, r.Status, r.Body)
	}
	for _, r := range srv.Releases() {
		j, err := json.Marshal(r)
		ts.Check(err)
		fmt.Fprintf(&b, "release %s\n", j)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o644))
}
