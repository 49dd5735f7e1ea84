package config

import "time"

// DefaultListen is the gateway's default address: loopback only.
const DefaultListen = "127.0.0.1:7420"

// Defaults returns the secure defaults every file is laid over.
func Defaults() *Config {
	return &Config{
		Version: CurrentVersion,
		Gateway: Gateway{
			Listen: DefaultListen,
			TLS:    TLS{MinVersion: "1.3"},
			Auth: GatewayAuth{
				AccessTTL:            Duration(15 * time.Minute),
				SessionTTL:           Duration(24 * time.Hour),
				RememberMeTTL:        Duration(30 * 24 * time.Hour),
				IdleTimeout:          Duration(30 * time.Minute),
				RememberIdleTimeout:  Duration(7 * 24 * time.Hour),
				MaxSessionsPerDevice: 10,
			},
			RateLimit: RateLimit{
				Enabled:         true,
				Attempts:        5,
				Window:          Duration(5 * time.Minute),
				AccountAttempts: 100,
				AccountWindow:   Duration(time.Hour),
			},
			Metrics:       Metrics{Enabled: true},
			MaxBodyBytes:  1 << 20,
			ShutdownGrace: Duration(10 * time.Second),
		},
		Auth: Auth{PasswordMinLength: 32, TOTPIssuer: "Warden"},
		Channels: Channels{
			DMPolicy: DMPolicyPairing,
			Pairing:  Pairing{CodeTTL: Duration(time.Hour)},
			Telegram: Telegram{APIBaseURL: "https://api.telegram.org"},
			Slack:    Slack{APIBaseURL: "https://slack.com/api"},
			Discord:  Discord{APIBaseURL: "https://discord.com/api/v10"},
			Threads:  Threads{MaxMessages: 50, TTL: Duration(24 * time.Hour)},
			Media:    Media{MaxBytes: 10 << 20},
		},
		Sandbox: Sandbox{
			Mode:       SandboxNonMain,
			Timeout:    Duration(60 * time.Second),
			Memory:     512 << 20,
			Pids:       256,
			CPUSeconds: 60,
			FileSize:   64 << 20,
			OpenFiles:  256,

			WorkspaceQuota: 1 << 30,
			WorkspaceFiles: 100_000,
			DiskReserve:    128 << 20,
		},
		Security: Security{Audit: Audit{
			RetentionDays: 90,
			MaxEntries:    1_000_000,
			Checkpoint:    Checkpoint{Interval: Duration(time.Hour)},
			Forward: Forward{
				Syslog: SyslogForward{Network: "tcp", AppName: "warden"},
			},
		}},
		Logging: Logging{Level: "info", Format: "text"},
	}
}
