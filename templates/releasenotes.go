package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"
)

//go:embed releasenotes
var releaseNotesFiles embed.FS

// ReleaseNotesTemplate is the embedded Markdown template of
// `warden release-notes`.
func ReleaseNotesTemplate() []byte {
	b, err := releaseNotesFiles.ReadFile("releasenotes/notes.md.tmpl")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

// ReleaseNotes renders release notes with the template text (the embedded
// one when text is nil). repo is OWNER/REPO for links, or empty.
func ReleaseNotes(text []byte, name string, data any, repo string) ([]byte, error) {
	if text == nil {
		text, name = ReleaseNotesTemplate(), "notes.md.tmpl"
	}
	funcs := template.FuncMap{
		"indent": func(n int, s string) string {
			return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+strings.Repeat(" ", n))
		},
		"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"commitLink": func(e any) (string, error) {
			var hash, short string
			switch v := e.(type) {
			case interface{ Hashes() (string, string) }:
				hash, short = v.Hashes()
			default:
				return "", fmt.Errorf("commitLink: not an entry")
			}
			if repo == "" {
				return short, nil
			}
			return fmt.Sprintf("[%s](https://github.com/%s/commit/%s)", short, repo, hash), nil
		},
		"prLink": func(n int) string {
			if repo == "" {
				return fmt.Sprintf("#%d", n)
			}
			return fmt.Sprintf("[#%d](https://github.com/%s/pull/%d)", n, repo, n)
		},
	}
	t, err := template.New(name).Funcs(funcs).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("parse release notes template: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render release notes template: %w", err)
	}
	// One final newline, whatever the template's trimming did.
	return append(bytes.TrimRight(buf.Bytes(), "\n"), '\n'), nil
}
