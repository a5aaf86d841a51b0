//! The period an objective is judged over. A rolling window is the last N days up to now; a
//! calendar window is the month or quarter that holds now, from local midnight on its first day
//! to local midnight on the next period's first day, in the objective's time zone. So a month's
//! length is the real one: March 2026 in Europe/Berlin lasts 743 hours (the clocks go forward on
//! the 29th), October 745, and a February 672 or 696.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    Month,
    Quarter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last `days` days, ending now.
    Rolling { days: u32 },
    /// The calendar month or quarter holding now, in `zone`.
    Calendar { period: Calendar, zone: Tz },
}

/// A stretch of time, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    pub fn length(&self) -> Duration {
        self.end - self.start
    }

    pub fn minutes(&self) -> f64 {
        self.length().num_milliseconds() as f64 / 60_000.0
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The part of both, if any.
    pub fn overlap(&self, other: &Span) -> Option<Span> {
        let (start, end) = (self.start.max(other.start), self.end.min(other.end));
        (start < end).then_some(Span { start, end })
    }
}

impl Window {
    /// The whole period holding `at`: for a rolling window the days up to `at`; for a calendar
    /// window the whole month or quarter, whose end may be after `at`.
    pub fn period(&self, at: DateTime<Utc>) -> Span {
        match *self {
            Window::Rolling { days } => Span::new(at - Duration::days(days.into()), at),
            Window::Calendar { period, zone } => {
                let local = at.with_timezone(&zone).date_naive();
                let first = first_day(period, local);
                Span::new(
                    local_midnight(zone, first),
                    local_midnight(zone, next_first_day(period, first)),
                )
            }
        }
    }

    /// What has passed of the period holding `at` (all of a rolling window).
    pub fn elapsed(&self, at: DateTime<Utc>) -> Span {
        let period = self.period(at);
        Span::new(period.start, period.end.min(at))
    }

    /// The period before the one holding `at`: last month, for a monthly report.
    pub fn previous(&self, at: DateTime<Utc>) -> Span {
        let current = self.period(at);
        match self {
            Window::Rolling { .. } => Span::new(current.start - current.length(), current.start),
            Window::Calendar { .. } => self.period(current.start - Duration::milliseconds(1)),
        }
    }

    /// The window's nominal length in days, as a Sloth-style generator and the burn-rate
    /// alerts scale with it (a calendar month counts as 30 days, a quarter as 90).
    pub fn nominal_days(&self) -> u32 {
        match self {
            Window::Rolling { days } => *days,
            Window::Calendar {
                period: Calendar::Month,
                ..
            } => 30,
            Window::Calendar {
                period: Calendar::Quarter,
                ..
            } => 90,
        }
    }

    /// Reads `7d`, `28d`, `30d` (any whole number of days up to a year), `month` or `quarter`;
    /// a calendar window is in `zone`.
    pub fn parse(text: &str, zone: Tz) -> Result<Window, String> {
        match text.trim() {
            "month" => Ok(Window::Calendar { period: Calendar::Month, zone }),
            "quarter" => Ok(Window::Calendar { period: Calendar::Quarter, zone }),
            other => match other.strip_suffix('d').map(u32::from_str) {
                Some(Ok(days)) if (1..=366).contains(&days) => Ok(Window::Rolling { days }),
                _ => Err(format!("{other:?} is not a window: give a number of days (\"30d\"), \"month\" or \"quarter\"")),
            },
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Rolling { days } => write!(f, "{days}d"),
            Window::Calendar {
                period: Calendar::Month,
                ..
            } => f.write_str("month"),
            Window::Calendar {
                period: Calendar::Quarter,
                ..
            } => f.write_str("quarter"),
        }
    }
}

fn first_day(period: Calendar, date: NaiveDate) -> NaiveDate {
    let month = match period {
        Calendar::Month => date.month(),
        Calendar::Quarter => (date.month() - 1) / 3 * 3 + 1,
    };
    NaiveDate::from_ymd_opt(date.year(), month, 1).expect("the first of a month exists")
}

fn next_first_day(period: Calendar, first: NaiveDate) -> NaiveDate {
    let months = match period {
        Calendar::Month => 1,
        Calendar::Quarter => 3,
    };
    let index = first.year() * 12 + first.month0() as i32 + months;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .expect("the first of a month exists")
}

