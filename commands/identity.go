package commands

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/ratelimit"
)

// Names of the identity keys in the secret store.
const (
	accessKeySecret = "auth_access_key" // signs access tokens
	totpKeySecret   = "auth_totp_key"   // seals TOTP secrets at rest
)

// authSession is the identity service over the state dir.
type authSession struct {
	*auditSession
	svc *auth.Service
}

// ensureKey returns a random key kept in the secret store, creating it on
// first use.
func (w *wiring) ensureKey(ctx context.Context, a *auditSession, name string, size int) ([]byte, error) {
	all, err := a.secrets.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if v, ok := all[name]; ok {
		k, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(k) != size {
			return nil, fmt.Errorf("secret %s is not a %d-byte key", name, size)
		}
		return k, nil
	}
	k := make([]byte, size)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if _, err := a.secrets.Set(ctx, name, base64.RawURLEncoding.EncodeToString(k)); err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}
	return k, nil
}

// openAuth opens the audit log and the identity service as the config says.
func (w *wiring) openAuth(c *cli.Context) (*authSession, error) {
	ctx := c.Context
	a, err := w.openLog(c, true)
	if err != nil {
		return nil, err
	}
	access, err := w.ensureKey(ctx, a, accessKeySecret, auth.KeySize)
	if err != nil {
		a.Close()
		return nil, err
	}
	totpKey, err := w.ensureKey(ctx, a, totpKeySecret, 32)
	if err != nil {
		a.Close()
		return nil, err
	}
	svc, err := auth.New(authOptions(a, access, totpKey, w.env.Now))
	if err != nil {
		a.Close()
		return nil, err
	}
	return &authSession{auditSession: a, svc: svc}, nil
}

func authOptions(a *auditSession, access, totpKey []byte, now func() time.Time) auth.Options {
	cfg := a.config.Config
	rl := cfg.Gateway.RateLimit
	return auth.Options{
		DB: a.db, Audit: a.log, AccessKey: access, TOTPKey: totpKey,
		Hasher:               password.NewHasher(password.Default(), 0),
		Policy:               password.Policy{MinLength: cfg.Auth.PasswordMinLength, MaxLength: 1024},
		AccessTTL:            cfg.Gateway.Auth.AccessTTL.D(),
		SessionTTL:           cfg.Gateway.Auth.SessionTTL.D(),
		RememberTTL:          cfg.Gateway.Auth.RememberMeTTL.D(),
		IdleTimeout:          cfg.Gateway.Auth.IdleTimeout.D(),
		RememberIdleTimeout:  cfg.Gateway.Auth.RememberIdleTimeout.D(),
		MaxSessionsPerDevice: cfg.Gateway.Auth.MaxSessionsPerDevice,
		TOTPIssuer:           cfg.Auth.TOTPIssuer,
		Owner:                cfg.Gateway.Owner,
		RateLimit:            rl.Enabled,
		IPLimit:              ratelimit.Rule{Attempts: rl.Attempts, Window: rl.Window.D()},
		AccountLimit:         ratelimit.Rule{Attempts: rl.AccountAttempts, Window: rl.AccountWindow.D()},
		Now:                  now,
	}
}

// localActor is the command line's principal: whoever holds the state
// dir acts as admin.
func localActor() auth.Principal { return auth.Local(strings.TrimPrefix(cliActor(), "cli:")) }

// authError turns identity errors into exit codes and hints.
func authError(err error) error {
	var rl *auth.RateLimitedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		return inputError(err, "wait and try again")
	case errors.Is(err, auth.ErrInvalidInput), errors.Is(err, auth.ErrNotFound), errors.Is(err, auth.ErrConflict),
		errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrForbidden):
		return inputError(err, "")
	}
	return err
}

// lineReader reads secrets one per line from a non-terminal stdin.
type lineReader struct{ r *bufio.Reader }

func (l *lineReader) next(what string) (string, error) {
	s, err := l.r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		return "", inputError(fmt.Errorf("no %s on stdin", what), "pipe one value per line, or run on a terminal to be prompted")
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// secretInputs asks for several secrets: hidden prompts on a terminal
// (with confirmation for new ones), else lines on stdin.
func (w *wiring) secretInputs(c *cli.Context, prompts ...secretPrompt) ([]string, error) {
	out := make([]string, len(prompts))
	if _, tty := ttyFile(w.env.Stdin); tty {
		if !w.canPrompt(c) {
			return nil, inputError(errors.New("input needed"), "pipe the values on stdin, one per line, or drop --no-input")
		}
		for i, p := range prompts {
			v, err := w.readHidden(p.label + ": ")
			if err != nil {
				return nil, err
			}
			if p.confirm {
				again, err := w.readHidden("again: ")
				if err != nil {
					return nil, err
				}
				if again != v {
					return nil, inputError(errors.New("the two entries differ"), "")
				}
			}
			out[i] = v
		}
		return out, nil
	}
	lr := &lineReader{r: bufio.NewReader(w.env.Stdin)}
	for i, p := range prompts {
		v, err := lr.next(p.label)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type secretPrompt struct {
	label   string
	confirm bool
}
