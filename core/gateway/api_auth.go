package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/warden-sec/warden/core/auth"
)

// decode reads a JSON request body into v: application/json only (a form
// post from another site cannot send it without a preflight), at most
// MaxBodyBytes, no unknown fields, one value.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Message: "send Content-Type: application/json"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return errInput("the request body is empty; send a JSON object")
		case errors.As(err, &se):
			return errInput("malformed JSON at byte %d", se.Offset)
		case errors.As(err, &te):
			return errInput("field %q: expected %s", te.Field, te.Type)
		}
		return errInput("%v", err)
	}
	if dec.More() {
		return errInput("send exactly one JSON object")
	}
	return nil
}

type loginRequest struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	TOTP         string `json:"totp"`
	RecoveryCode string `json:"recoveryCode"`
	RememberMe   bool   `json:"rememberMe"`
	DeviceID     string `json:"deviceId"`
	// UseCookies asks for the tokens in HttpOnly cookies instead of the
	// body (the dashboard does).
	UseCookies bool `json:"useCookies"`
}

// loginResponse carries the tokens, unless they went into cookies.
type loginResponse struct {
	AccessToken   string       `json:"accessToken,omitempty"`
	AccessExpires time.Time    `json:"accessExpires"`
	RefreshToken  string       `json:"refreshToken,omitempty"`
	Session       auth.Session `json:"session"`
	Evicted       []string     `json:"evicted,omitempty"`
	// Binding is a browser session's binding: the dashboard keeps it in
	// localStorage and sends it in the X-Warden-Binding header.
	Binding string `json:"binding,omitempty"`
}

func (s *Server) tokensResponse(w http.ResponseWriter, t *auth.Tokens, cookies bool) loginResponse {
	out := loginResponse{AccessExpires: t.AccessExpires, Session: t.Session, Evicted: t.Evicted, Binding: t.Binding}
	if cookies {
		s.setSession(w, t)
	} else {
		out.AccessToken, out.RefreshToken = t.AccessToken, t.RefreshToken
	}
	return out
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req loginRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return errInput("username and password are required")
	}
	t, err := s.opts.Auth.Login(r.Context(), auth.LoginRequest{Username: req.Username, Password: req.Password, TOTP: req.TOTP,
		RecoveryCode: req.RecoveryCode, RememberMe: req.RememberMe, DeviceID: req.DeviceID, UserAgent: r.UserAgent(), ClientIP: clientIP(r),
		Bind: req.UseCookies})
	if err != nil {
		s.countAuthError(err, "login")
		return err
	}
	writeJSON(w, http.StatusOK, s.tokensResponse(w, t, req.UseCookies))
	return nil
}

func (s *Server) countAuthError(err error, kind string) {
	var rl *auth.RateLimitedError
	if errors.As(err, &rl) {
		s.metrics.rateLimited.Inc()
		return
	}
	if errors.Is(err, auth.ErrInvalidCredentials) || errors.Is(err, auth.ErrSecondFactorRequired) || errors.Is(err, auth.ErrUnauthenticated) {
		s.metrics.authFailures.WithLabelValues(kind).Inc()
	}
}

type refreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// refresh takes the refresh token from the body, or from the dashboard's
// cookie when the body has none (then the new tokens go back in cookies).
func (s *Server) refresh(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req refreshRequest
	cookies := false
	if r.ContentLength != 0 {
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
	}
	if req.RefreshToken == "" {
		c, err := r.Cookie(s.cookies.refresh)
		if err != nil || c.Value == "" {
			return errInput("refreshToken is required")
		}
		req.RefreshToken, cookies = c.Value, true
	}
	t, err := s.opts.Auth.RefreshBound(r.Context(), req.RefreshToken, r.Header.Get(BindingHeader), clientIP(r))
	if err != nil {
		s.countAuthError(err, "refresh")
		if cookies {
			s.clearSession(w)
		}
		return err
	}
	writeJSON(w, http.StatusOK, s.tokensResponse(w, t, cookies))
	return nil
}

