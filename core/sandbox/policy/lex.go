package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// word is one shell word after quote removal.
type word struct {
	val       string // the word with quotes removed (expansions left as written)
	off       int    // byte offset of the word in the command string
	quoted    bool   // some part was quoted or escaped
	expandOff int    // offset of the first parameter expansion, or -1
	glob      bool   // unquoted * ? or [
	brace     bool   // unquoted { or }
	tilde     bool   // unquoted leading ~
}

type redirect struct {
	op     string
	target word
}

// simpleCmd is one simple command of a shell string.
type simpleCmd struct {
	words   []word
	assigns []word
	redirs  []redirect
	piped   bool // its stdin is a pipe
}

func (c *simpleCmd) stdinRedirected() bool {
	for _, r := range c.redirs {
		switch r.op {
		case "<", "<>", "<<", "<<-", "<<<", "<&":
			return true
		}
	}
	return false
}

func (c *simpleCmd) argv() []string {
	a := make([]string, len(c.words))
	for i, w := range c.words {
		a[i] = w.val
	}
	return a
}

// parsed is the result of parsing a shell string. Parsing never stops early:
// the first refusal is kept and the rest is parsed as well as possible, so
// Escapes sees every command.
type parsed struct {
	cmds   []simpleCmd
	subs   []string // bodies of command and process substitutions
	words  []word   // every word, including redirection targets
	refuse string   // the first construct refused, with its offset
}

func (ps *parsed) fail(off int, format string, a ...any) {
	if ps.refuse == "" {
		ps.refuse = fmt.Sprintf(format, a...) + " at offset " + strconv.Itoa(off)
	}
}

type heredoc struct {
	delim  string
	strip  bool // <<- strips leading tabs
	expand bool // unquoted delimiter: the body is expanded
}

type lexer struct {
	s       string
	i       int
	ps      *parsed
	pending []heredoc
}

type token struct {
	op  string // "" for a word; "\n" for a newline
	w   word
	off int
}

const metachars = " \t\n;&|<>()"

var operators = []string{
	"&>>", "<<<", "<<-", ";;&",
	"&&", "||", ";;", ";&", "|&", "&>", "<<", "<>", "<&", ">&", ">>", ">|",
	"<", ">", "|", "&", ";", "(", ")",
}

// next returns the next token, or ok false at the end.
func (l *lexer) next() (token, bool) {
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			l.i++
		case c == '\\' && l.i+1 < len(l.s) && l.s[l.i+1] == '\n':
			l.i += 2
		case c == '#':
			for l.i < len(l.s) && l.s[l.i] != '\n' {
				l.i++
			}
		case c == '\n':
			off := l.i
			l.i++
			l.heredocs()
			return token{op: "\n", off: off}, true
		case strings.IndexByte(metachars, c) >= 0:
			off := l.i
			if (c == '<' || c == '>') && l.i+1 < len(l.s) && l.s[l.i+1] == '(' {
				l.ps.fail(off, "shell command contains process substitution %q", l.s[off:off+2])
				end := l.skipParens(off + 2)
				l.ps.subs = append(l.ps.subs, l.s[off+2:max(off+2, end-1)])
				l.i = end
				return token{w: word{val: l.s[off:end], off: off, expandOff: off}, off: off}, true
			}
			for _, op := range operators {
				if strings.HasPrefix(l.s[l.i:], op) {
					l.i += len(op)
					return token{op: op, off: off}, true
				}
			}
			l.i++
			return token{op: string(c), off: off}, true
		default:
			w := l.word()
			// An all-digit word right before < or > is a file descriptor number.
			if !w.quoted && isDigits(w.val) && l.i < len(l.s) && (l.s[l.i] == '<' || l.s[l.i] == '>') {
				continue
			}
			return token{w: w, off: w.off}, true
		}
	}
	return token{}, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// word reads one word starting at l.i.
