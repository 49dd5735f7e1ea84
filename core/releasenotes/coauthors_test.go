package releasenotes

import (
	"slices"
	"testing"
)

// coAuthorsOf, which the history scan calls on every commit, finds what
// CoAuthors finds.
func TestCoAuthorsOfMatchesCoAuthors(t *testing.T) {
	for _, msg := range []string{
		"",
		"feat: x",
		"feat: x\n\nCo-authored-by: Pat <pat@example.com>\n",
		"Co-authored-by: First Line <first@example.com>",
		"feat: x\n\nCo-authored-by: A <a@example.com>\nCO-AUTHORED-BY: B <b@example.com>\nco-authored-by:C<c@example.com>  \n",
		"feat: x\n\nsee Co-authored-by: Not <trailer@example.com>\n",
		"feat: x\n\n  Co-authored-by: Indented <indented@example.com>\n",
		"feat: x\n\nCo-authored-by: no address\nCo-authored-by: Late <late@example.com>",
		"feat: x\n\nco-AUTHOREd-by: Odd <odd@example.com>\n",
		"feat: x\n\nco-AUTHOREd-by: Odd <odd@example.com>\nCo-authored-by: Even <even@example.com>\n",
		"feat: x\n\nCo-authored-by:\n  Wrapped <wrapped@example.com>\n",
		"Authored-by: Solo <solo@example.com>\nCo-authored-by: Duo <duo@example.com>",
		"feat: x\r\n\r\nCo-authored-by: Crlf <crlf@example.com>\r\n",
	} {
		want := CoAuthors(msg)
		if got := coAuthorsOf([]byte(msg)); !slices.Equal(got, want) {
			t.Errorf("%q: %q, CoAuthors %q", msg, got, want)
		}
	}
}
