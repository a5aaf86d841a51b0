//! Grafana's time expressions (`now-6h`, `now/d`), time-picker labels and round time-axis ticks,
//! all in a dashboard's time zone. It needs the zone database, so it runs on the server; the
//! browser bundle gets the zone's UTC offsets from [`offsets`] instead of shipping tzdata.
//!
//! Choices where Grafana leaves room: weeks start on Monday (ISO); a local time that does not
//! exist (spring forward) moves forward by the gap, as JavaScript dates do; a local time that
//! occurs twice (fall back) means its first occurrence.

use std::fmt::{self, Write as _};

use chrono::format::StrftimeItems;
use chrono::{DateTime, Datelike, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{Offset, TimeDelta, TimeZone};
use chrono_tz::GapInfo;
pub use chrono_tz::Tz;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// No axis shows more; it also bounds the work for absurd widths.
const MAX_TICKS: u32 = 1_000;
/// Bounds [`offsets`] on huge ranges; probes stay a day apart on anything shorter than 270 years.
const MAX_PROBES: i64 = 100_000;
const SHOWN: &str = "%Y-%m-%d %H:%M:%S";
const UNITS: &str = "smhdwMQy";
const USE_UNITS: &str = "use s, m, h, d, w, M, Q or y, as in now-6h";
const UNIT_WORDS: [&str; 8] = [
    "second", "minute", "hour", "day", "week", "month", "quarter", "year",
];

/// Why a time zone or time expression could not be read; the message names the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

/// A dashboard's time zone as Grafana stores it: "" / "browser" / "default" (the browser's zone
/// if the caller knows it, else UTC), "utc" in any case, or an IANA name ("Europe/Berlin").
pub fn parse_zone(text: &str, browser: Option<Tz>) -> Result<Tz, TimeError> {
    let name = text.trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "browser" | "default" => Ok(browser.unwrap_or(Tz::UTC)),
        "utc" => Ok(Tz::UTC),
        _ => text.trim().parse().map_err(|_| {
            TimeError(format!(
                "unknown time zone \"{text}\": use \"browser\", \"utc\" or an IANA name such as \
                 \"Europe/Berlin\""
            ))
        }),
    }
}

/// Grafana's time expression in ms since the epoch: `now` with date math (`now-6h`, `now/d`,
/// `now-1d/d`, units s m h d w M Q y; `/u` rounds to the start of the unit, or with `round_up`
/// to its last ms), `<absolute>||<math>`, an epoch in ms, Grafana's URL forms `YYYYMMDD` and
/// `YYYYMMDDTHHmmss` (UTC, as Grafana reads them), `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]]` in `tz`,
/// and RFC 3339 with an offset. Days, weeks, months and years follow the calendar in `tz`.
pub fn parse_time(text: &str, now_ms: i64, round_up: bool, tz: Tz) -> Result<i64, TimeError> {
    let trimmed = text.trim();
    let (anchor, math) = match trimmed.strip_prefix("now") {
        Some(math) => (Some(now_ms), math),
        None => match trimmed.split_once("||") {
            Some((anchor, math)) => (absolute(anchor.trim(), tz), math),
            None => (absolute(trimmed, tz), ""),
        },
    };
    let start = anchor.ok_or_else(|| not_a_time(text))?;
    let ms = apply_math(start, math, round_up, tz)
        .map_err(|why| TimeError(format!("cannot read time \"{text}\": {why}")))?;
    to_local(ms, tz)
        .map(|_| ms)
        .ok_or_else(|| TimeError(format!("time \"{text}\" is outside the supported years")))
}

/// Grafana's "Last …" quick ranges, in its order; each ends at "now".
pub fn presets() -> &'static [(&'static str, &'static str)] {
    &PRESETS
}

const PRESETS: [(&str, &str); 11] = [
    ("now-5m", "Last 5 minutes"),
    ("now-15m", "Last 15 minutes"),
    ("now-30m", "Last 30 minutes"),
    ("now-1h", "Last 1 hour"),
    ("now-3h", "Last 3 hours"),
    ("now-6h", "Last 6 hours"),
    ("now-12h", "Last 12 hours"),
    ("now-24h", "Last 24 hours"),
    ("now-2d", "Last 2 days"),
    ("now-7d", "Last 7 days"),
    ("now-30d", "Last 30 days"),
];

/// Grafana's quick ranges from an expression to itself; the first four also "… so far" to now.
const WHOLE: [(&str, &str); 10] = [
    ("now/d", "Today"),
    ("now/w", "This week"),
    ("now/M", "This month"),
    ("now/y", "This year"),
    ("now-1d/d", "Yesterday"),
    ("now-2d/d", "Day before yesterday"),
    ("now-7d/d", "This day last week"),
    ("now-1w/w", "Previous week"),
    ("now-1M/M", "Previous month"),
    ("now-1y/y", "Previous year"),
];

/// How a time picker shows a range, like Grafana's `describeTimeRange`: a quick range's name,
/// "Last 90 minutes" / "Next 2 days" for `now-<n><unit>` to `now` (and `now` to `now+…`),
/// otherwise "<from> to <to>" with absolute ends as "2026-12-04 14:00:00" in `tz`.
pub fn describe_range(from: &str, to: &str, tz: Tz) -> String {
    let (from, to) = (from.trim(), to.trim());
    let whole = WHOLE.iter().position(|w| w.0 == from);
    match (whole, relative(from, '-'), to) {
        (Some(i), _, _) if to == from => return WHOLE[i].1.to_string(),
        (Some(i), _, "now") if i < 4 => return format!("{} so far", WHOLE[i].1),
        (_, Some(amount), "now") => return format!("Last {amount}"),
        _ => {}
    }
    if let ("now", Some(amount)) = (from, relative(to, '+')) {
        return format!("Next {amount}");
    }
    format!("{} to {}", shown_end(from, tz), shown_end(to, tz))
}

