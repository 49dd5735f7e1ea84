package commands

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/core/store"
)

// Names of the audit keys in the secret store.
const (
	auditKeySecret      = "audit_hmac_key"
	checkpointKeySecret = "audit_checkpoint_key"
)

// errNoAuditKey means the log has entries but its key is gone.
var errNoAuditKey = errors.New("the audit log has entries but its key is missing from the secret store")

// auditSession is an open audit log with what it was opened from.
type auditSession struct {
	*session
	secrets *secrets.Store
	db      *store.Store
	log     *auditlog.Log
	actor   string
}

func (a *auditSession) Close() {
	if a.log != nil {
		_ = a.log.Close()
	}
	if a.db != nil {
		_ = a.db.Close()
	}
}

// openAudit opens the state dir's database and audit log. The HMAC key
// comes from the secret store, created there on first use (create) while
// the log is still empty.
func (w *wiring) openAudit(ctx context.Context, c *cli.Context, sess *session, create bool) (*auditSession, error) {
	st := sess.secretStore(w)
	if !st.Exists() {
		return nil, inputError(fmt.Errorf("%s: %w", st.Path(), secrets.ErrStoreMissing),
			"the audit log's key lives in the secret store: create it with `warden init` or `warden secrets init`")
	}
	db, err := sess.database(ctx)
	if err != nil {
		return nil, err
	}
	a := &auditSession{session: sess, secrets: st, db: db, actor: cliActor()}
	key, err := w.auditKey(ctx, st, db, create)
	if err != nil {
		a.Close()
		return nil, err
	}
	opts := auditlog.Options{Now: w.env.Now, HeadFile: filepath.Join(sess.stateDir, auditlog.HeadFileName)}
	if a.log, err = auditlog.Open(ctx, db, key, opts); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (w *wiring) auditKey(ctx context.Context, st *secrets.Store, db *store.Store, create bool) ([]byte, error) {
	all, err := st.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if v, ok := all[auditKeySecret]; ok {
		key, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(key) != auditlog.KeySize {
			return nil, fmt.Errorf("secret %s is not a %d-byte key", auditKeySecret, auditlog.KeySize)
		}
		return key, nil
	}
	var entries int64
	if err := db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&entries)
	}); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	if entries > 0 {
		return nil, inputError(fmt.Errorf("%w (%d entries cannot be verified)", errNoAuditKey, entries),
			"restore the secret store from a backup; a new key would make every existing entry fail verification")
	}
	key := make([]byte, auditlog.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if !create {
		// Nothing recorded yet: any key verifies an empty log.
		return key, nil
	}
	if _, err := st.Set(ctx, auditKeySecret, base64.RawURLEncoding.EncodeToString(key)); err != nil {
		return nil, fmt.Errorf("store the audit key: %w", err)
	}
	return key, nil
}

// checkpointKey returns the Ed25519 key that signs checkpoints, creating it
// on first use.
func (w *wiring) checkpointKey(ctx context.Context, st *secrets.Store) (ed25519.PrivateKey, error) {
	all, err := st.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if v, ok := all[checkpointKeySecret]; ok {
		seed, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("secret %s is not an Ed25519 seed", checkpointKeySecret)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if _, err := st.Set(ctx, checkpointKeySecret, base64.RawURLEncoding.EncodeToString(seed)); err != nil {
		return nil, fmt.Errorf("store the checkpoint key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// cliActor names the local user running a command.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// auditFailed wraps an append failure: the action was refused.
func auditFailed(err error) error {
	return &exitError{code: ExitInternal, err: err,
		hint: "the action was refused because it could not be recorded in the audit log (fail closed); check the state dir's disk and database"}
}

// record appends one entry; any failure means the caller must stop.
func (a *auditSession) record(ctx context.Context, action, target, outcome string, details map[string]any) error {
	if _, err := a.log.Append(ctx, auditlog.Event{Actor: a.actor, Action: action, Target: target, Outcome: outcome,
		SourceIP: "local", Details: details}); err != nil {
		return auditFailed(err)
	}
	return nil
}

// audited records the decision to perform action before doing it (fail
// closed: no record, no action), and a failure entry if it then fails.
func (a *auditSession) audited(ctx context.Context, action, target string, details map[string]any, do func() error) error {
	if err := a.record(ctx, action, target, auditlog.OutcomeAllowed, details); err != nil {
		return err
	}
	if err := do(); err != nil {
		fd := map[string]any{"error": err.Error()}
		for k, v := range details {
			fd[k] = v
		}
		_ = a.record(ctx, action, target, auditlog.OutcomeFailure, fd)
		return err
	}
	return nil
}
