// Package events names what Warden records: the one catalogue of the
// actions its audit log is written with, each with its group and what it
// means. Searches (warden log search, GET /api/v1/audit) resolve the action
// names people type against it, so a mistyped name is an error instead of
// an empty result, and a command group's spelling (secrets, users) finds
// the actions it writes.
//
// A test walks Warden's source for every action the audit log can be
// written with: an action written somewhere but missing here fails it.
package events

import (
	"slices"
	"strings"
)

// Action is one action name of the audit log.
type Action struct {
	Name        string // as recorded: "secret.set"
	Group       string // the Group it belongs to: "secrets"
	Description string // one line: what an entry with it records
	// Retired actions were written by earlier versions only; entries
	// with them may still be in a log, so searches accept them.
	Retired bool
}

// Group is a family of actions, named as the command group or area people
// know it by. Its actions are those whose names start with Prefix, so a
// search for the group is one prefix filter.
type Group struct {
	Name        string   // "secrets"
	Prefix      string   // "secret": secret.set and secrets.rekey alike
	Aliases     []string // other spellings: "secret"
	Description string
}

// OutcomePending is the outcome of an entry that records a step of
// something not decided yet (login.second_factor: a correct password
// waiting for its second factor). The decision follows in its own entry.
// The other outcomes are auditlog's: allowed, success, failure, denied.
const OutcomePending = "pending"

var groups = []Group{
	{Name: "2fa", Prefix: "2fa.", Aliases: []string{"totp", "two-factor"}, Description: "two-factor enrolment, recovery codes and their use"},
	{Name: "audit", Prefix: "audit.", Aliases: []string{"log"}, Description: "reading, verifying, exporting and sealing the audit log"},
	{Name: "authz", Prefix: "authz.", Description: "requests refused by role"},
	{Name: "gateway", Prefix: "gateway.", Aliases: []string{"serve"}, Description: "the gateway starting and stopping"},
	{Name: "init", Prefix: "init", Description: "warden init"},
	{Name: "login", Prefix: "login", Aliases: []string{"logins"}, Description: "logins and their steps"},
	{Name: "password", Prefix: "password.", Aliases: []string{"passwords", "passwd"}, Description: "password changes"},
	{Name: "refresh", Prefix: "refresh", Description: "session refreshes and refresh-token reuse"},
	{Name: "retention", Prefix: "retention_", Aliases: []string{"purge"}, Description: "retention purges of the audit log"},
	{Name: "sandbox", Prefix: "sandbox", Description: "commands run through the sandbox, and escape attempts"},
	{Name: "secrets", Prefix: "secret", Aliases: []string{"secret"}, Description: "the encrypted secret store and its secrets"},
	{Name: "sessions", Prefix: "session.", Aliases: []string{"session"}, Description: "sessions ended, cleaned up or misused"},
	{Name: "setup", Prefix: "setup", Description: "creating the first admin with a setup code"},
	{Name: "tokens", Prefix: "token.", Aliases: []string{"token"}, Description: "gateway tokens"},
	{Name: "users", Prefix: "user.", Aliases: []string{"user"}, Description: "user accounts"},
	{Name: "ws", Prefix: "ws.", Aliases: []string{"websocket"}, Description: "WebSocket connections"},
}

// limited is the description of every *.rate_limited action.
const limited = "attempts refused after too many failures (the first refusal of each blocking period)"

