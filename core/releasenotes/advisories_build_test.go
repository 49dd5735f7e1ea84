package releasenotes_test

import (
	"testing"

	"github.com/warden-sec/warden/core/releasenotes"
	"github.com/warden-sec/warden/core/releasenotes/gitfixture"
	"github.com/warden-sec/warden/core/releasenotes/history"
)

// A commit that names an advisory only in the prose of its body is a
// security change, like one that names it in its subject or a footer; a
// mere year or a malformed id is not.
func TestSecurityFromBodyProse(t *testing.T) {
	dir := t.TempDir()
	if _, err := gitfixture.Build(dir, `author Alice Maintainer <alice@example.com>
commit feat: initial import
atag v1.0.0
commit fix(parser): reject oversized headers\n\nA header over 64 KiB made the parser allocate without bound.\nFixes CVE-2024-12345.
commit fix: escape user names\n\nreported privately, tracked as ghsa-35jh-r3h4-6jhm
commit update the readme\n\nMentions the CVE-2024 numbering and CVE-2024-123, which are no ids.
commit fix(deps): bump yaml\n\nFixes: CVE-2026-1234
atag v1.1.0
`); err != nil {
		t.Fatal(err)
	}
	n := generate(t, dir, history.Options{}, releasenotes.Options{Config: releasenotes.DefaultConfig()})
	got := map[string][]string{}
	for _, e := range n.Security {
		for _, a := range e.Advisories {
			got[e.Description] = append(got[e.Description], a.ID)
		}
	}
	want := map[string][]string{
		"reject oversized headers": {"CVE-2024-12345"},
		"escape user names":        {"GHSA-35jh-r3h4-6jhm"},
		"bump yaml":                {"CVE-2026-1234"},
	}
	if len(n.Security) != len(want) {
		t.Errorf("%d entries under Security, want %d: %v", len(n.Security), len(want), got)
	}
	for d, ids := range want {
		if len(got[d]) != 1 || got[d][0] != ids[0] {
			t.Errorf("%q: advisories %v, want %v", d, got[d], ids)
		}
	}
}
