package report

// This file is the control catalogue: the SOC 2 (2017 Trust Services
// Criteria, revised points of focus 2022) criteria and ISO/IEC
// 27001:2022 Annex A controls the report covers, and for every kind of
// evidence Warden collects, the controls it supports. A test checks that
// every audit check id is mapped and that every control id named here is
// in Controls.

// Frameworks.
const (
	SOC2     = "soc2"
	ISO27001 = "iso27001"
)

// Control is one SOC 2 criterion or ISO 27001 Annex A control.
type Control struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
	Title     string `json:"title"`
	// Manual says what an auditor checks by hand when no automated
	// evidence supports the control.
	Manual string `json:"manual,omitempty"`
}

// Controls lists the controls in report order.
var Controls = []Control{
	{SOC2, "CC6.1", "Logical access security software, infrastructure and architectures", ""},
	{SOC2, "CC6.2", "User registration, authorisation and removal", "review joiners and leavers against HR records"},
	{SOC2, "CC6.3", "Role-based access, least privilege and segregation of duties", ""},
	{SOC2, "CC6.6", "Protection against threats from outside the system boundary", ""},
	{SOC2, "CC6.7", "Restriction of the transmission of information", ""},
	{SOC2, "CC6.8", "Prevention and detection of unauthorised or malicious software", ""},
	{SOC2, "CC7.1", "Detection of configuration changes and new vulnerabilities", ""},
	{SOC2, "CC7.2", "Monitoring of system components for anomalies", ""},
	{SOC2, "CC7.3", "Evaluation of security events", ""},
	{SOC2, "CC7.4", "Incident response", "confirm the playbooks (`warden report playbook`) were reviewed and exercised"},
	{SOC2, "CC8.1", "Change management", ""},
	{SOC2, "CC9.2", "Vendor and business partner risk", "keep the chat platforms' and hosting provider's assurance reports"},

	{ISO27001, "A.5.15", "Access control", ""},
	{ISO27001, "A.5.17", "Authentication information", ""},
	{ISO27001, "A.5.18", "Access rights", "review access rights at planned intervals and on role change"},
	{ISO27001, "A.5.24", "Information security incident management planning and preparation", "confirm the playbooks (`warden report playbook`) were reviewed and exercised"},
	{ISO27001, "A.5.26", "Response to information security incidents", "keep the records of incidents handled in the period"},
	{ISO27001, "A.5.28", "Collection of evidence", ""},
	{ISO27001, "A.5.33", "Protection of records", ""},
	{ISO27001, "A.8.2", "Privileged access rights", ""},
	{ISO27001, "A.8.3", "Information access restriction", ""},
	{ISO27001, "A.8.5", "Secure authentication", ""},
	{ISO27001, "A.8.7", "Protection against malware", ""},
	{ISO27001, "A.8.8", "Management of technical vulnerabilities", ""},
	{ISO27001, "A.8.9", "Configuration management", ""},
	{ISO27001, "A.8.15", "Logging", ""},
	{ISO27001, "A.8.16", "Monitoring activities", ""},
	{ISO27001, "A.8.20", "Networks security", ""},
	{ISO27001, "A.8.24", "Use of cryptography", ""},
	{ISO27001, "A.8.32", "Change management", ""},
}

// Evidence ids that are not audit checks.
const (
	EvLogEvents     = "log.events"           // event populations over the period
	EvUsers         = "access.users"         // users, roles, stale accounts
	EvAdminMFA      = "access.mfa"           // administrators use a second factor
	EvPasswordPol   = "policy.password"      // password policy in force
	EvSessionPol    = "policy.session"       // session lifetimes and rate limiting in force
	EvSecretsAtRest = "secrets.at_rest"      // the secret store is encrypted
	EvTLS           = "tls.settings"         // TLS in force on the gateway
	EvDepsScan      = "deps.scan"            // the last dependency scan
	EvReleaseNotes  = "change.release_notes" // the latest release notes
	EvPlaybooks     = "ir.playbooks"         // incident response playbooks
)

