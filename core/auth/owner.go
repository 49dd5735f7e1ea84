package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/warden-sec/warden/core/store"
)

// The owner is the one user whose own sessions are the main session:
// in sandbox mode non-main their commands run on the host, everyone
// else's in the sandbox. Not every admin is the owner (another admin's
// commands are sandboxed), and no gateway token ever is. The config's
// gateway.owner names the owner; without it, the first admin created
// (by the setup code or `warden users add`) is recorded as the owner in
// the database, in the transaction that creates them.

const ownerKey = "owner"

// Owner returns the owner's name: Options.Owner when set, else the one
// recorded with the first admin; "" when there is none (then nobody's
// commands run on the host in mode non-main).
func (s *Service) Owner(ctx context.Context) (string, error) {
	if s.opts.Owner != "" {
		return s.opts.Owner, nil
	}
	return s.recordedOwner(ctx)
}

func (s *Service) recordedOwner(ctx context.Context) (string, error) {
	now := s.now()
	s.ownerMu.Lock()
	if s.ownerName != "" && now.Sub(s.ownerAt) < ownerTTL && !now.Before(s.ownerAt) {
		name := s.ownerName
		s.ownerMu.Unlock()
		return name, nil
	}
	s.ownerMu.Unlock()
	var name string
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, ownerKey).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read the owner: %w", err)
	}
	s.ownerMu.Lock()
	s.ownerName, s.ownerAt = name, now
	s.ownerMu.Unlock()
	return name, nil
}

// recordOwner records the first admin as the owner, unless one is
// recorded already.
func recordOwner(ctx context.Context, tx store.Queryer, name string) error {
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)`, ownerKey, name); err != nil {
		return fmt.Errorf("record the owner: %w", err)
	}
	return nil
}

// IsMain reports whether p is the owner's main session: a login session
// (not a gateway token) of the owner, who must still be an admin. The
// principal comes from a check made at most a second ago; the gateway
// rechecks the session (Recheck) before anything runs on the host.
func (s *Service) IsMain(ctx context.Context, p Principal) (bool, string, error) {
	owner, err := s.Owner(ctx)
	if err != nil || owner == "" {
		return false, owner, err
	}
	return p.Kind == "user" && p.SessionID != "" && p.Role == RoleAdmin && p.Name == owner, owner, nil
}

// ownerTTL is how long the recorded owner is trusted before it is read
// again; it changes once (the first admin), by this or another process.
const ownerTTL = time.Second

// Recheck reads a principal's session or token from the database again,
// bypassing every cache: a privileged action (a command) must not run on
// a session or token that another process ended a moment ago.
func (s *Service) Recheck(ctx context.Context, p Principal) error {
	var live bool
	var err error
	switch {
	case p.SessionID != "":
		s.sessions.forget(p.SessionID)
		live, err = s.SessionLive(ctx, p.SessionID)
	case p.TokenID != "":
		live, err = s.TokenLive(ctx, p.TokenID)
	case p.Kind == "local":
		return nil
	}
	if err != nil {
		return err
	}
	if !live {
		return fmt.Errorf("%w: session or token ended", ErrUnauthenticated)
	}
	return nil
}
