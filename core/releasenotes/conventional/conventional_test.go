package conventional

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  string
		want Commit
	}{
		{"plain", "feat: add x\n", Commit{Type: "feat", Description: "add x"}},
		{"scope", "fix(api): close body", Commit{Type: "fix", Scope: "api", Description: "close body"}},
		{"type is case-insensitive", "FEAT(UI): Big Button", Commit{Type: "feat", Scope: "UI", Description: "Big Button"}},
		{"bang", "feat(api)!: drop v1", Commit{Type: "feat", Scope: "api", Description: "drop v1", Breaking: true, BreakingNote: "drop v1"}},
		{"bang without scope", "refactor!: rename", Commit{Type: "refactor", Description: "rename", Breaking: true, BreakingNote: "rename"}},
		{"body", "fix: a\n\nline one\nline two\n", Commit{Type: "fix", Description: "a", Body: "line one\nline two"}},
		{"multi-paragraph body and footers",
			"fix: a\n\npara one\n\npara two\n\nReviewed-by: Z\nRefs #133\n",
			Commit{Type: "fix", Description: "a", Body: "para one\n\npara two",
				Footers: []Footer{{Token: "Reviewed-by", Separator: ": ", Value: "Z"}, {Token: "Refs", Separator: " #", Value: "133"}}}},
		{"breaking footer",
			"feat: allow config to extend\n\nBREAKING CHANGE: `extends` key now\nextends other configs\n",
			Commit{Type: "feat", Description: "allow config to extend", Breaking: true, BreakingNote: "`extends` key now\nextends other configs",
				Footers: []Footer{{Token: "BREAKING CHANGE", Separator: ": ", Value: "`extends` key now\nextends other configs"}}}},
		{"breaking-change synonym",
			"chore: drop node 6\n\nBREAKING-CHANGE: use JavaScript features not available in Node 6.",
			Commit{Type: "chore", Description: "drop node 6", Breaking: true, BreakingNote: "use JavaScript features not available in Node 6.",
				Footers: []Footer{{Token: "BREAKING-CHANGE", Separator: ": ", Value: "use JavaScript features not available in Node 6."}}}},
		{"bang and footer: the footer is the note",
			"feat!: x\n\nBREAKING CHANGE: y",
			Commit{Type: "feat", Description: "x", Breaking: true, BreakingNote: "y",
				Footers: []Footer{{Token: "BREAKING CHANGE", Separator: ": ", Value: "y"}}}},
		{"lowercase breaking change is an ordinary body line",
			"feat: x\n\nbreaking change: y",
			Commit{Type: "feat", Description: "x", Body: "breaking change: y"}},
		{"footer value spans paragraphs until the next token",
			"fix: x\n\nNote: first\n\nstill the note\nSigned-off-by: A <a@x>",
			Commit{Type: "fix", Description: "x",
				Footers: []Footer{{Token: "Note", Separator: ": ", Value: "first\n\nstill the note"}, {Token: "Signed-off-by", Separator: ": ", Value: "A <a@x>"}}}},
		{"CRLF", "fix: x\r\n\r\nbody\r\n", Commit{Type: "fix", Description: "x", Body: "body"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestNotConventional(t *testing.T) {
	for _, msg := range []string{
		"", "update readme", "feat:missing space", "feat : space before colon", "feat(): empty scope",
		"feat(api: unclosed", "feat: ", "Merge pull request #1 from a/b", `Revert "feat: x"`,
		": no type", "feat(a)(b): two scopes", "feat!!: two bangs",
	} {
		if c, err := Parse(msg); !errors.Is(err, ErrNotConventional) {
			t.Errorf("%q: parsed as %+v", msg, c)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("feat(api)!: x\n\nbody\n\nBREAKING CHANGE: y\nRefs #1")
	f.Fuzz(func(t *testing.T, msg string) {
		c, err := Parse(msg)
		if err != nil {
			return
		}
		if c.Type == "" || c.Description == "" {
			t.Fatalf("%q: parsed without type or description: %+v", msg, c)
		}
		if c.Breaking && c.BreakingNote == "" && c.Description == "" {
			t.Fatalf("%q: breaking without a note", msg)
		}
	})
}
