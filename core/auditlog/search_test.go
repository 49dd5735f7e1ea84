package auditlog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestSearchRejectsMalformedText: what a caller can type either searches
// literally or is refused as ErrQuery with a reason, never an internal
// error (a NUL byte used to end SQLite's query string early).
func TestSearchRejectsMalformedText(t *testing.T) {
	f := newFixture(t)
	f.append(10)
	ctx := context.Background()
	refused := []struct {
		q   Query
		why string
	}{
		{Query{Text: "a\x00b"}, "control character (U+0000) at byte 1"},
		{Query{Text: "\x00"}, "U+0000"},
		{Query{Text: "a\x01b"}, "U+0001"},
		{Query{Text: "a\x7fb"}, "U+007F"},
		{Query{Text: "\u0085x\u009b"}, "U+009B"},
		{Query{Text: "a\xffb"}, "not valid UTF-8"},
		{Query{Text: strings.Repeat("a", MaxQueryBytes+1)}, "the limit is 1024"},
		{Query{Text: strings.Repeat("a ", MaxQueryWords+1)}, "at most 32"},
		{Query{Text: "*"}, "lone *"},
		{Query{Text: "login *"}, "lone *"},
		{Query{Actor: "user:\x00"}, "actor has a control character"},
		{Query{Action: "\xc3"}, "action is not valid UTF-8"},
		{Query{Action: strings.Repeat("x", MaxFilterBytes+1)}, "action is 257 bytes"},
	}
	for _, c := range refused {
		_, err := f.log.Search(ctx, c.q)
		if !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%+q: %v, want ErrQuery saying %q", []string{c.q.Text, c.q.Actor, c.q.Action}, err, c.why)
		}
		if err := c.q.Validate(); !errors.Is(err, ErrQuery) {
			t.Errorf("Validate(%+q) = %v", []string{c.q.Text, c.q.Actor, c.q.Action}, err)
		}
	}
	// Quotes, FTS5 operators and punctuation are searched as written.
	literal := []string{`"`, `a"b`, `"unbalanced`, `NEAR(a b)`, `a OR b`, `-x`, `^session`, `col:val`, `(`, `**`, `a**`,
		"tab\tseparated", "line\nbreak", "é", strings.Repeat("a", MaxQueryBytes), strings.Repeat("a ", MaxQueryWords)}
	for _, q := range literal {
		if _, err := f.log.Search(ctx, Query{Text: q}); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	res, err := f.log.Search(ctx, Query{Text: `"session/3"`})
	if err != nil || len(res) != 1 {
		t.Fatalf("quoted word: %d results, %v", len(res), err)
	}
}

// FuzzSearchText: any text either is refused as ErrQuery or searches
// without an error; the index never sees a query it cannot parse.
func FuzzSearchText(f *testing.F) {
	for _, s := range []string{"login", "a\x00b", `"`, `a"b*`, "sess*", "*", "NEAR(a b, 2)", "a OR b AND NOT c", "\xff", "é*", "x:y", "{a b}", "a^b", "+-", "\"\"*"} {
		f.Add(s)
	}
	fx := newFixture(f)
	fx.append(5)
	f.Fuzz(func(t *testing.T, text string) {
		q := Query{Text: text, Limit: 3}
		verr := q.Validate()
		_, err := fx.log.Search(context.Background(), q)
		if verr != nil {
			if !errors.Is(err, ErrQuery) {
				t.Fatalf("Validate refused %q (%v) but Search said %v", text, verr, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !utf8.ValidString(text) {
			t.Fatalf("%q: invalid UTF-8 accepted", text)
		}
	})
}
