package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/warden-sec/warden/scanners/audit"
)

func (w *wiring) renderAudit(format string, out *auditOutput) error {
	switch format {
	case "json":
		return writeJSON(w.env.Stdout, out)
	case "sarif":
		return writeJSON(w.env.Stdout, auditSARIF(out, w.env.Build.Version))
	case "markdown":
		return writeAuditMarkdown(w.env.Stdout, out)
	}
	return writeAuditTable(w.env.Stdout, out)
}

// auditHeadline is e.g. "score 42/100 (exposed, capped at 49 by an open critical finding)".
func auditHeadline(out *auditOutput) string {
	s := fmt.Sprintf("score %d/100 (%s", out.Score, out.Band)
	if out.Capped {
		s += ", capped at 49 by an open critical finding"
	}
	return s + ")"
}

// auditCounts is e.g. "27 checks run: 20 passed, 5 failed, 2 suppressed; 1 skipped".
func auditCounts(out *auditOutput) string {
	c := out.Counts
	return fmt.Sprintf("%d checks run: %d passed, %d failed, %d suppressed; %d skipped (left out of the score)",
		c.Checks, c.Passed, c.Failed, c.Suppressed, c.Skipped)
}

// auditLocation is file:line, the file relative to the working directory
// when it is below it.
func auditLocation(r audit.Result) string {
	switch {
	case r.File != "" && r.Line > 0:
		return fmt.Sprintf("%s:%d", sarifURI(r.File), r.Line)
	case r.ConfigKey != "" && r.File != "":
		return sarifURI(r.File) + " (" + r.ConfigKey + ")"
	case r.ConfigKey != "":
		return r.ConfigKey
	}
	return "-"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func writeFixChanges(wr io.Writer, fix *audit.FixResult) {
	if fix == nil {
		return
	}
	verb := "fixed"
	if fix.DryRun {
		verb = "would fix"
	}
	if len(fix.Changes) == 0 {
		fmt.Fprintf(wr, "nothing for --fix to change\n\n")
		return
	}
	for _, ch := range fix.Changes {
		fmt.Fprintf(wr, "%s %s: %s: %s\n", verb, ch.Check, ch.Target, ch.Action)
	}
	fmt.Fprintln(wr)
}

func writeAuditTable(wr io.Writer, out *auditOutput) error {
	writeFixChanges(wr, out.Fix)
	fmt.Fprintf(wr, "%s\n%s\n", auditHeadline(out), auditCounts(out))
	if len(out.Findings) > 0 {
		fmt.Fprintln(wr)
		rows := make([][]string, len(out.Findings))
		for i, f := range out.Findings {
			rows[i] = []string{string(f.Severity), f.ID, f.Title, auditLocation(f), yesNo(f.Fixable)}
		}
		if err := writeTable(wr, []string{"SEVERITY", "CHECK", "FINDING", "LOCATION", "FIXABLE"}, rows); err != nil {
			return err
		}
		for _, f := range out.Findings {
			fmt.Fprintf(wr, "\n%s (%s): %s\n", f.ID, f.Severity, f.Title)
			for _, e := range f.Evidence {
				fmt.Fprintf(wr, "  - %s\n", e)
			}
			fmt.Fprintf(wr, "  fix: %s\n", f.Remediation)
		}
	}
	if len(out.Suppressed) > 0 {
		fmt.Fprintf(wr, "\nsuppressed (accepted in the config, not scored):\n")
		for _, f := range out.Suppressed {
			until := ""
			if f.Suppression.Expires != "" {
				until = ", until " + f.Suppression.Expires
			}
			fmt.Fprintf(wr, "  %s (%s): %s (reason: %s%s; %s)\n", f.ID, f.Severity, f.Title, f.Suppression.Reason, until, f.Suppression.Key)
		}
	}
	if len(out.Skipped) > 0 {
		fmt.Fprintf(wr, "\nskipped (could not run):\n")
		for _, f := range out.Skipped {
			fmt.Fprintf(wr, "  %s: %s\n", f.ID, f.Reason)
		}
	}
	return nil
}

func writeAuditMarkdown(wr io.Writer, out *auditOutput) error {
	var b strings.Builder
	b.WriteString("## Warden audit\n\n")
	fmt.Fprintf(&b, "**%s**\n\n%s.\n", strings.Replace(auditHeadline(out), "score", "Score", 1), auditCounts(out))
	if out.Fix != nil {
		b.WriteString("\n")
		writeFixChanges(&b, out.Fix)
	}
	if len(out.Findings) > 0 {
		b.WriteString("\n| Severity | Check | Finding | Location | Fixable |\n|---|---|---|---|---|\n")
		for _, f := range out.Findings {
			fmt.Fprintf(&b, "| %s | `%s` | %s | `%s` | %s |\n", f.Severity, f.ID, mdCell(f.Title), mdCell(auditLocation(f)), yesNo(f.Fixable))
		}
		b.WriteString("\n<details><summary>Evidence and remediation</summary>\n\n")
		for _, f := range out.Findings {
			fmt.Fprintf(&b, "### `%s` (%s)\n\n", f.ID, f.Severity)
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "- %s\n", mdCell(e))
			}
			fmt.Fprintf(&b, "\n**Fix:** %s\n\n", mdCell(f.Remediation))
		}
		b.WriteString("</details>\n")
	}
	if len(out.Suppressed) > 0 {
		b.WriteString("\n### Suppressed\n\n| Check | Severity | Reason | Expires |\n|---|---|---|---|\n")
		for _, f := range out.Suppressed {
			exp := f.Suppression.Expires
			if exp == "" {
				exp = "never"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.ID, f.Severity, mdCell(f.Suppression.Reason), exp)
		}
	}
	if len(out.Skipped) > 0 {
		b.WriteString("\n### Skipped\n\n")
		for _, f := range out.Skipped {
			fmt.Fprintf(&b, "- `%s`: %s\n", f.ID, mdCell(f.Reason))
		}
	}
	_, err := io.WriteString(wr, b.String())
	return err
}

