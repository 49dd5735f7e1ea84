package gateway

import (
	"bufio"
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/totp"
)

// auditSearches returns how many audit searches the gateway answered with
// 200, from its own /metrics.
func (e *testEnv) auditSearches() int {
	e.t.Helper()
	r := e.call("GET", "/metrics", "", nil)
	if r.status != 200 {
		e.t.Fatalf("metrics: %d", r.status)
	}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "warden_http_requests_total{") && strings.Contains(line, `code="200"`) && strings.Contains(line, `route="GET /api/v1/audit"`) {
			n, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			return int(n)
		}
	}
	return 0
}

// TestBrowserAuditLogIsQuiet logs in with two-factor through the
// dashboard and reads the audit page again and again: the password step
// shows as pending, never as a denial, and all those searches leave one
// audit.read entry.
func TestBrowserAuditLogIsQuiet(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("olivia", auth.RoleOperator)
	ctx := context.Background()
	en, err := e.svc.BeginTOTP(ctx, "olivia", testPassword, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := totp.DecodeSecret(en.Secret)
	if err != nil {
		t.Fatal(err)
	}
	enrolled := totp.Step(time.Now())
	if _, err := e.svc.ConfirmTOTP(ctx, "olivia", totp.Code(secret, enrolled), "", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, e)
	b.open()
	b.submitLogin("olivia", testPassword, false)
	b.visible("second-factor-form")
	b.setValue("totp-code", totp.Code(secret, max(enrolled, totp.Step(time.Now()))+1))
	b.click("second-factor-submit")
	b.waitLoggedIn("olivia")

	b.click("tab-audit")
	b.visible("audit-table")
	b.waitFor("the password step in the audit page",
		`(() => { const t = document.getElementById("audit-body").textContent; return t.includes("login.second_factor") && t.includes("pending"); })()`)
	b.screenshot("audit-second-factor-step")
	for i := 0; i < 3; i++ {
		before := e.auditSearches()
		b.click("audit-search")
		deadline := time.Now().Add(10 * time.Second)
		for e.auditSearches() == before {
			if time.Now().After(deadline) {
				b.fail("search %d did not reach the gateway", i+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if n := e.auditSearches(); n < 4 {
		t.Fatalf("the page searched %d times", n)
	}
	if reads := e.entriesOf("audit.read"); len(reads) != 1 {
		t.Errorf("%d searches from one page left %d audit.read entries", e.auditSearches(), len(reads))
	}
	if n := len(e.entriesOf("audit.search")); n != 0 {
		t.Errorf("%d audit.search entries", n)
	}
	if err := e.log.Each(ctx, 0, time.Time{}, func(en auditlog.Entry) error {
		if en.Outcome == auditlog.OutcomeDenied {
			t.Errorf("entry %d: %s %s %s", en.Seq, en.Action, en.Target, en.Outcome)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
