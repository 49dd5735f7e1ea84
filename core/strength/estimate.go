package strength

import (
	"cmp"
	"math"
	"slices"
)

// maxRunes caps the input Estimate looks at; longer input only counts its
// first maxRunes characters.
const maxRunes = 4096

// patternCost is added to every non-random pattern: the bits needed to say
// where a pattern starts and which kind it is. Without it, a random token
// would be cut into many short chance matches ("aa", "345", "dcba") and a
// real 128-bit hex token could fall below 128 bits; zxcvbn does the same
// job with its factorial penalty on the number of matches. With it, one in
// a million 32-character hex tokens still estimates above 134 bits.
const patternCost = 6

// log2n[i] is log2(i) for the lengths and counts the estimator meets. It is
// built once and only read afterwards.
var log2n = func() (t [maxRunes + 1]float64) {
	for i := range t {
		t[i] = math.Log2(float64(i))
	}
	return t
}()

// Minimum lengths of the patterns.
const (
	minSequence = 3
	minKeyboard = 4
	minWord     = 4
)

// Character classes; the random fallback costs log2 of the size of the
// union of the classes present in the whole string.
const (
	classLower = 1 << iota
	classUpper
	classDigit
	classSymbol
	classOther
)

func classOf(r rune) int {
	switch {
	case 'a' <= r && r <= 'z':
		return classLower
	case 'A' <= r && r <= 'Z':
		return classUpper
	case '0' <= r && r <= '9':
		return classDigit
	case ' ' <= r && r <= '~':
		return classSymbol
	}
	return classOther
}

// charsetSize returns the number of characters in the union of the classes
// in mask.
func charsetSize(mask int) int {
	n := 0
	if mask&classLower != 0 {
		n += 26
	}
	if mask&classUpper != 0 {
		n += 26
	}
	if mask&classDigit != 0 {
		n += 10
	}
	if mask&classSymbol != 0 {
		n += 33 // space and the 32 ASCII punctuation characters
	}
	if mask&classOther != 0 {
		n += 100
	}
	return n
}

// Segment kinds used while solving.
const (
	segRandom uint8 = iota
	segRepeat
	segSequence
	segKeyboard
	segDictionary
)

var segKinds = [...]string{
	segRandom:     kindRandom,
	segRepeat:     kindRepeat,
	segSequence:   kindSequence,
	segKeyboard:   kindKeyboard,
	segDictionary: kindDictionary,
}

type dictMatch struct {
	end  int32
	bits float64
}

// repeatCand is a square (or higher power) starting at some position i:
// the unit s[i:i+p] is repeated k times in a row (k >= 2, maximal). The
// unit is rotation rot of the unit of run number run: starts of one run
// that are p apart have the same unit and share one estimate of it.
type repeatCand struct {
	start, p, k, run, rot int32
}

// repeatRun is a maximal run of smallest period p starting at a, holding
// at least two copies of its unit.
type repeatRun struct {
	a, p int32
	unit []float64 // estimated bits of each rotation of the unit; -1 until known
}

type estimator struct {
	s        string  // the capped input
	r        []rune  // its characters (an invalid byte is one utf8.RuneError)
	off      []int   // byte offset of each character, off[len(r)] == len(s)
	charBits float64 // bits of one random character

	seqLen  []int32 // length of the longest sequence starting at i
	kbdLen  []int32 // length of the longest keyboard walk starting at i
	dictIdx []int32 // dictionary matches starting at i are dict[dictIdx[i]:dictIdx[i+1]]
	dict    []dictMatch
	repIdx  []int32 // repeat candidates starting at i are reps[repIdx[i]:repIdx[i+1]]
	reps    []repeatCand
	runs    []repeatRun
}

// Estimate returns the estimated entropy in bits of s and the segments it
// was split into. Only the first 4096 characters of s are considered.
func Estimate(s string) Result {
	e := newEstimator(s)
	if len(e.r) == 0 {
		return Result{}
	}
	bits, pats := e.solve(0, len(e.r), true)
	return Result{Bits: bits, Patterns: pats}
}

func newEstimator(s string) *estimator {
	e := &estimator{}
	mask := 0
	for i, c := range s {
		if len(e.r) == maxRunes {
			s = s[:i]
			break
		}
		e.r = append(e.r, c)
		e.off = append(e.off, i)
		mask |= classOf(c)
	}
	e.s = s
	e.off = append(e.off, len(s))
	if len(e.r) == 0 {
		return e
	}
	e.charBits = math.Log2(float64(charsetSize(mask)))
	e.findSequences()
	e.findKeyboardWalks()
	e.findWords()
	e.findRepeats()
	return e
}

// findSequences fills seqLen: runs whose code points change by a constant
// step of -2, -1, +1 or +2.
func (e *estimator) findSequences() {
	n := len(e.r)
	e.seqLen = make([]int32, n)
	e.seqLen[n-1] = 1
	for i := n - 2; i >= 0; i-- {
		d := e.r[i+1] - e.r[i]
		switch {
		case d == 0 || d < -2 || d > 2:
			e.seqLen[i] = 1
		case i+2 < n && e.r[i+2]-e.r[i+1] == d:
			e.seqLen[i] = e.seqLen[i+1] + 1
		default:
			e.seqLen[i] = 2
		}
	}
}

