package templates

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed report
var reportFiles embed.FS

// ReportHTML is the layout of `warden report --format html`
// (html/template syntax).
func ReportHTML() string {
	b, err := reportFiles.ReadFile("report/report.html.tmpl")
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// Playbooks lists the incident response playbooks by name.
func Playbooks() []string {
	entries, err := fs.ReadDir(reportFiles, "report/playbooks")
	if err != nil {
		panic(err) // embedded at build time
	}
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".md"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Playbook returns one playbook's Markdown; fs.ErrNotExist when there is none.
func Playbook(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return nil, fs.ErrNotExist
	}
	return reportFiles.ReadFile(path.Join("report/playbooks", name+".md"))
}

// PlaybookTitle is the playbook's first heading without "Playbook: ".
func PlaybookTitle(name string) (string, error) {
	b, err := Playbook(name)
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimPrefix(strings.TrimPrefix(first, "# "), "Playbook: "), nil
}
