// Package app writes audit entries in every way the walk follows, and one
// way it cannot.
package app

import "github.com/warden-sec/warden/core/auditlog"

const actionBoot = "fixture.boot"

type appender interface {
	Append(ev auditlog.Event)
}

type svc struct{ log appender }

func (s *svc) record(action, target string) {
	s.log.Append(auditlog.Event{Action: action, Target: target})
}

func (s *svc) gate(action string) { s.record(action+".rate_limited", "") }

func (s *svc) run(flag bool) {
	s.record("fixture.run", "x")
	s.gate("fixture.login")
	s.record(actionBoot, "")
	act := "fixture.local"
	if flag {
		act = "fixture.other"
	}
	s.record(act, "")
	ev := auditlog.Event{Action: "fixture.literal"}
	s.record(ev.Action, "")
	s.log.Append(auditlog.Event{Action: computed()})
	s.log.Append(auditlog.Event{Action: shared})
}

func computed() string { return "fixture.hidden" }

// Record is called from another package.
func Record(l appender, action string) { l.Append(auditlog.Event{Action: action}) }
