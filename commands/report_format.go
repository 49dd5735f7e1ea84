package commands

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/report"
	"github.com/warden-sec/warden/templates"
)

// reportOutput is the JSON document.
type reportOutput struct {
	SchemaVersion int    `json:"schemaVersion"`
	Tool          string `json:"tool"`
	*report.Report
}

// integrityMarker starts the line that carries the integrity block in
// the HTML and Markdown; `warden report verify` looks for it.
const integrityMarker = "warden-integrity: "

func renderReport(format string, r *report.Report, version string) ([]byte, error) {
	switch format {
	case "json":
		var buf bytes.Buffer
		err := writeJSON(&buf, reportOutput{SchemaVersion: jsonSchemaVersion, Tool: "warden " + version, Report: r})
		return buf.Bytes(), err
	case "csv":
		return reportCSV(r)
	case "markdown":
		return reportMarkdown(r, version)
	case "html":
		return reportHTML(r, version)
	}
	return nil, fmt.Errorf("unknown report format %q", format)
}

func integrityJSON(r *report.Report) string {
	b, _ := json.Marshal(r.Integrity)
	return string(b)
}

// extractIntegrity finds the integrity block in a report of any format
// but CSV.
func extractIntegrity(data []byte) (report.Integrity, error) {
	var in report.Integrity
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		var doc struct {
			Integrity *report.Integrity `json:"integrity"`
		}
		if err := json.Unmarshal(t, &doc); err != nil || doc.Integrity == nil {
			return in, errors.New("not a warden report: no integrity block in the JSON")
		}
		return *doc.Integrity, nil
	}
	i := bytes.Index(data, []byte(integrityMarker))
	if i < 0 {
		return in, errors.New("not a warden report: no integrity block")
	}
	line := data[i+len(integrityMarker):]
	if j := bytes.IndexAny(line, "\n<"); j >= 0 {
		line = line[:j]
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(line))), &in); err != nil {
		return in, fmt.Errorf("the integrity block is damaged: %v", err)
	}
	return in, nil
}

func frameworkName(f string) string {
	switch f {
	case report.SOC2:
		return "SOC 2"
	case report.ISO27001:
		return "ISO 27001:2022"
	}
	return "SOC 2 and ISO 27001:2022"
}

