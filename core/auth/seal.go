package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// sealer encrypts TOTP secrets at rest with AES-256-GCM under a key of
// their own, binding each to its user so a sealed secret copied to another
// user's row does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("TOTP sealing key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func aad(userID int64) []byte { return []byte(fmt.Sprintf("warden-totp:%d", userID)) }

func (s *sealer) seal(userID int64, secret []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, secret, aad(userID)), nil
}

var errSealed = errors.New("sealed TOTP secret does not open (wrong key, another user's secret, or edited)")

func (s *sealer) open(userID int64, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errSealed
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(userID))
	if err != nil {
		return nil, errSealed
	}
	return out, nil
}
