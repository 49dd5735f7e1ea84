package config

// CurrentVersion is the config format version this build reads and writes.
const CurrentVersion = 1

// Config is warden.yaml. Struct tags drive validation, decoding, the JSON
// Schema and the reference docs: yaml (key), doc (one line), min/max
// (numbers, durations, sizes), enum (a|b|c), format, secret, required.
type Config struct {
	Version  int      `yaml:"version" doc:"Config format version; warden migrate upgrades older files." min:"1" required:"true"`
	StateDir string   `yaml:"state_dir" doc:"State directory (database, secret store); empty means the user state dir. Relative paths are relative to this file." format:"path"`
	Gateway  Gateway  `yaml:"gateway" doc:"The HTTP and WebSocket gateway started by warden serve."`
	Auth     Auth     `yaml:"auth" doc:"Password and second-factor policy for gateway users."`
	Channels Channels `yaml:"channels" doc:"Chat platforms the agent talks through."`
	Sandbox  Sandbox  `yaml:"sandbox" doc:"Isolation for commands the agent runs."`
	Security Security `yaml:"security" doc:"Audit log and audit settings."`
	Logging  Logging  `yaml:"logging" doc:"Operational logs (not the audit log)."`
}

// Gateway configures warden serve.
type Gateway struct {
	Listen         string      `yaml:"listen" doc:"Address to listen on; anything beyond loopback requires TLS." format:"hostport"`
	Owner          string      `yaml:"owner" doc:"The owner: the one user whose own login sessions are the main session (with sandbox.mode non-main their commands run on the host, in sandbox.main_workspace); empty means the first admin created." pattern:"^([a-z0-9][a-z0-9._-]{0,63})?$"`
	Hosts          []string    `yaml:"hosts" doc:"Host names clients use to reach the gateway besides loopback, the listen address, the allowed origins' hosts and the certificate's names (a reverse proxy's or LAN name); a request naming any other host is refused (DNS rebinding)." pattern:"^[A-Za-z0-9.:\\[\\]-]{1,253}$"`
	TLS            TLS         `yaml:"tls" doc:"TLS for the gateway; required when listening beyond loopback."`
	Auth           GatewayAuth `yaml:"auth" doc:"Gateway authentication and session lifetimes."`
	RateLimit      RateLimit   `yaml:"rate_limit" doc:"Limits on failed authentication attempts."`
	AllowedOrigins []string    `yaml:"allowed_origins" doc:"Origins allowed to open WebSockets and call the API from a browser (exact scheme://host[:port]); empty allows only the gateway's own origin." format:"origin"`
	TrustedProxies []string    `yaml:"trusted_proxies" doc:"Proxy addresses (IP or CIDR) whose X-Forwarded-For is believed; empty trusts none." format:"cidr"`
	Metrics        Metrics     `yaml:"metrics" doc:"Prometheus metrics at /metrics."`
	MaxBodyBytes   ByteSize    `yaml:"max_body_bytes" doc:"Largest request body accepted." min:"1KiB" max:"64MiB"`
	ShutdownGrace  Duration    `yaml:"shutdown_grace" doc:"Time allowed to drain connections on shutdown." min:"1s" max:"10m"`
}

// TLS holds certificate paths and the minimum protocol version.
type TLS struct {
	Cert       string `yaml:"cert" doc:"PEM certificate chain file." format:"path"`
	Key        string `yaml:"key" doc:"PEM private key file." format:"path"`
	MinVersion string `yaml:"min_version" doc:"Lowest TLS version accepted." enum:"1.2|1.3"`
}

// Enabled reports whether a certificate and key are configured.
func (t TLS) Enabled() bool { return t.Cert != "" && t.Key != "" }

