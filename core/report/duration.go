package report

import (
	"fmt"
	"strings"
	"time"
)

// HumanDuration writes a duration as people read it, in the report's
// every format: "30 days", "24 hours", "90 minutes", "2 hours 30 minutes".
//
// A duration that is a whole number of one unit is written in the largest
// such unit (days from two days on, as config.FormatDuration does: one day
// reads as "24 hours"), unless that takes 100 or more of it; then, and for
// durations that are no whole number of seconds, it is written in parts,
// largest first ("25 hours 30 minutes", "4 days 4 hours"). Fractions of a
// second are kept to the millisecond.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + HumanDuration(-d)
	}
	if d == 0 {
		return "0 seconds"
	}
	if d < time.Second {
		if d%time.Millisecond == 0 {
			return unit(int64(d/time.Millisecond), "millisecond")
		}
		return d.String()
	}
	const day = 24 * time.Hour
	units := []struct {
		size time.Duration
		name string
	}{{day, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	for _, u := range units {
		if u.size == day && d < 2*day {
			continue
		}
		if d%u.size == 0 && d/u.size < 100 {
			return unit(int64(d/u.size), u.name)
		}
	}
	var parts []string
	rest := d
	for _, u := range units {
		if u.size == day && d < 2*day {
			continue
		}
		if n := rest / u.size; n > 0 {
			parts = append(parts, unit(int64(n), u.name))
			rest -= n * u.size
		}
	}
	if ms := rest.Round(time.Millisecond) / time.Millisecond; ms > 0 {
		parts = append(parts, unit(int64(ms), "millisecond"))
	}
	return strings.Join(parts, " ")
}

// Per writes a rate's window: "per 5 minutes", "per hour".
func Per(d time.Duration) string {
	s := HumanDuration(d)
	if n, name, ok := strings.Cut(s, " "); ok && n == "1" && !strings.Contains(name, " ") {
		return "per " + name
	}
	return "per " + s
}

func unit(n int64, name string) string {
	if n == 1 {
		return "1 " + name
	}
	return fmt.Sprintf("%d %ss", n, name)
}
