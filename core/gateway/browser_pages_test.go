package gateway

// Browser tests of the dashboard's account forms, its live indicator and
// its admin pages (users, tokens, audit log, commands), against a real
// gateway in headless Chromium (see browser_test.go).

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/core/runner"
)

// clickCSS clicks the first element matching a CSS selector.
func (b *dashBrowser) clickCSS(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// count returns how many elements match a CSS selector.
func (b *dashBrowser) count(sel string) int {
	b.t.Helper()
	return browserEval[int](b, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel)))
}

// texts returns the text of every element matching a CSS selector.
func (b *dashBrowser) texts(sel string) []string {
	b.t.Helper()
	return browserEval[[]string](b, fmt.Sprintf(`Array.from(document.querySelectorAll(%s), e => e.textContent.trim())`, jsString(sel)))
}

// selectValue sets a <select> (or any input) found by CSS and fires its
// change event, as a user's choice does.
func (b *dashBrowser) selectValue(sel, v string) {
	b.t.Helper()
	if !browserEval[bool](b, fmt.Sprintf(`(() => { const s = document.querySelector(%s); if (!s) return false; s.value = %s; s.dispatchEvent(new Event("change")); return true; })()`,
		jsString(sel), jsString(v))) {
		b.fail("no %s", sel)
	}
}

// stillLoggedIn fails unless the main view is up and nothing says the
// session ended.
func (b *dashBrowser) stillLoggedIn(after string) {
	b.t.Helper()
	if b.hidden("main-view") || !b.hidden("login-view") {
		b.fail("%s: the dashboard left the logged-in view", after)
	}
	if n := strings.ToLower(b.text("notice")); strings.Contains(n, "session ended") || strings.Contains(n, "log in again") {
		b.fail("%s: the notice says %q", after, n)
	}
}

// dropAccessCookie removes the dashboard's access cookie, as its expiry
// does; the refresh cookie stays.
func (b *dashBrowser) dropAccessCookie() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: "warden-access", URL: b.e.url + "/"}); err != nil {
		b.fail("delete the access cookie: %v", err)
	}
	if _, ok := b.cookies()["warden-access"]; ok {
		b.fail("the access cookie is still there")
	}
}