func sequenceBits(first rune, length int) float64 {
	return log2n[charsetSize(classOf(first))] + log2n[length] + 1
}

// findKeyboardWalks fills kbdLen: runs of adjacent keys along one row of a
// US qwerty keyboard, in one direction.
func (e *estimator) findKeyboardWalks() {
	n := len(e.r)
	e.kbdLen = make([]int32, n)
	e.kbdLen[n-1] = 1
	for i := n - 2; i >= 0; i-- {
		d := keyStep(e.r[i], e.r[i+1])
		switch {
		case d == 0:
			e.kbdLen[i] = 1
		case i+2 < n && keyStep(e.r[i+1], e.r[i+2]) == d:
			e.kbdLen[i] = e.kbdLen[i+1] + 1
		default:
			e.kbdLen[i] = 2
		}
	}
}

func (e *estimator) keyboardBits(i, length int) float64 {
	bits := log2n[keyCount] + log2n[length]
	if keyStep(e.r[i], e.r[i+1]) < 0 {
		bits++ // reversed
	}
	return bits
}

// findWords fills dict with the dictionary words (case-insensitive, with
// common l33t substitutions) found at each position.
func (e *estimator) findWords() {
	n := len(e.r)
	d := dictionary()
	e.dictIdx = make([]int32, n+1)
	type state struct {
		node, pos, subs int32
	}
	var stack []state
	for i := range n {
		e.dictIdx[i] = int32(len(e.dict))
		first := len(e.dict)
		stack = append(stack[:0], state{0, int32(i), 0})
		for len(stack) > 0 {
			st := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if int(st.pos)-i >= minWord && d.word[st.node] {
				bits := d.bits + caseBits(e.r[i:st.pos]) + float64(st.subs)
				e.addWord(first, st.pos, bits)
			}
			if int(st.pos) == n {
				continue
			}
			c := e.r[st.pos]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c < 0x80 {
				if child, ok := d.child(st.node, byte(c)); ok {
					stack = append(stack, state{child, st.pos + 1, st.subs})
				}
			}
			for _, x := range []byte(leet(c)) {
				if child, ok := d.child(st.node, x); ok {
					stack = append(stack, state{child, st.pos + 1, st.subs + 1})
				}
			}
		}
	}
	e.dictIdx[n] = int32(len(e.dict))
}

// addWord records a match ending at end, keeping the cheapest per end among
// the matches from index first on.
func (e *estimator) addWord(first int, end int32, bits float64) {
	for j := first; j < len(e.dict); j++ {
		if e.dict[j].end == end {
			e.dict[j].bits = min(e.dict[j].bits, bits)
			return
		}
	}
	e.dict = append(e.dict, dictMatch{end, bits})
}

// leet returns the letters that c commonly stands for.
func leet(c rune) string {
	switch c {
	case '4', '@':
		return "a"
	case '8':
		return "b"
	case '(', '{', '[', '<':
		return "c"
	case '3':
		return "e"
	case '6', '9':
		return "g"
	case '1', '|':
		return "il"
	case '!':
		return "i"
	case '0':
		return "o"
	case '5', '$':
		return "s"
	case '7', '+':
		return "t"
	case '2':
		return "z"
	}
	return ""
}

// caseBits is the cost of the capitalisation of a word: nothing for all
// lowercase, one bit for Capitalised or ALL UPPER, else log2 of the number
// of ways to pick that many uppercase letters.
func caseBits(w []rune) float64 {
	upper, lower := 0, 0
	for _, c := range w {
		switch {
		case 'A' <= c && c <= 'Z':
			upper++
		case 'a' <= c && c <= 'z':
			lower++
		}
	}
	switch {
	case upper == 0:
		return 0
	case lower == 0 || (upper == 1 && 'A' <= w[0] && w[0] <= 'Z'):
		return 1
	}
	ways := 0.0
	for k := 1; k <= min(upper, lower); k++ {
		ways += binomial(upper+lower, k)
	}
	return math.Log2(ways)
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// findRepeats finds, for every period p, the maximal runs of period p that
// hold at least two copies of their unit and whose smallest period is p,
// and records a candidate at every start inside them.
func (e *estimator) findRepeats() {
	n := len(e.r)
	r := e.r
	type span struct{ a, b int32 }
	seen := map[span]bool{}
	for p := 1; 2*p <= n; p++ {
		// A run of period p holding two copies is a block of at least p
		// positions j with r[j] == r[j+p], so it contains a multiple of p:
		// only those are probed, and a hit is extended both ways.
		for j := 0; j+p < n; j += p {
			if r[j] != r[j+p] {
				continue
			}
			a, c := j, j
			for a > 0 && r[a-1] == r[a-1+p] {
				a--
			}
			for c+p < n && r[c] == r[c+p] {
				c++
			}
			j = c / p * p // r[c] != r[c+p]: go on with the next multiple after c
			b := c + p
			if b-a < 2*p {
				continue
			}
			// A run whose smallest period q is smaller than p is exactly
			// the run already found for q (q divides p).
			sp := span{int32(a), int32(b)}
			if seen[sp] {
				continue
			}
			seen[sp] = true
			for i := a; i+2*p <= b; i++ {
				e.reps = append(e.reps, repeatCand{
					start: int32(i), p: int32(p), k: int32((b - i) / p),
					run: int32(len(e.runs)), rot: int32((i - a) % p),
				})
			}
			e.runs = append(e.runs, repeatRun{a: int32(a), p: int32(p)})
		}
	}
	slices.SortFunc(e.reps, func(x, y repeatCand) int {
		return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.p, y.p))
	})
	e.repIdx = make([]int32, n+1)
	j := 0
	for i := range n + 1 {
		for j < len(e.reps) && int(e.reps[j].start) < i {
			j++
		}
		e.repIdx[i] = int32(j)
	}
}