func reportCSV(r *report.Report) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"framework", "control", "title", "status", "pass", "fail", "exception", "manual", "evidence", "manual_check"})
	for _, c := range r.Controls {
		n := map[string]int{}
		var ev []string
		for _, e := range c.Evidence {
			n[e.Status]++
			ev = append(ev, e.ID+"="+e.Status)
		}
		_ = w.Write([]string{c.Framework, c.ID, c.Title, c.Status, fmt.Sprint(n[report.EvPass]), fmt.Sprint(n[report.EvFail]),
			fmt.Sprint(n[report.EvException]), fmt.Sprint(n[report.EvManual] + n[report.EvInfo]), strings.Join(ev, "; "), c.Manual})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// mdEscape keeps a value from breaking a Markdown table cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func reportMarkdown(r *report.Report, version string) ([]byte, error) {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Warden compliance evidence: %s\n\n", frameworkName(r.Framework))
	p("Period %s to %s (%s), generated %s by warden %s.", r.Period.From.Format(time.RFC3339), r.Period.To.Format(time.RFC3339),
		periodLength(r), r.Generated.Format(time.RFC3339), version)
	if r.Redacted {
		p(" Usernames are pseudonymised.")
	}
	p("\n\n## Summary\n\n")
	p("| Controls | PASS | FAIL | EXCEPTION | MANUAL |\n|---|---|---|---|---|\n| %d | %d | %d | %d | %d |\n\n", r.Summary.Controls,
		r.Summary.ByStatus[report.Pass], r.Summary.ByStatus[report.Fail], r.Summary.ByStatus[report.Exception], r.Summary.ByStatus[report.Manual])
	if a := r.Audit; a != nil {
		p("Audit score **%d/100** (%s)", a.Score, a.Band)
		if a.Capped {
			p(", capped by an open critical finding")
		}
		p(". Open findings: critical %d, high %d, medium %d, low %d, info %d; %d suppressed, %d skipped.\n\n",
			a.Open["critical"], a.Open["high"], a.Open["medium"], a.Open["low"], a.Open["info"], a.Suppressed, a.Skipped)
	}
	p("## Controls\n\n| Framework | Control | Title | Status | Evidence |\n|---|---|---|---|---|\n")
	for _, c := range r.Controls {
		p("| %s | %s | %s | %s | %d |\n", frameworkName(c.Framework), c.ID, mdEscape(c.Title), c.Status, len(c.Evidence))
	}
	p("\n## Evidence by control\n")
	for _, c := range r.Controls {
		p("\n### %s %s — %s\n\n", c.ID, c.Title, c.Status)
		if len(c.Evidence) == 0 {
			p("No automated evidence. %s\n", c.Manual)
			continue
		}
		for _, e := range c.Evidence {
			sev := ""
			if e.Severity != "" {
				sev = " (" + e.Severity + ")"
			}
			p("- **%s** `%s` %s%s", strings.ToUpper(e.Status), e.ID, mdEscape(e.Title), sev)
			if e.Exception != nil {
				p(" — accepted: %s", mdEscape(e.Exception.Reason))
				if e.Exception.Expires != "" {
					p(", expires %s", e.Exception.Expires)
				}
			}
			p("\n")
			for _, d := range e.Details {
				p("  - %s\n", mdEscape(d))
			}
		}
		if c.Manual != "" {
			p("\nAlso check by hand: %s\n", c.Manual)
		}
	}
	p("\n## Audit log\n\n")
	switch l := r.Log; {
	case !l.Present:
		p("No audit log in the state directory.\n\n")
	case l.Verified:
		p("Chain verified: %d entries, sequence %d to %d; head hash `%s`.\n\n", l.Entries, l.First, l.HeadSeq, l.HeadHash)
	default:
		p("**Chain verification failed:** %s\n\n", mdEscape(l.Break))
	}
	p("| Events in the period | Count |\n|---|---|\n")
	for _, pop := range r.Log.Populations {
		p("| %s | %d |\n", pop.Name, pop.Count)
	}
	p("\n## Users and roles\n\n")
	if len(r.Users) == 0 {
		p("No gateway users.\n")
	} else {
		p("| User | Role | Status | Two-factor | Last login | Stale |\n|---|---|---|---|---|---|\n")
		for _, u := range r.Users {
			last := u.LastLogin
			if last == "" {
				last = "never"
			}
			p("| %s | %s | %s | %s | %s | %s |\n", mdEscape(u.Name), u.Role, u.Status, onOff(u.TwoFactor), last, pick(u.Stale, "stale", "no"))
		}
	}
	p("\n## Policies in force\n\n| Setting | Value |\n|---|---|\n")
	for _, s := range r.Policies {
		p("| `%s` | %s |\n", s.Name, mdEscape(s.Value))
	}
	p("\n## Integrity\n\n`warden report verify FILE` re-checks these values against the current state.\n\n")
	p("- audit log head: seq %d `%s`\n- config: %s sha256 `%s`\n- findings: sha256 `%s`\n", r.Integrity.AuditHeadSeq, r.Integrity.AuditHeadHash,
		orDash(r.Integrity.ConfigFile), r.Integrity.ConfigHash, r.Integrity.FindingsHash)
	if r.Integrity.ReportMAC != "" {
		p("- report MAC (HMAC-SHA256 under the audit log's key): `%s`\n", r.Integrity.ReportMAC)
	}
	p("\n")
	p("```\n%s%s\n```\n", integrityMarker, integrityJSON(r))
	return []byte(b.String()), nil
}

// periodLength is how long the report's period is, as people read it.
func periodLength(r *report.Report) string {
	return report.HumanDuration(r.Period.To.Sub(r.Period.From))
}

func onOff(b bool) string { return pick(b, "on", "off") }

