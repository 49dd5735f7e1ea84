package totp

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"

	"rsc.io/qr"
)

// testURI is a realistic otpauth URI.
func testURI(t testing.TB) string {
	t.Helper()
	u, err := URI("Warden Gateway", "alice@example.com", []byte(seedSHA1))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// reference returns the module grid qr.Encode produces for text at level M,
// without a quiet zone.
func reference(t testing.TB, text string) [][]bool {
	t.Helper()
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	g := make([][]bool, c.Size)
	for y := range g {
		g[y] = make([]bool, c.Size)
		for x := range g[y] {
			g[y][x] = c.Black(x, y)
		}
	}
	return g
}

func TestQRPNG(t *testing.T) {
	for _, text := range []string{"x", testURI(t), strings.Repeat("otpauth://totp/a:b?secret=ABC", 20)} {
		data, err := QRPNG(text)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("png.Decode: %v", err)
		}
		b := img.Bounds()
		if b.Dx() != b.Dy() || b.Dx() < 256 {
			t.Fatalf("image is %dx%d, want square and at least 256x256", b.Dx(), b.Dy())
		}
		ref := reference(t, text)
		modules := len(ref) + 2*4
		if b.Dx()%modules != 0 {
			t.Fatalf("%d px is not a whole number of pixels for %d modules", b.Dx(), modules)
		}
		scale := b.Dx() / modules
		// Every pixel is pure black or white and matches its module; the
		// 4-module border is white.
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r != g || g != bl || (r != 0 && r != 0xffff) {
					t.Fatalf("pixel (%d,%d) is not black or white: %v", x, y, img.At(x, y))
				}
				mx, my := x/scale-4, y/scale-4
				want := mx >= 0 && my >= 0 && mx < len(ref) && my < len(ref) && ref[my][mx]
				if got := r == 0; got != want {
					t.Fatalf("%q: pixel (%d,%d) dark = %v, want %v", text, x, y, got, want)
				}
			}
		}
		// Sanity check of the reference: the top-left finder pattern (a dark
		// 7x7 ring, a light ring, a dark 3x3 centre).
		for y := range 7 {
			for x := range 7 {
				ring := max(abs(x-3), abs(y-3))
				if want := ring != 2; ref[y][x] != want {
					t.Fatalf("%q: no finder pattern at the top left", text)
				}
			}
		}
	}
	if _, err := QRPNG(""); err == nil {
		t.Error("QRPNG(\"\"): no error")
	}
	if _, err := QRPNG(strings.Repeat("x", 5000)); err == nil {
		t.Error("QRPNG of 5000 bytes: no error")
	}
}

