// Package suggest finds the known name a mistyped one was meant to be, for
// "did you mean …?" in config diagnostics and on the command line.
package suggest

// Closest returns the candidate closest to s when it is close enough to be
// a typo of it: at most two edits away (three for names longer than eight
// characters), where swapping two neighbouring characters is one edit, and
// fewer edits than s has characters. It returns "" otherwise. Of equally
// close candidates the first wins.
func Closest(s string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := distance(s, c)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len([]rune(s)) > 8 {
		limit = 3
	}
	if bestDist <= limit && bestDist < len([]rune(s)) {
		return best
	}
	return ""
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
