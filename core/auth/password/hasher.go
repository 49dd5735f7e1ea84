// Package password hashes, verifies and vets the passwords of Warden's
// gateway users, following OWASP ASVS 5.0 level 2 and the OWASP Password
// Storage Cheat Sheet.
//
// Hashes are argon2id in the PHC string format, carrying their own
// parameters so the cost can be raised later: Verify reports when a stored
// hash was made with parameters other than the Hasher's, and the caller
// re-hashes after a successful login. A Hasher caps how many argon2id runs
// happen at once, because each run allocates Params.Memory KiB and a login
// flood must not exhaust memory.
//
// Policy checks length only (ASVS forbids composition rules), plus a few
// degenerate shapes: a run of one character, whitespace only, control
// characters.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters, stored with each hash so they can be
// raised later.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// Default is OWASP's first recommendation for argon2id: m=19456 KiB
// (19 MiB), t=2, p=1, with a 16-byte salt and a 32-byte key.
func Default() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters, applied both to a Hasher's own parameters and to
// those parsed from a stored hash, so that a Hasher can always verify what
// it produced and a tampered or corrupt hash cannot demand an absurd cost.
const (
	maxMemory  = 1 << 20 // KiB, 1 GiB
	maxTime    = 64
	minSaltLen = 8 // RFC 9106 minimum
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// validate reports whether p is within the bounds above; the returned
// error is not wrapped with ErrMalformed, callers decide.
func (p Params) validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB outside [%d, %d]", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d outside [1, %d]", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d outside [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// ErrMalformed is returned (wrapped) by Verify when the encoded hash is not
// a well-formed argon2id PHC string with sane parameters.
var ErrMalformed = errors.New("malformed password hash")

// Hasher hashes and verifies with a cap on how many hashes run at once, so
// a login flood cannot exhaust memory (each argon2id run allocates
// Params.Memory KiB). A Hasher is safe for concurrent use; create it with
// NewHasher.
type Hasher struct {
	params Params
	sem    chan struct{} // one token per running hash

	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	derivations atomic.Int64

	dummyOnce sync.Once
	dummy     string
	dummyErr  error
}

// NewHasher returns a Hasher that hashes with p and runs at most
// maxConcurrent hashes at once; maxConcurrent <= 0 means runtime.NumCPU().
// Parameters outside sane bounds are reported by Hash, Verify and
// VerifyDummy.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
}

// Hash returns a PHC string for password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt b64 raw std>$<hash b64 raw std>.
// It waits for a free slot, respecting ctx (returns ctx's error, wrapped,
// if it ends first).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.params.validate(); err != nil {
		return "", fmt.Errorf("hash password: invalid parameters: %w", err)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return encode(h.params, salt, key), nil
}

// Verify compares password with an encoded hash in constant time
// (crypto/subtle), using the parameters in the hash. needsRehash is true
// when ok is true and the hash's parameters differ from the Hasher's: the
// caller then stores a new hash made with the current parameters. Malformed
// hashes are an error wrapping ErrMalformed; ctx ending while waiting for a
// slot is an error wrapping ctx's error.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, needsRehash bool, err error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy spends the same time as a Verify against a hash made with the
// Hasher's parameters, and always reports a mismatch (it returns only an
// error, which is nil unless ctx ends or the parameters are invalid). Call
// it for unknown users so that "no such user" and "wrong password" take the
// same time.
//
// The dummy hash is made once per Hasher, on first use: a random salt and a
// random key encoded with the Hasher's parameters. It goes through the same
// parsing, derivation and comparison as a real hash; no password maps to it.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	h.dummyOnce.Do(func() {
		if err := h.params.validate(); err != nil {
			h.dummyErr = fmt.Errorf("invalid parameters: %w", err)
			return
		}
		buf := make([]byte, h.params.SaltLen+h.params.KeyLen)
		if _, err := rand.Read(buf); err != nil {
			h.dummyErr = fmt.Errorf("read dummy hash: %w", err)
			return
		}
		h.dummy = encode(h.params, buf[:h.params.SaltLen], buf[h.params.SaltLen:])
	})
	if h.dummyErr != nil {
		return fmt.Errorf("verify dummy password: %w", h.dummyErr)
	}
	if _, _, err := h.Verify(ctx, password, h.dummy); err != nil {
		return fmt.Errorf("verify dummy password: %w", err)
	}
	return nil
}

// InFlight reports how many hashes run right now (for tests and metrics).
func (h *Hasher) InFlight() int { return int(h.inFlight.Load()) }

// MaxInFlight reports the highest number of hashes seen running at once.
func (h *Hasher) MaxInFlight() int { return int(h.maxInFlight.Load()) }

// Derivations reports how many argon2id derivations have run.
func (h *Hasher) Derivations() int64 { return h.derivations.Load() }

// derive runs argon2id with p once a slot is free. p must be valid.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	// Check first: select picks at random when both a slot and ctx.Done()
	// are ready, and an ended ctx must never start a hash.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wait for hash slot: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for hash slot: %w", ctx.Err())
	}
	defer func() { <-h.sem }()

	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for {
		m := h.maxInFlight.Load()
		if n <= m || h.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	h.derivations.Add(1)
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}
