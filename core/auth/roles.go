package auth

import (
	"fmt"
	"strings"
)

// Role is what a user or token may do, from most to least powerful:
// admin > operator > agent > viewer.
type Role string

// Roles.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleAgent    Role = "agent"
	RoleViewer   Role = "viewer"
)

// rank orders roles; a higher rank includes every lower one.
var rank = map[Role]int{RoleViewer: 1, RoleAgent: 2, RoleOperator: 3, RoleAdmin: 4}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := rank[r]; !ok {
		return "", fmt.Errorf("role %q: use admin, operator, agent or viewer", s)
	}
	return r, nil
}

// AtLeast reports whether r includes min.
func (r Role) AtLeast(min Role) bool { return rank[r] > 0 && rank[r] >= rank[min] }

// Permission names one thing a caller may do. Routes and commands ask
// Allows with one of these; the table below is the only place that maps
// them to roles.
type Permission string

// Permissions.
const (
	PermReadOwn        Permission = "self.read"       // own profile, own sessions
	PermManageOwn      Permission = "self.manage"     // own password, own 2FA, own sessions
	PermStatusRead     Permission = "status.read"     // health, dashboards
	PermAuditRead      Permission = "audit.read"      // search the audit log
	PermAuditVerify    Permission = "audit.verify"    // verify the chain
	PermMessagesAgent  Permission = "messages.agent"  // receive chat events, send replies
	PermExec           Permission = "exec"            // run commands through the sandbox
	PermSessionsManage Permission = "sessions.manage" // list and revoke anyone's sessions
	PermTokensManage   Permission = "tokens.manage"   // create and revoke gateway tokens
	PermUsersManage    Permission = "users.manage"    // add, disable users; disable their 2FA
	PermConfigRead     Permission = "config.read"     // the effective config (redacted)
)

// permissions maps each permission to the least role that holds it.
var permissions = map[Permission]Role{
	PermReadOwn:        RoleViewer,
	PermManageOwn:      RoleViewer,
	PermStatusRead:     RoleViewer,
	PermAuditRead:      RoleOperator,
	PermAuditVerify:    RoleOperator,
	PermMessagesAgent:  RoleAgent,
	PermExec:           RoleAgent,
	PermSessionsManage: RoleAdmin,
	PermTokensManage:   RoleAdmin,
	PermUsersManage:    RoleAdmin,
	PermConfigRead:     RoleOperator,
}

// MinRole returns the least role holding p; unknown permissions belong to
// nobody (fail closed).
func MinRole(p Permission) (Role, bool) {
	r, ok := permissions[p]
	return r, ok
}

// Allows reports whether role r holds permission p.
func Allows(r Role, p Permission) bool {
	min, ok := permissions[p]
	return ok && r.AtLeast(min)
}

// Permissions lists the table, for docs and tests.
func Permissions() map[Permission]Role {
	out := make(map[Permission]Role, len(permissions))
	for p, r := range permissions {
		out[p] = r
	}
	return out
}
