package osv

import (
	"strings"
	"testing"
)

func rec(t *testing.T, js string) *Record {
	t.Helper()
	r, err := ParseRecord("test.json", []byte(js))
	if err != nil {
		t.Fatalf("ParseRecord: %v", err)
	}
	return r
}

// one builds a record with one affected package and the given ranges/versions JSON.
func one(t *testing.T, eco, name, body string) *Record {
	return rec(t, `{"id":"TEST-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"`+eco+`","name":"`+name+`"},`+body+`}]}`)
}

type want map[string]bool // version -> affected

func expect(t *testing.T, r *Record, eco, name string, w want) {
	t.Helper()
	for v, aff := range w {
		if got := r.Affects(eco, name, v); got != aff {
			t.Errorf("%s %s@%s: affected=%v, want %v", eco, name, v, got, aff)
		}
	}
}

func TestRangeEvents(t *testing.T) {
	// introduced/fixed, given out of order, two windows.
	r := one(t, "npm", "x", `"ranges":[{"type":"SEMVER","events":[{"fixed":"2.0.0"},{"introduced":"3.0.0"},{"introduced":"1.0.0"},{"fixed":"3.1.0"}]}]`)
	expect(t, r, "npm", "x", want{"0.9.0": false, "1.0.0": true, "1.9.9": true, "2.0.0": false, "2.5.0": false, "3.0.0": true, "3.0.9": true, "3.1.0": false, "4.0.0": false})

	// introduced 0 and last_affected: the boundary itself is affected.
	r = one(t, "npm", "x", `"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"last_affected":"1.2.3"}]}]`)
	expect(t, r, "npm", "x", want{"0.0.1": true, "1.2.3": true, "1.2.4": false})

	// introduced only: everything from there on.
	r = one(t, "npm", "x", `"ranges":[{"type":"SEMVER","events":[{"introduced":"2.0.0"}]}]`)
	expect(t, r, "npm", "x", want{"1.9.9": false, "2.0.0": true, "99.0.0": true})

	// limit: versions at or above every limit are out.
	r = one(t, "npm", "x", `"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"limit":"1.5.0"}]}]`)
	expect(t, r, "npm", "x", want{"1.4.9": true, "1.5.0": false, "2.0.0": false})

	// pre-releases sort before their release.
	r = one(t, "npm", "x", `"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0-alpha"},{"fixed":"1.0.0"}]}]`)
	expect(t, r, "npm", "x", want{"1.0.0-alpha": true, "1.0.0-beta.2": true, "1.0.0-rc.1": true, "1.0.0": false, "0.9.0": false})

	// several ranges and a GIT range first: the GIT range is skipped,
	// the ECOSYSTEM range still counts; versions[] lists exact ones.
	r = one(t, "npm", "x", `"ranges":[{"type":"GIT","repo":"https://example.com/x.git","events":[{"introduced":"abc"},{"fixed":"def"}]},{"type":"ECOSYSTEM","events":[{"introduced":"5.0.0"},{"fixed":"5.2.0"}]}],"versions":["0.1.0"]`)
	expect(t, r, "npm", "x", want{"0.1.0": true, "5.1.0": true, "5.2.0": false, "abc": false})

	// another package or ecosystem is not affected.
	expect(t, r, "npm", "y", want{"5.1.0": false})
	expect(t, r, "PyPI", "x", want{"5.1.0": false})
}

func TestWithdrawnAndSeveralAffected(t *testing.T) {
	r := rec(t, `{"id":"GHSA-w","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z",
		"affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`)
	if r.Affects("npm", "x", "1.0.0") {
		t.Error("a withdrawn record affects nothing")
	}
	r = rec(t, `{"id":"GHSA-m","modified":"2024-01-01T00:00:00Z","affected":[
		{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.1.0"}]}]},
		{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"2.0.0"},{"fixed":"2.0.5"}]}]},
		{"package":{"ecosystem":"Debian:12","name":"x"},"versions":["9.9"]}]}`)
	expect(t, r, "npm", "x", want{"1.0.5": true, "1.5.0": false, "2.0.4": true, "2.0.5": false})
	expect(t, r, "Debian", "x", want{"9.9": true})
	if got := strings.Join(r.FixedVersions("npm", "x"), ","); got != "1.1.0,2.0.5" {
		t.Errorf("fixed versions %q", got)
	}
}

