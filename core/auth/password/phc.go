package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// b64 is the PHC string encoding: standard alphabet, no padding, and (via
// Strict) no non-zero trailing bits, so each hash has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// encode returns the PHC string for an argon2id hash.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// argon2Version is the only Argon2 version accepted (0x13).
const argon2Version = 19

// decode parses a PHC string strictly: exactly
// $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>, canonical decimal
// numbers, canonical unpadded base64, and parameters within the bounds of
// Params.validate (memory at most 1 GiB, so a corrupt hash cannot force a
// huge allocation). Every error wraps ErrMalformed.
func decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 $-separated fields", ErrMalformed)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm is not argon2id", ErrMalformed)
	}
	v, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: missing version", ErrMalformed)
	}
	if n, err := parseUint(v, 32); err != nil || n != argon2Version {
		return p, nil, nil, fmt.Errorf("%w: version is not %d", ErrMalformed, argon2Version)
	}
	kv := strings.Split(fields[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, fmt.Errorf("%w: want parameters m,t,p", ErrMalformed)
	}
	var nums [3]uint64
	for i, name := range [3]string{"m", "t", "p"} {
		s, ok := strings.CutPrefix(kv[i], name+"=")
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: want parameter %s in position %d", ErrMalformed, name, i+1)
		}
		n, err := parseUint(s, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %s: %w", ErrMalformed, name, err)
		}
		nums[i] = n
	}
	if nums[2] > 255 {
		return p, nil, nil, fmt.Errorf("%w: parallelism %d above 255", ErrMalformed, nums[2])
	}
	// Check the encoded lengths before decoding, so an enormous field is
	// rejected without allocating for it.
	if len(fields[4]) > b64.EncodedLen(maxSaltLen) || len(fields[5]) > b64.EncodedLen(maxKeyLen) {
		return p, nil, nil, fmt.Errorf("%w: salt or hash too long", ErrMalformed)
	}
	salt, err := decodeB64(fields[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %w", ErrMalformed, err)
	}
	key, err := decodeB64(fields[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: hash: %w", ErrMalformed, err)
	}
	p = Params{
		Memory:  uint32(nums[0]),
		Time:    uint32(nums[1]),
		Threads: uint8(nums[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return p, salt, key, nil
}

// parseUint parses a canonical decimal: ASCII digits only, no sign, no
// leading zeros.
func parseUint(s string, bits int) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// decodeB64 decodes unpadded standard base64, refusing the \r and \n that
// encoding/base64 would otherwise skip.
func decodeB64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64")
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64: %w", err)
	}
	return b, nil
}
