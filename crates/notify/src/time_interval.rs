//! Alertmanager's time intervals: times of day, weekdays, days of the month (negative ones
//! count from its end), months and years, in a location. An instant is in an interval when it
//! is in every list the interval gives; an empty list is no restriction.

use chrono::{Datelike, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::config::TimeSpecDef;

#[derive(Clone, Debug, PartialEq)]
pub struct TimeInterval {
    /// Minutes of the day: start inclusive, end exclusive.
    pub times: Vec<(u32, u32)>,
    /// 0 is Sunday, as in Go.
    pub weekdays: Vec<(u32, u32)>,
    pub days_of_month: Vec<(i32, i32)>,
    pub months: Vec<(u32, u32)>,
    pub years: Vec<(i32, i32)>,
    pub location: Tz,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `a:b` or `a`, each end read by `one`.
fn range<T: Copy>(text: &str, one: impl Fn(&str) -> Option<T>) -> Option<(T, T)> {
    let text = text.trim();
    match text.split_once(':') {
        Some((a, b)) => Some((one(a.trim())?, one(b.trim())?)),
        None => one(text).map(|v| (v, v)),
    }
}

fn clock(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    ((h < 24 && m < 60) || (h == 24 && m == 0)).then_some(h * 60 + m)
}

impl TimeInterval {
    /// Reads one entry of a named interval; an error names its field.
    pub fn from_def(def: &TimeSpecDef) -> Result<TimeInterval, (String, String)> {
        let mut out = TimeInterval {
            times: Vec::new(),
            weekdays: Vec::new(),
            days_of_month: Vec::new(),
            months: Vec::new(),
            years: Vec::new(),
            location: Tz::UTC,
        };
        for (i, t) in def.times.iter().enumerate() {
            let bad = |what: &str, v: &str| {
                (format!("times[{i}].{what}"), format!("couldn't parse timestamp {v}, invalid format"))
            };
            let start = clock(&t.start_time).ok_or_else(|| bad("start_time", &t.start_time))?;
            let end = clock(&t.end_time).ok_or_else(|| bad("end_time", &t.end_time))?;
            if start >= end {
                return Err((format!("times[{i}]"), "start time cannot be equal or greater than end time".into()));
            }
            out.times.push((start, end));
        }
        let named = |names: &'static [&'static str], base: u32| {
            move |s: &str| {
                let lower = s.to_ascii_lowercase();
                names
                    .iter()
                    .position(|n| *n == lower)
                    .map(|p| p as u32 + base)
                    .or_else(|| if base == 1 { s.parse().ok().filter(|m| (1..=12).contains(m)) } else { None })
            }
        };
        for (i, w) in def.weekdays.iter().enumerate() {
            let r = range(w, named(&WEEKDAYS, 0))
                .filter(|(a, b)| a <= b)
                .ok_or_else(|| (format!("weekdays[{i}]"), format!("{w:?} is not a valid weekday or range of weekdays")))?;
            out.weekdays.push(r);
        }
        for (i, d) in def.days_of_month.iter().enumerate() {
            let r = range(d, |s| s.parse::<i32>().ok().filter(|d| *d != 0 && (-31..=31).contains(d)))
                .filter(|(a, b)| (a.signum() != b.signum()) || a <= b)
                .ok_or_else(|| (format!("days_of_month[{i}]"), format!("{d:?} is not a valid day of the month or range of days")))?;
            out.days_of_month.push(r);
        }
        for (i, m) in def.months.iter().enumerate() {
            let r = range(m, named(&MONTHS, 1))
                .filter(|(a, b)| a <= b)
                .ok_or_else(|| (format!("months[{i}]"), format!("{m:?} is not a valid month or range of months")))?;
            out.months.push(r);
        }
        for (i, y) in def.years.iter().enumerate() {
            let r = range(y, |s| s.parse::<i32>().ok())
                .filter(|(a, b)| a <= b)
                .ok_or_else(|| (format!("years[{i}]"), format!("{y:?} is not a valid year or range of years")))?;
            out.years.push(r);
        }
        if let Some(location) = &def.location {
            out.location = match location.as_str() {
                "Local" | "UTC" | "" => Tz::UTC,
                name => name
                    .parse()
                    .map_err(|_| ("location".to_string(), format!("unknown time zone {name:?}")))?,
            };
        }
        Ok(out)
    }

    /// Whether the instant `ms` (since the epoch) is in the interval.
    pub fn contains(&self, ms: i64) -> bool {
        let Some(t) = self.location.timestamp_millis_opt(ms).single() else {
            return false;
        };
        let within = |list: &[(u32, u32)], v: u32| list.is_empty() || list.iter().any(|(a, b)| *a <= v && v <= *b);
        let minute = t.hour() * 60 + t.minute();
        let in_times = self.times.is_empty() || self.times.iter().any(|(a, b)| *a <= minute && minute < *b);
        let days_in_month = {
            let (y, m) = (t.year(), t.month());
            let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1)
                .and_then(|d| d.pred_opt())
                .map_or(31, |d| d.day() as i32)
        };
        let in_days = self.days_of_month.is_empty()
            || self.days_of_month.iter().any(|(a, b)| {
                let begin = if *a < 0 { days_in_month + a + 1 } else { *a };
                let end = if *b < 0 { days_in_month + b + 1 } else { *b };
                if begin > days_in_month {
                    return false;
                }
                let end = end.clamp(-days_in_month, days_in_month);
                let day = t.day() as i32;
                day >= begin && day <= end
            });
        let in_years = self.years.is_empty() || self.years.iter().any(|(a, b)| *a <= t.year() && t.year() <= *b);
        in_times
            && within(&self.weekdays, t.weekday().num_days_from_sunday())
            && in_days
            && within(&self.months, t.month())
            && in_years
    }
}

/// Whether `ms` is in any of the named interval's entries.
pub fn any_contains(intervals: &[TimeInterval], ms: i64) -> bool {
    intervals.iter().any(|t| t.contains(ms))
}
