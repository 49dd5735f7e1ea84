package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/warden-sec/warden/internal/lazyre"
)

const nonceSize = 32

// Value types as they appear in the type: field of an encrypted value.
const (
	typeStr     = "str"
	typeInt     = "int"
	typeFloat   = "float"
	typeBool    = "bool"
	typeTime    = "time"
	typeBytes   = "bytes"
	typeComment = "comment"
)

var encPattern = lazyre.New(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// errNotEncryptedValue means a value that should be encrypted is not in
// the ENC[...] format.
var errNotEncryptedValue = errors.New("value is not encrypted")

// isEncryptedValue reports whether s has the ENC[...] shape.
func isEncryptedValue(s string) bool {
	return strings.HasPrefix(s, "ENC[AES256_GCM,") && encPattern.MatchString(s)
}

// sealValue encrypts plaintext of the given type under key with the
// additional data aad. Empty plaintext stays empty, as in the reference.
func sealValue(key []byte, plaintext []byte, typ, aad string) (string, error) {
	if len(plaintext) == 0 && (typ == typeStr || typ == typeComment || typ == typeBytes) {
		return "", nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("init aes: %w", err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, nonceSize)
	if err != nil {
		return "", fmt.Errorf("init gcm: %w", err)
	}
	iv := make([]byte, nonceSize)
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("generate iv: %w", err)
	}
	out := gcm.Seal(nil, iv, plaintext, []byte(aad))
	tagStart := len(out) - gcm.Overhead()
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]",
		base64.StdEncoding.EncodeToString(out[:tagStart]),
		base64.StdEncoding.EncodeToString(iv),
		base64.StdEncoding.EncodeToString(out[tagStart:]),
		typ), nil
}

// openValue decrypts an ENC[...] string and returns the plaintext and its type.
func openValue(key []byte, value, aad string) ([]byte, string, error) {
	m := encPattern.FindStringSubmatch(value)
	if m == nil {
		return nil, "", errNotEncryptedValue
	}
	data, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		return nil, "", fmt.Errorf("decode data: %w", err)
	}
	iv, err := base64.StdEncoding.DecodeString(m[2])
	if err != nil {
		return nil, "", fmt.Errorf("decode iv: %w", err)
	}
	tag, err := base64.StdEncoding.DecodeString(m[3])
	if err != nil {
		return nil, "", fmt.Errorf("decode tag: %w", err)
	}
	if len(iv) == 0 {
		return nil, "", errors.New("empty iv")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", fmt.Errorf("init aes: %w", err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, "", fmt.Errorf("init gcm: %w", err)
	}
	sealed := make([]byte, 0, len(data)+len(tag))
	sealed = append(append(sealed, data...), tag...)
	plain, err := gcm.Open(nil, iv, sealed, []byte(aad))
	if err != nil {
		return nil, "", errors.New("authentication failed (wrong data key, value moved to another key, or edited)")
	}
	switch typ := m[4]; typ {
	case typeStr, typeInt, typeFloat, typeBool, typeTime, typeBytes, typeComment:
		return plain, typ, nil
	default:
		return nil, "", fmt.Errorf("unknown value type %q", typ)
	}
}
