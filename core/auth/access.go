package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access tokens are short JWTs signed with HMAC-SHA256 and a key of their
// own (never the audit key). Parsing allows exactly that one algorithm,
// requires exp, checks issuer, audience and token type, and never looks at
// header fields that could pick a key (kid, jku, x5u, jwk): the key is
// fixed. Each token names its session (sid); Authenticate checks the
// session is still live, so revocation works before exp.
const (
	tokenIssuer   = "warden"
	tokenAudience = "warden-gateway"
	tokenType     = "access"
	// KeySize is the length of the signing key.
	KeySize = 32
)

// ErrUnauthenticated covers every reason a credential is refused; the
// detail is for the audit log, never for the client.
var ErrUnauthenticated = errors.New("unauthenticated")

type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Type      string `json:"typ"`
	Role      Role   `json:"role"`
}

// signer issues and parses access tokens.
type signer struct {
	key    []byte
	parser *jwt.Parser
}

func newSigner(key []byte, now func() time.Time) (*signer, error) {
	if len(key) < KeySize {
		return nil, fmt.Errorf("access token key is %d bytes, want at least %d", len(key), KeySize)
	}
	return &signer{
		key: append([]byte(nil), key...),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(tokenIssuer),
			jwt.WithAudience(tokenAudience),
			jwt.WithTimeFunc(now),
			jwt.WithLeeway(5*time.Second),
		),
	}, nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

func (s *signer) issue(userID int64, role Role, sid string, now time.Time, ttl time.Duration) (string, time.Time, error) {
	exp := now.Add(ttl)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   fmt.Sprint(userID),
			Audience:  jwt.ClaimStrings{tokenAudience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        newID(),
		},
		SessionID: sid,
		Type:      tokenType,
		Role:      role,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return tok, exp, nil
}

// parse checks signature and claims; it does not look at the session.
func (s *signer) parse(token string) (*accessClaims, error) {
	var claims accessClaims
	_, err := s.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		// The key never depends on the token's header.
		return s.key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	if claims.Type != tokenType || claims.SessionID == "" || claims.Subject == "" || claims.ID == "" {
		return nil, fmt.Errorf("%w: not an access token", ErrUnauthenticated)
	}
	return &claims, nil
}
