//! Maintenance windows: announced downtime that an objective does not count. A recurring one
//! keeps its local time across DST changes ("Sundays 02:00 to 04:00 in Europe/Berlin").

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::window::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    Once,
    Daily,
    /// Every week on the weekday `start` falls on, in the zone.
    Weekly,
    /// Every month on the day of the month `start` falls on (skipped in months without it).
    Monthly,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    /// The first occurrence's start.
    pub start: DateTime<Utc>,
    pub minutes: u32,
    pub recurrence: Recurrence,
    /// The zone whose local time a recurring window keeps.
    pub zone: Tz,
}

impl Maintenance {
    /// Its occurrences that overlap `span`, clipped to it, in order.
    pub fn occurrences(&self, span: &Span) -> Vec<Span> {
        let length = Duration::minutes(self.minutes.into());
        let first = self.start.with_timezone(&self.zone);
        let (time, weekday, day) = (first.time(), first.weekday(), first.day());
        let at = |date: NaiveDate| -> Option<DateTime<Utc>> {
            let local = date.and_time(time);
            // A start inside a DST gap moves to the gap's end, as cron does.
            let start = self
                .zone
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    self.zone
                        .from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })?;
            Some(start.with_timezone(&Utc))
        };
        let clip = |start: DateTime<Utc>| Span::new(start, start + length).overlap(span);
        if self.recurrence == Recurrence::Once {
            return clip(self.start).into_iter().collect();
        }
        // Every local day from the day before the span (an occurrence may run into it) to its end.
        let mut date = (span.start - length)
            .with_timezone(&self.zone)
            .date_naive()
            .max(first.date_naive());
        let last = span.end.with_timezone(&self.zone).date_naive();
        let mut out = Vec::new();
        while date <= last {
            let due = match self.recurrence {
                Recurrence::Once => false,
                Recurrence::Daily => true,
                Recurrence::Weekly => date.weekday() == weekday,
                Recurrence::Monthly => date.day() == day,
            };
            if let Some(part) = due
                .then(|| at(date))
                .flatten()
                .filter(|s| *s >= self.start)
                .and_then(clip)
            {
                out.push(part);
            }
            date = date.succ_opt().expect("dates go on");
        }
        out
    }

    /// Whether `at` is inside one of its occurrences.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        self.occurrences(&Span::new(at, at + Duration::milliseconds(1)))
            .len()
            == 1
    }
}

/// The minutes of `span` that no maintenance window covers.
pub fn counted_minutes(span: &Span, maintenance: &[Maintenance]) -> f64 {
    let mut parts: Vec<Span> = maintenance
        .iter()
        .flat_map(|m| m.occurrences(span))
        .collect();
    parts.sort_by_key(|p| p.start);
    let mut excluded = 0.0;
    let mut reached = span.start;
    for part in parts {
        let start = part.start.max(reached);
        if part.end > start {
            excluded += Span::new(start, part.end).minutes();
            reached = part.end;
        }
    }
    span.minutes() - excluded
}

#[cfg(test)]
mod tests {
    use chrono_tz::Europe::Berlin;

    use super::*;
    use crate::utc;

    #[test]
    fn a_weekly_window_keeps_its_local_time_across_dst() {
        // Sundays 02:30-04:30 in Berlin, from March 1st 2026.
        let sundays = Maintenance {
            start: utc("2026-03-01T01:30:00Z"),
            minutes: 120,
            recurrence: Recurrence::Weekly,
            zone: Berlin,
        };
        let march = Span::new(utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z"));
        let starts: Vec<String> = sundays
            .occurrences(&march)
            .iter()
            .map(|s| s.start.to_rfc3339())
            .collect();
        assert_eq!(
            starts,
            [
                "2026-03-01T01:30:00+00:00",
                "2026-03-08T01:30:00+00:00",
                "2026-03-15T01:30:00+00:00",
                "2026-03-22T01:30:00+00:00",
                // 02:30 does not exist on March 29th (02:00 → 03:00): it starts at 03:30 CEST.
                "2026-03-29T01:30:00+00:00",
            ]
        );
        let april = Span::new(utc("2026-04-01T00:00:00Z"), utc("2026-04-08T00:00:00Z"));
        assert_eq!(
            sundays.occurrences(&april)[0].start,
            utc("2026-04-05T00:30:00Z"),
            "summer time: 02:30 CEST"
        );
        assert!(sundays.covers(utc("2026-04-05T02:00:00Z")));
        assert!(!sundays.covers(utc("2026-04-05T02:30:00Z")));
        assert!(
            !sundays.covers(utc("2026-02-22T02:00:00Z")),
            "not before its first occurrence"
        );
    }

    #[test]
    fn occurrences_are_clipped_and_counted_once() {
        let once = Maintenance {
            start: utc("2026-05-31T23:00:00Z"),
            minutes: 120,
            recurrence: Recurrence::Once,
            zone: Tz::UTC,
        };
        let june = Span::new(utc("2026-06-01T00:00:00Z"), utc("2026-07-01T00:00:00Z"));
        assert_eq!(
            once.occurrences(&june),
            [Span::new(
                utc("2026-06-01T00:00:00Z"),
                utc("2026-06-01T01:00:00Z")
            )]
        );
        let daily = Maintenance {
            start: utc("2026-05-01T00:30:00Z"),
            minutes: 60,
            recurrence: Recurrence::Daily,
            zone: Tz::UTC,
        };
        assert_eq!(daily.occurrences(&june).len(), 30);
        // The overlap of the two (00:30-01:00 on June 1st) is excluded once.
        assert_eq!(
            counted_minutes(&june, &[once, daily]),
            30.0 * 24.0 * 60.0 - 30.0 * 60.0 - 30.0
        );
        let monthly = Maintenance {
            start: utc("2026-01-31T22:00:00Z"),
            minutes: 60,
            recurrence: Recurrence::Monthly,
            zone: Tz::UTC,
        };
        let year = Span::new(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
        assert_eq!(
            monthly.occurrences(&year).len(),
            7,
            "only the months with a 31st"
        );
    }
}
