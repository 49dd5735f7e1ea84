package totp

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"rsc.io/qr"
)

const (
	// quietZone is the light border around a QR code, in modules; the QR
	// specification requires 4.
	quietZone = 4
	// minPNGSize is the minimum width and height of QRPNG's image in pixels.
	minPNGSize = 256
)

// Half-block runes QRTerminal draws with: each text line shows two module
// rows, the upper one in the top half of the cell and the lower one in the
// bottom half.
const (
	blockNone  = ' '
	blockUpper = '▀'
	blockLower = '▄'
	blockFull  = '█'
)

// qrMatrix is a QR code's module grid including the quiet zone.
type qrMatrix struct {
	code *qr.Code
	size int // modules on a side, quiet zone included
}

// newQRMatrix encodes text as a QR code with error correction level M.
func newQRMatrix(text string) (qrMatrix, error) {
	if text == "" {
		return qrMatrix{}, errors.New("encode qr code: empty text")
	}
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return qrMatrix{}, fmt.Errorf("encode qr code: %w", err)
	}
	return qrMatrix{code: c, size: c.Size + 2*quietZone}, nil
}

// dark reports whether the module at (x, y) is dark; coordinates count the
// quiet zone, and modules outside the symbol are light.
func (m qrMatrix) dark(x, y int) bool {
	return m.code.Black(x-quietZone, y-quietZone)
}

// QRPNG renders uri as a black-on-white PNG QR code with error correction
// level M and a quiet zone of 4 modules, scaled by a whole number of pixels
// per module to at least 256x256 pixels.
func QRPNG(uri string) ([]byte, error) {
	m, err := newQRMatrix(uri)
	if err != nil {
		return nil, err
	}
	scale := (minPNGSize + m.size - 1) / m.size
	dim := m.size * scale
	img := image.NewPaletted(image.Rect(0, 0, dim, dim), color.Palette{color.White, color.Black})
	for y := range m.size {
		for x := range m.size {
			if !m.dark(x, y) {
				continue
			}
			for py := y * scale; py < (y+1)*scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := x * scale; px < (x+1)*scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode qr png: %w", err)
	}
	return buf.Bytes(), nil
}

// QRTerminal renders uri as a QR code (error correction level M, quiet zone
// of 4 modules) for a terminal, using the Unicode half blocks '▀', '▄', '█'
// and spaces, two module rows per line. Every line has the same width and
// ends with "\n".
//
// By default the blocks draw the dark modules in the terminal's foreground
// colour, which suits dark-on-light terminals. Set invert for light-on-dark
// terminals: the blocks then draw the light modules, so the code still
// appears dark on light, as scanners expect.
func QRTerminal(uri string, invert bool) (string, error) {
	m, err := newQRMatrix(uri)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow((m.size + 1) / 2 * (m.size*len(string(blockFull)) + 1))
	for y := 0; y < m.size; y += 2 {
		for x := range m.size {
			// Below the last row (odd size) lies more quiet zone.
			top, bottom := m.dark(x, y), y+1 < m.size && m.dark(x, y+1)
			if invert {
				top, bottom = !top, !bottom
			}
			switch {
			case top && bottom:
				b.WriteRune(blockFull)
			case top:
				b.WriteRune(blockUpper)
			case bottom:
				b.WriteRune(blockLower)
			default:
				b.WriteRune(blockNone)
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}