// exactRotations is the longest unit whose every rotation is estimated on
// its own. A longer unit is estimated once, at the start of its run; a
// repeat starting elsewhere in the run repeats a rotation of it, which
// costs log2(p) more bits to name. This keeps pathological input (such
// as a Fibonacci word, full of long overlapping runs) fast.
const exactRotations = 32

// unitBits estimates the unit of a repeat candidate, recursively.
func (e *estimator) unitBits(c repeatCand) float64 {
	r := &e.runs[c.run]
	if r.unit == nil {
		n := 1
		if r.p <= exactRotations {
			n = int(r.p)
		}
		r.unit = make([]float64, n)
		for i := range r.unit {
			r.unit[i] = -1
		}
	}
	first := r.unit[0]
	if first < 0 {
		first, _ = e.solve(int(r.a), int(r.a+r.p), false)
		r.unit[0] = first
	}
	if c.rot == 0 {
		return first
	}
	if int(c.rot) >= len(r.unit) {
		return first + log2n[r.p]
	}
	if v := r.unit[c.rot]; v >= 0 {
		return v
	}
	lo := int(r.a + c.rot)
	v, _ := e.solve(lo, lo+int(r.p), false)
	v = min(v, first+log2n[r.p])
	r.unit[c.rot] = v
	return v
}

type step struct {
	from int32
	kind uint8
	bits float64
}

// solve finds the segmentation of r[lo:hi] with the fewest total bits.
// Matches are cut off at hi; repeats inside recurse on strictly shorter
// units, so the recursion ends.
func (e *estimator) solve(lo, hi int, trace bool) (float64, []Pattern) {
	m := hi - lo
	best := make([]float64, m+1)
	for i := 1; i <= m; i++ {
		best[i] = math.Inf(1)
	}
	var back []step
	if trace {
		back = make([]step, m+1)
	}
	relax := func(from, to int, kind uint8, bits float64) {
		if kind != segRandom {
			bits += patternCost
		}
		if v := best[from-lo] + bits; v < best[to-lo] {
			best[to-lo] = v
			if trace {
				back[to-lo] = step{int32(from), kind, bits}
			}
		}
	}
	for i := lo; i < hi; i++ {
		relax(i, i+1, segRandom, e.charBits)
		if l := min(int(e.seqLen[i]), hi-i); l >= minSequence {
			relax(i, i+l, segSequence, sequenceBits(e.r[i], l))
		}
		if l := min(int(e.kbdLen[i]), hi-i); l >= minKeyboard {
			relax(i, i+l, segKeyboard, e.keyboardBits(i, l))
		}
		for _, w := range e.dict[e.dictIdx[i]:e.dictIdx[i+1]] {
			if int(w.end) <= hi {
				relax(i, int(w.end), segDictionary, w.bits)
			}
		}
		for _, c := range e.reps[e.repIdx[i]:e.repIdx[i+1]] {
			p := int(c.p)
			if k := min(int(c.k), (hi-i)/p); k >= 2 {
				relax(i, i+k*p, segRepeat, e.unitBits(c)+log2n[k])
			}
		}
	}
	if !trace {
		return best[m], nil
	}
	var steps []step
	for j := hi; j > lo; j = int(back[j-lo].from) {
		steps = append(steps, back[j-lo])
	}
	slices.Reverse(steps)
	// Merge consecutive random characters into one pattern.
	var pats []Pattern
	for i := 0; i < len(steps); {
		st := steps[i]
		bits := st.bits
		j := i + 1
		for st.kind == segRandom && j < len(steps) && steps[j].kind == segRandom {
			bits += steps[j].bits
			j++
		}
		end := hi
		if j < len(steps) {
			end = int(steps[j].from)
		}
		pats = append(pats, Pattern{Kind: segKinds[st.kind], Token: e.s[e.off[st.from]:e.off[end]], Bits: bits})
		i = j
	}
	return best[m], pats
}
