package gitpack

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"sync"
)

// A raw DEFLATE decoder (RFC 1951) for the many small streams of a pack.
// compress/flate reads its input a byte at a time through an
// io.ByteReader, and building a block's Huffman tables costs it as much
// as decoding a 300-byte commit. This one reads the mapped pack directly
// through a 64-bit bit buffer, builds the tables as libdeflate does (each
// code stored once, the root table then doubled by copies; zlib's entry
// layout and subtables), and keeps the hot loop's state in registers: half
// the time of compress/flate on a commit. Its output is tested against
// compress/flate's, by a fuzz test too.

var errCorrupt = errors.New("corrupt deflate stream")

// A table entry: bits 0-7 the bits to drop, 8-15 the operation, 16-31 the
// value. Operations, as zlib's: 0 a literal (value); 16+n a length or
// distance base (value) followed by n extra bits; 1-15 a link to a
// subtable of that many index bits at offset value; 32+64 end of block; 64
// an invalid code.
type hentry uint32

const (
	opEnd     = 32 + 64
	opInvalid = 64
)

func mkEntry(bits, op, val uint32) hentry { return hentry(bits | op<<8 | val<<16) }

// Worst-case table sizes for zlib's root sizes (zlib's ENOUGH_LENS and
// ENOUGH_DISTS for 9 and 6 root bits).
const (
	lenRoot    = 9
	distRoot   = 6
	enoughLens = 852
	enoughDist = 592
)

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// The order of the code length code's lengths in a dynamic block header.
	clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

type tableKind int

const (
	codesTable tableKind = iota // the code length code
	lensTable                   // literals, end of block and lengths
	distTable
)

// What each symbol decodes to (an entry without its bit count).
var symEntries [3][288]hentry

func init() {
	for sym := range 288 {
		symEntries[codesTable][sym] = mkEntry(0, 0, uint32(sym))
		switch {
		case sym < 256:
			symEntries[lensTable][sym] = mkEntry(0, 0, uint32(sym))
		case sym == 256:
			symEntries[lensTable][sym] = mkEntry(0, opEnd, 0)
		case sym-257 < 29:
			symEntries[lensTable][sym] = mkEntry(0, 16+uint32(lenExtra[sym-257]), uint32(lenBase[sym-257]))
		default:
			symEntries[lensTable][sym] = mkEntry(0, opInvalid, 0)
		}
		if sym < 30 {
			symEntries[distTable][sym] = mkEntry(0, 16+uint32(dstExtra[sym]), uint32(dstBase[sym]))
		} else {
			symEntries[distTable][sym] = mkEntry(0, opInvalid, 0)
		}
	}
}