// GatewayAuth configures tokens and session lifetimes.
type GatewayAuth struct {
	Token                Secret   `yaml:"token" doc:"Optional shared gateway token for the agent (32+ characters, high entropy); prefer per-client tokens from warden tokens create." secret:"true" format:"token"`
	AccessTTL            Duration `yaml:"access_ttl" doc:"Lifetime of an access token." min:"1m" max:"1h"`
	SessionTTL           Duration `yaml:"session_ttl" doc:"Lifetime of a login session." min:"5m" max:"7d"`
	RememberMeTTL        Duration `yaml:"remember_me_ttl" doc:"Lifetime of a session created with remember me." min:"1h" max:"90d"`
	IdleTimeout          Duration `yaml:"idle_timeout" doc:"A dashboard session unused this long ends (remember-me sessions: remember_me_idle_timeout)." min:"1m" max:"24h"`
	RememberIdleTimeout  Duration `yaml:"remember_me_idle_timeout" doc:"A remember-me session unused this long ends; at remember_me_ttl or above, only its lifetime ends it." min:"1h" max:"90d"`
	MaxSessionsPerDevice int      `yaml:"max_sessions_per_device" doc:"Sessions kept per user and device; the oldest is evicted beyond it." min:"1" max:"100"`
}

// RateLimit configures the limiter for failed authentication attempts.
type RateLimit struct {
	Enabled         bool     `yaml:"enabled" doc:"Limit failed authentication attempts (logins, 2FA codes, tokens)."`
	Attempts        int      `yaml:"attempts" doc:"Failed attempts allowed in each window per client address and account (passwords, second factors), per gateway-token id, or per address (tokens naming no id, setup codes); a valid token is never refused." min:"1" max:"1000"`
	Window          Duration `yaml:"window" doc:"The window of attempts." min:"1s" max:"24h"`
	AccountAttempts int      `yaml:"account_attempts" doc:"Failed attempts allowed per account in each account window, whatever the IP." min:"1" max:"100000"`
	AccountWindow   Duration `yaml:"account_window" doc:"The per-account window." min:"1m" max:"7d"`
}

// Metrics configures /metrics.
type Metrics struct {
	Enabled      bool `yaml:"enabled" doc:"Serve Prometheus metrics at /metrics."`
	RequireToken bool `yaml:"require_token" doc:"Require a token for /metrics even on loopback (off loopback a token is always required)."`
}

// Auth is the user-facing authentication policy.
type Auth struct {
	PasswordMinLength int    `yaml:"password_min_length" doc:"Shortest password accepted (a passphrase)." min:"12" max:"1024"`
	TOTPIssuer        string `yaml:"totp_issuer" doc:"Issuer name shown by authenticator apps." pattern:"^[^:]{1,64}$"`
}

// DMPolicy values.
const (
	DMPolicyPairing   = "pairing"
	DMPolicyAllowlist = "allowlist"
	DMPolicyOpen      = "open" // refused; kept to explain the refusal
)

// Channels configures chat platforms.
type Channels struct {
	DMPolicy string   `yaml:"dm_policy" doc:"Who may message the agent: pairing (an unknown sender gets a code the owner approves) or allowlist (only allow_from)." enum:"pairing|allowlist"`
	Pairing  Pairing  `yaml:"pairing" doc:"DM pairing codes."`
	Telegram Telegram `yaml:"telegram" doc:"Telegram bot (webhook with a secret token)."`
	Slack    Slack    `yaml:"slack" doc:"Slack app (Events API with signing secret)."`
	Discord  Discord  `yaml:"discord" doc:"Discord application (interactions with Ed25519 signatures)."`
	Threads  Threads  `yaml:"threads" doc:"Conversation threads kept for context."`
	Media    Media    `yaml:"media" doc:"Attachments fetched from the platforms."`
}

// Pairing configures DM pairing codes.
type Pairing struct {
	CodeTTL Duration `yaml:"code_ttl" doc:"How long a pairing code stays valid." min:"1m" max:"7d"`
}

// Telegram configures the Telegram adapter.
type Telegram struct {
	Enabled       bool     `yaml:"enabled" doc:"Enable the Telegram adapter."`
	BotToken      Secret   `yaml:"bot_token" doc:"Bot token from BotFather." secret:"true"`
	WebhookSecret Secret   `yaml:"webhook_secret" doc:"Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -)." secret:"true"`
	AllowFrom     []string `yaml:"allow_from" doc:"Numeric Telegram user ids allowed to message the agent." pattern:"^[0-9]{1,20}$"`
	APIBaseURL    string   `yaml:"api_base_url" doc:"Bot API base URL." format:"url"`
}

