package semver

import "testing"

// The precedence example of the Semantic Versioning 2.0.0 specification.
func TestPrecedence(t *testing.T) {
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"}
	for i := range order {
		for j := range order {
			a, ok1 := Parse(order[i])
			b, ok2 := Parse(order[j])
			if !ok1 || !ok2 {
				t.Fatalf("parse %s or %s", order[i], order[j])
			}
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	a, _ := Parse("1.0.0+build.1")
	b, _ := Parse("1.0.0+build.2")
	if Compare(a, b) != 0 {
		t.Error("build metadata changed precedence")
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"1.0", "01.0.0", "1.0.0-", "1.0.0-01", "v1.0.0", "1.0.0+", "a.b.c"} {
		if _, ok := Parse(s); ok {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestPattern(t *testing.T) {
	def, err := NewPattern("")
	if err != nil {
		t.Fatal(err)
	}
	api, err := NewPattern(`^api/v(.+)$`)
	if err != nil {
		t.Fatal(err)
	}
	named, err := NewPattern(`^(?:release)-(?P<version>.+)$`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    *Pattern
		tag  string
		want string
	}{
		{def, "v1.2.3", "1.2.3"}, {def, "1.2.3-rc.1", "1.2.3-rc.1"}, {def, "api/v1.2.3", ""}, {def, "v1.2", ""},
		{def, "latest", ""}, {api, "api/v1.2.3", "1.2.3"}, {api, "v1.2.3", ""}, {api, "web/v1.2.3", ""},
		{named, "release-2.0.0", "2.0.0"},
	} {
		v, ok := tc.p.Match(tc.tag)
		got := ""
		if ok {
			got = v.String()
		}
		if got != tc.want {
			t.Errorf("%s on %q: %q, want %q", tc.p, tc.tag, got, tc.want)
		}
	}
	if _, err := NewPattern("(a)(b)"); err == nil {
		t.Error("two unnamed groups accepted")
	}
	if _, err := NewPattern("("); err == nil {
		t.Error("bad regexp accepted")
	}
}