// buildTable fills table with the decoding table for the code lengths
// lens (each at most 15), with a root table of 1<<root entries.
// As libdeflate's build_decode_table: the codes of each length up to the
// root are stored once each, in canonical order, and the table is doubled
// by a copy before the next length; longer codes go to subtables.
func buildTable(kind tableKind, lens []uint8, table []hentry, root uint) error {
	// Counted in four lanes: one array incremented at the same index over
	// and over waits on its own stores.
	var c [4][16]uint16
	i := 0
	for ; i+4 <= len(lens); i += 4 {
		c[0][lens[i]&15]++
		c[1][lens[i+1]&15]++
		c[2][lens[i+2]&15]++
		c[3][lens[i+3]&15]++
	}
	for ; i < len(lens); i++ {
		c[0][lens[i]&15]++
	}
	var count, offs [16]uint16
	for l := range count {
		count[l] = c[0][l] + c[1][l] + c[2][l] + c[3][l]
	}
	max := uint(15)
	for max >= 1 && count[max] == 0 {
		max--
	}
	// Code space used, in units of the longest code.
	used := 0
	for l := uint(1); l <= max; l++ {
		used += int(count[l]) << (max - l)
	}
	entries := &symEntries[kind]
	// The root table is always 1<<root entries, whatever the longest
	// code, so that the decoder masks with a constant.
	if int(uint(1)<<root) > len(table) {
		return errCorrupt
	}
	switch {
	case max == 0:
		// No codes at all (a block with no distances): any use is an error.
		for i := range 1 << root {
			table[i] = mkEntry(1, opInvalid, 0)
		}
		return nil
	case used > 1<<max:
		return errCorrupt // over-subscribed
	case used < 1<<max:
		// Incomplete: only a single one-bit code may be (as compress/flate
		// allows, for the code length code too), the other bit invalid.
		if max != 1 {
			return errCorrupt
		}
		for sym, l := range lens {
			if l == 1 {
				table[0] = entries[sym] | 1
				table[1] = mkEntry(1, opInvalid, 0)
			}
		}
		for i := 2; i < 1<<root; i++ {
			table[i] = table[i&1]
		}
		return nil
	}
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	// The symbols sorted by code length, then by value: canonical order.
	var work [288]uint16
	for sym, l := range lens {
		if l != 0 {
			work[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	syms := work[:offs[15]+count[15]]
	// Codes up to the root length. codeword is bit-reversed: the table is
	// indexed by the bits in the order they are read.
	l := uint(1)
	for count[l] == 0 {
		l++
	}
	var codeword uint
	end := uint(1) << l // the table so far: all codes of length l
	for l <= root {
		for n := count[l]; n > 0; n-- {
			table[codeword] = entries[syms[0]] | hentry(l)
			syms = syms[1:]
			if codeword == end-1 {
				// The last code: the table is complete up to length l.
				for ; l < root; l++ {
					copy(table[end:2*end], table[:end])
					end <<= 1
				}
				return nil
			}
			// The next code in canonical order, bit-reversed.
			bit := uint(1) << (bits.Len(codeword^(end-1)) - 1)
			codeword &= bit - 1
			codeword |= bit
		}
		for {
			l++
			if l <= root {
				copy(table[end:2*end], table[:end])
				end <<= 1
			}
			if l > 15 {
				return errCorrupt
			}
			if count[l] != 0 {
				break
			}
		}
	}
	// Codes longer than the root, in subtables after the root table.
	limit := enoughLens
	if kind == distTable {
		limit = enoughDist
	}
	limit = min(limit, len(table))
	end = uint(1) << root
	prefix := ^uint(0)
	var start, sub uint
	n := count[l]
	for {
		if codeword&(1<<root-1) != prefix {
			// A new subtable for the codes that start with this prefix.
			prefix = codeword & (1<<root - 1)
			start = end
			sub = l - root
			space := uint(n)
			for space < 1<<sub {
				sub++
				space = space<<1 + uint(count[root+sub])
			}
			end = start + 1<<sub
			if int(end) > limit {
				return errCorrupt
			}
			table[prefix] = mkEntry(uint32(root), uint32(sub), uint32(start))
		}
		e := entries[syms[0]] | hentry(l-root)
		syms = syms[1:]
		for i := start + codeword>>root; i < end; i += 1 << (l - root) {
			table[i] = e
		}
		if codeword == 1<<l-1 {
			return nil // the last code
		}
		bit := uint(1) << (bits.Len(codeword^(1<<l-1)) - 1)
		codeword &= bit - 1
		codeword |= bit
		n--
		for n == 0 {
			l++
			if l > 15 {
				return errCorrupt
			}
			n = count[l]
		}
	}
}

// Fixed Huffman tables (block type 1), built once.
var (
	fixedOnce sync.Once
	fixedLens [enoughLens]hentry
	fixedDist [enoughDist]hentry
)

func buildFixed() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	_ = buildTable(lensTable, l[:], fixedLens[:], lenRoot)
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	_ = buildTable(distTable, d[:], fixedDist[:], distRoot)
}

// codesRoot is the root of the code length code's table: its codes are at
// most 7 bits, so it has no subtables.
const codesRoot = 7

// decoder is the reusable state of inflateRaw.
type decoder struct {
	lens  [enoughLens]hentry
	dists [enoughDist]hentry
	codes [1 << codesRoot]hentry
	ll    [316]uint8
}

// bitReader reads src least significant bit first. Past the end of src
// it reads zeros; over tells whether it read too far.
type bitReader struct {
	src []byte
	bb  uint64 // bit buffer, next bit lowest
	nb  uint   // bits in bb
	pos int    // next byte of src to load
}

// refill loads bytes until bb holds at least 56 bits. A whole word is
// loaded at once where src has it: the bits beyond the counted ones are
// those of the next bytes, so loading them again later changes nothing.
func (r *bitReader) refill() {
	if r.pos+8 <= len(r.src) {
		r.bb |= binary.LittleEndian.Uint64(r.src[r.pos:]) << (r.nb & 63)
		r.pos += int(63-r.nb) >> 3
		r.nb |= 56
		return
	}
	for r.nb <= 56 {
		if r.pos < len(r.src) {
			r.bb |= uint64(r.src[r.pos]) << (r.nb & 63)
		}
		r.pos++
		r.nb += 8
	}
}

// over reports whether more bits were loaded than src has, by more than
// a word (a stream running off its input loops on zeros otherwise).
func (r *bitReader) over() bool { return r.pos > len(r.src)+8 }

func (r *bitReader) bits(n uint) uint32 {
	if r.nb < n {
		r.refill()
	}
	v := uint32(r.bb & (1<<n - 1))
	r.bb >>= n & 63
	r.nb -= n
	return v
}

// inflateRaw decodes the raw DEFLATE stream at the start of src into dst,
// which must be exactly the size of the stream's output.
func (d *decoder) inflateRaw(src, dst []byte) error {
	fixedOnce.Do(buildFixed)
	r := bitReader{src: src}
	o := 0 // bytes written to dst
	for final := false; !final; {
		if r.over() {
			return errCorrupt
		}
		final = r.bits(1) == 1
		var (
			lt *[enoughLens]hentry
			dt *[enoughDist]hentry
		)
		switch r.bits(2) {
		case 0: // stored
			drop := r.nb & 7
			r.bb >>= drop
			r.nb -= drop
			p := r.pos - int(r.nb>>3) // the next unread byte
			if p+4 > len(src) {
				return errCorrupt
			}
			n := int(binary.LittleEndian.Uint16(src[p:]))
			if binary.LittleEndian.Uint16(src[p+2:]) != ^uint16(n) || p+4+n > len(src) || o+n > len(dst) {
				return errCorrupt
			}
			copy(dst[o:], src[p+4:p+4+n])
			o += n
			r.bb, r.nb, r.pos = 0, 0, p+4+n
			continue
		case 1:
			lt, dt = &fixedLens, &fixedDist
		case 2:
			if err := d.dynamic(&r); err != nil {
				return err
			}
			lt, dt = &d.lens, &d.dists
		default:
			return errCorrupt
		}
		var err error
		if o, err = decodeBlock(&r, lt, dt, dst, o); err != nil {
			return err
		}
	}
	// Bits taken beyond the input mean a truncated stream.
	if 8*r.pos-int(r.nb) > 8*len(src) || o != len(dst) {
		return errCorrupt
	}
	return nil
}

// decodeBlock decodes the symbols of one Huffman block into dst from o
// and returns the new end of the output. It is the hot loop: its state is
// in locals, the tables are arrays indexed under constant masks, bit
// counts are masked with 63 so that shifts compile to plain shifts, and
// runs of literals, most of a commit, go to literals.
func decodeBlock(r *bitReader, lt *[enoughLens]hentry, dt *[enoughDist]hentry, dst []byte, o int) (int, error) {
	src, bb, nb, pos := r.src, r.bb, r.nb, r.pos
	for {
		if nb < 48 {
			// Enough for a length, a distance and their extra bits.
			if pos+8 <= len(src) {
				bb |= binary.LittleEndian.Uint64(src[pos:]) << (nb & 63)
				pos += int(63-nb) >> 3
				nb |= 56
			} else {
				for nb <= 56 {
					if pos < len(src) {
						bb |= uint64(src[pos]) << (nb & 63)
					}
					pos++
					nb += 8
				}
				if pos > len(src)+8 {
					return o, errCorrupt
				}
			}
		}
		e := lt[bb&(1<<lenRoot-1)]
		if e&0xff00 == 0 {
			var ok bool
			if e, bb, nb, o, ok = literals(lt, e, bb, nb, dst, o); !ok {
				return o, errCorrupt
			}
			if e&0xff00 == 0 || nb < 48 {
				continue // refill, then decode e again
			}
		}
		op := uint(e>>8) & 0xff
		if op&(16|64) == 0 { // a subtable
			bb >>= e & 63
			nb -= uint(e & 63)
			i := uint(e>>16) + uint(bb)&(1<<(op&63)-1)
			if i >= enoughLens {
				return o, errCorrupt
			}
			e = lt[i]
			op = uint(e>>8) & 0xff
		}
		bb >>= e & 63
		nb -= uint(e & 63)
		if op == 0 {
			if o >= len(dst) {
				return o, errCorrupt
			}
			dst[o] = byte(e >> 16)
			o++
			continue
		}
		if op&16 == 0 {
			if op&32 != 0 { // end of block
				r.bb, r.nb, r.pos = bb, nb, pos
				return o, nil
			}
			return o, errCorrupt
		}
		n := op & 15
		length := int(e>>16) + int(bb&(1<<n-1))
		bb >>= n
		nb -= n
		e = dt[bb&(1<<distRoot-1)]
		op = uint(e>>8) & 0xff
		if op != 0 && op&(16|64) == 0 {
			bb >>= e & 63
			nb -= uint(e & 63)
			i := uint(e>>16) + uint(bb)&(1<<(op&63)-1)
			if i >= enoughDist {
				return o, errCorrupt
			}
			e = dt[i]
			op = uint(e>>8) & 0xff
		}
		bb >>= e & 63
		nb -= uint(e & 63)
		if op&16 == 0 {
			return o, errCorrupt
		}
		n = op & 15
		dist := int(e>>16) + int(bb&(1<<n-1))
		bb >>= n
		nb -= n
		if dist > o || length > len(dst)-o {
			return o, errCorrupt
		}
		if dist >= length {
			copy(dst[o:o+length], dst[o-dist:])
		} else {
			for i := range length {
				dst[o+i] = dst[o-dist+i]
			}
		}
		o += length
	}
}

// literals writes the run of literals that starts with e, the entry for
// the next code in bb, and returns the entry that ends the run: a
// non-literal, or the last literal written when fewer bits are left than
// a code may need. It is its own function so that its few values stay in
// registers.
//
//go:noinline
func literals(lt *[enoughLens]hentry, e hentry, bb uint64, nb uint, dst []byte, o int) (hentry, uint64, uint, int, bool) {
	for {
		bb >>= e & 63
		nb -= uint(e & 63)
		if o >= len(dst) {
			return e, bb, nb, o, false
		}
		dst[o] = byte(e >> 16)
		o++
		if nb < 15 {
			return e, bb, nb, o, true
		}
		e = lt[bb&(1<<lenRoot-1)]
		if e&0xff00 != 0 {
			return e, bb, nb, o, true
		}
	}
}

// dynamic reads a dynamic block's code lengths and builds its tables.
func (d *decoder) dynamic(r *bitReader) error {
	nlen := int(r.bits(5)) + 257
	ndist := int(r.bits(5)) + 1
	ncode := int(r.bits(4)) + 4
	if nlen > 286 || ndist > 30 {
		return errCorrupt
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		cl[clOrder[i]] = uint8(r.bits(3))
	}
	if err := buildTable(codesTable, cl[:], d.codes[:], codesRoot); err != nil {
		return err
	}
	ll := d.ll[:nlen+ndist]
	src, bb, nb, pos := r.src, r.bb, r.nb, r.pos
	for i := 0; i < len(ll); {
		if nb < 32 {
			// Enough for a code and its extra bits.
			if pos+8 <= len(src) {
				bb |= binary.LittleEndian.Uint64(src[pos:]) << (nb & 63)
				pos += int(63-nb) >> 3
				nb |= 56
			} else {
				r.bb, r.nb, r.pos = bb, nb, pos
				r.refill()
				if r.over() {
					return errCorrupt
				}
				bb, nb, pos = r.bb, r.nb, r.pos
			}
		}
		e := d.codes[bb&(1<<codesRoot-1)]
		bb >>= e & 63
		nb -= uint(e & 63)
		sym := uint8(e >> 16)
		if sym < 16 {
			ll[i] = sym
			i++
			continue
		}
		var v uint8
		var n int
		switch sym {
		case 16:
			if i == 0 {
				return errCorrupt
			}
			v, n = ll[i-1], 3+int(bb&3)
			bb >>= 2
			nb -= 2
		case 17:
			n = 3 + int(bb&7)
			bb >>= 3
			nb -= 3
		default:
			n = 11 + int(bb&127)
			bb >>= 7
			nb -= 7
		}
		if i+n > len(ll) {
			return errCorrupt
		}
		for ; n > 0; n-- {
			ll[i] = v
			i++
		}
	}
	r.bb, r.nb, r.pos = bb, nb, pos
	if ll[256] == 0 {
		return errCorrupt // no end-of-block code
	}
	if err := buildTable(lensTable, ll[:nlen], d.lens[:], lenRoot); err != nil {
		return err
	}
	return buildTable(distTable, ll[nlen:], d.dists[:], distRoot)
}