// TestBrowserWrongCredentialStaysInline types a wrong current password,
// a wrong password for two-factor setup and a wrong first code: each is an
// error under its form, the session and its WebSocket stay, and each wrong
// credential reaches the gateway once, even when the access cookie had
// expired just before (the page refreshes the session first, and never
// sends a credential twice).
func TestBrowserWrongCredentialStaysInline(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("dana", auth.RoleViewer)
	b := newBrowser(t, e)
	b.open()
	b.login("dana", false)
	b.waitText("twofa-status", "off")
	const wrong = "not my password, but long enough to be one"

	// The access cookie is gone, as after its 15 minutes: the session
	// lives on in its refresh cookie.
	b.dropAccessCookie()
	before, failed := e.routeRequests("POST /api/v1/auth/reset-password"), e.countEntries("password.change", "failure", "")
	b.setValue("current-password", wrong)
	b.setValue("new-password", "a brand new passphrase for dana, long enough")
	b.setValue("new-password-confirm", "a brand new passphrase for dana, long enough")
	b.click("password-submit")
	msg := b.waitText("password-error", "the current password is wrong")
	if !strings.Contains(msg, "still logged in") {
		t.Errorf("password error %q does not say the session goes on", msg)
	}
	b.waitFor("the form to be usable again", `!document.getElementById("password-submit").disabled`)
	b.stillLoggedIn("a wrong current password")
	b.waitText("live-status", "live")
	if n := e.routeRequests("POST /api/v1/auth/reset-password") - before; n != 1 {
		t.Errorf("the password change was sent %d times, want once", n)
	}
	if n := e.countEntries("password.change", "failure", "") - failed; n != 1 {
		t.Errorf("%d wrong current passwords recorded, want 1", n)
	}
	b.screenshot("password-wrong-inline")

	// Two-factor setup with a wrong password.
	b.click("twofa-setup-start")
	b.visible("twofa-setup-form")
	b.dropAccessCookie()
	before = e.routeRequests("POST /api/v1/auth/2fa/setup")
	b.setValue("twofa-password", wrong)
	b.click("twofa-setup-submit")
	b.waitText("twofa-error", "the password is wrong")
	b.stillLoggedIn("a wrong password for two-factor setup")
	if n := e.routeRequests("POST /api/v1/auth/2fa/setup") - before; n != 1 {
		t.Errorf("two-factor setup was sent %d times, want once", n)
	}
	b.screenshot("2fa-password-wrong-inline")

	// The right password, then a wrong first code.
	b.setValue("twofa-password", testPassword)
	b.click("twofa-setup-submit")
	b.visible("twofa-enroll")
	secret, err := totp.DecodeSecret(strings.TrimSpace(b.text("totp-secret")))
	if err != nil {
		t.Fatal(err)
	}
	before = e.routeRequests("POST /api/v1/auth/2fa/verify")
	b.setValue("twofa-code", wrongTOTP(secret))
	b.click("twofa-verify-submit")
	b.waitText("twofa-error", "the code is wrong")
	b.stillLoggedIn("a wrong first code")
	if b.hidden("twofa-enroll") {
		t.Error("the enrolment closed after a wrong code")
	}
	if n := e.routeRequests("POST /api/v1/auth/2fa/verify") - before; n != 1 {
		t.Errorf("the first code was sent %d times, want once", n)
	}
	b.screenshot("2fa-code-wrong-inline")
	if ss := liveSessions(t, e, "dana"); len(ss) != 1 {
		t.Fatalf("sessions after three wrong credentials: %+v", ss)
	}
	b.waitText("live-status", "live")
}

// waitLive waits until the live indicator's text matches re.
func (b *dashBrowser) waitLive(what string, re string) string {
	b.t.Helper()
	b.waitFor(what, fmt.Sprintf(`new RegExp(%s).test(document.getElementById("live-status").textContent)`, jsString(re)))
	return b.text("live-status")
}

// TestBrowserOfflineReason: when the WebSocket drops, the indicator says
// why and when the page tries again, and nothing says the session ended:
// a connection idle past the gateway's limit, then a gateway that stopped.
func TestBrowserOfflineReason(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) {
		o.WS.PingInterval = time.Hour // no pings, so the connection idles out
		o.WS.IdleTimeout = 1500 * time.Millisecond
		o.WS.SweepInterval = 100 * time.Millisecond
	}})
	e.addUser("ivan", auth.RoleViewer)
	b := newBrowser(t, e)
	b.open()
	b.login("ivan", false)
	msg := b.waitLive("the idle close", `^offline — idle timeout, reconnecting in \d+ s$`)
	b.screenshot("offline-idle")
	t.Logf("indicator: %q", msg)
	b.stillLoggedIn("an idle close")
	b.waitLive("the reconnection", `^live$`)

	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	msg = b.waitLive("the gateway's shutdown", `^offline — the gateway shut down, reconnecting in \d+ s$`)
	t.Logf("indicator: %q", msg)
	msg = b.waitLive("the failed attempt", `^offline — the gateway cannot be reached, retrying in \d+ s$`)
	t.Logf("indicator: %q", msg)
	b.screenshot("offline-unreachable")
	b.stillLoggedIn("a stopped gateway")
}