// Version ordering per ecosystem, where a naive comparison goes wrong.
func TestEcosystemOrdering(t *testing.T) {
	cases := []struct {
		eco, name, intro, fixed string
		in, out                 []string
	}{
		// PyPI (PEP 440): pre-releases, post-releases, epochs, normalisation.
		{"PyPI", "django", "4.0", "4.2.1", []string{"4.0", "4.1.9", "4.2", "4.2.0", "4.2.1rc1", "4.2.1.dev1", "4.2.1a1"}, []string{"3.2.19", "4.2.1", "4.2.1.post1", "1!1.0", "4.10"}},
		// PyPI names are compared in PEP 503 form.
		{"PyPI", "Zope.Interface", "0", "6.0", []string{"5.5"}, []string{"6.0"}},
		// Go: semver with the v stripped; pseudo-versions order by their base.
		{"Go", "golang.org/x/net", "0", "0.17.0", []string{"0.16.0", "0.0.0-20230101000000-abcdefabcdef", "0.17.0-rc.1"}, []string{"0.17.0", "0.100.0"}},
		// npm: numeric, not lexical, components.
		{"npm", "lodash", "4.0.0", "4.17.21", []string{"4.9.0", "4.17.20"}, []string{"4.17.21", "4.100.0", "10.0.0"}},
		// crates.io: semver pre-release ordering.
		{"crates.io", "time", "0.2.23", "0.3.0", []string{"0.2.23", "0.2.27", "0.3.0-alpha.1"}, []string{"0.2.22", "0.3.0", "0.11.0"}},
		// RubyGems: a letter makes a pre-release; more segments sort after.
		{"RubyGems", "rack", "2.0.0", "2.2.4", []string{"2.0.0", "2.2.3.1", "2.2.4.rc1", "2.2.4.beta"}, []string{"1.9.9", "2.2.4", "2.2.10", "2.2.4.1"}},
		// Packagist: "v" prefixes and stability suffixes.
		{"Packagist", "monolog/monolog", "2.0.0", "2.9.2", []string{"2.9.1", "2.9.2-RC1", "2.9.2-beta1"}, []string{"2.9.2", "v2.10.0", "1.27.1"}},
		// Go stdlib versions without a patch number.
		{"Go", "stdlib", "1.21.0", "1.21.5", []string{"1.21.0", "1.21.4"}, []string{"1.20.12", "1.21.5", "1.22.0"}},
	}
	for _, c := range cases {
		r := one(t, c.eco, c.name, `"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"`+c.intro+`"},{"fixed":"`+c.fixed+`"}]}]`)
		w := want{}
		for _, v := range c.in {
			w[v] = true
		}
		for _, v := range c.out {
			w[v] = false
		}
		name := c.name
		if c.eco == "PyPI" {
			name = strings.ToLower(strings.ReplaceAll(name, ".", "_"))
		}
		expect(t, r, c.eco, name, w)
	}
}

func TestValidate(t *testing.T) {
	bad := map[string]string{
		"no id":          `{"modified":"2024-01-01T00:00:00Z"}`,
		"no modified":    `{"id":"X"}`,
		"type":           `{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"RANGE","events":[{"introduced":"0"}]}]}]}`,
		"two in event":   `{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`,
		"no introduced":  `{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1"}]}]}]}`,
		"package":        `{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm"},"versions":["1"]}]}`,
		"not json":       `{"id":`,
		"modified wrong": `{"id":"X","modified":"yesterday"}`,
	}
	for name, js := range bad {
		_, err := ParseRecord("r.json", []byte(js))
		if err == nil || !strings.HasPrefix(err.Error(), "r.json") {
			t.Errorf("%s: err = %v, want an error naming r.json", name, err)
		}
	}
}

func TestSeverity(t *testing.T) {
	scores := map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
		"CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N": 5.5,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L": 3.7,
		"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H": 9.9,
		"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N": 0,
	}
	for v, want := range scores {
		got, ok := CVSS3Score(v)
		if !ok || got != want {
			t.Errorf("%s: %v %v, want %v", v, got, ok, want)
		}
	}
	if s, ok := CVSS2Score("AV:N/AC:L/Au:N/C:P/I:P/A:P"); !ok || s != 7.5 {
		t.Errorf("CVSS v2: %v %v, want 7.5", s, ok)
	}
	if _, ok := CVSS3Score("CVSS:3.1/AV:X"); ok {
		t.Error("a broken vector was scored")
	}
	r := rec(t, `{"id":"A","modified":"2024-01-01T00:00:00Z","database_specific":{"severity":"MODERATE"},
		"severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
		"affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1"]}]}`)
	if got := r.SeverityFor("npm", "x"); got.Level != Medium || got.Source != "database" {
		t.Errorf("database severity: %+v", got)
	}
	r = rec(t, `{"id":"B","modified":"2024-01-01T00:00:00Z","database_specific":{"severity":"LOW"},
		"affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1"],
		"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}]}`)
	if got := r.SeverityFor("npm", "x"); got.Level != High || got.Score != 7.5 {
		t.Errorf("affected CVSS v3 before database: %+v", got)
	}
	r = rec(t, `{"id":"C","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"versions":["1"]}]}`)
	if got := r.SeverityFor("npm", "x"); got.Level != Unknown {
		t.Errorf("no severity: %+v", got)
	}
}

func TestFixedAfter(t *testing.T) {
	r := one(t, "npm", "minimist", `"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.2.4"},{"introduced":"1.0.0"},{"fixed":"1.2.6"}]}]`)
	if got := strings.Join(r.FixedAfter("npm", "minimist", "1.2.5"), ","); got != "1.2.6" {
		t.Errorf("1.2.5: %q", got)
	}
	if got := strings.Join(r.FixedAfter("npm", "minimist", "0.1.0"), ","); got != "0.2.4,1.2.6" {
		t.Errorf("0.1.0: %q", got)
	}
}
