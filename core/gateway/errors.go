package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
)

// Error codes: stable strings clients branch on (docs/api.md lists them).
const (
	CodeUnauthenticated   = "UNAUTHENTICATED"
	CodeSecondFactor      = "SECOND_FACTOR_REQUIRED"
	CodeForbidden         = "FORBIDDEN"
	CodeRateLimited       = "RATE_LIMITED"
	CodeInvalidInput      = "INVALID_INPUT"
	CodeNotFound          = "NOT_FOUND"
	CodeConflict          = "CONFLICT"
	CodeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge   = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia  = "UNSUPPORTED_MEDIA_TYPE"
	CodeAuditUnavailable  = "AUDIT_UNAVAILABLE"
	CodeUnavailable       = "UNAVAILABLE"
	CodeInternal          = "INTERNAL"
	CodeCrossOriginDenied = "CROSS_ORIGIN_DENIED"
	CodeHostNotAllowed    = "HOST_NOT_ALLOWED"
	// CodeWrongCredential: a password or code checked again inside a live
	// session was wrong. The session goes on; only UNAUTHENTICATED means
	// it ended.
	CodeWrongCredential = "WRONG_CREDENTIAL"
	// CodeOwnerProtected: the owner cannot be disabled or demoted.
	CodeOwnerProtected = "OWNER_PROTECTED"
)

// apiError is an error with the answer the client gets.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int // seconds, for RATE_LIMITED
	cause      error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

func (e *apiError) Unwrap() error { return e.cause }

func errInput(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidInput, Message: fmt.Sprintf(format, args...)}
}

var (
	errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "authentication required"}
	errForbidden       = &apiError{Status: http.StatusForbidden, Code: CodeForbidden, Message: "your role does not allow this"}
	errNotFound        = &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such resource"}
)

// toAPIError maps core errors to what the client is told. Unknown errors
// become INTERNAL without their text (the operator log gets it).
func toAPIError(err error) *apiError {
	var ae *apiError
	var rl *auth.RateLimitedError
	var mbe *http.MaxBytesError
	var appendErr *auditlog.AppendError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &rl):
		return &apiError{Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: auth.RetryAfterSeconds(rl.RetryAfter),
			Message: fmt.Sprintf("too many failed attempts; retry in %d s", auth.RetryAfterSeconds(rl.RetryAfter)), cause: err}
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge,
			Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit), cause: err}
	case errors.As(err, &appendErr):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeAuditUnavailable,
			Message: "the audit log cannot be written, so the action was refused", cause: err}
	case errors.Is(err, auth.ErrSecondFactorRequired):
		return &apiError{Status: http.StatusUnauthorized, Code: CodeSecondFactor, Message: "send a TOTP or recovery code too", cause: err}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "invalid credentials", cause: err}
	case errors.Is(err, auth.ErrUnauthenticated):
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: "authentication required", cause: err}
	case errors.Is(err, auth.ErrForbidden):
		return &apiError{Status: http.StatusForbidden, Code: CodeForbidden, Message: errForbidden.Message, cause: err}
	case errors.Is(err, auth.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error(), cause: err}
	case errors.Is(err, auth.ErrInvalidInput), errors.Is(err, auditlog.ErrQuery):
		return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidInput, Message: err.Error(), cause: err}
	case errors.Is(err, auth.ErrOwnerProtected):
		return &apiError{Status: http.StatusConflict, Code: CodeOwnerProtected, Message: err.Error(), cause: err}
	case errors.Is(err, auth.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error(), cause: err}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", cause: err}
}

// wrongCredential turns a wrong password or code, given again by a caller
// whose session is live, into 403 WRONG_CREDENTIAL with msg: a client
// must not read it as the end of its session (401), and retrying it
// would only count once more against the rate limit. Other errors pass.
func wrongCredential(err error, msg string) error {
	if errors.Is(err, auth.ErrInvalidCredentials) {
		return &apiError{Status: http.StatusForbidden, Code: CodeWrongCredential, Message: msg, cause: err}
	}
	return err
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retryAfter,omitempty"`
}

// writeError answers with the error envelope.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
	}
	writeJSON(w, e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
