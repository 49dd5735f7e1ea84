package strength

// The rows of a US qwerty keyboard, unshifted and shifted. A keyboard walk
// moves along one row, one key at a time, in one direction.
var keyRows = [...][2]string{
	{"`1234567890-=", "~!@#$%^&*()_+"},
	{"qwertyuiop[]\\", "QWERTYUIOP{}|"},
	{"asdfghjkl;'", "ASDFGHJKL:\""},
	{"zxcvbnm,./", "ZXCVBNM<>?"},
}

// keyCount is the number of keys in keyRows (the possible starts of a walk).
const keyCount = 13 + 13 + 11 + 10

// keyPos maps an ASCII character to 1 + row*16 + column, or 0. It is built
// once and only read afterwards.
var keyPos = func() (t [128]uint8) {
	for row, r := range keyRows {
		for _, s := range r {
			for col := 0; col < len(s); col++ {
				t[s[col]] = uint8(1 + row*16 + col)
			}
		}
	}
	return t
}()

// keyStep returns +1 or -1 when b is the key right or left of a on the same
// row, else 0.
func keyStep(a, b rune) int {
	if a < 0 || a >= 0x80 || b < 0 || b >= 0x80 {
		return 0
	}
	pa, pb := int(keyPos[a]), int(keyPos[b])
	if pa == 0 || pb == 0 || (pa-1)/16 != (pb-1)/16 {
		return 0
	}
	switch pb - pa {
	case 1:
		return 1
	case -1:
		return -1
	}
	return 0
}