var actions = []Action{
	{Name: "2fa.confirm", Group: "2fa", Description: "two-factor enrolment finished with a code from the app (failure: wrong code)"},
	{Name: "2fa.confirm.rate_limited", Group: "2fa", Description: "enrolment codes: " + limited},
	{Name: "2fa.disable", Group: "2fa", Description: "an admin turned a user's two-factor off"},
	{Name: "2fa.enable", Group: "2fa", Description: "two-factor turned on; every other session of the user ends"},
	{Name: "2fa.enroll", Group: "2fa", Description: "two-factor enrolment started (failure: wrong password)"},
	{Name: "2fa.enroll.rate_limited", Group: "2fa", Description: "enrolment passwords: " + limited},
	{Name: "2fa.recovery_code_used", Group: "2fa", Description: "a recovery code used instead of a TOTP code; it works once"},
	{Name: "2fa.recovery_codes", Group: "2fa", Description: "new recovery codes issued; the old ones stop working (failure: wrong password)"},
	{Name: "2fa.recovery_codes.rate_limited", Group: "2fa", Description: "recovery-code passwords: " + limited},

	{Name: "audit.checkpoint", Group: "audit", Description: "the log's head signed into a checkpoint"},
	{Name: "audit.export", Group: "audit", Description: "entries exported as JSON Lines"},
	{Name: "audit.read", Group: "audit", Description: "the log searched: once per reader per window, with the searches and filters of the reader's window before"},
	{Name: "audit.seal", Group: "audit", Description: "sealing of the log's head started, or the head record found missing, altered or cut"},
	{Name: "audit.search", Group: "audit", Description: "one search of the log, written by earlier versions for every search (audit.read replaced it)", Retired: true},
	{Name: "audit.verify", Group: "audit", Description: "the hash chain verified (failure: broken, with where)"},

	{Name: "authz.denied", Group: "authz", Description: "a request refused: the caller's role lacks the permission"},

	{Name: "gateway.start", Group: "gateway", Description: "warden serve started listening"},
	{Name: "gateway.stop", Group: "gateway", Description: "warden serve stopped"},

	{Name: "init", Group: "init", Description: "warden init wrote a config and state dir"},

	{Name: "login", Group: "login", Description: "a login: success opens a session, failure names the reason"},
	{Name: "login.rate_limited", Group: "login", Description: "logins: " + limited},
	{Name: "login.second_factor", Group: "login", Description: "the password was right; the login waits for a TOTP or recovery code (outcome pending)"},

	{Name: "password.change", Group: "password", Description: "a password changed; every session of the user ends (failure: wrong current password)"},
	{Name: "password.change.rate_limited", Group: "password", Description: "password changes: " + limited},

	{Name: "refresh", Group: "refresh", Description: "a session's tokens refreshed (failure: unknown, revoked or expired refresh token)"},
	{Name: "refresh.rate_limited", Group: "refresh", Description: "refresh tokens: " + limited},
	{Name: "refresh_token_reuse", Group: "refresh", Description: "a used refresh token presented again: its session is revoked"},

	{Name: "retention_purge", Group: "retention", Description: "retention deleted the oldest entries; records the range and the hash the chain resumes from"},

	{Name: "sandbox.exec", Group: "sandbox", Description: "a command run through the policy and the sandbox, or refused by them"},
	{Name: "sandbox_violation", Group: "sandbox", Description: "a sandboxed process killed by seccomp or a blocked escape pattern"},

	{Name: "secret.delete", Group: "secrets", Description: "a secret removed from the secret store"},
	{Name: "secret.read", Group: "secrets", Description: "a secret's value read (warden secrets get)"},
	{Name: "secret.set", Group: "secrets", Description: "a secret stored (typed, from a file, or generated)"},
	{Name: "secrets.init", Group: "secrets", Description: "the encrypted secret store created"},
	{Name: "secrets.rekey", Group: "secrets", Description: "the secret store re-encrypted with a new data key for its recipients"},

	{Name: "session.binding_failed", Group: "sessions", Description: "a browser session used without its binding (cookies taken by another page)"},
	{Name: "session.cleanup", Group: "sessions", Description: "expired sessions removed"},
	{Name: "session.revoke", Group: "sessions", Description: "a session ended: logout, revocation or idle timeout"},
	{Name: "session.revoke_all", Group: "sessions", Description: "every session of a user ended"},

	{Name: "setup.code_issued", Group: "setup", Description: "a one-time setup code for the first admin issued"},
	{Name: "setup.complete", Group: "setup", Description: "a setup attempt refused: wrong or expired code (the admin it creates is a user.create)"},
	{Name: "setup.rate_limited", Group: "setup", Description: "setup codes: " + limited},

	{Name: "token.auth", Group: "tokens", Description: "a gateway token authenticated, or refused (failure)"},
	{Name: "token.auth.rate_limited", Group: "tokens", Description: "gateway tokens: " + limited},
	{Name: "token.create", Group: "tokens", Description: "a gateway token created"},
	{Name: "token.revoke", Group: "tokens", Description: "a gateway token revoked"},

	{Name: "user.create", Group: "users", Description: "a user created (by an admin, the command line or setup)"},
	{Name: "user.disable", Group: "users", Description: "a user disabled; their sessions end"},
	{Name: "user.role", Group: "users", Description: "a user's role changed; their sessions end"},

	{Name: "ws.connect", Group: "ws", Description: "a WebSocket opened (denied: origin not allowed)"},
}

// Actions returns the catalogue, sorted by name.
func Actions() []Action { return slices.Clone(actions) }

// Groups returns the groups, sorted by name.
func Groups() []Group {
	out := slices.Clone(groups)
	for i := range out {
		out[i].Aliases = slices.Clone(out[i].Aliases)
	}
	return out
}

// Lookup returns the action named name.
func Lookup(name string) (Action, bool) {
	i := slices.IndexFunc(actions, func(a Action) bool { return a.Name == name })
	if i < 0 {
		return Action{}, false
	}
	return actions[i], true
}

// Names returns every action name, sorted.
func Names() []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.Name
	}
	slices.Sort(out)
	return out
}

// GroupOf returns the group a word names: a group's name ("secrets"), an
// alias ("secret") or its prefix without punctuation, in any case.
func GroupOf(word string) (Group, bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	if w == "" {
		return Group{}, false
	}
	for _, g := range groups {
		if w == g.Name || w == strings.TrimRight(g.Prefix, "._") || slices.Contains(g.Aliases, w) {
			return g, true
		}
	}
	return Group{}, false
}

// Filter returns the search filter that selects the group's actions.
func (g Group) Filter() string { return g.Prefix + "*" }

// Members returns the catalogued actions the group's filter selects.
func (g Group) Members() []string {
	var out []string
	for _, a := range actions {
		if strings.HasPrefix(a.Name, g.Prefix) {
			out = append(out, a.Name)
		}
	}
	return out
}