/// One time-axis tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeTick {
    pub ms: i64,
    pub label: String,
}

/// Ticks on round local times in `tz` over `from..=to` (ms) drawn `width_px` wide, at most one
/// per `min_spacing_px` (and never more than 1000). Labels: "14:00:05" below a minute, "14:00" up
/// to 12 hours, but local midnight shows "Mon 02" when the range covers more than one local date;
/// "Mon 02" for days (2-day ticks on even days since 1970-01-01, weeks on Mondays); "Jan" for
/// months, "Jan 2027" when the year differs from the previous tick's (and on the first tick when
/// the range spans years); "2027" for years (1-2-5 multiples of years beyond one).
pub fn time_ticks(from: i64, to: i64, width_px: u32, min_spacing_px: u32, tz: Tz) -> Vec<TimeTick> {
    let (Some(first), Some(last)) = (to_local(from, tz), to_local(to, tz)) else {
        return Vec::new();
    };
    if from > to || width_px == 0 {
        return Vec::new();
    }
    let slots = (width_px / min_spacing_px.max(1)).min(MAX_TICKS);
    let fits = |s: &Step| i128::from(s.shortest()) * i128::from(slots) >= i128::from(to - from);
    let Some(step) = steps().find(fits) else {
        return Vec::new();
    };
    let max = slots as usize + 1;
    let mut ms = match step {
        Step::Fixed(len) => fixed_ticks(from, to, len, tz, max),
        Step::Calendar(..) => calendar_ticks(first.date_naive(), from, to, step, tz, max),
    };
    // DST can bring two sub-day ticks closer than the step; the bound still holds.
    ms.truncate(max);
    label_ticks(&ms, step, &first, &last)
}

/// `ms` in `tz` as `pattern` (chrono strftime). An invalid pattern gives "2026-12-04 14:00:00";
/// a time outside chrono's years gives the ms as a number.
pub fn format_ms(ms: i64, tz: Tz, pattern: &str) -> String {
    let Some(time) = to_local(ms, tz) else {
        return ms.to_string();
    };
    let mut out = String::new();
    match StrftimeItems::new(pattern).parse() {
        Ok(items) if write!(out, "{}", time.format_with_items(items.iter())).is_ok() => out,
        _ => time.format(SHOWN).to_string(),
    }
}

/// The UTC offset (seconds east) in force at `from_ms`, then each change inside the range as
/// (first ms of the new offset, new offset). Empty if from > to or either end is outside chrono's
/// years. Changes are found by probing a day apart, so two changes less than a day apart that
/// cancel out are missed (no zone has them today).
pub fn offsets(from_ms: i64, to_ms: i64, tz: Tz) -> Vec<(i64, i32)> {
    let (Some(mut current), Some(_)) = (offset_at(from_ms, tz), offset_at(to_ms, tz)) else {
        return Vec::new();
    };
    if from_ms > to_ms {
        return Vec::new();
    }
    let probe = DAY.max((to_ms - from_ms) / MAX_PROBES);
    let mut out = vec![(from_ms, current)];
    let mut lo = from_ms;
    while lo < to_ms {
        let hi = lo.saturating_add(probe).min(to_ms);
        match offset_at(hi, tz) {
            Some(offset) if offset != current => {
                lo = first_change(lo, hi, current, tz);
                current = offset_at(lo, tz).unwrap_or(offset);
                out.push((lo, current));
            }
            _ => lo = hi,
        }
    }
    out
}

/// A duration in Prometheus' syntax (so it can go into a query as `$__interval`): 15000 → "15s",
/// 5400000 → "1h30m", 86400000 → "1d"; weeks and years only when exact, as Prometheus prints
/// them; negative durations get a leading "-".
pub fn duration_text(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::from(if ms < 0 { "-" } else { "" });
    let mut left = ms.unsigned_abs();
    let units = [("y", 365 * DAY), ("w", 7 * DAY), ("d", DAY), ("h", HOUR)];
    let units = units
        .into_iter()
        .chain([("m", MINUTE), ("s", SECOND), ("ms", 1)]);
    for (unit, len) in units {
        let len = len.unsigned_abs();
        let exact_only = unit == "y" || unit == "w";
        if left >= len && (!exact_only || left.is_multiple_of(len)) {
            let _ = write!(out, "{}{unit}", left / len);
            left %= len;
        }
    }
    out
}

fn not_a_time(text: &str) -> TimeError {
    let what = match text.trim().get(4..5) {
        Some("-") => "is not a valid date: write YYYY-MM-DD (a real month and day), then HH:MM:SS",
        _ => "is not a time: use now-6h, now/d, an epoch in ms or 2026-12-04 14:00:00",
    };
    TimeError(format!("\"{text}\" {what}"))
}

