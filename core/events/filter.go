package events

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/warden-sec/warden/internal/suggest"
)

// ErrUnknownAction is wrapped by *UnknownActionError.
var ErrUnknownAction = errors.New("unknown action")

// UnknownActionError is an action filter that names no catalogued action.
type UnknownActionError struct {
	Input   string
	Suggest string // the closest known name, or ""
}

func (e *UnknownActionError) Error() string {
	msg := fmt.Sprintf("unknown action %q", e.Input)
	if e.Suggest != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", e.Suggest)
	}
	return msg
}

func (e *UnknownActionError) Unwrap() error { return ErrUnknownAction }

// Known lists what a filter may name: the groups, then every action.
func (e *UnknownActionError) Known() (groupNames, actionNames []string) {
	for _, g := range groups {
		groupNames = append(groupNames, g.Name)
	}
	return groupNames, Names()
}

// ResolveFilter turns an action filter as a person types it into the form
// the audit log's search takes: an exact action name, or a prefix ending
// in '*'. It accepts, in any case:
//
//   - an action name: secret.set (a retired one too);
//   - an action name whose first part is spelled as its command group:
//     secrets.read for secret.read, sessions.revoke for session.revoke;
//   - a group, by name or alias, alone or as a family: secrets, secret.*,
//     secrets.*, secret* all select every action of the secrets group
//     (secret.set and secrets.rekey alike). An action name that is also a
//     group's (login) is the action; login.* is the group;
//   - a family of actions: token.auth* (token.auth and what follows it),
//     token.auth.* (what follows it);
//   - "" or "*": no filter.
//
// Anything that selects no catalogued action is an *UnknownActionError.
func ResolveFilter(filter string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(filter))
	if s == "" || s == "*" {
		return "", nil
	}
	base, star := strings.CutSuffix(s, "*")
	base, dot := strings.CutSuffix(base, ".")
	family := star || dot
	if !family {
		if _, ok := Lookup(base); ok {
			return base, nil
		}
	}
	if g, ok := GroupOf(base); ok {
		return g.Filter(), nil
	}
	for _, c := range respell(base) {
		if !family {
			if _, ok := Lookup(c); ok {
				return c, nil
			}
			continue
		}
		p := c
		if dot {
			p += "."
		}
		if selectsAny(p) {
			return p + "*", nil
		}
	}
	e := &UnknownActionError{Input: strings.TrimSpace(filter)}
	known := Names()
	for _, g := range groups {
		known = append(known, g.Name)
	}
	for _, c := range respell(base) {
		if e.Suggest = suggest.Closest(c, known); e.Suggest != "" {
			if family && e.Suggest != c {
				if _, isGroup := GroupOf(e.Suggest); !isGroup {
					e.Suggest += ".*"
				}
			}
			break
		}
	}
	return "", e
}

// respell returns name, then name with its first part spelled as each
// other spelling of the group that part names (secrets.read: secret.read).
func respell(name string) []string {
	out := []string{name}
	head, rest, ok := strings.Cut(name, ".")
	if !ok {
		return out
	}
	g, ok := GroupOf(head)
	if !ok {
		return out
	}
	spellings := append([]string{g.Name, strings.TrimRight(g.Prefix, "._")}, g.Aliases...)
	for _, sp := range spellings {
		if c := sp + "." + rest; !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// selectsAny reports whether some catalogued action starts with prefix.
func selectsAny(prefix string) bool {
	return slices.ContainsFunc(actions, func(a Action) bool { return strings.HasPrefix(a.Name, prefix) })
}

// Matches reports whether action passes a filter that ResolveFilter
// returned (the audit log's search applies the same rule).
func Matches(filter, action string) bool {
	if p, ok := strings.CutSuffix(filter, "*"); ok {
		return strings.HasPrefix(action, p)
	}
	return filter == "" || action == filter
}

// Intersect returns the filter that selects what both resolved filters
// select, and false when nothing can pass both.
func Intersect(a, b string) (string, bool) {
	switch {
	case a == "":
		return b, true
	case b == "":
		return a, true
	}
	pa, aFamily := strings.CutSuffix(a, "*")
	pb, bFamily := strings.CutSuffix(b, "*")
	switch {
	case !aFamily && !bFamily:
		return a, a == b
	case !aFamily:
		return a, strings.HasPrefix(a, pb)
	case !bFamily:
		return b, strings.HasPrefix(b, pa)
	case strings.HasPrefix(pa, pb):
		return a, true
	case strings.HasPrefix(pb, pa):
		return b, true
	}
	return "", false
}
