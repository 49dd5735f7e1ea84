package report

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	const day = 24 * time.Hour
	for d, want := range map[time.Duration]string{
		0:                                 "0 seconds",
		time.Second:                       "1 second",
		45 * time.Second:                  "45 seconds",
		90 * time.Second:                  "90 seconds",
		time.Minute:                       "1 minute",
		5 * time.Minute:                   "5 minutes",
		15 * time.Minute:                  "15 minutes",
		90 * time.Minute:                  "90 minutes",
		time.Hour:                         "1 hour",
		12 * time.Hour:                    "12 hours",
		day:                               "24 hours",
		36 * time.Hour:                    "36 hours",
		2 * day:                           "2 days",
		7 * day:                           "7 days",
		30 * day:                          "30 days",
		90 * day:                          "90 days",
		365 * day:                         "365 days",
		150 * time.Minute:                 "2 hours 30 minutes",
		25*time.Hour + 30*time.Minute:     "25 hours 30 minutes",
		100 * time.Hour:                   "4 days 4 hours",
		49*time.Hour + 30*time.Minute:     "2 days 1 hour 30 minutes",
		time.Hour + time.Second:           "1 hour 1 second",
		1500 * time.Millisecond:           "1 second 500 milliseconds",
		250 * time.Millisecond:            "250 milliseconds",
		1500 * time.Microsecond:           "1.5ms",
		-5 * time.Minute:                  "-5 minutes",
		time.Minute + 90*time.Millisecond: "1 minute 90 milliseconds",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPer(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "per 5 minutes", time.Hour: "per hour", time.Minute: "per minute",
		90 * time.Minute: "per 90 minutes", time.Hour + time.Minute: "per 61 minutes", 150 * time.Minute: "per 2 hours 30 minutes",
	} {
		if got := Per(d); got != want {
			t.Errorf("Per(%v) = %q, want %q", d, got, want)
		}
	}
}