func (l *lexer) word() word {
	w := word{off: l.i, expandOff: -1}
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		if strings.IndexByte(metachars, c) >= 0 {
			break
		}
		switch c {
		case '\\':
			w.quoted = true
			if l.i+1 < len(l.s) {
				if l.s[l.i+1] != '\n' {
					b.WriteByte(l.s[l.i+1])
				}
				l.i += 2
			} else {
				l.i++
			}
		case '\'':
			w.quoted = true
			end := strings.IndexByte(l.s[l.i+1:], '\'')
			if end < 0 {
				l.ps.fail(l.i, "shell command has an unterminated single quote")
				b.WriteString(l.s[l.i+1:])
				l.i = len(l.s)
			} else {
				b.WriteString(l.s[l.i+1 : l.i+1+end])
				l.i += end + 2
			}
		case '"':
			w.quoted = true
			l.i++
			l.double(&w, &b)
		case '`':
			l.backtick(&w)
		case '$':
			l.dollar(&w, &b, false)
		default:
			switch c {
			case '*', '?', '[':
				w.glob = true
			case '{', '}':
				w.brace = true
			case '~':
				if l.i == w.off {
					w.tilde = true
				}
			}
			b.WriteByte(c)
			l.i++
		}
	}
	w.val = b.String()
	l.ps.words = append(l.ps.words, w)
	return w
}

// double reads a double-quoted string; l.i is just past the opening quote.
func (l *lexer) double(w *word, b *strings.Builder) {
	start := l.i - 1
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch c {
		case '"':
			l.i++
			return
		case '\\':
			if l.i+1 < len(l.s) && strings.IndexByte("$`\"\\\n", l.s[l.i+1]) >= 0 {
				if l.s[l.i+1] != '\n' {
					b.WriteByte(l.s[l.i+1])
				}
				l.i += 2
				continue
			}
			b.WriteByte(c)
			l.i++
		case '`':
			l.backtick(w)
		case '$':
			l.dollar(w, b, true)
		default:
			b.WriteByte(c)
			l.i++
		}
	}
	l.ps.fail(start, "shell command has an unterminated double quote")
}

func (l *lexer) backtick(w *word) {
	off := l.i
	l.ps.fail(off, "shell command contains command substitution %q", "`")
	j := off + 1
	for j < len(l.s) && l.s[j] != '`' {
		if l.s[j] == '\\' {
			j++
		}
		j++
	}
	l.ps.subs = append(l.ps.subs, l.s[off+1:min(j, len(l.s))])
	l.i = min(j+1, len(l.s))
	if w.expandOff < 0 {
		w.expandOff = off
	}
}