// decodeTerminal turns QRTerminal's output back into module rows.
func decodeTerminal(t *testing.T, s string, invert bool) [][]bool {
	t.Helper()
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("output does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	width := utf8.RuneCountInString(lines[0])
	var rows [][]bool
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n != width {
			t.Fatalf("line %d is %d runes wide, line 0 is %d", i, n, width)
		}
		top, bottom := make([]bool, 0, width), make([]bool, 0, width)
		for _, r := range l {
			var a, b bool
			switch r {
			case ' ':
			case '▀':
				a = true
			case '▄':
				b = true
			case '█':
				a, b = true, true
			default:
				t.Fatalf("line %d: unexpected rune %q", i, r)
			}
			if invert {
				a, b = !a, !b
			}
			top, bottom = append(top, a), append(bottom, b)
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

func TestQRTerminal(t *testing.T) {
	text := testURI(t)
	normal, err := QRTerminal(text, false)
	if err != nil {
		t.Fatal(err)
	}
	inverted, err := QRTerminal(text, true)
	if err != nil {
		t.Fatal(err)
	}

	// invert swaps ' ' with '█' and '▀' with '▄', and changes nothing else.
	swap := strings.NewReplacer(" ", "█", "█", " ", "▀", "▄", "▄", "▀")
	if swap.Replace(normal) != inverted {
		t.Errorf("inverted output is not the normal one with blocks swapped:\n%s\n%s", normal, inverted)
	}
	if normal == inverted {
		t.Error("invert changes nothing")
	}

	ref := reference(t, text)
	size := len(ref) + 2*4
	for _, invert := range []bool{false, true} {
		out := normal
		if invert {
			out = inverted
		}
		rows := decodeTerminal(t, out, invert)
		if len(rows[0]) != size {
			t.Fatalf("width %d, want %d modules", len(rows[0]), size)
		}
		if len(rows) != size+size%2 {
			t.Fatalf("%d module rows, want %d", len(rows), size+size%2)
		}
		if strings.Count(out, "\n") != (size+1)/2 {
			t.Errorf("%d lines, want %d", strings.Count(out, "\n"), (size+1)/2)
		}
		for y, row := range rows {
			for x, dark := range row {
				my, mx := y-4, x-4
				want := mx >= 0 && my >= 0 && mx < len(ref) && my < len(ref) && ref[my][mx]
				if dark != want {
					t.Fatalf("invert=%v: module (%d,%d) dark = %v, want %v", invert, x, y, dark, want)
				}
			}
		}
	}
	if _, err := QRTerminal("", false); err == nil {
		t.Error("QRTerminal(\"\"): no error")
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pngModules decodes QRPNG's output into its module grid without the quiet
// zone, sampling the centre of each module. The module size in pixels comes
// from the top-left finder pattern, which starts after 4 quiet modules.
func pngModules(t *testing.T, data []byte) [][]bool {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dark := func(x, y int) bool {
		r, _, _, _ := img.At(x, y).RGBA()
		return r == 0
	}
	dim := img.Bounds().Dx()
	first := 0
	for first < dim && !dark(first, first) {
		first++
	}
	if first == dim || first%4 != 0 {
		t.Fatalf("finder pattern starts at pixel %d", first)
	}
	scale := first / 4
	symbol := dim/scale - 8
	if symbol < 21 || (symbol-17)%4 != 0 {
		t.Fatalf("%d modules is not a QR symbol size", symbol)
	}
	g := make([][]bool, symbol)
	for y := range g {
		g[y] = make([]bool, symbol)
		for x := range g[y] {
			g[y][x] = dark((x+4)*scale+scale/2, (y+4)*scale+scale/2)
		}
	}
	return g
}

// TestQRFormatInfo reads the format information the symbol itself carries
// (ISO/IEC 18004 section 7.9, both copies) from the PNG and checks that it
// is a valid BCH codeword announcing error correction level M; for versions
// 7 and up it also checks both copies of the version information (7.10).
func TestQRFormatInfo(t *testing.T) {
	text := testURI(t)
	data, err := QRPNG(text)
	if err != nil {
		t.Fatal(err)
	}
	g := pngModules(t, data)
	size := len(g)
	bit := func(x, y int) int {
		if g[y][x] {
			return 1
		}
		return 0
	}
	// First copy, around the top-left finder pattern; second copy split
	// between the bottom-left and top-right ones.
	var first, second int
	for i := 0; i <= 5; i++ {
		first |= bit(8, i) << i
	}
	first |= bit(8, 7)<<6 | bit(8, 8)<<7 | bit(7, 8)<<8
	for i := 9; i < 15; i++ {
		first |= bit(14-i, 8) << i
	}
	for i := range 8 {
		second |= bit(size-1-i, 8) << i
	}
	for i := 8; i < 15; i++ {
		second |= bit(8, size-15+i) << i
	}
	if first != second {
		t.Fatalf("format information copies differ: %015b vs %015b", first, second)
	}
	if !g[size-8][8] {
		t.Error("the dark module is missing")
	}
	// Level bits: L=01, M=00, Q=11, H=10; then the mask; BCH(15,5) with
	// generator 0x537, masked with 0x5412.
	found := false
	for level := range 4 {
		for mask := range 8 {
			d := level<<3 | mask
			rem := d
			for range 10 {
				rem = rem<<1 ^ (rem>>9)*0x537
			}
			if (d<<10|rem)^0x5412 == first {
				found = true
				if level != 0 {
					t.Errorf("symbol announces level bits %02b, want 00 (M)", level)
				}
			}
		}
	}
	if !found {
		t.Errorf("format information %015b is not a valid codeword", first)
	}

	version := (size - 17) / 4
	if version < 7 {
		t.Fatalf("version %d: expected a URI to need version 7 or more", version)
	}
	rem := version
	for range 12 {
		rem = rem<<1 ^ (rem>>11)*0x1f25
	}
	want := version<<12 | rem
	for i := range 18 {
		a, b := size-11+i%3, i/3
		w := want>>i&1 == 1
		if g[b][a] != w || g[a][b] != w {
			t.Fatalf("version information bit %d: got %v and %v, want %v", i, g[b][a], g[a][b], w)
		}
	}
}