// enrollTOTP turns two-factor on for a user in the store.
func enrollTOTP(t *testing.T, e *testEnv, name string) {
	t.Helper()
	ctx := context.Background()
	en, err := e.svc.BeginTOTP(ctx, name, testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := totp.DecodeSecret(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ConfirmTOTP(ctx, name, totp.Code(secret, totp.Step(time.Now())), "", ""); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserUsers manages users as an admin who is not the owner: the
// password rule from the configuration shows before anything is typed,
// the confirmation must match, and adding, changing a role, resetting
// two-factor and disabling are each confirmed, done and audited; the owner
// and the admin's own account offer none of it.
func TestBrowserUsers(t *testing.T) {
	e := newTestEnv(t, envOptions{auth: func(o *auth.Options) { o.Policy = password.Policy{MinLength: 40, MaxLength: 1024} }})
	e.addUser("root", auth.RoleAdmin) // the owner
	e.addUser("second", auth.RoleAdmin)
	e.addUser("bob", auth.RoleViewer)
	enrollTOTP(t, e, "bob")
	b := newBrowser(t, e)
	b.open()
	b.login("second", false)

	b.visible("tab-users")
	b.click("tab-users")
	b.visible("users-table")
	b.waitFor("three users", `document.querySelectorAll("#users-body tr").length === 3`)
	if got := b.text("users-owner-name"); got != "root" {
		t.Errorf("owner shown: %q", got)
	}
	b.waitText("users-owner", "cannot be disabled or demoted")
	for _, name := range []string{"root", "second"} {
		row := fmt.Sprintf(`#users-body tr[data-user=%q]`, name)
		if b.count(row+" .disable-user") != 0 || !browserEval[bool](b, fmt.Sprintf(`document.querySelector(%s).disabled`, jsString(row+" select"))) {
			t.Errorf("%s's row offers disabling or a role change", name)
		}
	}
	if got := b.texts(`#users-body tr[data-user="root"] .badge-owner`); len(got) != 1 {
		t.Errorf("no owner badge on root's row: %v", got)
	}
	// The rule, from the configuration, before anything is typed.
	rule := b.text("user-add-password-rule")
	if !strings.Contains(rule, "At least 40 characters") {
		t.Errorf("password rule before typing: %q", rule)
	}
	b.screenshot("users")

	posts := e.routeRequests("POST /api/v1/users")
	b.setValue("user-add-name", "erin")
	b.selectValue("#user-add-role", "operator")
	b.do("type a short password", chromedp.SendKeys(chromedp.ID("user-add-password"), "too short a passphrase"))
	b.waitText("user-add-password-rule", "this one: 22, 18 to go")
	b.setValue("user-add-confirm", "too short a passphrase")
	b.click("user-add-submit")
	b.waitText("user-add-error", "needs at least 40")
	b.screenshot("user-add-short")
	b.setValue("user-add-password", testPassword)
	b.setValue("user-add-confirm", testPassword+"!")
	b.click("user-add-submit")
	b.waitText("user-add-error", "do not match")
	if n := e.routeRequests("POST /api/v1/users") - posts; n != 0 {
		t.Errorf("%d requests for passwords the page knew to be wrong", n)
	}
	b.setValue("user-add-confirm", testPassword)
	b.click("user-add-submit")
	b.waitText("users-done", "added erin (operator)")
	b.waitFor("erin's row", `!!document.querySelector('#users-body tr[data-user="erin"]')`)
	if u, err := e.svc.GetUser(context.Background(), "erin"); err != nil || u.Role != auth.RoleOperator {
		t.Fatalf("erin: %+v %v", u, err)
	}
	b.screenshot("user-added")

	// A role change, confirmed in the row.
	b.selectValue(`#users-body tr[data-user="erin"] select`, "viewer")
	b.clickCSS(`#users-body tr[data-user="erin"] .set-role`)
	b.waitText("users-body", "make erin viewer?")
	b.screenshot("user-role-confirm")
	b.clickCSS(`#users-body tr[data-user="erin"] .confirm`)
	b.waitText("users-done", "erin is now viewer")
	if u, _ := e.svc.GetUser(context.Background(), "erin"); u.Role != auth.RoleViewer {
		t.Errorf("erin's role: %s", u.Role)
	}

	// Two-factor reset and disabling, each confirmed.
	b.clickCSS(`#users-body tr[data-user="bob"] .reset-2fa`)
	b.clickCSS(`#users-body tr[data-user="bob"] .confirm`)
	b.waitText("users-done", "two-factor is off for bob")
	b.clickCSS(`#users-body tr[data-user="bob"] .disable-user`)
	b.clickCSS(`#users-body tr[data-user="bob"] .cancel`)
	if u, _ := e.svc.GetUser(context.Background(), "bob"); u.Disabled != nil {
		t.Fatal("Cancel disabled bob")
	}
	b.clickCSS(`#users-body tr[data-user="bob"] .disable-user`)
	b.clickCSS(`#users-body tr[data-user="bob"] .confirm`)
	b.waitText("users-done", "bob is disabled")
	b.waitText("users-body", "disabled")
	if u, _ := e.svc.GetUser(context.Background(), "bob"); u.Disabled == nil || u.TwoFactorEnabled {
		t.Errorf("bob: %+v", u)
	}
	b.screenshot("users-changed")
	for _, a := range []string{"user.create", "user.role", "2fa.disable", "user.disable"} {
		if e.countEntries(a, "allowed", "user:second") == 0 {
			t.Errorf("no %s entry by user:second", a)
		}
	}
}

// TestBrowserTokens creates a gateway token (shown once, with a copy
// button), sees it listed and used, and revokes it.
func TestBrowserTokens(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("root", auth.RoleAdmin)
	b := newBrowser(t, e)
	b.open()
	b.login("root", false)
	for _, p := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: p}, Setting: cdpbrowser.PermissionSettingGranted, Origin: e.url}); err != nil {
			t.Fatal(err)
		}
	}
	b.click("tab-tokens")
	b.visible("token-form")
	b.setValue("token-name", "ci-agent")
	b.selectValue("#token-role", "agent")
	b.selectValue("#token-expires", "7d")
	b.click("token-create")
	b.visible("token-created")
	tok := strings.TrimSpace(b.text("token-value"))
	if !strings.HasPrefix(tok, "wgt_") {
		t.Fatalf("token shown: %q", tok)
	}
	b.waitFor("the token's row", `!!document.querySelector('#tokens-body tr[data-token="ci-agent"]')`)
	b.click("token-copy")
	b.waitText("token-copy-status", "copied")
	clip := browserValue(b, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if clip != tok {
		t.Errorf("clipboard %q, want the token", clip)
	}
	b.screenshot("token-created")
	if r := e.call("GET", "/api/v1/me", tok, nil); r.status != http.StatusOK {
		t.Fatalf("the new token: %d %s", r.status, r.body)
	}
	b.click("token-done")
	if !b.hidden("token-created") || strings.Contains(browserEval[string](b, `document.body.textContent`), tok) {
		t.Error("the token stays on the page after it was stored")
	}
	b.click("tokens-refresh")
	row := `#tokens-body tr[data-token="ci-agent"]`
	b.waitFor("the use to show", fmt.Sprintf(`document.querySelector(%s).children[5].textContent !== "never"`, jsString(row)))
	b.screenshot("tokens")

	b.clickCSS(row + " .revoke-token")
	b.clickCSS(row + " .confirm")
	b.waitFor("the revoked token to leave the list", fmt.Sprintf(`!document.querySelector(%s)`, jsString(row)))
	if r := e.call("GET", "/api/v1/me", tok, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d", r.status)
	}
	b.click("tokens-revoked")
	b.waitText("tokens-body", "revoked")
	b.screenshot("tokens-revoked")
	for _, a := range []string{"token.create", "token.revoke"} {
		if e.countEntries(a, "", "user:root") == 0 {
			t.Errorf("no %s entry by user:root", a)
		}
	}
}

