package suggest

import "testing"

func TestClosest(t *testing.T) {
	commands := []string{"init", "config", "secrets", "log", "deps", "audit", "migrate", "users", "sessions", "tokens",
		"serve", "tls", "sandbox", "release-notes", "report", "version"}
	for _, c := range []struct {
		in, want string
		from     []string
	}{
		{"secret", "secrets", commands},  // a letter missing
		{"sercets", "secrets", commands}, // two letters swapped: one edit
		{"relase-notes", "release-notes", commands},
		{"releasenotes", "release-notes", commands},
		{"lst", "list", []string{"init", "set", "get", "list", "delete", "rekey"}},
		{"acess_ttl", "access_ttl", []string{"access_ttl", "session_ttl", "remember_me_ttl", "idle_timeout"}},
		{"remembr_me_tl", "remember_me_ttl", []string{"access_ttl", "session_ttl", "remember_me_ttl"}}, // long: three edits
		{"frobnicate", "", commands},                                                                   // nothing near
		{"x", "", []string{"a", "b"}},                                                                  // one edit, but the whole word
		{"ab", "", []string{"xy"}},                                                                     // two edits of two letters
		{"secrets", "secrets", commands},                                                               // exact
		{"anything", "", nil},
	} {
		if got := Closest(c.in, c.from); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"ca", "abc", 3}, {"héllo", "hello", 1},
	} {
		if got := distance(c.a, c.b); got != c.want {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
