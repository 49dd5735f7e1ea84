package config

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic is one problem in a config file.
type Diagnostic struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// String renders file:line: path: message.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d", d.Line)
		}
		b.WriteString(": ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// ValidationError lists everything wrong with a config file.
type ValidationError struct {
	File        string
	Diagnostics []Diagnostic
}

func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Diagnostics))
	for _, d := range e.Diagnostics {
		lines = append(lines, d.String())
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%s: %d problems:\n  %s", e.File, len(lines), strings.Join(lines, "\n  "))
}

// Hint returns the hints of the diagnostics, one per line, without repeats.
func (e *ValidationError) Hint() string {
	var out []string
	seen := map[string]bool{}
	for _, d := range e.Diagnostics {
		if d.Hint != "" && !seen[d.Hint] {
			seen[d.Hint] = true
			out = append(out, d.Hint)
		}
	}
	return strings.Join(out, "\n")
}

func sortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Line != ds[j].Line {
			return ds[i].Line < ds[j].Line
		}
		return ds[i].Path < ds[j].Path
	})
}

// Concerns reports whether any diagnostic is about path or a key below it.
func (e *ValidationError) Concerns(path string) bool {
	for _, d := range e.Diagnostics {
		if d.Path == path || strings.HasPrefix(d.Path, path+".") || strings.HasPrefix(d.Path, path+"[") {
			return true
		}
	}
	return false
}