// auditSeqs lists the sequence numbers of the audit table's rows.
func (b *dashBrowser) auditSeqs() []int {
	b.t.Helper()
	var out []int
	for _, s := range browserEval[[]string](b, `Array.from(document.querySelectorAll("#audit-body tr.audit-row"), tr => tr.dataset.seq)`) {
		n, _ := strconv.Atoi(s)
		out = append(out, n)
	}
	return out
}

// TestBrowserAuditPages pages through the audit log, expands an entry,
// filters by actor, action and time, sees new entries arrive without a
// reload (from this gateway and from another process), and verifies.
func TestBrowserAuditPages(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.SweepInterval = 200 * time.Millisecond }})
	e.addUser("olivia", auth.RoleOperator)
	ctx := context.Background()
	for i := range 70 {
		if _, err := e.log.Append(ctx, auditlog.Event{Actor: "cli:filler", Action: "secret.read", Target: fmt.Sprintf("item-%d", i),
			Outcome: auditlog.OutcomeSuccess, Details: map[string]any{"n": i, "nested": map[string]any{"ok": true}}}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, e)
	b.open()
	b.login("olivia", false)
	b.click("tab-audit")
	b.waitFor("a full page", `document.querySelectorAll("#audit-body tr.audit-row").length === 50`)
	b.visible("audit-live")
	first := b.auditSeqs()
	b.waitText("audit-range", "the newest")

	// Details, of the newest filler entry.
	n := browserEval[int](b, `Array.from(document.querySelectorAll("#audit-body tr")).findIndex(tr => tr.children[3].textContent === "cli:filler") + 1`)
	b.clickCSS(fmt.Sprintf("#audit-body tr.audit-row:nth-child(%d) button.expand", n))
	b.waitFor("the details", `!!document.querySelector("#audit-body tr.detail-row pre")`)
	if js := b.texts("#audit-body tr.detail-row pre"); len(js) != 1 || !strings.Contains(js[0], "\"nested\": {\n") {
		t.Errorf("details shown: %q", js)
	}
	b.screenshot("audit-expanded")

	// Older, newer.
	b.click("audit-older")
	b.waitFor("the older page", fmt.Sprintf(`(() => { const r = document.querySelectorAll("#audit-body tr.audit-row"); return r.length > 0 && Number(r[0].dataset.seq) < %d; })()`, first[len(first)-1]))
	older := b.auditSeqs()
	for i, s := range older {
		if s >= first[len(first)-1] || (i > 0 && s >= older[i-1]) {
			t.Fatalf("older page %v after %v", older, first)
		}
	}
	if older[0] != first[len(first)-1]-1 {
		t.Errorf("the older page starts at #%d, want #%d (no gap)", older[0], first[len(first)-1]-1)
	}
	b.screenshot("audit-older")
	b.click("audit-newer")
	b.waitFor("the newest page again", fmt.Sprintf(`document.querySelector("#audit-body tr.audit-row").dataset.seq >= %d`, first[0]))

	// Filters.
	b.setValue("audit-actor", "cli:filler")
	b.setValue("audit-action", "secret.*")
	b.click("audit-search")
	b.waitFor("only the filler", `(() => { const a = Array.from(document.querySelectorAll("#audit-body tr.audit-row td:nth-child(4)"), td => td.textContent); return a.length === 50 && a.every(x => x === "cli:filler"); })()`)
	future := time.Now().Add(time.Hour).Format("2006-01-02T15:04:05")
	b.setValue("audit-since", future)
	b.click("audit-search")
	b.visible("audit-empty")
	b.screenshot("audit-filtered-empty")
	b.click("audit-clear")
	b.waitFor("the newest page", `document.querySelectorAll("#audit-body tr.audit-row").length === 50`)

	// Live: an entry of this gateway's, then one of another process's.
	searches := e.routeRequests("GET /api/v1/audit")
	e.login("olivia", nil)
	b.waitFor("the new login at the top", `(() => { const r = document.querySelector("#audit-body tr.audit-row"); return r && r.children[4].textContent === "login"; })()`)
	if _, err := e.log.Append(ctx, auditlog.Event{Actor: "cli:root", Action: "secret.set", Target: "api_key", Outcome: auditlog.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the other process's entry at the top", `(() => { const r = document.querySelector("#audit-body tr.audit-row"); return r && r.children[4].textContent === "secret.set"; })()`)
	if n := e.routeRequests("GET /api/v1/audit"); n != searches {
		t.Errorf("live entries came with %d searches", n-searches)
	}
	b.screenshot("audit-live")

	b.click("audit-verify")
	b.waitText("verify-status", "chain verified")
}

// TestBrowserCommands shows recent commands (who, tier, sandboxed, exit,
// duration, refusals, escape attempts), new ones as they end, and an
// escape attempt on any page; a viewer has no such page.
func TestBrowserCommands(t *testing.T) {
	requireRoot(t)
	e := newTestEnv(t, envOptions{exec: func(*runner.Options) {}, gateway: func(o *Options) { o.WS.SweepInterval = 200 * time.Millisecond }})
	e.addUser("owner", auth.RoleAdmin)
	e.addUser("op", auth.RoleOperator)
	e.addUser("vi", auth.RoleViewer)
	agent := e.token("agent", auth.RoleAgent)
	runCommands(t, e, agent, e.login("owner", nil).AccessToken)
	waitCommands(t, e, e.login("op", nil).AccessToken, 5)

	b := newBrowser(t, e)
	b.open()
	b.login("op", false)
	b.click("tab-commands")
	b.waitFor("five rows", `document.querySelectorAll("#commands-body tr").length === 5`)
	b.visible("commands-live")
	var exit3, exit1, hostRows, refused, violations int
	for _, r := range browserEval[[][]string](b, `Array.from(document.querySelectorAll("#commands-body tr"), tr => Array.from(tr.children, td => td.textContent.trim()).concat([tr.className]))`) {
		switch {
		case r[5] == "exit 3" && r[1] == "token:agent" && r[3] == "non-main" && r[4] == "sandbox" && r[6] != "":
			exit3++
		case r[3] == "main" && r[4] == "host" && r[1] == "user:owner" && r[5] == "exit 0":
			hostRows++
		case strings.HasPrefix(r[5], "refused") && strings.Contains(r[2], "network tool"):
			refused++
		case r[5] == "escape attempt" && strings.Contains(r[7], "proc-root") && strings.Contains(r[8], "row-violation"):
			violations++
		case r[5] == "exit 1" && strings.Contains(r[2], "/proc/1/root"):
			// the escape attempt ran, contained, and failed
			exit1++
		default:
			t.Errorf("unexpected row %q", r)
		}
	}
	if exit3 != 1 || exit1 != 1 || hostRows != 1 || refused != 1 || violations != 1 {
		t.Errorf("rows: %d exit 3, %d exit 1, %d host, %d refused, %d violations; want one each", exit3, exit1, hostRows, refused, violations)
	}
	b.screenshot("commands")

	// Live: a command that ends, then an escape attempt, with no reload.
	searches := e.routeRequests("GET /api/v1/commands")
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "exit 5"}); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	b.waitFor("the new command at the top", `(() => { const r = document.querySelector("#commands-body tr"); return r && r.children[5].textContent === "exit 5"; })()`)
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{"command": "cat /proc/1/root/etc/hostname"}); r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	b.visible("violation-alert")
	if msg := b.text("violation-text"); !strings.Contains(msg, "Escape attempt by token:agent") || !strings.Contains(msg, "/proc/1/root") {
		t.Errorf("alert: %q", msg)
	}
	b.waitFor("the escape attempt's row", `document.querySelectorAll("#commands-body tr.row-violation").length >= 2`)
	if n := e.routeRequests("GET /api/v1/commands"); n != searches {
		t.Errorf("live rows came with %d reloads", n-searches)
	}
	b.screenshot("commands-live-violation")

	// A viewer: no tab, and the address falls back to the account.
	b.logout()
	b.login("vi", false)
	for _, tab := range []string{"tab-commands", "tab-audit", "tab-users", "tab-tokens"} {
		if !b.hidden(tab) {
			t.Errorf("a viewer sees %s", tab)
		}
	}
	b.do("open #commands", chromedp.Navigate(e.url+"/#commands"))
	b.visible("panel-account")
	if !b.hidden("panel-commands") {
		t.Error("a viewer reaches the commands page")
	}
}
