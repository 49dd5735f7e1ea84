package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// vcsInfo is the build info `go build` records in a git checkout.
func vcsInfo(version, rev, when, modified string) *debug.BuildInfo {
	return &debug.BuildInfo{Main: debug.Module{Path: "github.com/warden-sec/warden", Version: version},
		Settings: []debug.BuildSetting{{Key: "-buildmode", Value: "exe"}, {Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}}
}

func runVersion(t *testing.T, b BuildInfo, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"warden", "version"}, args...), Env{Stdout: &out, Stderr: &errOut, Build: b})
	if code != 0 || errOut.Len() > 0 {
		t.Fatalf("warden version: exit %d, stderr %q", code, errOut.String())
	}
	return out.String()
}

// A binary built with `go build` from a checkout, without the linker's
// values, names the commit it was built from.
func TestVersionFromVCSStamp(t *testing.T) {
	const rev = "71c0a671674a119fed0f28eb36a7968046cd199c"
	b := stamped(BuildInfo{}, vcsInfo("v0.0.0-20261208024036-71c0a671674a", rev, "2026-12-08T02:40:36Z", "false"))
	text := runVersion(t, b)
	for _, want := range []string{"warden v0.0.0-20261208024036-71c0a671674a\n", "commit " + rev + "\n", "built  2026-12-08T02:40:36Z\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("version output lacks %q:\n%s", want, text)
		}
	}

	// Uncommitted changes are said, in the text and in the JSON.
	b = stamped(BuildInfo{}, vcsInfo("v0.0.0-20261208024036-71c0a671674a+dirty", rev, "2026-12-08T02:40:36Z", "true"))
	if text := runVersion(t, b); !strings.Contains(text, "commit "+rev+" (with uncommitted changes)\n") {
		t.Errorf("a modified checkout is not said:\n%s", text)
	}
	var doc versionOutput
	if err := json.Unmarshal([]byte(runVersion(t, b, "--format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Commit != rev || !doc.Modified || doc.Date != "2026-12-08T02:40:36Z" || doc.SchemaVersion != 1 {
		t.Errorf("json %+v", doc)
	}

	// A toolchain without a stamped version (go < 1.24, or "(devel)").
	if b := stamped(BuildInfo{}, vcsInfo("(devel)", rev, "2026-12-08T02:40:36Z", "false")); b.Version != "" || b.Commit != rev {
		t.Errorf("(devel): %+v", b)
	}
	// `go install …@v1.4.0`: the module version, no VCS stamp.
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}
	if b := stamped(BuildInfo{}, installed); b.Version != "v1.4.0" || b.Commit != "" {
		t.Errorf("go install: %+v", b)
	}
}

// What the linker injected wins; the stamp only adds whether the tree of
// the same commit was modified.
func TestVersionLinkerWins(t *testing.T) {
	linked := BuildInfo{Version: "v1.2.3", Commit: "0123456789abcdef", Date: "2026-11-22T00:00:00Z"}
	if got := stamped(linked, vcsInfo("v0.0.0-x", "fedcba9876543210", "2020-01-01T00:00:00Z", "true")); got != linked {
		t.Errorf("stamp of another commit changed the linker's values: %+v", got)
	}
	got := stamped(linked, vcsInfo("v0.0.0-x", linked.Commit, "2020-01-01T00:00:00Z", "true"))
	if want := (BuildInfo{Version: "v1.2.3", Commit: linked.Commit, Date: linked.Date, Modified: true}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// main.go's own fallback says "dev" when there is no version: the
	// stamp's version replaces it.
	if got := stamped(BuildInfo{Version: "dev"}, vcsInfo("v0.0.0-y", "abc", "", "false")); got.Version != "v0.0.0-y" || got.Commit != "abc" {
		t.Errorf("dev: %+v", got)
	}
}

// Without a stamp (-buildvcs=false, or a build outside a checkout) the
// output says why the commit is unknown.
func TestVersionWithoutStamp(t *testing.T) {
	b := stamped(BuildInfo{Version: "dev"}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	text := runVersion(t, b)
	if !strings.Contains(text, "warden dev\ncommit unknown (no VCS stamp: built outside a git checkout, or with -buildvcs=false)\n") {
		t.Errorf("output:\n%s", text)
	}
	if b := stamped(BuildInfo{Version: "dev"}, nil); b != (BuildInfo{Version: "dev"}) {
		t.Errorf("no build info: %+v", b)
	}
}