// Slack configures the Slack adapter.
type Slack struct {
	Enabled       bool     `yaml:"enabled" doc:"Enable the Slack adapter."`
	BotToken      Secret   `yaml:"bot_token" doc:"Bot token (xoxb-…)." secret:"true"`
	SigningSecret Secret   `yaml:"signing_secret" doc:"Signing secret used to verify Slack requests." secret:"true"`
	AllowFrom     []string `yaml:"allow_from" doc:"Slack user ids (U…/W…) allowed to message the agent." pattern:"^[UW][A-Z0-9]{2,20}$"`
	APIBaseURL    string   `yaml:"api_base_url" doc:"Web API base URL." format:"url"`
}

// Discord configures the Discord adapter.
type Discord struct {
	Enabled       bool     `yaml:"enabled" doc:"Enable the Discord adapter."`
	BotToken      Secret   `yaml:"bot_token" doc:"Bot token." secret:"true"`
	ApplicationID string   `yaml:"application_id" doc:"Application id." pattern:"^[0-9]{1,20}$"`
	PublicKey     string   `yaml:"public_key" doc:"Application public key (hex Ed25519) that signs interactions." pattern:"^[0-9a-fA-F]{64}$"`
	AllowFrom     []string `yaml:"allow_from" doc:"Discord user ids (snowflakes) allowed to message the agent." pattern:"^[0-9]{1,20}$"`
	APIBaseURL    string   `yaml:"api_base_url" doc:"REST API base URL." format:"url"`
}

// Threads configures conversation context.
type Threads struct {
	MaxMessages int      `yaml:"max_messages" doc:"Messages kept per thread for context." min:"1" max:"1000"`
	TTL         Duration `yaml:"ttl" doc:"A thread idle this long is forgotten." min:"1m" max:"90d"`
}

// Media configures attachment handling.
type Media struct {
	MaxBytes ByteSize `yaml:"max_bytes" doc:"Largest attachment fetched." min:"1KiB" max:"1GiB"`
}

// Sandbox modes.
const (
	SandboxOff     = "off"
	SandboxNonMain = "non-main"
	SandboxAll     = "all"
)

// Sandbox configures command isolation.
type Sandbox struct {
	Mode            string   `yaml:"mode" doc:"off, non-main (every session but the owner's main one is sandboxed) or all." enum:"off|non-main|all"`
	Network         bool     `yaml:"network" doc:"Allow sandboxed commands to use the network, never this host (its loopback, its own addresses, the gateway)."`
	Timeout         Duration `yaml:"timeout" doc:"Wall-clock limit for one command." min:"1s" max:"24h"`
	Memory          ByteSize `yaml:"memory" doc:"Memory limit for one command." min:"16MiB" max:"64GiB"`
	Pids            int      `yaml:"pids" doc:"Process limit for one command." min:"1" max:"65536"`
	CPUSeconds      int      `yaml:"cpu_seconds" doc:"CPU time limit for one command." min:"1" max:"86400"`
	FileSize        ByteSize `yaml:"file_size" doc:"Largest file a command may write." min:"1KiB" max:"64GiB"`
	OpenFiles       int      `yaml:"open_files" doc:"Open file limit for one command." min:"16" max:"1048576"`
	Workspace       string   `yaml:"workspace" doc:"Directory sandboxed commands run in (read-write); empty means <state_dir>/workspace." format:"path"`
	WorkspaceExec   bool     `yaml:"workspace_exec" doc:"Allow executing files from the workspace."`
	WorkspaceQuota  ByteSize `yaml:"workspace_quota" doc:"Disk space the workspace may take: a command writing past it is ended, and none starts while it is reached." min:"1MiB" max:"1TiB"`
	WorkspaceFiles  int      `yaml:"workspace_files" doc:"Files and directories the workspace may hold." min:"100" max:"100000000"`
	DiskReserve     ByteSize `yaml:"disk_reserve" doc:"Free space kept on the workspace's disk for the audit log and the database: below it commands are ended and none start." min:"0B" max:"1TiB"`
	MainWorkspace   string   `yaml:"main_workspace" doc:"Directory where the owner's main session runs commands on the host (their working directory and HOME), private to the user running warden; never inside or around workspace; empty means <state_dir>/main." format:"path"`
	AllowedBinaries []string `yaml:"allowed_binaries" doc:"Programs commands may run; empty means the built-in list of shells, coreutils and interpreters."`
}