/// Grafana's `parseDateMath`: whitespace is ignored, a missing count means 1, rounding only by
/// one whole unit.
fn apply_math(mut ms: i64, math: &str, round_up: bool, tz: Tz) -> Result<i64, String> {
    let math: String = math.chars().filter(|c| !c.is_whitespace()).collect();
    let mut rest = math.as_str();
    while let Some(op) = rest.chars().next() {
        let after = &rest[op.len_utf8()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let count: i64 = match digits {
            0 => 1,
            _ => after[..digits].parse().map_err(|_| "number too large")?,
        };
        let unit = match (op, after[digits..].chars().next()) {
            ('+' | '-' | '/', Some(u)) if UNITS.contains(u) => u,
            ('+' | '-' | '/', Some(u)) => return Err(format!("unknown unit \"{u}\"; {USE_UNITS}")),
            ('+' | '-' | '/', None) => return Err(format!("a unit is missing; {USE_UNITS}")),
            _ => return Err(format!("expected +, - or / at \"{rest}\"")),
        };
        let moved = match op {
            '/' if count != 1 => return Err("rounding takes one whole unit, as in now/d".into()),
            '/' => round(ms, unit, round_up, tz),
            '+' => shift(ms, unit, count, tz),
            _ => shift(ms, unit, -count, tz),
        };
        ms = moved.ok_or("the result is outside the supported years")?;
        rest = &after[digits + 1..];
    }
    Ok(ms)
}

/// Seconds, minutes and hours are plain durations; the other units follow the local calendar.
fn fixed_ms(unit: char) -> Option<i64> {
    let lengths = [SECOND, MINUTE, HOUR];
    UNITS.find(unit).and_then(|i| lengths.get(i).copied())
}

fn shift(ms: i64, unit: char, count: i64, tz: Tz) -> Option<i64> {
    if let Some(len) = fixed_ms(unit) {
        return ms.checked_add(count.checked_mul(len)?);
    }
    let local = to_local(ms, tz)?.naive_local();
    let date = add_units(local.date(), unit, count)?;
    resolve(date.and_time(local.time()), tz)
}

/// moment's `startOf` / `endOf`: hours and below by the current offset, larger units by local
/// midnight, so the end is the next unit's start minus one ms.
fn round(ms: i64, unit: char, up: bool, tz: Tz) -> Option<i64> {
    if let Some(len) = fixed_ms(unit) {
        let local = ms.checked_add(i64::from(offset_at(ms, tz)?) * SECOND)?;
        let start = ms - local.rem_euclid(len);
        return Some(if up { start + len - 1 } else { start });
    }
    let start = align(to_local(ms, tz)?.date_naive(), unit, 1)?;
    match up {
        false => midnight(start, tz),
        true => midnight(add_units(start, unit, 1)?, tz)?.checked_sub(1),
    }
}

/// `date` moved by `count` calendar units (d w M Q y); months clamp the day like moment
/// (Mar 31 minus a month is Feb 28).
fn add_units(date: NaiveDate, unit: char, count: i64) -> Option<NaiveDate> {
    // Days per unit for d and w, months for M, Q and y.
    let n = count.checked_mul([1, 1, 1, 1, 7, 1, 3, 12][UNITS.find(unit)?])?;
    if matches!(unit, 'd' | 'w') {
        return date.checked_add_signed(TimeDelta::try_days(n)?);
    }
    let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    match n >= 0 {
        true => date.checked_add_months(months),
        false => date.checked_sub_months(months),
    }
}

/// The start of the block of `count` units (d w M Q y) holding `date`: Monday for weeks, the 1st
/// of a month that is a multiple of `count` months into the year, January 1st of a year that is a
/// multiple of `count`, and for days an even day since 1970-01-01 when `count` is 2.
fn align(date: NaiveDate, unit: char, count: i64) -> Option<NaiveDate> {
    let since_1970 = i64::from(date.num_days_from_ce()) - 719_163;
    let year = i64::from(date.year());
    let months = u32::try_from(if unit == 'Q' { 3 } else { count }).ok()?;
    match unit {
        'd' => add_units(date, 'd', -since_1970.rem_euclid(count)),
        'w' => add_units(date, 'd', -i64::from(date.weekday().num_days_from_monday())),
        'y' => NaiveDate::from_ymd_opt((year - year.rem_euclid(count)).try_into().ok()?, 1, 1),
        _ => NaiveDate::from_ymd_opt(date.year(), date.month0() / months * months + 1, 1),
    }
}

fn absolute(text: &str, tz: Tz) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let compact = (text.len() == 8).then(|| compact_utc(text)).flatten();
        return compact.or_else(|| text.parse().ok().filter(|&ms| to_local(ms, tz).is_some()));
    }
    if let Some(ms) = compact_utc(text) {
        return Some(ms);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    let spaced = text.replacen('T', " ", 1);
    let read = |f| NaiveDateTime::parse_from_str(&spaced, f).ok();
    if let Some(time) = read("%Y-%m-%d %H:%M:%S%.f").or_else(|| read("%Y-%m-%d %H:%M")) {
        return resolve(time, tz);
    }
    midnight(NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?, tz)
}

/// Grafana's URL forms `YYYYMMDD` and `YYYYMMDDTHHmmss`, which it reads as UTC.
fn compact_utc(text: &str) -> Option<i64> {
    let num = |from: usize, to: usize| text.get(from..to)?.parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(num(0, 4)?.try_into().ok()?, num(4, 6)?, num(6, 8)?)?;
    let time = match (text.len(), text.get(8..9)) {
        (8, _) => NaiveTime::MIN,
        (15, Some("T")) => NaiveTime::from_hms_opt(num(9, 11)?, num(11, 13)?, num(13, 15)?)?,
        _ => return None,
    };
    Some(date.and_time(time).and_utc().timestamp_millis())
}

/// `now-<n><unit>` (sign '-') or `now+<n><unit>` (sign '+') and nothing more, as "90 minutes".
fn relative(text: &str, sign: char) -> Option<String> {
    let rest = text.strip_prefix("now")?.strip_prefix(sign)?;
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let count: u64 = rest[..digits].parse().ok()?;
    let unit = &rest[digits..];
    let word = UNIT_WORDS[UNITS.find(unit).filter(|_| unit.len() == 1)?];
    Some(format!(
        "{count} {word}{}",
        if count == 1 { "" } else { "s" }
    ))
}

fn shown_end(text: &str, tz: Tz) -> String {
    if text.starts_with("now") || text.contains("||") {
        return text.to_string();
    }
    absolute(text, tz).map_or_else(|| text.to_string(), |ms| format_ms(ms, tz, SHOWN))
}

