package events

import (
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestCatalogueCoversWrittenActions walks Warden's source for every action
// the audit log can be written with: each must be in the catalogue (and not
// retired), and each action the catalogue lists as current must still be
// written somewhere.
func TestCatalogueCoversWrittenActions(t *testing.T) {
	found, problems := writtenActions(t, filepath.Join("..", ".."), walkRoots)
	for _, p := range problems {
		t.Errorf("%s", p)
	}
	if len(found) < 40 {
		t.Fatalf("the walk found only %d actions: it lost its way (%v)", len(found), found)
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a, ok := Lookup(n)
		switch {
		case !ok:
			t.Errorf("action %q is written at %s but is not in the catalogue (core/events/actions.go)", n, strings.Join(found[n], ", "))
		case a.Retired:
			t.Errorf("action %q is written at %s but the catalogue says it is retired", n, strings.Join(found[n], ", "))
		}
	}
	for _, a := range actions {
		if _, ok := found[a.Name]; !ok && !a.Retired {
			t.Errorf("the catalogue lists %q, which nothing writes: remove it or mark it retired", a.Name)
		}
	}
}

// TestWalkFollowsActions runs the walk over a small module that writes
// actions in each way the walk follows, and once in a way it cannot.
func TestWalkFollowsActions(t *testing.T) {
	found, problems := writtenActions(t, filepath.Join("testdata", "walk"), []string{"app", "other"})
	var got []string
	for n := range found {
		got = append(got, n)
	}
	sort.Strings(got)
	want := []string{"fixture.boot", "fixture.cross", "fixture.literal", "fixture.local", "fixture.login.rate_limited",
		"fixture.other", "fixture.run", "fixture.shared"}
	if !slices.Equal(got, want) {
		t.Errorf("found %v\nwant  %v", got, want)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "app/app.go:32") || !strings.Contains(problems[0], "computed") {
		t.Errorf("problems: %q", problems)
	}
	if at := found["fixture.login.rate_limited"]; len(at) != 1 || at[0] != "app/app.go:23" {
		t.Errorf("a concatenated action is reported where its call passes it: %v", at)
	}
}

func TestCatalogueIsWellFormed(t *testing.T) {
	if !slices.IsSortedFunc(actions, func(a, b Action) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("actions are not sorted by name")
	}
	if !slices.IsSortedFunc(groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("groups are not sorted by name")
	}
	seen := map[string]bool{}
	for _, a := range actions {
		if seen[a.Name] {
			t.Errorf("%s listed twice", a.Name)
		}
		seen[a.Name] = true
		if a.Description == "" || strings.Contains(a.Description, "\n") {
			t.Errorf("%s: a description is one line", a.Name)
		}
		if a.Name != strings.ToLower(a.Name) || strings.ContainsAny(a.Name, " *") {
			t.Errorf("%s: action names are lowercase, without spaces or *", a.Name)
		}
	}
	// A group's filter selects exactly its actions, so a search for the
	// group is one prefix filter.
	spelled := map[string]string{}
	for _, g := range groups {
		var want []string
		for _, a := range actions {
			if a.Group == g.Name {
				want = append(want, a.Name)
			}
		}
		if len(want) == 0 {
			t.Errorf("group %s has no actions", g.Name)
		}
		if got := g.Members(); !slices.Equal(got, want) {
			t.Errorf("group %s: its filter %s selects %v, its actions are %v", g.Name, g.Filter(), got, want)
		}
		for _, sp := range append([]string{g.Name, strings.TrimRight(g.Prefix, "._")}, g.Aliases...) {
			if other, dup := spelled[sp]; dup && other != g.Name {
				t.Errorf("%q names both %s and %s", sp, other, g.Name)
			}
			spelled[sp] = g.Name
		}
	}
	for _, a := range actions {
		if _, ok := GroupOf(a.Group); !ok {
			t.Errorf("%s: no group %s", a.Name, a.Group)
		}
	}
}

func TestResolveFilter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"*", ""},
		{"secret.set", "secret.set"},
		{"Secret.Set", "secret.set"},
		{" secret.read ", "secret.read"},
		// The command group's spelling of the first part.
		{"secrets.read", "secret.read"},
		{"secrets.set", "secret.set"},
		{"secret.rekey", "secrets.rekey"},
		{"sessions.revoke", "session.revoke"},
		{"users.create", "user.create"},
		{"tokens.create", "token.create"},
		{"logins.second_factor", "login.second_factor"},
		// Groups, alone or as families, in either spelling.
		{"secrets", "secret*"},
		{"secret", "secret*"},
		{"secret.*", "secret*"},
		{"secrets.*", "secret*"},
		{"secrets.", "secret*"},
		{"secret*", "secret*"},
		{"users", "user.*"},
		{"user.*", "user.*"},
		{"tokens", "token.*"},
		{"sessions.*", "session.*"},
		{"log", "audit.*"},
		// An action that is also a group's name is the action; .* the group.
		{"login", "login"},
		{"login.*", "login*"},
		{"refresh", "refresh"},
		{"init", "init"},
		// Families below a group.
		{"token.auth*", "token.auth*"},
		{"tokens.auth*", "token.auth*"},
		{"token.auth.*", "token.auth.*"},
		{"2fa.recovery*", "2fa.recovery*"},
		// Retired actions are still searchable.
		{"audit.search", "audit.search"},
	} {
		got, err := ResolveFilter(c.in)
		if err != nil || got != c.want {
			t.Errorf("ResolveFilter(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, suggest string }{
		{"secrets.reed", "secret.read"},
		{"secret.sett", "secret.set"},
		{"sesions", "sessions"},
		{"tokn.create", "token.create"},
		{"nothing.like.it", ""},
		{"secret.set.*", "secret.set"},
		{"user.delete", ""},
		{".", ""},
	} {
		_, err := ResolveFilter(c.in)
		var ue *UnknownActionError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnknownAction) {
			t.Errorf("ResolveFilter(%q): %v; want an unknown action", c.in, err)
			continue
		}
		if ue.Suggest != c.suggest {
			t.Errorf("ResolveFilter(%q) suggests %q; want %q", c.in, ue.Suggest, c.suggest)
		}
		if c.suggest != "" && !strings.Contains(err.Error(), "did you mean "+c.suggest+"?") {
			t.Errorf("ResolveFilter(%q): %v", c.in, err)
		}
	}
}

// Every filter ResolveFilter returns selects at least one catalogued
// action, and the group filters select what the catalogue groups.
func TestResolvedFiltersSelect(t *testing.T) {
	for _, g := range groups {
		f, err := ResolveFilter(g.Name + ".*")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range Names() {
			if Matches(f, n) {
				got = append(got, n)
			}
		}
		if !slices.Equal(got, g.Members()) {
			t.Errorf("%s: %v, want %v", g.Name, got, g.Members())
		}
	}
}

func TestIntersect(t *testing.T) {
	for _, c := range []struct {
		a, b, want string
		ok         bool
	}{
		{"", "secret*", "secret*", true},
		{"secret.set", "", "secret.set", true},
		{"secret.set", "secret*", "secret.set", true},
		{"secret*", "secret.set", "secret.set", true},
		{"user.create", "secret*", "", false},
		{"secret*", "secrets.*", "secrets.*", true},
		{"token.*", "token.auth*", "token.auth*", true},
		{"token.*", "user.*", "", false},
		{"login", "login", "login", true},
		{"login", "refresh", "", false},
	} {
		got, ok := Intersect(c.a, c.b)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("Intersect(%q, %q) = %q, %v; want %q, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}
