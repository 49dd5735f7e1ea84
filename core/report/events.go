package report

import (
	"context"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
)

// Population is a count of one kind of event.
type Population struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Population names, in display order, and the audit log actions each
// counts (see docs/report.md).
var populations = []struct {
	name  string
	match func(e auditlog.Entry) bool
}{
	{"logins", func(e auditlog.Entry) bool { return e.Action == "login" && e.Outcome == auditlog.OutcomeSuccess }},
	{"failed logins", func(e auditlog.Entry) bool {
		return e.Action == "login" && (e.Outcome == auditlog.OutcomeFailure || e.Outcome == auditlog.OutcomeDenied)
	}},
	{"rate-limit trips", func(e auditlog.Entry) bool { return strings.HasSuffix(e.Action, ".rate_limited") }},
	{"2FA enrolments", func(e auditlog.Entry) bool { return e.Action == "2fa.enable" }},
	{"session revocations", func(e auditlog.Entry) bool {
		return e.Action == "session.revoke" || e.Action == "session.revoke_all" || e.Action == "refresh_token_reuse"
	}},
	{"sandbox runs", func(e auditlog.Entry) bool { return e.Action == "sandbox.exec" }},
	{"sandbox violations", func(e auditlog.Entry) bool { return e.Action == "sandbox_violation" }},
	{"access changes", func(e auditlog.Entry) bool {
		switch e.Action {
		case "user.create", "user.disable", "password.change", "token.create", "token.revoke", "2fa.disable":
			return true
		}
		return false
	}},
	{"config changes", func(e auditlog.Entry) bool {
		return strings.HasPrefix(e.Action, "config.") || e.Action == "sandbox.mode"
	}},
	{"secret changes", func(e auditlog.Entry) bool {
		switch e.Action {
		case "secret.set", "secret.delete", "secrets.rekey", "secrets.init":
			return true
		}
		return false
	}},
}

// EntrySource is the part of the audit log the report reads.
type EntrySource interface {
	Each(ctx context.Context, from uint64, since time.Time, fn func(auditlog.Entry) error) error
}

// CountEvents reads the entries from since to until and counts each
// population, and every entry per UTC day (every day of the period is
// present, zero or not).
func CountEvents(ctx context.Context, src EntrySource, since, until time.Time) ([]Population, []DayCount, error) {
	counts := make([]int, len(populations))
	days := map[string]int{}
	err := src.Each(ctx, 0, since, func(e auditlog.Entry) error {
		if e.Time.After(until) {
			return nil
		}
		days[e.Time.UTC().Format(time.DateOnly)]++
		for i, p := range populations {
			if p.match(e) {
				counts[i]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	pops := make([]Population, len(populations))
	for i, p := range populations {
		pops[i] = Population{Name: p.name, Count: counts[i]}
	}
	var daily []DayCount
	start := time.Date(since.UTC().Year(), since.UTC().Month(), since.UTC().Day(), 0, 0, 0, 0, time.UTC)
	for d := start; !d.After(until.UTC()); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		daily = append(daily, DayCount{Day: k, Count: days[k]})
	}
	return pops, daily, nil
}