fn to_local(ms: i64, tz: Tz) -> Option<DateTime<Tz>> {
    DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz))
}

fn offset_at(ms: i64, tz: Tz) -> Option<i32> {
    to_local(ms, tz).map(|t| t.offset().fix().local_minus_utc())
}

/// The first ms in (lo, hi] whose offset is no longer `offset`.
fn first_change(mut lo: i64, mut hi: i64, offset: i32, tz: Tz) -> i64 {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(mid, tz) == Some(offset) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// A local wall-clock time as ms: the first of two occurrences; inside a gap, shifted forward by
/// the gap (read with the offset in force before it), as JavaScript dates and moment do.
fn resolve(local: NaiveDateTime, tz: Tz) -> Option<i64> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.timestamp_millis()),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).timestamp_millis()),
        LocalResult::None => {
            let (_, before) = GapInfo::new(&local, &tz)?.begin?;
            let offset = i64::from(before.fix().local_minus_utc()) * SECOND;
            local.and_utc().timestamp_millis().checked_sub(offset)
        }
    }
}

fn midnight(date: NaiveDate, tz: Tz) -> Option<i64> {
    resolve(date.and_time(NaiveTime::MIN), tz)
}

/// A tick interval: a duration below a day, else `count` calendar units (d w M y).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Fixed(i64),
    Calendar(char, i64),
}

impl Step {
    /// The shortest this step can be (DST, short months), so the tick bound holds.
    fn shortest(self) -> i64 {
        match self {
            Step::Fixed(len) => len,
            Step::Calendar('d', n) => n * DAY - HOUR,
            Step::Calendar('w', n) => n * 7 * DAY - HOUR,
            Step::Calendar('M', n) => n * 28 * DAY,
            Step::Calendar(_, n) => n * 365 * DAY - HOUR,
        }
    }
}

fn steps() -> impl Iterator<Item = Step> {
    let seconds = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    ];
    let fixed = seconds
        .into_iter()
        .chain([10800, 21600, 43200])
        .map(|s| Step::Fixed(s * SECOND));
    let calendar = [('d', 1), ('d', 2), ('w', 1), ('M', 1), ('M', 3), ('M', 6)];
    let years = (0..6).flat_map(|e| [1, 2, 5].map(|m| ('y', m * 10_i64.pow(e))));
    let calendar = calendar.into_iter().chain(years);
    fixed.chain(calendar.map(|(unit, n)| Step::Calendar(unit, n)))
}

/// Within each stretch of constant offset, ticks are where the local time is a multiple of `len`,
/// so a skipped hour has no tick and a repeated hour gets two.
fn fixed_ticks(from: i64, to: i64, len: i64, tz: Tz, max: usize) -> Vec<i64> {
    let stretches = offsets(from, to, tz);
    let mut out = Vec::new();
    for (i, &(start, offset)) in stretches.iter().enumerate() {
        let end = stretches.get(i + 1).map_or(to + 1, |next| next.0);
        let local = start + i64::from(offset) * SECOND;
        let mut t = start + (len - local.rem_euclid(len)) % len;
        while t < end && out.len() < max {
            out.push(t);
            t += len;
        }
    }
    out
}

fn calendar_ticks(day: NaiveDate, from: i64, to: i64, step: Step, tz: Tz, max: usize) -> Vec<i64> {
    let Step::Calendar(unit, count) = step else {
        return Vec::new();
    };
    let mut day = align(day, unit, count);
    let mut out = Vec::new();
    // The aligned start is the only candidate before `from`, so this bounds the loop.
    for _ in 0..max + 2 {
        let Some(t) = day.and_then(|d| midnight(d, tz)).filter(|&t| t <= to) else {
            break;
        };
        if t >= from {
            out.push(t);
        }
        day = day.and_then(|d| add_units(d, unit, count));
    }
    out
}

fn label_ticks(ms: &[i64], step: Step, first: &DateTime<Tz>, last: &DateTime<Tz>) -> Vec<TimeTick> {
    let multi_day = first.date_naive() != last.date_naive();
    // Within one year no month label needs the year.
    let mut prev_year = (first.year() == last.year()).then_some(first.year());
    let locals = ms.iter().filter_map(|&t| to_local(t, first.timezone()));
    let label = |local: &DateTime<Tz>, new_year: bool| {
        let pattern = match step {
            Step::Fixed(_) if multi_day && local.time() == NaiveTime::MIN => "%a %d",
            Step::Fixed(len) if len < MINUTE => "%H:%M:%S",
            Step::Fixed(_) => "%H:%M",
            Step::Calendar('d' | 'w', _) => "%a %d",
            Step::Calendar('M', _) if new_year => "%b %Y",
            Step::Calendar('M', _) => "%b",
            Step::Calendar(..) => "%Y",
        };
        local.format(pattern).to_string()
    };
    let tick = |local: DateTime<Tz>| {
        let new_year = prev_year.replace(local.year()) != Some(local.year());
        TimeTick {
            ms: local.timestamp_millis(),
            label: label(&local, new_year),
        }
    };
    locals.map(tick).collect()
}
#[cfg(test)]
mod tests {
    use super::*;

    const BERLIN: Tz = Tz::Europe__Berlin;