// SARIF 2.1.0 for GitHub code scanning: one rule per check that failed,
// one result per failed check at its config line; suppressed findings
// stay in the log with an external suppression.
type auditSarifLog struct {
	Schema  string          `json:"$schema"`
	Version string          `json:"version"`
	Runs    []auditSarifRun `json:"runs"`
}

type auditSarifRun struct {
	Tool    sarifTool          `json:"tool"`
	Results []auditSarifResult `json:"results"`
}

type auditSarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Suppressions        []auditSarifSuppr `json:"suppressions,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type auditSarifSuppr struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

var auditSeverityScore = map[audit.Severity]string{audit.Critical: "9.5", audit.High: "8.0", audit.Medium: "5.5", audit.Low: "2.0"}

func auditSarifLevel(s audit.Severity) string {
	switch s {
	case audit.Critical, audit.High:
		return "error"
	case audit.Medium:
		return "warning"
	}
	return "note"
}

func auditSARIF(out *auditOutput, version string) auditSarifLog {
	driver := sarifDriver{Name: "warden", InformationURI: "https://github.com/warden-sec/warden", Version: version, Rules: []sarifRule{}}
	failed := append(append([]audit.Result{}, out.Findings...), out.Suppressed...)
	sort.SliceStable(failed, func(i, j int) bool { return failed[i].ID < failed[j].ID })
	index := map[string]int{}
	for _, f := range failed {
		if _, ok := index[f.ID]; ok {
			continue
		}
		c, _ := audit.Lookup(f.ID)
		props := map[string]any{"tags": []string{"security", "configuration"}, "precision": "very-high", "problem.severity": auditSarifLevel(c.Severity)}
		if s, ok := auditSeverityScore[c.Severity]; ok {
			props["security-severity"] = s
		}
		index[f.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{ID: c.ID, Name: sarifRuleName(c.ID),
			ShortDescription: sarifText{Text: c.Title}, FullDescription: sarifText{Text: truncate(c.Description, 1000)},
			Help:    sarifHelp{Text: c.Description + " Remediation: " + f.Remediation, Markdown: fmt.Sprintf("**%s** (%s)\n\n%s\n\n**Remediation:** %s", c.ID, c.Severity, c.Description, f.Remediation)},
			HelpURI: "https://github.com/warden-sec/warden/blob/main/docs/audit.md#" + strings.ReplaceAll(c.ID, ".", ""), Properties: props})
	}
	results := []auditSarifResult{}
	for _, f := range failed {
		uri, line := out.Config, f.Line
		if uri == "" {
			uri = "warden.yaml"
		}
		if line < 1 {
			line = 1
		}
		msg := f.Title
		if len(f.Evidence) > 0 {
			msg += ": " + strings.Join(f.Evidence, "; ")
		}
		msg += ". Fix: " + f.Remediation
		sum := sha256.Sum256([]byte(f.ID + "\x00" + f.ConfigKey))
		r := auditSarifResult{RuleID: f.ID, RuleIndex: index[f.ID], Level: auditSarifLevel(f.Severity), Message: sarifText{Text: msg},
			Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(uri)}, Region: sarifRegion{StartLine: line}}}},
			PartialFingerprints: map[string]string{"wardenAuditFinding/v1": hex.EncodeToString(sum[:16])},
			Properties:          map[string]any{"fixable": f.Fixable}}
		if f.Suppression != nil {
			just := f.Suppression.Reason
			if f.Suppression.Expires != "" {
				just += " (until " + f.Suppression.Expires + ")"
			}
			r.Suppressions = []auditSarifSuppr{{Kind: "external", Justification: just}}
		}
		results = append(results, r)
	}
	return auditSarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []auditSarifRun{{Tool: sarifTool{Driver: driver}, Results: results}}}
}

// sarifRuleName turns files.state_dir into FilesStateDir.
func sarifRuleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '.' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
