package auditlog

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// Checkpoint vouches for the chain head at a moment: a copy kept outside
// Warden proves later that history up to Seq was not rewritten, even by
// someone holding the HMAC key.
type Checkpoint struct {
	Version   int       `json:"version"`
	Seq       uint64    `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	Instance  string    `json:"instance"`
	PublicKey string    `json:"publicKey"` // hex Ed25519
	Signature string    `json:"signature"` // base64
}

func (c Checkpoint) message() []byte {
	return []byte("warden-audit-checkpoint-v1\n" + strconv.FormatUint(c.Seq, 10) + "\n" + c.Hash + "\n" +
		c.Time.UTC().Format(time.RFC3339Nano) + "\n" + c.Instance + "\n")
}

// NewCheckpoint signs the current head with priv.
func (l *Log) NewCheckpoint(ctx context.Context, priv ed25519.PrivateKey) (Checkpoint, error) {
	var c Checkpoint
	var instance string
	err := l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		seq, h, err := head(ctx, q)
		if err != nil {
			return err
		}
		c.Seq, c.Hash = seq, hex.EncodeToString(h)
		return q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance_id'`).Scan(&instance)
	})
	if err != nil {
		return c, fmt.Errorf("checkpoint: %w", err)
	}
	c.Version, c.Time, c.Instance = 1, l.now().UTC(), instance
	c.PublicKey = hex.EncodeToString(priv.Public().(ed25519.PublicKey))
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, c.message()))
	return c, nil
}

// ErrCheckpoint is wrapped when a checkpoint is forged or malformed.
var ErrCheckpoint = errors.New("invalid checkpoint")

// ParseCheckpoint reads a checkpoint and checks its signature against
// trusted (the public key the verifier holds, never the one in the file).
func ParseCheckpoint(data []byte, trusted ed25519.PublicKey) (Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if c.Version != 1 {
		return c, fmt.Errorf("%w: version %d", ErrCheckpoint, c.Version)
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil {
		return c, fmt.Errorf("%w: signature: %v", ErrCheckpoint, err)
	}
	if c.PublicKey != hex.EncodeToString(trusted) {
		return c, fmt.Errorf("%w: signed by another key (%s)", ErrCheckpoint, c.PublicKey)
	}
	if !ed25519.Verify(trusted, c.message(), sig) {
		return c, fmt.Errorf("%w: the signature does not match", ErrCheckpoint)
	}
	return c, nil
}

// CheckAgainst compares the log with a verified checkpoint: the entry it
// names must still be there with the same hash.
func (l *Log) CheckAgainst(ctx context.Context, c Checkpoint) (*Break, []string, error) {
	h, err := l.Head(ctx)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case c.Seq == 0:
		return nil, []string{"the checkpoint was taken of an empty log"}, nil
	case c.Seq > h.Seq:
		return &Break{Seq: h.Seq + 1, Kind: BreakTruncated,
			Reason: fmt.Sprintf("the log ends at entry %d, but a checkpoint from %s vouches for entry %d", h.Seq, c.Time.Format(time.RFC3339), c.Seq)}, nil, nil
	case c.Seq < h.First:
		return nil, []string{fmt.Sprintf("checkpoint entry %d was purged by retention; it cannot be compared", c.Seq)}, nil
	}
	var got []byte
	err = l.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, int64(c.Seq)).Scan(&got)
	})
	if err != nil {
		return &Break{Seq: c.Seq, Kind: BreakGap, Reason: "the entry the checkpoint vouches for is missing"}, nil, nil
	}
	if hex.EncodeToString(got) != c.Hash {
		return &Break{Seq: c.Seq, Kind: BreakCheckpoint,
			Reason: fmt.Sprintf("its hash differs from the checkpoint of %s (history was rewritten)", c.Time.Format(time.RFC3339))}, nil, nil
	}
	return nil, nil, nil
}
