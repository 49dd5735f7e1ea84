package testscript

import (
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
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