func pick(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

type htmlReport struct {
	R             *report.Report
	Version       string
	FrameworkName string
	Generated     string
	PeriodFrom    string
	PeriodTo      string
	PeriodLength  string
	IntegrityJSON string
	ScoreSVG      template.HTML
	StatusSVG     template.HTML
	SeveritySVG   template.HTML
	EventsSVG     template.HTML
}

var statusColour = map[string]string{report.Pass: "#1a7f37", report.Fail: "#cf222e", report.Exception: "#9a6700", report.Manual: "#6e7781"}

func reportHTML(r *report.Report, version string) ([]byte, error) {
	t, err := template.New("report").Funcs(template.FuncMap{"fwName": frameworkName}).Parse(templates.ReportHTML())
	if err != nil {
		return nil, fmt.Errorf("parse report template: %w", err)
	}
	d := htmlReport{R: r, Version: version, FrameworkName: frameworkName(r.Framework), Generated: r.Generated.Format(time.RFC3339),
		PeriodFrom: r.Period.From.Format(time.DateOnly), PeriodTo: r.Period.To.Format(time.DateOnly), PeriodLength: periodLength(r), IntegrityJSON: integrityJSON(r),
		ScoreSVG: scoreSVG(r.Audit), StatusSVG: statusSVG(r.Summary), SeveritySVG: severitySVG(r.Audit), EventsSVG: eventsSVG(r.Log.Daily)}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}

// The charts are inline SVG built here from numbers and fixed labels;
// every text goes through html.EscapeString.

func scoreSVG(a *report.AuditSummary) template.HTML {
	if a == nil {
		return `<p class="note">The audit did not run.</p>`
	}
	colour := "#cf222e"
	switch {
	case a.Score >= 90:
		colour = "#1a7f37"
	case a.Score >= 80:
		colour = "#2da44e"
	case a.Score >= 50:
		colour = "#9a6700"
	}
	const radius = 52.0
	circ := 2 * math.Pi * radius
	dash := circ * float64(a.Score) / 100
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="audit score %d of 100" viewBox="0 0 300 140" width="300" height="140">`, a.Score)
	fmt.Fprintf(&b, `<circle cx="70" cy="70" r="%.0f" fill="none" stroke="#eaeef2" stroke-width="14"/>`, radius)
	fmt.Fprintf(&b, `<circle cx="70" cy="70" r="%.0f" fill="none" stroke="%s" stroke-width="14" stroke-dasharray="%.2f %.2f" transform="rotate(-90 70 70)"/>`, radius, colour, dash, circ)
	fmt.Fprintf(&b, `<text x="70" y="78" text-anchor="middle" font-size="28" font-weight="700">%d</text>`, a.Score)
	fmt.Fprintf(&b, `<text x="140" y="52" font-size="13" font-weight="600">%s</text>`, html.EscapeString(a.Band))
	fmt.Fprintf(&b, `<text x="140" y="74" font-size="12" fill="#57606a">%d checks run</text>`, a.Checks)
	fmt.Fprintf(&b, `<text x="140" y="92" font-size="12" fill="#57606a">%d passed, %d open</text>`, a.Passed, a.Failed)
	fmt.Fprintf(&b, `<text x="140" y="110" font-size="12" fill="#57606a">%d suppressed</text>`, a.Suppressed)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbars draws labelled horizontal bars scaled to the largest value.
func hbars(label string, rows []string, values []int, colours []string) template.HTML {
	max := 1
	for _, v := range values {
		if v > max {
			max = v
		}
	}
	h := 24*len(rows) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="%s" viewBox="0 0 260 %d" width="260" height="%d">`, html.EscapeString(label), h, h)
	for i, name := range rows {
		y := 4 + 24*i
		w := 150 * values[i] / max
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12">%s</text>`, y+13, html.EscapeString(name))
		fmt.Fprintf(&b, `<rect x="78" y="%d" width="%d" height="16" rx="2" fill="%s"/>`, y, w, colours[i])
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" font-weight="600">%d</text>`, 78+w+6, y+13, values[i])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func statusSVG(s report.Summary) template.HTML {
	var vals []int
	var cols []string
	for _, st := range report.Statuses {
		vals = append(vals, s.ByStatus[st])
		cols = append(cols, statusColour[st])
	}
	return hbars("controls by status", report.Statuses, vals, cols)
}

func severitySVG(a *report.AuditSummary) template.HTML {
	if a == nil {
		return `<p class="note">The audit did not run.</p>`
	}
	names := []string{"critical", "high", "medium", "low", "info"}
	cols := []string{"#82071e", "#cf222e", "#bc4c00", "#9a6700", "#6e7781"}
	vals := make([]int, len(names))
	for i, n := range names {
		vals[i] = a.Open[n]
	}
	return hbars("open findings by severity", names, vals, cols)
}

func eventsSVG(days []report.DayCount) template.HTML {
	if len(days) == 0 {
		return `<p class="note">No audit log events.</p>`
	}
	const width, height, top, bottom = 1000.0, 150.0, 10.0, 22.0
	max, total := 1, 0
	for _, d := range days {
		total += d.Count
		if d.Count > max {
			max = d.Count
		}
	}
	step := width / float64(len(days))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="%d audit log events over %d days" viewBox="0 0 %.0f %.0f" width="100%%">`,
		total, len(days), width, height)
	fmt.Fprintf(&b, `<line x1="0" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d0d7de"/>`, height-bottom, width, height-bottom)
	for i, d := range days {
		if d.Count == 0 {
			continue
		}
		h := (height - top - bottom) * float64(d.Count) / float64(max)
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#0969da"><title>%s: %d</title></rect>`,
			float64(i)*step+step*0.1, height-bottom-h, step*0.8, h, d.Day, d.Count)
	}
	fmt.Fprintf(&b, `<text x="0" y="%.0f" font-size="12" fill="#57606a">%s</text>`, height-6, days[0].Day)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" fill="#57606a" text-anchor="end">%s</text>`, width, height-6, days[len(days)-1].Day)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="12" fill="#57606a" text-anchor="middle">%d events, busiest day %d</text>`, width/2, height-6, total, max)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