// Mapping names, for every audit check id and every other evidence id,
// the controls it supports.
var Mapping = map[string][]string{
	// Config checks.
	"config.loads":            {"CC7.1", "A.8.9"},
	"gateway.exposed":         {"CC6.6", "CC6.7", "A.8.20", "A.8.24"},
	"gateway.token":           {"CC6.1", "A.5.17", "A.8.5"},
	"gateway.rate_limit":      {"CC6.1", "CC6.6", "A.8.5"},
	"gateway.origins":         {"CC6.6", "A.8.20"},
	"gateway.metrics":         {"CC6.1", "A.8.3"},
	"gateway.trusted_proxies": {"CC6.6", "A.8.20"},
	"gateway.secret_reuse":    {"CC6.1", "A.5.17"},
	"channels.dm_policy_open": {"CC6.1", "CC6.6", "A.5.15"},
	"channels.allow_wildcard": {"CC6.1", "A.5.15"},
	"channels.allow_names":    {"CC6.1", "A.5.15", "A.8.5"},
	"channels.webhook_secret": {"CC6.1", "CC6.6", "A.8.5"},
	"secrets.inline":          {"CC6.1", "A.5.17", "A.8.24"},
	"log.retention":           {"CC7.2", "A.8.15", "A.5.33"},
	// Host checks.
	"sandbox.off":       {"CC6.8", "A.8.7"},
	"sandbox.not_all":   {"CC6.8", "A.8.7"},
	"sandbox.network":   {"CC6.6", "CC6.8", "A.8.7", "A.8.20"},
	"sandbox.layers":    {"CC6.8", "A.8.7"},
	"sandbox.root":      {"CC6.3", "A.8.2"},
	"sandbox.env":       {"CC6.8", "A.8.7"},
	"files.state_dir":   {"CC6.1", "A.8.3"},
	"files.state_files": {"CC6.1", "A.8.3"},
	"files.symlinks":    {"CC6.1", "A.8.3"},
	"files.synced":      {"CC6.7", "A.8.3"},
	"files.config_mode": {"CC6.1", "A.8.3", "A.8.9"},
	"secrets.dotenv":    {"CC6.1", "A.5.17"},
	"secrets.identity":  {"CC6.1", "A.5.17", "A.8.24"},
	"log.chain":         {"CC7.2", "CC7.3", "A.8.15", "A.5.28"},
	"log.mode":          {"CC7.2", "A.8.15", "A.5.33"},
	"deps.self":         {"CC7.1", "A.8.8"},
	// Deep probes of a running gateway.
	"deep.auth":      {"CC6.1", "A.8.5"},
	"deep.metrics":   {"CC6.1", "A.8.3"},
	"deep.headers":   {"CC6.6", "A.8.20"},
	"deep.tls":       {"CC6.7", "A.8.24"},
	"deep.ws_origin": {"CC6.6", "A.8.20"},
	"deep.bind":      {"CC6.6", "A.8.20"},
	// Evidence from the state.
	EvLogEvents:     {"CC7.2", "CC7.3", "A.8.15", "A.8.16"},
	EvUsers:         {"CC6.2", "CC6.3", "A.5.18", "A.8.2"},
	EvAdminMFA:      {"CC6.1", "A.8.5"},
	EvPasswordPol:   {"CC6.1", "A.5.17", "A.8.5"},
	EvSessionPol:    {"CC6.1", "A.8.5"},
	EvSecretsAtRest: {"CC6.1", "A.8.24"},
	EvTLS:           {"CC6.7", "A.8.24", "A.8.20"},
	EvDepsScan:      {"CC7.1", "A.8.8"},
	EvReleaseNotes:  {"CC8.1", "A.8.32"},
	EvPlaybooks:     {"CC7.4", "A.5.24", "A.5.26"},
}

// LookupControl returns the control with id.
func LookupControl(id string) (Control, bool) {
	for _, c := range Controls {
		if c.ID == id {
			return c, true
		}
	}
	return Control{}, false
}
