// Package cron parses cron expressions and computes their firing times in a
// time zone. It is what schedules (issue 12) are made of: the manager
// validates an expression with Parse and shows NextN, the job planner sleeps
// until Next.
//
// # Expressions
//
// Five fields, as in crontab(5):
//
//	minute  hour  day-of-month  month  day-of-week
//	0-59    0-23  1-31          1-12   0-7 (0 and 7 are Sunday)
//
// or six fields, the first being seconds (0-59), so that a schedule can fire
// every second or two (tests do).
//
// Each field is a comma-separated list of elements; an element is `*`, a
// value, or a range `a-b`, optionally followed by a step: `*/n`, `a-b/n`, and
// `a/n` (from a to the field's maximum). Months may be written JAN-DEC and
// weekdays SUN-SAT, in any case. `?` means `*` in the two day fields. A
// weekday range may end on Sunday (`FRI-SUN`, `5-0`): Sunday is then 7.
// Reversed ranges (`5-1`), a step of 0 and values out of range are errors.
//
// Shortcuts: @yearly (= @annually, "0 0 1 1 *"), @monthly ("0 0 1 * *"),
// @weekly ("0 0 * * 0"), @daily (= @midnight, "0 0 * * *"), @hourly
// ("0 * * * *"), and `@every <duration>` with a Go duration (time.ParseDuration)
// of whole seconds between 1s and 8760h (365 days).
//
// # Day of month and day of week
//
// As in Vixie cron: when both day fields are restricted, a day matches if
// EITHER matches ("0 0 13 * FRI" fires on every 13th and every Friday). A day
// field is unrestricted when it is `*`, `?` or otherwise covers all its values
// (`*/1`, `1-31`, `SUN-SAT`); then only the other field decides. (Vixie cron
// also treats `*/2` as unrestricted because it starts with `*`; here it is
// restricted, as its meaning says.) An expression whose days can never occur,
// such as "0 0 30 2 *", is rejected by Parse rather than never firing.
//
// # Time zones and daylight saving time
//
// Fields are matched against the wall clock of the schedule's zone (an IANA
// name, "" for UTC; the zone database is embedded with time/tzdata, so every
// machine agrees). Where the clock jumps:
//
//   - A wall time that does not exist (the hour skipped when clocks go
//     forward) is skipped: "30 2 * * *" in Europe/Berlin does not fire on the
//     last Sunday of March.
//   - A wall time that occurs twice (the hour repeated when clocks go back)
//     fires once, at its first occurrence. This holds for every field, so
//     "*/15 * * * *" does not fire during the repeated hour's second pass:
//     each wall time of the day fires at most once a day.
//
// # @every
//
// `@every d` fires at the multiples of d since the Unix epoch (1970-01-01
// 00:00:00 UTC), not d after the schedule was created or the process started:
// every process computes the same firing times, which is what lets several
// servers sharing one database agree on a firing (and insert it once). So
// "@every 1h" fires on the hour and "@every 90m" at 00:00, 01:30, 03:00 UTC...
// The time zone does not change the firing instants, only the zone of the
// returned times.
//
// # Cost
//
// Next walks the calendar field by field (month, day, hour, minute, second
// over bit sets), never second by second, and looks no further than ten years
// ahead (enough for 29 February across a skipped leap year such as 2100).
package cron