func needUser(p auth.Principal) error {
	if p.Kind != "user" || p.SessionID == "" {
		return &apiError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "this needs a user session, not a gateway token"}
	}
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := needUser(p); err != nil {
		return err
	}
	if err := s.opts.Auth.Logout(r.Context(), p, clientIP(r)); err != nil {
		return err
	}
	s.hub.closeSession(p.SessionID, "logged out")
	s.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type resetPasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := needUser(p); err != nil {
		return err
	}
	var req resetPasswordRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || req.NewPassword == "" {
		return errInput("currentPassword and newPassword are required")
	}
	if err := s.opts.Auth.ResetPassword(r.Context(), p, p.Name, req.CurrentPassword, req.NewPassword, clientIP(r)); err != nil {
		s.countAuthError(err, "password")
		return wrongCredential(err, "the current password is wrong")
	}
	s.hub.closeUser(p.Name, "password changed")
	s.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	Password string `json:"password"`
}

type twoFASetupResponse struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	// QRCode is a data: URL of a PNG, for an <img>.
	QRCode string `json:"qrCode"`
}

func (s *Server) twoFASetup(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := needUser(p); err != nil {
		return err
	}
	var req passwordRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	e, err := s.opts.Auth.BeginTOTP(r.Context(), p.Name, req.Password, clientIP(r))
	if err != nil {
		s.countAuthError(err, "password")
		return wrongCredential(err, "the password is wrong")
	}
	writeJSON(w, http.StatusOK, twoFASetupResponse{Secret: e.Secret, URI: e.URI,
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.PNG)})
	return nil
}

type codeRequest struct {
	Code string `json:"code"`
}

type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recoveryCodes"`
}

func (s *Server) twoFAVerify(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := needUser(p); err != nil {
		return err
	}
	var req codeRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	codes, err := s.opts.Auth.ConfirmTOTP(r.Context(), p.Name, req.Code, p.SessionID, clientIP(r))
	if err != nil {
		s.countAuthError(err, "totp")
		return wrongCredential(err, "the code is wrong; enter the code the app shows now")
	}
	// ConfirmTOTP ended the user's other sessions; their sockets go now,
	// not at the next sweep.
	s.hub.closeUserExcept(p.Name, p.SessionID, "two-factor enabled")
	writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
	return nil
}

func (s *Server) twoFARecovery(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := needUser(p); err != nil {
		return err
	}
	var req passwordRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	codes, err := s.opts.Auth.RegenerateRecoveryCodes(r.Context(), p.Name, req.Password, clientIP(r))
	if err != nil {
		s.countAuthError(err, "password")
		return wrongCredential(err, "the password is wrong")
	}
	writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
	return nil
}

type usernameRequest struct {
	Username string `json:"username"`
}

func (s *Server) twoFADisable(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req usernameRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" {
		return errInput("username is required")
	}
	if err := s.opts.Auth.DisableTOTP(r.Context(), p, req.Username, clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type meResponse struct {
	auth.Principal
	User *auth.User `json:"user,omitempty"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	out := meResponse{Principal: p}
	if p.Kind == "user" {
		u, err := s.opts.Auth.GetUser(r.Context(), p.Name)
		if err != nil {
			return err
		}
		out.User = u
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type setupStatusResponse struct {
	Needed bool `json:"needed"`
}

func (s *Server) setupStatus(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	needed, err := s.opts.Auth.SetupNeeded(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, setupStatusResponse{Needed: needed})
	return nil
}

type setupRequest struct {
	Code     string `json:"code"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) setupComplete(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req setupRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.Code == "" || req.Username == "" || req.Password == "" {
		return errInput("code, username and password are required")
	}
	u, err := s.opts.Auth.CompleteSetup(r.Context(), req.Code, req.Username, req.Password, clientIP(r))
	if err != nil {
		s.countAuthError(err, "setup")
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// queryTime parses an RFC 3339 time or a date from a query parameter.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errInput("%s: %q is not an RFC 3339 time or a YYYY-MM-DD date", name, v)
}