    fn at(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn parse(text: &str, now: &str, up: bool, tz: Tz) -> i64 {
        parse_time(text, at(now), up, tz).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn ticks(from: &str, to: &str, width: u32, tz: Tz) -> Vec<(i64, String)> {
        time_ticks(at(from), at(to), width, 100, tz)
            .into_iter()
            .map(|t| (t.ms, t.label))
            .collect()
    }

    fn labels(from: &str, to: &str, width: u32, tz: Tz) -> Vec<String> {
        ticks(from, to, width, tz)
            .into_iter()
            .map(|t| t.1)
            .collect()
    }

    #[test]
    fn time_parse_zone() {
        assert_eq!(parse_zone("", None), Ok(Tz::UTC));
        assert_eq!(parse_zone("browser", Some(BERLIN)), Ok(BERLIN));
        assert_eq!(parse_zone("utc", Some(BERLIN)), Ok(Tz::UTC));
        assert_eq!(parse_zone("UTC", None), Ok(Tz::UTC));
        assert_eq!(parse_zone("Europe/Berlin", None), Ok(BERLIN));
        let err = parse_zone("Mars/Olympus", None).unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn time_parse_each_form() {
        let now = "2026-12-04T14:37:12.345Z";
        let n = at(now);
        assert_eq!(parse("now", now, false, Tz::UTC), n);
        assert_eq!(parse(" now ", now, true, BERLIN), n);
        assert_eq!(parse("now-6h", now, false, BERLIN), n - 6 * HOUR);
        assert_eq!(parse("now+1d", now, false, Tz::UTC), n + DAY);
        assert_eq!(
            parse("now/d", now, false, Tz::UTC),
            at("2026-12-04T00:00:00Z")
        );
        assert_eq!(
            parse("now-1d/d", now, false, Tz::UTC),
            at("2026-12-03T00:00:00Z")
        );
        assert_eq!(
            parse("now-1d/d", now, true, Tz::UTC),
            at("2026-12-03T23:59:59.999Z")
        );
        // 2026-12-04 is a Friday; weeks start on Monday.
        assert_eq!(
            parse("now/w", now, false, Tz::UTC),
            at("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            parse("now/w", now, true, Tz::UTC),
            at("2026-12-06T23:59:59.999Z")
        );
        assert_eq!(
            parse("now-2M/M", now, false, Tz::UTC),
            at("2026-10-01T00:00:00Z")
        );
        assert_eq!(
            parse("now-2M/M", now, true, Tz::UTC),
            at("2026-10-31T23:59:59.999Z")
        );
        assert_eq!(
            parse("now/Q", now, false, Tz::UTC),
            at("2026-10-01T00:00:00Z")
        );
        assert_eq!(
            parse("1733300000000", now, false, BERLIN),
            1_733_300_000_000
        );
        assert_eq!(
            parse("2026-12-04 14:00:00", now, false, BERLIN),
            at("2026-12-04T14:00:00+01:00")
        );
        assert_eq!(
            parse("2026-12-04 14:00:00.250", now, false, Tz::UTC),
            at("2026-12-04T14:00:00.250Z")
        );
        assert_eq!(
            parse("2026-12-04T14:00", now, false, BERLIN),
            at("2026-12-04T14:00:00+01:00")
        );
        assert_eq!(
            parse("2026-12-04T14:00:30", now, false, BERLIN),
            at("2026-12-04T14:00:30+01:00")
        );
        assert_eq!(
            parse("2026-07-04", now, true, BERLIN),
            at("2026-07-04T00:00:00+02:00")
        );
        assert_eq!(
            parse("2026-12-04T14:00:00Z", now, false, BERLIN),
            at("2026-12-04T14:00:00Z")
        );
        assert_eq!(
            parse("2026-12-04T14:00:00-05:00", now, false, BERLIN),
            at("2026-12-04T19:00:00Z")
        );
        // Grafana's compact URL forms are UTC.
        assert_eq!(
            parse("20261204", now, false, BERLIN),
            at("2026-12-04T00:00:00Z")
        );
        assert_eq!(
            parse("20261204T140000", now, false, BERLIN),
            at("2026-12-04T14:00:00Z")
        );
        assert_eq!(
            parse("2026-12-04T14:00:00Z||-1d/d", now, false, Tz::UTC),
            at("2026-12-03T00:00:00Z")
        );
    }

    #[test]
    fn time_round_up_ends_on_last_ms_of_local_day() {
        let now = "2026-12-04T23:30:00Z"; // already Dec 5, 00:30 in Berlin
        assert_eq!(
            parse("now/d", now, true, BERLIN),
            at("2026-12-05T23:59:59.999+01:00")
        );
        assert_eq!(
            parse("now/d", now, false, BERLIN),
            at("2026-12-05T00:00:00+01:00")
        );
        assert_eq!(
            parse("now/d", now, true, Tz::UTC),
            at("2026-12-04T23:59:59.999Z")
        );
        assert_eq!(
            parse("now/d", now, false, Tz::UTC),
            at("2026-12-04T00:00:00Z")
        );
        assert_eq!(
            parse("now/M", now, false, BERLIN),
            at("2026-12-01T00:00:00+01:00")
        );
        assert_eq!(
            parse("now/y", now, true, BERLIN),
            at("2026-12-31T23:59:59.999+01:00")
        );
        // A 23-hour day still ends at local midnight.
        let spring = "2026-03-29T10:00:00Z";
        assert_eq!(
            parse("now/d", spring, true, BERLIN) + 1 - parse("now/d", spring, false, BERLIN),
            23 * HOUR
        );
        // Hours round by the offset, so a 30-minute zone rounds to its own hours.
        let kolkata = Tz::Asia__Kolkata;
        assert_eq!(
            parse("now/h", "2026-12-04T14:10:00Z", false, kolkata),
            at("2026-12-04T13:30:00Z")
        );
    }

    #[test]
    fn time_month_arithmetic_clamps_month_ends() {
        assert_eq!(
            parse("now-1M", "2026-03-31T12:00:00Z", false, Tz::UTC),
            at("2026-02-28T12:00:00Z")
        );
        assert_eq!(
            parse("now-1M", "2024-03-31T12:00:00Z", false, Tz::UTC),
            at("2024-02-29T12:00:00Z")
        );
        assert_eq!(
            parse("now+1M", "2026-01-31T12:00:00Z", false, Tz::UTC),
            at("2026-02-28T12:00:00Z")
        );
        assert_eq!(
            parse("now-1y", "2024-02-29T12:00:00Z", false, Tz::UTC),
            at("2023-02-28T12:00:00Z")
        );
        // Calendar units keep the local wall-clock time across DST; hours do not.
        let before = "2026-03-28T12:00:00+01:00";
        assert_eq!(
            parse("now+1d", before, false, BERLIN),
            at("2026-03-29T12:00:00+02:00")
        );
        assert_eq!(
            parse("now+24h", before, false, BERLIN),
            at("2026-03-29T13:00:00+02:00")
        );
    }

    #[test]
    fn time_nonexistent_and_repeated_local_times() {
        let now = "2026-01-01T00:00:00Z";
        assert_eq!(
            parse("2026-03-29 02:30:00", now, false, BERLIN),
            at("2026-03-29T03:30:00+02:00")
        );
        assert_eq!(
            parse("2026-10-25 02:30:00", now, false, BERLIN),
            at("2026-10-25T02:30:00+02:00")
        );
    }

    #[test]
    fn time_errors_name_the_text() {
        for bad in [
            "now-6x",
            "yesterday",
            "2026-13-01",
            "",
            "now&1d",
            "now+5f",
            "now/2y",
            "now/0.5y",
            "now-0",
            "now-00",
            "2026-02-30",
            "now-99999999999999999999d",
            "now-999999999y",
        ] {
            let err = parse_time(bad, 0, false, Tz::UTC).unwrap_err();
            assert!(err.0.contains(&format!("\"{bad}\"")), "{bad}: {err}");
        }
        assert!(parse_time("now-6x", 0, false, Tz::UTC)
            .unwrap_err()
            .0
            .contains("unknown unit \"x\""));
        assert!(parse_time("2026-13-01", 0, false, Tz::UTC)
            .unwrap_err()
            .0
            .contains("not a valid date"));
        assert!(parse_time("now", i64::MAX, false, Tz::UTC).is_err());
        assert!(parse_time("now-1d", i64::MIN, false, BERLIN).is_err());
        assert!(parse_time("now+1h", i64::MAX - 1, false, BERLIN).is_err());
        assert!(parse_time("99999999999999999999", 0, false, BERLIN).is_err());
    }

    // Ported from grafana/grafana packages/grafana-data/src/datetime/datemath.test.ts, with the
    // anchor 2014-01-01T06:06:06.666Z and a UTC dashboard (moment's local zone in the original).
    const ANCHOR: &str = "2014-01-01T06:06:06.666Z";

    #[test]
    fn time_grafana_datemath_subtraction() {
        let expected = [
            ('s', "2014-01-01T06:06:01.666Z"),
            ('m', "2014-01-01T06:01:06.666Z"),
            ('h', "2014-01-01T01:06:06.666Z"),
            ('d', "2013-12-27T06:06:06.666Z"),
            ('w', "2013-11-27T06:06:06.666Z"),
            ('M', "2013-08-01T06:06:06.666Z"),
            ('y', "2009-01-01T06:06:06.666Z"),
        ];
        for (span, want) in expected {
            assert_eq!(
                parse(&format!("now-5{span}"), ANCHOR, false, Tz::UTC),
                at(want),
                "now-5{span}"
            );
            assert_eq!(
                parse(
                    &format!("{ANCHOR}||-5{span}"),
                    "2020-01-01T00:00:00Z",
                    false,
                    Tz::UTC
                ),
                at(want)
            );
        }
    }

    #[test]
    fn time_grafana_datemath_rounding() {
        let expected = [
            ('s', "2014-01-01T06:06:06Z", "2014-01-01T06:06:06.999Z"),
            ('m', "2014-01-01T06:06:00Z", "2014-01-01T06:06:59.999Z"),
            ('h', "2014-01-01T06:00:00Z", "2014-01-01T06:59:59.999Z"),
            ('d', "2014-01-01T00:00:00Z", "2014-01-01T23:59:59.999Z"),
            ('w', "2013-12-30T00:00:00Z", "2014-01-05T23:59:59.999Z"),
            ('M', "2014-01-01T00:00:00Z", "2014-01-31T23:59:59.999Z"),
            ('y', "2014-01-01T00:00:00Z", "2014-12-31T23:59:59.999Z"),
        ];
        for (span, start, end) in expected {
            assert_eq!(
                parse(&format!("now/{span}"), ANCHOR, false, Tz::UTC),
                at(start),
                "now/{span}"
            );
            assert_eq!(
                parse(&format!("now/{span}"), ANCHOR, true, Tz::UTC),
                at(end),
                "now/{span} up"
            );
        }
    }

    #[test]
    fn time_grafana_datemath_relative_and_validity() {
        let now = "2020-01-01T00:00:00Z";
        assert_eq!(
            parse("2014-02-05||-2d", now, false, Tz::UTC),
            at("2014-02-03T00:00:00Z")
        );
        assert_eq!(
            parse("2014-02-05||-2d-6h", now, false, Tz::UTC),
            at("2014-02-02T18:00:00Z")
        );
        assert_eq!(
            parse("2014-02-05|| - 2d", now, false, Tz::UTC),
            at("2014-02-03T00:00:00Z")
        );
        assert!(parse_time("2014-02-05||2", 0, false, Tz::UTC).is_err());
        assert!(parse_time("asd", 0, false, Tz::UTC).is_err());
        assert!(parse_time("now-1h", 0, false, Tz::UTC).is_ok());
    }

    #[test]
    fn time_presets_and_describe_range() {
        assert_eq!(presets().len(), 11);
        assert_eq!(presets()[0], ("now-5m", "Last 5 minutes"));
        assert_eq!(presets()[10], ("now-30d", "Last 30 days"));
        for (from, label) in presets() {
            assert_eq!(describe_range(from, "now", BERLIN), *label);
            assert!(parse_time(from, 0, false, BERLIN).is_ok());
        }
        assert_eq!(describe_range("now-6h", "now", BERLIN), "Last 6 hours");
        assert_eq!(describe_range("now-90m", "now", BERLIN), "Last 90 minutes");
        assert_eq!(describe_range("now-1M", "now", BERLIN), "Last 1 month");
        assert_eq!(describe_range("now", "now+2d", BERLIN), "Next 2 days");
        assert_eq!(describe_range("now/d", "now/d", BERLIN), "Today");
        assert_eq!(describe_range("now-1d/d", "now-1d/d", BERLIN), "Yesterday");
        assert_eq!(
            describe_range("now-2d", "now-1d", BERLIN),
            "now-2d to now-1d"
        );
        assert_eq!(
            describe_range("1796389200000", "2026-12-04T15:00:00Z", BERLIN),
            "2026-12-04 14:00:00 to 2026-12-04 16:00:00"
        );
        assert_eq!(
            describe_range("2026-12-04", "now", Tz::UTC),
            "2026-12-04 00:00:00 to now"
        );
        assert_eq!(describe_range("junk", "now", Tz::UTC), "junk to now");
    }

    #[test]
    fn time_ticks_hourly_across_spring_forward() {
        let got = ticks(
            "2026-03-29T00:00:00+01:00",
            "2026-03-29T04:00:00+02:00",
            400,
            BERLIN,
        );
        let want = [
            (1_774_738_800_000, "00:00"),
            (1_774_742_400_000, "01:00"),
            (1_774_746_000_000, "03:00"),
            (1_774_749_600_000, "04:00"),
        ];
        assert_eq!(got, want.map(|(ms, l)| (ms, l.to_string())));
    }

    #[test]
    fn time_ticks_hourly_across_fall_back_repeat_two() {
        let got = ticks(
            "2026-10-25T00:00:00+02:00",
            "2026-10-25T03:00:00+01:00",
            500,
            BERLIN,
        );
        let want = [
            (1_792_879_200_000, "00:00"),
            (1_792_882_800_000, "01:00"),
            (1_792_886_400_000, "02:00"),
            (1_792_890_000_000, "02:00"),
            (1_792_893_600_000, "03:00"),
        ];
        assert_eq!(got, want.map(|(ms, l)| (ms, l.to_string())));
    }

    #[test]
    fn time_ticks_three_hourly_on_local_multiples_through_a_23_hour_day() {
        let got = ticks(
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00",
            800,
            BERLIN,
        );
        let want = [
            "Sun 29", "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "Mon 30",
        ];
        assert_eq!(got.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), want);
        assert_eq!(got[0].0, 1_774_738_800_000);
        assert_eq!(got[1].0, 1_774_746_000_000);
        assert_eq!(got[8].0, at("2026-03-29T22:00:00Z"));
    }

    #[test]
    fn time_ticks_daily_at_local_midnight_on_23_and_25_hour_days() {
        let got = ticks(
            "2026-10-23T00:00:00+02:00",
            "2026-10-28T00:00:00+01:00",
            600,
            BERLIN,
        );
        let ms: Vec<i64> = got.iter().map(|t| t.0).collect();
        let want = [
            "2026-10-23T00:00:00+02:00",
            "2026-10-24T00:00:00+02:00",
            "2026-10-25T00:00:00+02:00",
            "2026-10-26T00:00:00+01:00",
            "2026-10-27T00:00:00+01:00",
            "2026-10-28T00:00:00+01:00",
        ];
        assert_eq!(ms, want.map(at));
        assert_eq!(ms[3] - ms[2], 25 * HOUR);
        assert_eq!(got[0].1, "Fri 23");
        let spring = ticks(
            "2026-03-28T00:00:00+01:00",
            "2026-03-31T00:00:00+02:00",
            400,
            BERLIN,
        );
        assert_eq!(spring[2].0 - spring[1].0, 23 * HOUR);
        assert_eq!(
            spring.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["Sat 28", "Sun 29", "Mon 30", "Tue 31"]
        );
    }

    #[test]
    fn time_ticks_seven_days_are_days() {
        let got = labels(
            "2026-11-30T00:00:00+01:00",
            "2026-12-07T00:00:00+01:00",
            800,
            BERLIN,
        );
        assert_eq!(
            got,
            ["Mon 30", "Tue 01", "Wed 02", "Thu 03", "Fri 04", "Sat 05", "Sun 06", "Mon 07"]
        );
        // Starting mid-day, the first tick is the next local midnight.
        let got = ticks(
            "2026-11-30T09:15:00+01:00",
            "2026-12-07T09:15:00+01:00",
            800,
            BERLIN,
        );
        assert_eq!(
            got[0],
            (at("2026-12-01T00:00:00+01:00"), "Tue 01".to_string())
        );
    }

    #[test]
    fn time_ticks_ninety_days_are_months() {
        assert_eq!(
            labels(
                "2026-10-01T00:00:00Z",
                "2026-12-30T00:00:00Z",
                1000,
                Tz::UTC
            ),
            ["Oct", "Nov", "Dec"]
        );
        let got = ticks(
            "2026-11-15T00:00:00+01:00",
            "2027-02-13T00:00:00+01:00",
            1000,
            BERLIN,
        );
        assert_eq!(
            got.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["Dec 2026", "Jan 2027", "Feb"]
        );
        assert_eq!(got[1].0, at("2027-01-01T00:00:00+01:00"));
    }

    #[test]
    fn time_ticks_three_years_are_years() {
        let got = ticks(
            "2025-06-01T00:00:00+02:00",
            "2028-06-01T00:00:00+02:00",
            400,
            BERLIN,
        );
        assert_eq!(
            got.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
            ["2026", "2027", "2028"]
        );
        assert_eq!(got[0].0, at("2026-01-01T00:00:00+01:00"));
    }

    #[test]
    fn time_ticks_fifteen_minutes_are_minutes() {
        let from = "2026-12-04T14:00:00+01:00";
        let to = "2026-12-04T14:15:00+01:00";
        assert_eq!(
            labels(from, to, 600, BERLIN),
            ["14:00", "14:05", "14:10", "14:15"]
        );
        assert_eq!(
            labels(from, to, 1000, BERLIN),
            ["14:00", "14:02", "14:04", "14:06", "14:08", "14:10", "14:12", "14:14"]
        );
        let got = labels(
            "2026-12-04T14:00:03+01:00",
            "2026-12-04T14:01:00+01:00",
            600,
            BERLIN,
        );
        assert_eq!(
            got,
            ["14:00:10", "14:00:20", "14:00:30", "14:00:40", "14:00:50", "14:01:00"]
        );
    }

    #[test]
    fn time_ticks_stay_bounded_sorted_and_inside() {
        let from = at("2026-01-01T00:00:00Z");
        for span in [
            0,
            999,
            7 * SECOND,
            13 * MINUTE,
            5 * HOUR,
            40 * HOUR,
            30 * DAY,
            400 * DAY,
            9000 * DAY,
        ] {
            for width in [1, 99, 100, 350, 1280, 4000] {
                for tz in [Tz::UTC, BERLIN, Tz::Asia__Kolkata, Tz::America__St_Johns] {
                    let got = time_ticks(from, from + span, width, 90, tz);
                    assert!(got.len() as u32 <= width / 90 + 1, "{span} {width} {tz}");
                    assert!(got.windows(2).all(|w| w[0].ms < w[1].ms));
                    assert!(got.iter().all(|t| t.ms >= from && t.ms <= from + span));
                }
            }
        }
        let month = time_ticks(from, from + 30 * DAY, 2000, 80, BERLIN);
        assert_eq!(month.len(), 15);
        assert_eq!(month[1].ms - month[0].ms, 2 * DAY);
    }

    #[test]
    fn time_nothing_panics_on_extremes() {
        let edges = [i64::MIN, i64::MIN / 2, -1, 0, 1, i64::MAX / 2, i64::MAX];
        for &a in &edges {
            for &b in &edges {
                for width in [0, 1, 800, u32::MAX] {
                    let got = time_ticks(a, b, width, 0, BERLIN);
                    assert!(got.len() <= MAX_TICKS as usize + 1);
                }
                offsets(a, b, BERLIN);
                let _ = parse_time("now-1y/y", a, true, BERLIN);
            }
            format_ms(a, BERLIN, "%Y %Q %");
            duration_text(a);
        }
        assert!(time_ticks(10, 0, 800, 80, BERLIN).is_empty());
        assert!(time_ticks(0, 10, 0, 80, BERLIN).is_empty());
        assert!(offsets(10, 0, BERLIN).is_empty());
        let far = NaiveDate::from_ymd_opt(200_000, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN)
            .and_utc()
            .timestamp_millis();
        let ages: Vec<String> = time_ticks(-far, far, 1000, 100, Tz::UTC)
            .into_iter()
            .map(|t| t.label)
            .collect();
        assert_eq!(ages.first().map(String::as_str), Some("-150000"));
        assert_eq!(ages.last().map(String::as_str), Some("+200000"));
    }

    #[test]
    fn time_offsets_across_berlin_dst_2026() {
        let got = offsets(
            at("2026-01-01T00:00:00Z"),
            at("2026-12-31T00:00:00Z"),
            BERLIN,
        );
        assert_eq!(
            got,
            [
                (at("2026-01-01T00:00:00Z"), 3600),
                (1_774_746_000_000, 7200),
                (1_792_890_000_000, 3600)
            ]
        );
        assert_eq!(got[1].0, at("2026-03-29T01:00:00Z"));
        assert_eq!(offsets(0, 10 * 365 * DAY, Tz::UTC), [(0, 0)]);
        let day = at("2026-07-01T12:00:00Z");
        assert_eq!(offsets(day, day, BERLIN), [(day, 7200)]);
    }

    #[test]
    fn time_format_ms() {
        let ms = at("2026-12-04T13:00:00Z");
        assert_eq!(
            format_ms(ms, BERLIN, "%Y-%m-%d %H:%M:%S %Z"),
            "2026-12-04 14:00:00 CET"
        );
        assert_eq!(format_ms(ms, Tz::UTC, "%H:%M"), "13:00");
        assert_eq!(format_ms(ms, BERLIN, "%Q"), "2026-12-04 14:00:00");
        assert_eq!(format_ms(i64::MAX, BERLIN, "%Y"), i64::MAX.to_string());
    }

    #[test]
    fn time_duration_text() {
        assert_eq!(duration_text(15_000), "15s");
        assert_eq!(duration_text(3_600_000), "1h");
        assert_eq!(duration_text(5_400_000), "1h30m");
        assert_eq!(duration_text(86_400_000), "1d");
        assert_eq!(duration_text(7 * DAY), "1w");
        assert_eq!(duration_text(8 * DAY), "8d");
        assert_eq!(duration_text(365 * DAY), "1y");
        assert_eq!(duration_text(1_500), "1s500ms");
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(-60_000), "-1m");
        assert!(duration_text(i64::MIN).starts_with('-'));
    }
}
