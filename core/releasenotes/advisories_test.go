package releasenotes

import (
	"reflect"
	"testing"
)

func TestAdvisoryIDs(t *testing.T) {
	ids := func(texts ...string) []string {
		var out []string
		for _, a := range advisories(texts...) {
			out = append(out, a.ID)
		}
		return out
	}
	for _, c := range []struct {
		text string
		want []string
	}{
		// Anywhere, as prose, in any case; written the canonical way.
		{"fix(parser): reject oversized headers\n\nFixes CVE-2024-12345.", []string{"CVE-2024-12345"}},
		{"fix: escape names\n\nReported as cve-2024-12345 (see\nhttps://nvd.nist.gov/vuln/detail/CVE-2024-12345).", []string{"CVE-2024-12345"}},
		{"fix: x\n\nSee GHSA-35JH-R3H4-6JHM, and ghsa-2c4m-59x8-pq4v.", []string{"GHSA-35jh-r3h4-6jhm", "GHSA-2c4m-59x8-pq4v"}},
		{"Merge pull request #9 from bob/fix-cve-2025-1234567", []string{"CVE-2025-1234567"}},
		{"fix: two\n\nCVE-2024-0001, CVE-2023-99999 and again CVE-2024-0001.", []string{"CVE-2024-0001", "CVE-2023-99999"}},
		{"fix: order\n\nGHSA-35jh-r3h4-6jhm first, then CVE-2024-0001", []string{"GHSA-35jh-r3h4-6jhm", "CVE-2024-0001"}},
		// Not ids: a year alone, too few digits, glued to a word, a GHSA
		// with letters outside GitHub's alphabet or a group short.
		{"docs: the CVE-2024 numbering scheme", nil},
		{"docs: CVE-2024-123 is not an id", nil},
		{"test: CVE-2024-12345x and xCVE-2024-12345 and CVE_2024_12345", nil},
		{"test: GHSA-35jh-r3h4-6jha GHSA-35jh-r3h4 GHSA-aaaa-bbbb-cccc", nil},
		{"chore: bump deps to sha-1234 with cve scanning", nil},
	} {
		if got := ids(c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	// The subject and the message are one source: an id in both counts once.
	if got := ids("fix: CVE-2024-12345", "fix: CVE-2024-12345\n\nFixes cve-2024-12345."); !reflect.DeepEqual(got, []string{"CVE-2024-12345"}) {
		t.Errorf("subject and message: %q", got)
	}
	a := advisories("x GHSA-35jh-r3h4-6jhm CVE-2024-12345")
	if a[0].URL != "https://github.com/advisories/GHSA-35jh-r3h4-6jhm" || a[1].URL != "https://nvd.nist.gov/vuln/detail/CVE-2024-12345" {
		t.Errorf("urls %+v", a)
	}
}

func TestMayHaveAdvisory(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "-": false, "cve": false, "CVE-": true, "xcve-": true, "Ghsa-": true, "a-b-c-cVe-1": true,
		"ghs-a": false, "fix: no advisory - just dashes - here": false,
	} {
		if got := mayHaveAdvisory(s); got != want {
			t.Errorf("mayHaveAdvisory(%q) = %v, want %v", s, got, want)
		}
	}
}
