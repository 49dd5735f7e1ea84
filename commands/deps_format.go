package commands

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/scanners/deps"
)

func (w *wiring) renderScan(c *cli.Context, format string, rep *scanReport) error {
	switch format {
	case "json":
		return writeJSON(w.env.Stdout, rep)
	case "sarif":
		return writeJSON(w.env.Stdout, sarifOf(rep, w.env.Build.Version))
	case "markdown":
		return writeScanMarkdown(w.env.Stdout, rep)
	}
	w.notef("%s", scanSummary(rep))
	if len(rep.Findings) == 0 {
		return nil
	}
	rows := make([][]string, len(rep.Findings))
	for i, f := range rep.Findings {
		rows[i] = []string{f.Package, f.Version, f.Ecosystem, dependencyLabel(f.Dependency), findingIDs(f), f.Severity,
			strings.Join(f.Fixed, ", "), location(f)}
	}
	return writeTable(w.env.Stdout, []string{"PACKAGE", "VERSION", "ECOSYSTEM", "DEPENDENCY", "VULNERABILITY", "SEVERITY", "FIXED IN", "LOCATION"}, rows)
}

func dependencyLabel(d string) string {
	if d == "" {
		return "-"
	}
	return d
}

// findingIDs is the id with its CVE and GHSA aliases.
func findingIDs(f deps.Finding) string {
	ids := []string{f.ID}
	for _, a := range f.Aliases {
		if strings.HasPrefix(a, "CVE-") || strings.HasPrefix(a, "GHSA-") {
			ids = append(ids, a)
		}
	}
	return strings.Join(ids, " ")
}

func location(f deps.Finding) string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// scanSummary is the one-line outcome, e.g. "3 vulnerabilities (1
// critical, 2 high) in 120 packages from 2 lockfiles".
func scanSummary(rep *scanReport) string {
	files := fmt.Sprintf("%d package%s from %d file%s", rep.Packages, plural(rep.Packages), len(rep.Lockfiles), plural(len(rep.Lockfiles)))
	if len(rep.Findings) == 0 {
		s := "no known vulnerabilities in " + files
		if rep.Ignored > 0 {
			s += fmt.Sprintf(" (%d ignored)", rep.Ignored)
		}
		return s
	}
	var parts []string
	for _, l := range []string{"critical", "high", "medium", "low", "unknown"} {
		if n := rep.Counts[l]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, l))
		}
	}
	word := "vulnerabilities"
	if len(rep.Findings) == 1 {
		word = "vulnerability"
	}
	s := fmt.Sprintf("%d %s (%s) in %s", len(rep.Findings), word, strings.Join(parts, ", "), files)
	if rep.Ignored > 0 {
		s += fmt.Sprintf("; %d ignored", rep.Ignored)
	}
	return s
}

func writeScanMarkdown(out io.Writer, rep *scanReport) error {
	var b strings.Builder
	b.WriteString("## Dependency scan\n\n")
	b.WriteString(scanSummary(rep) + ".\n")
	if len(rep.Findings) > 0 {
		b.WriteString("\n| Package | Version | Ecosystem | Dependency | Vulnerability | Severity | Fixed in | Location |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|\n")
		for _, f := range rep.Findings {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | `%s` |\n", mdCell(f.Package), mdCell(f.Version), f.Ecosystem,
				dependencyLabel(f.Dependency), mdCell(findingIDs(f)), f.Severity, mdCell(strings.Join(f.Fixed, ", ")), location(f))
		}
		b.WriteString("\n<details><summary>Summaries</summary>\n\n")
		seen := map[string]bool{}
		for _, f := range rep.Findings {
			if seen[f.ID] || f.Summary == "" {
				continue
			}
			seen[f.ID] = true
			fmt.Fprintf(&b, "- **%s**: %s\n", f.ID, mdCell(f.Summary))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "").Replace(s)
}

// SARIF 2.1.0, as GitHub code scanning accepts it: one rule per
// vulnerability, one result per finding pointing at the lockfile line.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  sarifText      `json:"fullDescription"`
	Help             sarifHelp      `json:"help"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Properties       map[string]any `json:"properties"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

func sarifOf(rep *scanReport, version string) sarifLog {
	driver := sarifDriver{Name: "warden", InformationURI: "https://github.com/warden-sec/warden", Version: version, Rules: []sarifRule{}}
	results := []sarifResult{}
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		if !rules[f.ID] {
			rules[f.ID] = true
			summary := f.Summary
			if summary == "" {
				summary = f.ID
			}
			props := map[string]any{"tags": []string{"security", "vulnerability", "dependency"}, "precision": "very-high"}
			if f.Score > 0 {
				props["security-severity"] = fmt.Sprintf("%.1f", f.Score)
			} else if s, ok := levelScore[f.Severity]; ok {
				props["security-severity"] = s
			}
			aliases := strings.Join(f.Aliases, ", ")
			help := fmt.Sprintf("%s: %s", f.ID, summary)
			if aliases != "" {
				help += " (aliases: " + aliases + ")"
			}
			driver.Rules = append(driver.Rules, sarifRule{ID: f.ID, Name: strings.ReplaceAll(f.ID, "-", ""),
				ShortDescription: sarifText{Text: summary}, FullDescription: sarifText{Text: summary},
				Help: sarifHelp{Text: help, Markdown: fmt.Sprintf("**%s** %s", f.ID, mdCell(summary))}, HelpURI: helpURI(f), Properties: props})
		}
		msg := fmt.Sprintf("%s %s (%s) is affected by %s (%s severity)", f.Package, f.Version, f.Ecosystem, findingIDs(f), f.Severity)
		if len(f.Fixed) > 0 {
			msg += "; fixed in " + strings.Join(f.Fixed, ", ")
		}
		line := f.Line
		if line < 1 {
			line = 1
		}
		results = append(results, sarifResult{RuleID: f.ID, Level: sarifLevel(f.Severity), Message: sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: sarifURI(f.File)}, Region: sarifRegion{StartLine: line}}}}})
	}
	sort.Slice(driver.Rules, func(i, j int) bool { return driver.Rules[i].ID < driver.Rules[j].ID })
	return sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}}}
}

var levelScore = map[string]string{"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}

func sarifLevel(sev string) string {
	switch sev {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

func helpURI(f deps.Finding) string {
	if f.URL != "" {
		return f.URL
	}
	return "https://osv.dev/vulnerability/" + f.ID
}

// sarifURI is the file relative to the working directory with forward
// slashes, as code scanning resolves it against the checkout.
func sarifURI(file string) string {
	if filepath.IsAbs(file) {
		if wd, err := filepath.Abs("."); err == nil {
			if rel, err := filepath.Rel(wd, file); err == nil && !strings.HasPrefix(rel, "..") {
				file = rel
			}
		}
	}
	return filepath.ToSlash(filepath.Clean(file))
}