// Security holds audit-related settings.
type Security struct {
	Audit Audit `yaml:"audit" doc:"The tamper-evident audit log and warden audit."`
}

// Audit configures the audit log and suppressions for warden audit.
type Audit struct {
	RetentionDays int           `yaml:"retention_days" doc:"Audit entries older than this are purged (0 keeps them forever)." min:"0" max:"36500"`
	MaxEntries    int           `yaml:"max_entries" doc:"At most this many audit entries are kept (0 means no limit)." min:"0" max:"1000000000"`
	Suppressions  []Suppression `yaml:"suppressions" doc:"Audit findings accepted on purpose, each with a reason and an optional expiry."`
	Checkpoint    Checkpoint    `yaml:"checkpoint" doc:"Signed checkpoints of the audit log head, to keep outside Warden."`
	Forward       Forward       `yaml:"forward" doc:"Copies of every audit entry sent to a separate system (ASVS 16.4.3)."`
}

// Checkpoint configures the periodic signed checkpoints warden serve writes.
type Checkpoint struct {
	File     string   `yaml:"file" doc:"File that warden serve appends a signed checkpoint to (one JSON object per line); - for stdout, empty for none." format:"path"`
	Interval Duration `yaml:"interval" doc:"How often warden serve writes a checkpoint." min:"1m" max:"7d"`
}

// Forward configures where audit entries are copied.
type Forward struct {
	Syslog SyslogForward `yaml:"syslog" doc:"RFC 5424 syslog over TCP, TLS or a unix socket."`
	HTTP   HTTPForward   `yaml:"http" doc:"JSON batches POSTed to an HTTP endpoint."`
}

// SyslogForward sends entries to a syslog server.
type SyslogForward struct {
	Enabled    bool   `yaml:"enabled" doc:"Forward audit entries to syslog."`
	Network    string `yaml:"network" doc:"tcp, tls (RFC 5425) or unix (a stream socket path in address)." enum:"tcp|tls|unix"`
	Address    string `yaml:"address" doc:"host:port, or the socket path for unix."`
	AppName    string `yaml:"app_name" doc:"APP-NAME of the syslog messages." pattern:"^[!-~]{1,48}$"`
	CAFile     string `yaml:"ca_file" doc:"PEM CA bundle to verify the server with tls (default: the system roots)." format:"path"`
	ServerName string `yaml:"server_name" doc:"Name expected in the server certificate with tls (default: the host of address)."`
}

// HTTPForward sends entries to an HTTP endpoint.
type HTTPForward struct {
	Enabled bool   `yaml:"enabled" doc:"Forward audit entries to an HTTP endpoint."`
	URL     string `yaml:"url" doc:"Endpoint that receives POSTed JSON arrays of entries." format:"url"`
	Token   Secret `yaml:"token" doc:"Bearer token sent with each request." secret:"true"`
}

// Suppression accepts one audit finding.
type Suppression struct {
	ID      string `yaml:"id" doc:"The check id to suppress." required:"true" pattern:"^[a-z0-9_.-]{1,100}$"`
	Reason  string `yaml:"reason" doc:"Why the finding is accepted." required:"true" pattern:"\\S"`
	Expires Date   `yaml:"expires" doc:"Date (YYYY-MM-DD) after which the suppression no longer applies."`
}

// Logging configures operational logs.
type Logging struct {
	Level  string `yaml:"level" doc:"Lowest level logged." enum:"debug|info|warn|error"`
	Format string `yaml:"format" doc:"Log line format." enum:"text|json"`
}