/// The instant a local day starts. Where a zone's clocks jump over midnight (as some did), the
/// day starts at the first local time that exists; where midnight happens twice, at the first.
pub fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    let mut minutes = 0;
    loop {
        match zone.from_local_datetime(&(midnight + Duration::minutes(minutes))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            // No zone skips more than a day; a minute at a time finds the first that exists.
            LocalResult::None if minutes < 24 * 60 => minutes += 1,
            LocalResult::None => return Utc.from_utc_datetime(&midnight),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono_tz::{America::Sao_Paulo, Europe::Berlin};

    use super::*;
    use crate::utc;

    fn month(zone: Tz) -> Window {
        Window::Calendar {
            period: Calendar::Month,
            zone,
        }
    }

    #[test]
    fn a_month_runs_from_local_midnight_to_local_midnight() {
        let span = month(Berlin).period(utc("2026-01-15T12:00:00Z"));
        assert_eq!(span.start, utc("2025-12-31T23:00:00Z"));
        assert_eq!(span.end, utc("2026-01-31T23:00:00Z"));
        // The last hour of January 31st in UTC is already February in Berlin.
        let february = month(Berlin).period(utc("2026-01-31T23:30:00Z"));
        assert_eq!(february.start, utc("2026-01-31T23:00:00Z"));
        assert_eq!(february.length(), Duration::days(28));
    }

    #[test]
    fn months_have_their_true_lengths_across_both_dst_changes() {
        let hours = |at: &str| month(Berlin).period(utc(at)).length().num_hours();
        assert_eq!(hours("2026-02-10T00:00:00Z"), 28 * 24);
        assert_eq!(
            hours("2028-02-10T00:00:00Z"),
            29 * 24,
            "a leap year's February"
        );
        assert_eq!(
            hours("2026-03-10T00:00:00Z"),
            31 * 24 - 1,
            "clocks go forward on March 29th"
        );
        assert_eq!(hours("2026-04-10T00:00:00Z"), 30 * 24);
        assert_eq!(
            hours("2026-10-10T00:00:00Z"),
            31 * 24 + 1,
            "clocks go back on October 25th"
        );
        assert_eq!(hours("2026-12-10T00:00:00Z"), 31 * 24);
        // In UTC the months are plain.
        let plain = Window::Calendar {
            period: Calendar::Month,
            zone: Tz::UTC,
        };
        assert_eq!(
            plain.period(utc("2026-03-10T00:00:00Z")).length(),
            Duration::days(31)
        );
        // 99.9 % of a 30-day month is 43.2 minutes of budget; of March in Berlin 44.58.
        let april = month(Berlin).period(utc("2026-04-10T00:00:00Z"));
        assert!((april.minutes() * 0.001 - 43.2).abs() < 1e-9);
        let march = month(Berlin).period(utc("2026-03-10T00:00:00Z"));
        assert!((march.minutes() * 0.001 - 44.58).abs() < 1e-9);
    }

    #[test]
    fn a_quarter_is_three_months_and_the_previous_period_is_the_one_before() {
        let quarter = Window::Calendar {
            period: Calendar::Quarter,
            zone: Berlin,
        };
        let span = quarter.period(utc("2026-05-20T00:00:00Z"));
        assert_eq!(span.start, utc("2026-03-31T22:00:00Z"));
        assert_eq!(span.end, utc("2026-06-30T22:00:00Z"));
        let q4 = quarter.period(utc("2026-11-01T00:00:00Z"));
        assert_eq!(
            q4.end,
            utc("2026-12-31T23:00:00Z"),
            "a quarter ending the year"
        );
        let previous = month(Berlin).previous(utc("2026-03-01T10:00:00Z"));
        assert_eq!(
            previous,
            Span::new(utc("2026-01-31T23:00:00Z"), utc("2026-02-28T23:00:00Z"))
        );
        let january = month(Berlin).previous(utc("2026-02-01T00:00:00Z"));
        assert_eq!(
            january.start,
            utc("2025-12-31T23:00:00Z"),
            "across the year"
        );
    }

    #[test]
    fn a_rolling_window_ends_now_and_elapsed_stops_at_now() {
        let now = utc("2026-03-29T12:00:00Z");
        let rolling = Window::Rolling { days: 30 };
        assert_eq!(
            rolling.period(now),
            Span::new(utc("2026-02-27T12:00:00Z"), now)
        );
        assert_eq!(rolling.elapsed(now), rolling.period(now));
        assert_eq!(rolling.previous(now).end, utc("2026-02-27T12:00:00Z"));
        let elapsed = month(Berlin).elapsed(now);
        assert_eq!(elapsed, Span::new(utc("2026-02-28T23:00:00Z"), now));
    }

    #[test]
    fn a_zone_that_skipped_midnight_starts_the_day_at_one() {
        // Brazil's DST began at local midnight: 2018-11-04 00:00 did not exist in São Paulo.
        assert_eq!(
            local_midnight(Sao_Paulo, NaiveDate::from_ymd_opt(2018, 11, 4).unwrap()),
            utc("2018-11-04T03:00:00Z")
        );
    }

    #[test]
    fn windows_are_read_and_written_as_users_write_them() {
        assert_eq!(
            Window::parse("30d", Berlin),
            Ok(Window::Rolling { days: 30 })
        );
        assert_eq!(Window::parse("month", Berlin), Ok(month(Berlin)));
        assert_eq!(
            Window::parse("quarter", Berlin).unwrap().to_string(),
            "quarter"
        );
        assert_eq!(Window::parse("28d", Berlin).unwrap().to_string(), "28d");
        for bad in ["0d", "30", "week", "400d", "-1d"] {
            assert!(Window::parse(bad, Berlin).is_err(), "{bad}");
        }
        assert_eq!(month(Berlin).nominal_days(), 30);
    }
}