// skipParens returns the index just past the ")" closing the "(" before i.
func (l *lexer) skipParens(i int) int {
	depth := 1
	for i < len(l.s) {
		switch l.s[i] {
		case '\\':
			i++
		case '\'':
			if e := strings.IndexByte(l.s[i+1:], '\''); e >= 0 {
				i += e + 1
			} else {
				return len(l.s)
			}
		case '"':
			for i++; i < len(l.s) && l.s[i] != '"'; i++ {
				if l.s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return len(l.s)
}

// dollar reads an expansion starting with $ at l.i.
func (l *lexer) dollar(w *word, b *strings.Builder, inDouble bool) {
	off := l.i
	s := l.s
	if off+1 >= len(s) {
		b.WriteByte('$')
		l.i++
		return
	}
	setExpand := func() {
		if w.expandOff < 0 {
			w.expandOff = off
		}
	}
	c := s[off+1]
	switch {
	case c == '\'' && !inDouble: // $'...' ANSI-C quoting
		w.quoted = true
		j := off + 2
		var raw strings.Builder
		for j < len(s) && s[j] != '\'' {
			if s[j] == '\\' && j+1 < len(s) {
				raw.WriteByte(s[j])
				j++
			}
			raw.WriteByte(s[j])
			j++
		}
		if j >= len(s) {
			l.ps.fail(off, "shell command has an unterminated $' quote")
		}
		b.WriteString(ansiC(raw.String()))
		l.i = min(j+1, len(s))
	case c == '"' && !inDouble: // $"..." locale string
		w.quoted = true
		l.i = off + 2
		l.double(w, b)
	case c == '(' && off+2 < len(s) && s[off+2] == '(':
		setExpand()
		l.arithmetic(off)
		b.WriteString(s[off:l.i])
	case c == '(':
		setExpand()
		l.ps.fail(off, "shell command contains command substitution %q", "$(")
		end := l.skipParens(off + 2)
		l.ps.subs = append(l.ps.subs, s[off+2:max(off+2, end-1)])
		b.WriteString(s[off:end])
		l.i = end
	case c == '{' || c == '[':
		setExpand()
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		depth := 0
		j := off + 1
		for ; j < len(s); j++ {
			switch {
			case s[j] == '\\':
				j++
			case s[j] == c:
				depth++
			case s[j] == closer:
				depth--
			case s[j] == '`':
				l.ps.fail(j, "shell command contains command substitution %q", "`")
			case s[j] == '$' && j+1 < len(s) && s[j+1] == '(' && !(j+2 < len(s) && s[j+2] == '('):
				l.ps.fail(j, "shell command contains command substitution %q", "$(")
			}
			if depth == 0 {
				break
			}
		}
		if j >= len(s) {
			l.ps.fail(off, "shell command has an unterminated %q", s[off:off+2])
			j = len(s) - 1
		}
		if c == '{' && strings.Contains(s[off:j+1], "@P") {
			l.ps.fail(off, "shell command contains prompt expansion %q, which can run commands,", "@P")
		}
		b.WriteString(s[off : j+1])
		l.i = j + 1
	case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		setExpand()
		j := off + 1
		for j < len(s) && (s[j] == '_' || (s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9')) {
			j++
		}
		b.WriteString(s[off:j])
		l.i = j
	case strings.IndexByte("0123456789@*#?$!-", c) >= 0:
		setExpand()
		b.WriteString(s[off : off+2])
		l.i = off + 2
	default:
		b.WriteByte('$')
		l.i++
	}
}

// arithmetic skips $((...)) at off. A body that does not close with "))"
// is a command substitution of a subshell, which is refused.
func (l *lexer) arithmetic(off int) {
	s := l.s
	depth := 2
	for j := off + 3; j < len(s); j++ {
		switch s[j] {
		case '`':
			l.ps.fail(j, "shell command contains command substitution %q", "`")
		case '$':
			if j+1 < len(s) && s[j+1] == '(' && !(j+2 < len(s) && s[j+2] == '(') {
				l.ps.fail(j, "shell command contains command substitution %q", "$(")
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 1 {
				if j+1 < len(s) && s[j+1] == ')' {
					l.i = j + 2
					return
				}
				l.ps.fail(off, "shell command contains command substitution %q", "$(")
				l.i = j + 1
				return
			}
		}
	}
	l.ps.fail(off, "shell command has an unterminated %q", "$((")
	l.i = len(s)
}

// ansiC decodes the escapes of a $'...' string.
func ansiC(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a', 'b', 'e', 'E', 'f', 'v':
			b.WriteByte(map[byte]byte{'a': 7, 'b': 8, 'e': 27, 'E': 27, 'f': 12, 'v': 11}[c])
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && strings.IndexByte("0123456789abcdefABCDEF", s[j]) >= 0 {
				j++
			}
			if v, err := strconv.ParseUint(s[i+1:j], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i = j - 1
			} else {
				b.WriteString(`\x`)
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i:j], 8, 16)
			b.WriteByte(byte(v))
			i = j - 1
		default:
			b.WriteByte(c) // \\ \' \" and unknown escapes
		}
	}
	return b.String()
}

// heredocs reads the bodies of pending here-documents after a newline.
func (l *lexer) heredocs() {
	for _, h := range l.pending {
		for l.i < len(l.s) {
			end := strings.IndexByte(l.s[l.i:], '\n')
			lineEnd := len(l.s)
			if end >= 0 {
				lineEnd = l.i + end
			}
			line := l.s[l.i:lineEnd]
			if h.strip {
				line = strings.TrimLeft(line, "\t")
			}
			lineOff := l.i
			l.i = min(lineEnd+1, len(l.s))
			if line == h.delim {
				break
			}
			if h.expand {
				l.scanHeredocLine(l.s[lineOff:lineEnd], lineOff)
			}
		}
	}
	l.pending = nil
}

// scanHeredocLine refuses substitutions in an expanded here-document line.
func (l *lexer) scanHeredocLine(line string, off int) {
	for j := 0; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '`':
			l.ps.fail(off+j, "shell command contains command substitution %q", "`")
			l.ps.subs = append(l.ps.subs, line[j+1:])
		case '$':
			if j+1 < len(line) && line[j+1] == '(' && !(j+2 < len(line) && line[j+2] == '(') {
				l.ps.fail(off+j, "shell command contains command substitution %q", "$(")
				l.ps.subs = append(l.ps.subs, line[j+2:])
			}
		}
	}
}
