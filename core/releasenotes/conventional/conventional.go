// Package conventional parses commit messages written to the Conventional
// Commits 1.0.0 specification: a header `type(scope)!: description`, an
// optional body one blank line after it, and optional git-trailer style
// footers (`Token: value` or `Token #value`) one blank line after the body.
// A breaking change is marked by `!` in the header or by a `BREAKING CHANGE:`
// (or `BREAKING-CHANGE:`) footer.
package conventional

import (
	"errors"
	"strings"
)

// Footer is one trailer at the end of a message.
type Footer struct {
	Token string `json:"token"`
	// Separator is ": " or " #".
	Separator string `json:"separator"`
	Value     string `json:"value"`
}

// Commit is a parsed message.
type Commit struct {
	Type        string   `json:"type"`
	Scope       string   `json:"scope,omitempty"`
	Description string   `json:"description"`
	Body        string   `json:"body,omitempty"`
	Footers     []Footer `json:"footers,omitempty"`
	// Breaking is set by `!` in the header or a BREAKING CHANGE footer.
	Breaking bool `json:"breaking"`
	// BreakingNote is the text of the BREAKING CHANGE footer(s), or the
	// description when only `!` marked the change.
	BreakingNote string `json:"breakingNote,omitempty"`
}

// ErrNotConventional is returned for a message whose header does not follow
// the specification.
var ErrNotConventional = errors.New("not a conventional commit")

// Parse parses message. The type is returned lowercased (types are case
// insensitive); the scope and description keep their case.
func Parse(message string) (Commit, error) {
	message = strings.ReplaceAll(message, "\r\n", "\n")
	message = strings.TrimLeft(message, "\n")
	lines := strings.Split(strings.TrimRight(message, "\n \t"), "\n")
	var c Commit
	if err := parseHeader(lines[0], &c); err != nil {
		return Commit{}, err
	}
	rest := lines[1:]
	// The body begins one blank line after the header. A message whose
	// second line is not blank is tolerated (git itself folds such lines
	// into the subject): the extra lines become body.
	for len(rest) > 0 && strings.TrimSpace(rest[0]) == "" {
		rest = rest[1:]
	}
	start := footerStart(rest)
	c.Body = strings.TrimSpace(strings.Join(rest[:start], "\n"))
	c.Footers = parseFooters(rest[start:])
	var notes []string
	for _, f := range c.Footers {
		if f.Token == "BREAKING CHANGE" || f.Token == "BREAKING-CHANGE" {
			c.Breaking = true
			notes = append(notes, f.Value)
		}
	}
	if len(notes) > 0 {
		c.BreakingNote = strings.Join(notes, "\n\n")
	} else if c.Breaking {
		c.BreakingNote = c.Description
	}
	return c, nil
}

// parseHeader reads `type(scope)!: description`.
func parseHeader(h string, c *Commit) error {
	i := 0
	for i < len(h) && isTypeChar(h[i]) {
		i++
	}
	if i == 0 {
		return ErrNotConventional
	}
	c.Type = strings.ToLower(h[:i])
	if i < len(h) && h[i] == '(' {
		end := strings.IndexByte(h[i:], ')')
		if end < 0 {
			return ErrNotConventional
		}
		scope := h[i+1 : i+end]
		if strings.TrimSpace(scope) == "" || strings.ContainsAny(scope, "()\n") {
			return ErrNotConventional
		}
		c.Scope = scope
		i += end + 1
	}
	if i < len(h) && h[i] == '!' {
		c.Breaking = true
		i++
	}
	if !strings.HasPrefix(h[i:], ": ") {
		return ErrNotConventional
	}
	c.Description = strings.TrimSpace(h[i+2:])
	if c.Description == "" {
		return ErrNotConventional
	}
	return nil
}

// A type is a noun: letters, with digits, '-' and '_' allowed after the
// first letter (as in `ci`, `build`, `deps-dev`).
func isTypeChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// footerToken returns the footer a line opens, if it opens one.
func footerToken(line string) (Footer, bool) {
	for _, bc := range []string{"BREAKING CHANGE", "BREAKING-CHANGE"} {
		if v, ok := strings.CutPrefix(line, bc+": "); ok {
			return Footer{Token: bc, Separator: ": ", Value: v}, true
		}
		if v, ok := strings.CutPrefix(line, bc+" #"); ok {
			return Footer{Token: bc, Separator: " #", Value: v}, true
		}
	}
	i := 0
	for i < len(line) && (isTypeChar(line[i])) {
		i++
	}
	if i == 0 || line[0] == '-' {
		return Footer{}, false
	}
	tok := line[:i]
	switch {
	case strings.HasPrefix(line[i:], ": "):
		return Footer{Token: tok, Separator: ": ", Value: line[i+2:]}, true
	case strings.HasPrefix(line[i:], " #"):
		return Footer{Token: tok, Separator: " #", Value: line[i+2:]}, true
	}
	return Footer{}, false
}

// footerStart finds where the footers begin in the lines after the header:
// the first line that opens a footer and follows a blank line (or starts the
// section). Everything from there on belongs to footers: a footer's value
// runs until the next token.
func footerStart(lines []string) int {
	for i, l := range lines {
		if i > 0 && strings.TrimSpace(lines[i-1]) != "" {
			continue
		}
		if _, ok := footerToken(l); ok {
			return i
		}
	}
	return len(lines)
}

func parseFooters(lines []string) []Footer {
	var out []Footer
	for _, l := range lines {
		if f, ok := footerToken(l); ok {
			out = append(out, f)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Value += "\n" + l
		}
	}
	for i := range out {
		out[i].Value = strings.TrimSpace(out[i].Value)
	}
	return out
}
