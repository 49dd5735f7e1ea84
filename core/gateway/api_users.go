package gateway

import (
	"net/http"
	"strings"

	"github.com/warden-sec/warden/core/auth"
)

// The users routes (users.manage: admins). Every change is decided and
// audited in core/auth, with the caller's address; the gateway closes the
// WebSockets of sessions a change ended, at once rather than at the next
// sweep.

type usersResponse struct {
	SchemaVersion int `json:"schemaVersion"`
	// Owner names the owner: gateway.owner, else the first admin; "" when
	// there is none yet.
	Owner string      `json:"owner"`
	Users []auth.User `json:"users"`
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	list, err := s.opts.Auth.ListUsers(r.Context())
	if err != nil {
		return err
	}
	owner, err := s.opts.Auth.Owner(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []auth.User{}
	}
	writeJSON(w, http.StatusOK, usersResponse{SchemaVersion: schemaVersion, Owner: owner, Users: list})
	return nil
}

type addUserRequest struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req addUserRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return errInput("username and password are required")
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return errInput("role: %v", err)
	}
	u, err := s.opts.Auth.AddUser(r.Context(), p, req.Username, role, req.Password, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name := r.PathValue("name")
	if err := s.opts.Auth.DisableUserAt(r.Context(), p, name, clientIP(r)); err != nil {
		return err
	}
	s.hub.closeUser(strings.ToLower(name), "user disabled")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type roleRequest struct {
	Role string `json:"role"`
}

func (s *Server) setUserRole(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req roleRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return errInput("role: %v", err)
	}
	u, err := s.opts.Auth.SetRole(r.Context(), p, r.PathValue("name"), role, clientIP(r))
	if err != nil {
		return err
	}
	s.hub.closeUser(u.Name, "role changed")
	writeJSON(w, http.StatusOK, u)
	return nil
}

type passwordPolicyResponse struct {
	SchemaVersion int `json:"schemaVersion"`
	// MinLength and MaxLength count characters (auth.password_min_length).
	MinLength int `json:"minLength"`
	MaxLength int `json:"maxLength"`
}

// passwordPolicy tells forms the rule before anyone types: it is public,
// since the setup form needs it before any account exists, and it says
// nothing the documentation does not.
func (s *Server) passwordPolicy(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	pol := s.opts.Auth.PasswordPolicy()
	writeJSON(w, http.StatusOK, passwordPolicyResponse{SchemaVersion: schemaVersion, MinLength: pol.MinLength, MaxLength: pol.MaxLength})
	return nil
}
