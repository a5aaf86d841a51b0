//! Scheduled digests: when a digest is due and which period it covers (in its time zone, so a
//! day across a DST change is 23 or 25 hours), what it says (alerts fired by severity, time to
//! acknowledge and to resolve, the noisiest rules), and how it reads: a subject line, plain text,
//! e-mail HTML with inline styles, a webhook body and a Slack message. The numbers come from
//! the caller (Meridian reads them from its alert history); this module only counts and words.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{bodies::escape_html, config::Digest, webhook::go_time};

/// How many rules the digest names.
pub const NOISIEST: usize = 5;

/// A span of time in ms since the epoch: `start` inclusive, `end` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The days between two sends.
fn step(digest: &Digest) -> i64 {
    if digest.weekday.is_some() {
        7
    } else {
        1
    }
}

/// The instant of `minute` after local midnight on `date` in `zone`. A time the clocks skip (a
/// spring-forward gap) is taken as if they had not moved yet, so 02:30 on that night is 03:30
/// summer time, as cron runs a job whose time was skipped; a time that happens twice (the
/// autumn fold) is its first occurrence, so it is sent once.
fn instant(zone: Tz, date: NaiveDate, minute: u32) -> Option<i64> {
    let local = date.and_hms_opt(minute / 60, minute % 60, 0)?;
    let at = match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(first, _) => first,
        LocalResult::None => {
            // The offset in force a day earlier, i.e. before the clocks moved.
            let before = zone.offset_from_utc_datetime(&local.checked_sub_signed(Duration::days(1))?).fix();
            let utc = local.checked_sub_signed(Duration::seconds(i64::from(before.local_minus_utc())))?;
            zone.from_utc_datetime(&utc)
        }
    };
    Some(at.timestamp_millis())
}

/// Whether the digest is sent on `date` (every day, or on its weekday).
fn sent_on(digest: &Digest, date: NaiveDate) -> bool {
    digest.weekday.is_none_or(|day| date.weekday() == day)
}

/// The latest send at or before `now_ms`: its local date and instant.
fn latest(digest: &Digest, now_ms: i64) -> Option<(NaiveDate, i64)> {
    let today = Utc
        .timestamp_millis_opt(now_ms)
        .single()?
        .with_timezone(&digest.time_zone)
        .date_naive();
    // From tomorrow (a zone whose clocks fall back at midnight repeats the evening) back over
    // a week and a day, which holds every weekday.
    (-1..=8).find_map(|back| {
        let date = today.checked_sub_signed(Duration::days(back))?;
        if !sent_on(digest, date) {
            return None;
        }
        let at = instant(digest.time_zone, date, digest.at_minute)?;
        (at <= now_ms).then_some((date, at))
    })
}

/// The period covered by the digest most recently due at `now_ms`: it ends at the latest
/// scheduled send at or before now and starts at the one before (a day or a week earlier on the
/// local calendar). `None` only for instants chrono cannot represent.
pub fn last_period(digest: &Digest, now_ms: i64) -> Option<Period> {
    let (date, end_ms) = latest(digest, now_ms)?;
    let start = date.checked_sub_signed(Duration::days(step(digest)))?;
    Some(Period { start_ms: instant(digest.time_zone, start, digest.at_minute)?, end_ms })
}

/// The period running at `now_ms`: from the latest send to the next, which is when it is due.
pub fn current_period(digest: &Digest, now_ms: i64) -> Option<Period> {
    let (date, start_ms) = latest(digest, now_ms)?;
    let end = date.checked_add_signed(Duration::days(step(digest)))?;
    Some(Period { start_ms, end_ms: instant(digest.time_zone, end, digest.at_minute)? })
}

/// `daily at 08:00` or `weekly on Monday at 08:00` (in the digest's zone).
pub fn schedule_text(digest: &Digest) -> String {
    let at = format!("{:02}:{:02}", digest.at_minute / 60, digest.at_minute % 60);
    match digest.weekday {
        None => format!("daily at {at}"),
        Some(day) => format!("weekly on {} at {at}", weekday_name(day)),
    }
}

/// The schedule with its zone, `weekly on Monday at 08:00 (Europe/Berlin)`: what tells one of a
/// receiver's digests from another.
pub fn schedule_with_zone(digest: &Digest) -> String {
    format!("{} ({})", schedule_text(digest), digest.time_zone.name())
}

fn weekday_name(day: chrono::Weekday) -> &'static str {
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][day.num_days_from_monday() as usize]
}

/// One life of an alert that fired: its rule (`alertname`), severity and times (ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub rule: String,
    pub severity: String,
    pub fired_ms: i64,
    pub acknowledged_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
}

/// The median and the 90th percentile of some durations (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    pub median_ms: i64,
    pub p90_ms: i64,
}

/// A rule as loud as the digest shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleNoise {
    pub rule: String,
    /// Its alerts that fired in the period.
    pub episodes: u64,
    /// Notifications sent about it in the period (one an integration, as Alertmanager counts).
    pub notifications: u64,
}

/// What a digest says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub tenant: String,
    pub receiver: String,
    pub daily: bool,
    /// See [`schedule_text`].
    pub schedule: String,
    pub time_zone: String,
    pub period: Period,
    /// The facts are as of here: the period's end, or earlier for a period still running.
    pub as_of_ms: i64,
    /// Where the reader sees the alerts.
    pub link: String,
    /// Alerts fired, by severity, the most severe first (`""` for none).
    pub fired: Vec<(String, u64)>,
    pub fired_total: u64,
    /// How many of the alerts fired were acknowledged, and resolved, by `as_of_ms`.
    pub acknowledged: u64,
    pub resolved: u64,
    pub time_to_acknowledge: Option<Spread>,
    pub time_to_resolve: Option<Spread>,
    /// At most [`NOISIEST`]: most alerts first, then most notifications.
    pub noisiest: Vec<RuleNoise>,
}

/// The `q` quantile of sorted values, interpolated between the closest ranks (as Prometheus'
/// `quantile` and numpy's default do): the median of an even count is the mean of the middle
/// two.
fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    let (first, last) = (*sorted.first()?, *sorted.last()?);
    if sorted.len() == 1 {
        return Some(first);
    }
    let rank = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, (rank.ceil() as usize).min(sorted.len() - 1));
    let value = sorted[lo] as f64 + (sorted[hi] - sorted[lo]) as f64 * (rank - lo as f64);
    Some((value.round() as i64).clamp(first, last))
}

fn spread(mut durations: Vec<i64>) -> Option<Spread> {
    durations.sort_unstable();
    Some(Spread { median_ms: quantile(&durations, 0.5)?, p90_ms: quantile(&durations, 0.9)? })
}

/// Severities in the order a reader scans them: critical first, none last.
fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" | "page" => 0,
        "error" | "high" => 1,
        "warning" => 2,
        "info" => 3,
        "" => 5,
        _ => 4,
    }
}

impl Report {
    /// The digest of `period` for the tenant's `digest`, from the alerts that fired (those
    /// outside the period are left out) and the notifications sent, by rule. Acknowledgements
    /// and resolutions count when they came by the period's end (or by `as_of_ms`, if earlier),
    /// so a digest says the same whenever it is computed.
    pub fn new(
        digest: &Digest,
        tenant: &str,
        period: Period,
        as_of_ms: i64,
        link: &str,
        episodes: &[Episode],
        notifications: &BTreeMap<String, u64>,
    ) -> Report {
        let as_of_ms = as_of_ms.min(period.end_ms);
        let fired: Vec<&Episode> = episodes
            .iter()
            .filter(|e| e.fired_ms >= period.start_ms && e.fired_ms < period.end_ms && e.fired_ms <= as_of_ms)
            .collect();
        let mut by_severity: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_rule: BTreeMap<&str, RuleNoise> = BTreeMap::new();
        let (mut to_ack, mut to_resolve) = (Vec::new(), Vec::new());
        for e in &fired {
            *by_severity.entry(e.severity.as_str()).or_default() += 1;
            by_rule
                .entry(e.rule.as_str())
                .or_insert_with(|| RuleNoise { rule: e.rule.clone(), episodes: 0, notifications: 0 })
                .episodes += 1;
            // A clock that disagreed could put an answer before the alert: no negative times.
            if let Some(at) = e.acknowledged_ms.filter(|at| *at <= as_of_ms) {
                to_ack.push((at - e.fired_ms).max(0));
            }
            if let Some(at) = e.resolved_ms.filter(|at| *at <= as_of_ms) {
                to_resolve.push((at - e.fired_ms).max(0));
            }
        }
        for (rule, n) in notifications.iter().filter(|(_, n)| **n > 0) {
            by_rule
                .entry(rule.as_str())
                .or_insert_with(|| RuleNoise { rule: rule.clone(), episodes: 0, notifications: 0 })
                .notifications += n;
        }
        let mut fired_by: Vec<(String, u64)> = by_severity.into_iter().map(|(s, n)| (s.to_string(), n)).collect();
        fired_by.sort_by(|a, b| severity_rank(&a.0).cmp(&severity_rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
        let mut noisiest: Vec<RuleNoise> = by_rule.into_values().collect();
        noisiest.sort_by(|a, b| {
            (b.episodes, b.notifications)
                .cmp(&(a.episodes, a.notifications))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        noisiest.truncate(NOISIEST);
        Report {
            tenant: tenant.to_string(),
            receiver: digest.receiver.clone(),
            daily: digest.weekday.is_none(),
            schedule: schedule_text(digest),
            time_zone: digest.time_zone.name().to_string(),
            period,
            as_of_ms,
            link: link.to_string(),
            fired: fired_by,
            fired_total: fired.len() as u64,
            acknowledged: to_ack.len() as u64,
            resolved: to_resolve.len() as u64,
            time_to_acknowledge: spread(to_ack),
            time_to_resolve: spread(to_resolve),
            noisiest,
        }
    }

    fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    fn local(&self, ms: i64) -> Option<DateTime<Tz>> {
        Utc.timestamp_millis_opt(ms).single().map(|t| t.with_timezone(&self.zone()))
    }

    /// Whether the period was still running at `as_of_ms` (a preview).
    pub fn partial(&self) -> bool {
        self.as_of_ms < self.period.end_ms
    }

    /// `23–30 Mar 2026`, in the digest's zone.
    pub fn dates_text(&self) -> String {
        let (Some(start), Some(end)) = (self.local(self.period.start_ms), self.local(self.period.end_ms)) else {
            return String::new();
        };
        if start.year() != end.year() {
            format!("{} – {}", start.format("%-d %b %Y"), end.format("%-d %b %Y"))
        } else if start.month() != end.month() {
            format!("{} – {}", start.format("%-d %b"), end.format("%-d %b %Y"))
        } else {
            format!("{}–{}", start.format("%-d"), end.format("%-d %b %Y"))
        }
    }

    /// `Mon 23 Mar 2026 08:00 CET – Mon 30 Mar 2026 08:00 CEST`, with "so far" for a preview.
    pub fn period_text(&self) -> String {
        let at = |ms: i64| self.local(ms).map(|t| t.format("%a %-d %b %Y %H:%M %Z").to_string()).unwrap_or_default();
        let mut out = format!("{} – {}", at(self.period.start_ms), at(self.period.end_ms));
        if self.partial() {
            out.push_str(&format!(" (so far, as of {})", at(self.as_of_ms)));
        }
        out
    }

    pub fn subject(&self) -> String {
        let every = if self.daily { "Daily" } else { "Weekly" };
        format!("{every} digest for {}: {}, {}", self.tenant, self.fired_headline(), self.dates_text())
    }

    /// `7 alerts fired`.
    fn fired_headline(&self) -> String {
        match self.fired_total {
            0 => "no alerts fired".into(),
            1 => "1 alert fired".into(),
            n => format!("{n} alerts fired"),
        }
    }

    /// `7 alerts fired: critical 2, warning 4, info 1`.
    pub fn fired_text(&self) -> String {
        let mut out = capitalised(&self.fired_headline());
        if self.fired_total > 0 {
            let parts: Vec<String> = self.fired.iter().map(|(s, n)| format!("{} {n}", severity_name(s))).collect();
            out.push_str(&format!(": {}", parts.join(", ")));
        }
        out
    }

    /// `Acknowledged: 3 of 7 · median 4m 30s · p90 12m`.
    pub fn acknowledged_text(&self) -> String {
        self.answered_text("Acknowledged", self.acknowledged, self.time_to_acknowledge)
    }

    pub fn resolved_text(&self) -> String {
        self.answered_text("Resolved", self.resolved, self.time_to_resolve)
    }

    fn answered_text(&self, what: &str, n: u64, spread: Option<Spread>) -> String {
        let mut out = format!("{what}: {n} of {}", self.fired_total);
        if let Some(s) = spread {
            out.push_str(&format!(" · median {} · p90 {}", duration_text(s.median_ms), duration_text(s.p90_ms)));
        }
        out
    }

    fn heading(&self) -> String {
        let every = if self.daily { "Daily" } else { "Weekly" };
        format!("{every} digest for {}", self.tenant)
    }

    /// The plain-text body (and the e-mail's text part).
    pub fn text(&self) -> String {
        let mut out = format!(
            "{}\n{}\nSchedule: {} ({}), to {}\n\n{}\n{}\n{}\n",
            self.heading(),
            self.period_text(),
            self.schedule,
            self.time_zone,
            self.receiver,
            self.fired_text(),
            self.acknowledged_text(),
            self.resolved_text(),
        );
        out.push_str("\nNoisiest rules (alerts fired, notifications sent):\n");
        if self.noisiest.is_empty() {
            out.push_str("  none\n");
        }
        for r in &self.noisiest {
            out.push_str(&format!("  - {}: {} fired, {} notified\n", r.rule, r.episodes, r.notifications));
        }
        if !self.link.is_empty() {
            out.push_str(&format!("\nAlerts in Meridian: {}\n", self.link));
        }
        out
    }

    /// The e-mail's HTML part: a table layout with inline styles only (mail clients drop style
    /// sheets), every value escaped (rule names and severities come from whoever writes rules).
    pub fn html(&self) -> String {
        const CELL: &str = "padding:6px 8px;border-bottom:1px solid #e9e9e9;";
        let title = escape_html(&self.subject());
        let mut out = format!(
            r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{title}</title></head>
<body style="margin:0;padding:0;background:#f6f6f6;font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5;color:#333;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f6f6;"><tr><td align="center" style="padding:20px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="width:100%;max-width:600px;background:#fff;border:1px solid #e9e9e9;border-radius:3px;">
<tr><td style="background:#348eda;color:#fff;padding:20px;"><div style="font-size:18px;font-weight:bold;">{heading}</div><div style="font-size:13px;">{period}</div></td></tr>
<tr><td style="padding:20px 20px 0;">
<div style="font-size:28px;font-weight:bold;">{total}</div><div style="color:#666;">{fired_label}</div>
"#,
            heading = escape_html(&self.heading()),
            period = escape_html(&self.period_text()),
            total = self.fired_total,
            fired_label = if self.fired_total == 1 { "alert fired" } else { "alerts fired" },
        );
        if !self.fired.is_empty() {
            out.push_str("<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin-top:8px;border-collapse:collapse;\">\n");
            for (severity, n) in &self.fired {
                out.push_str(&format!(
                    "<tr><td style=\"{CELL}\"><span style=\"display:inline-block;width:10px;height:10px;border-radius:5px;background:{};\"></span> {}</td><td style=\"{CELL}text-align:right;font-weight:bold;\">{n}</td></tr>\n",
                    severity_colour(severity),
                    escape_html(severity_name(severity)),
                ));
            }
            out.push_str("</table>\n");
        }
        out.push_str("</td></tr>\n<tr><td style=\"padding:20px 20px 0;\">\n<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;\">\n");
        out.push_str(&format!(
            "<tr><th align=\"left\" style=\"{CELL}\"></th><th align=\"right\" style=\"{CELL}\">Of those fired</th><th align=\"right\" style=\"{CELL}\">Median</th><th align=\"right\" style=\"{CELL}\">p90</th></tr>\n"
        ));
        for (what, n, spread) in [
            ("Acknowledged", self.acknowledged, self.time_to_acknowledge),
            ("Resolved", self.resolved, self.time_to_resolve),
        ] {
            let (median, p90) = spread.map_or(("–".to_string(), "–".to_string()), |s| {
                (duration_text(s.median_ms), duration_text(s.p90_ms))
            });
            out.push_str(&format!(
                "<tr><td style=\"{CELL}font-weight:bold;\">{what}</td><td align=\"right\" style=\"{CELL}\">{n} of {}</td><td align=\"right\" style=\"{CELL}\">{median}</td><td align=\"right\" style=\"{CELL}\">{p90}</td></tr>\n",
                self.fired_total,
            ));
        }
        out.push_str("</table>\n</td></tr>\n");
        out.push_str("<tr><td style=\"padding:20px 20px 0;\"><div style=\"font-size:15px;font-weight:bold;border-bottom:1px solid #e9e9e9;padding-bottom:4px;\">Noisiest rules</div>\n");
        if self.noisiest.is_empty() {
            out.push_str("<p style=\"color:#666;\">None: no alert fired and nothing was notified.</p>\n");
        } else {
            out.push_str(&format!(
                "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;\">\n<tr><th align=\"left\" style=\"{CELL}\">Rule</th><th align=\"right\" style=\"{CELL}\">Alerts fired</th><th align=\"right\" style=\"{CELL}\">Notifications</th></tr>\n"
            ));
            for r in &self.noisiest {
                out.push_str(&format!(
                    "<tr><td style=\"{CELL}\">{}</td><td align=\"right\" style=\"{CELL}\">{}</td><td align=\"right\" style=\"{CELL}\">{}</td></tr>\n",
                    escape_html(&r.rule),
                    r.episodes,
                    r.notifications,
                ));
            }
            out.push_str("</table>\n");
        }
        out.push_str("</td></tr>\n");
        if !self.link.is_empty() {
            out.push_str(&format!(
                "<tr><td style=\"padding:20px 20px 0;\"><a href=\"{}\" style=\"display:inline-block;background:#348eda;color:#fff;padding:8px 16px;border-radius:3px;text-decoration:none;font-weight:bold;\">View alerts in Meridian</a></td></tr>\n",
                escape_html(&self.link)
            ));
        }
        out.push_str(&format!(
            "<tr><td style=\"padding:20px;color:#999;font-size:12px;\">Sent by Meridian to {}, {} ({}).</td></tr>\n</table>\n</td></tr></table>\n</body></html>\n",
            escape_html(&self.receiver),
            escape_html(&self.schedule),
            escape_html(&self.time_zone),
        ));
        out
    }

    /// A webhook's JSON body: the digest's facts, its subject and text, and its period as
    /// Alertmanager writes times.
    pub fn webhook_body(&self) -> Value {
        json!({
            "kind": "digest",
            "version": "1",
            "receiver": self.receiver,
            "tenant": self.tenant,
            "subject": self.subject(),
            "periodStart": go_time(self.period.start_ms),
            "periodEnd": go_time(self.period.end_ms),
            "text": self.text(),
            "digest": self,
        })
    }

    /// A Slack incoming webhook's body: the subject in bold, then the text.
    pub fn slack_body(&self, channel: &str, username: &str) -> Value {
        let mut body = json!({ "text": format!("*{}*\n```\n{}```", self.subject(), self.text()) });
        if !channel.is_empty() {
            body["channel"] = json!(channel);
        }
        if !username.is_empty() && !username.contains("{{") {
            body["username"] = json!(username);
        }
        body
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn severity_name(severity: &str) -> &str {
    if severity.is_empty() {
        "no severity"
    } else {
        severity
    }
}

fn severity_colour(severity: &str) -> &'static str {
    match severity_rank(severity) {
        0 => "#d63232",
        1 | 2 => "#e0a800",
        3 => "#2f80ed",
        _ => "#999999",
    }
}

/// `45s`, `4m 30s`, `1h 5m`, `2d 3h`: two units at most, as a reader compares them.
pub fn duration_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let two = |a: i64, ua: &str, b: i64, ub: &str| if b == 0 { format!("{a}{ua}") } else { format!("{a}{ua} {b}{ub}") };
    if d > 0 {
        two(d, "d", h, "h")
    } else if h > 0 {
        two(h, "h", m, "m")
    } else if m > 0 {
        two(m, "m", s, "s")
    } else if ms > 0 && s == 0 {
        format!("{}ms", ms)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    fn digest(weekday: Option<chrono::Weekday>, at: &str, zone: &str) -> Digest {
        let (h, m) = at.split_once(':').unwrap();
        Digest {
            receiver: "team".into(),
            weekday,
            at_minute: h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap(),
            time_zone: zone.parse().unwrap(),
        }
    }

    fn period(start: &str, end: &str) -> Period {
        Period { start_ms: ms(start), end_ms: ms(end) }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_weekly_digest_covers_the_week_before_its_send_in_its_zone() {
        let monday = digest(Some(chrono::Weekday::Mon), "08:00", "Europe/Berlin");
        // Mon 9 Mar 2026 08:00 CET is 07:00 UTC; on Thursday the last send was that Monday.
        assert_eq!(
            last_period(&monday, ms("2026-03-12T15:00:00Z")),
            Some(period("2026-03-02T07:00:00Z", "2026-03-09T07:00:00Z"))
        );
        // At the very instant of a send, that send is the latest; a second before, not yet.
        assert_eq!(
            last_period(&monday, ms("2026-03-09T07:00:00Z")),
            Some(period("2026-03-02T07:00:00Z", "2026-03-09T07:00:00Z"))
        );
        assert_eq!(
            last_period(&monday, ms("2026-03-09T06:59:59Z")),
            Some(period("2026-02-23T07:00:00Z", "2026-03-02T07:00:00Z"))
        );
        assert_eq!(
            current_period(&monday, ms("2026-03-12T15:00:00Z")),
            Some(period("2026-03-09T07:00:00Z", "2026-03-16T07:00:00Z"))
        );
    }

    #[test]
    fn berlin_weeks_across_a_dst_change_are_167_and_169_hours() {
        let monday = digest(Some(chrono::Weekday::Mon), "08:00", "Europe/Berlin");
        // Summer time began Sun 29 Mar 2026 02:00 CET: Mon 23 Mar 08:00 CET = 07:00 UTC,
        // Mon 30 Mar 08:00 CEST = 06:00 UTC.
        let spring = last_period(&monday, ms("2026-03-30T06:00:00Z")).unwrap();
        assert_eq!(spring, period("2026-03-23T07:00:00Z", "2026-03-30T06:00:00Z"));
        assert_eq!(spring.end_ms - spring.start_ms, 167 * HOUR);
        // An hour earlier in UTC it is 07:00 CEST: the send of the 30th has not come.
        assert_eq!(
            last_period(&monday, ms("2026-03-30T05:30:00Z")),
            Some(period("2026-03-16T07:00:00Z", "2026-03-23T07:00:00Z"))
        );
        // Summer time ended Sun 25 Oct 2026 03:00 CEST: Mon 19 Oct 08:00 CEST = 06:00 UTC,
        // Mon 26 Oct 08:00 CET = 07:00 UTC.
        let autumn = last_period(&monday, ms("2026-10-27T00:00:00Z")).unwrap();
        assert_eq!(autumn, period("2026-10-19T06:00:00Z", "2026-10-26T07:00:00Z"));
        assert_eq!(autumn.end_ms - autumn.start_ms, 169 * HOUR);
        assert_eq!(
            current_period(&monday, ms("2026-10-22T12:00:00Z")),
            Some(period("2026-10-19T06:00:00Z", "2026-10-26T07:00:00Z"))
        );
    }

    #[test]
    fn berlin_days_across_a_dst_change_are_23_and_25_hours() {
        let daily = digest(None, "08:00", "Europe/Berlin");
        // Sat 28 Mar 08:00 CET = 07:00 UTC → Sun 29 Mar 08:00 CEST = 06:00 UTC.
        let short = last_period(&daily, ms("2026-03-29T12:00:00Z")).unwrap();
        assert_eq!(short, period("2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"));
        assert_eq!(short.end_ms - short.start_ms, 23 * HOUR);
        // Sat 24 Oct 08:00 CEST = 06:00 UTC → Sun 25 Oct 08:00 CET = 07:00 UTC.
        let long = last_period(&daily, ms("2026-10-25T07:00:00Z")).unwrap();
        assert_eq!(long, period("2026-10-24T06:00:00Z", "2026-10-25T07:00:00Z"));
        assert_eq!(long.end_ms - long.start_ms, 25 * HOUR);
        // A minute before the send, the day before is still the latest.
        assert_eq!(
            last_period(&daily, ms("2026-10-25T06:59:00Z")),
            Some(period("2026-10-23T06:00:00Z", "2026-10-24T06:00:00Z"))
        );
    }

    #[test]
    fn skipped_and_repeated_local_times_are_sent_once() {
        let night = digest(None, "02:30", "Europe/Berlin");
        // 02:30 does not exist on 29 Mar 2026: sent at 03:30 CEST (01:30 UTC), 24 h after
        // Sat 02:30 CET (01:30 UTC); the next, Mon 02:30 CEST (00:30 UTC), comes 23 h later.
        assert_eq!(
            last_period(&night, ms("2026-03-29T01:30:00Z")),
            Some(period("2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            current_period(&night, ms("2026-03-29T12:00:00Z")),
            Some(period("2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"))
        );
        // 02:30 happens twice on 25 Oct 2026: the first (CEST, 00:30 UTC) is the send; during
        // the second (CET, 01:30 UTC) that send is still the latest.
        assert_eq!(
            last_period(&night, ms("2026-10-25T01:30:00Z")),
            Some(period("2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            current_period(&night, ms("2026-10-25T01:30:00Z")),
            Some(period("2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn other_zones_and_weekdays() {
        // Sunday 23:00 in New York (EST, UTC−5) is Monday 04:00 UTC.
        let sunday = digest(Some(chrono::Weekday::Sun), "23:00", "America/New_York");
        assert_eq!(
            last_period(&sunday, ms("2026-01-12T04:00:00Z")),
            Some(period("2026-01-05T04:00:00Z", "2026-01-12T04:00:00Z"))
        );
        let utc = digest(None, "00:00", "UTC");
        assert_eq!(
            last_period(&utc, ms("2026-01-01T00:00:00Z")),
            Some(period("2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"))
        );
        assert_eq!(schedule_with_zone(&sunday), "weekly on Sunday at 23:00 (America/New_York)");
        assert_eq!(schedule_text(&utc), "daily at 00:00");
        // Out of chrono's range: no period, no panic.
        assert_eq!(last_period(&utc, i64::MAX), None);
        assert_eq!(current_period(&utc, i64::MIN), None);
    }

    fn episode(rule: &str, severity: &str, fired: i64, ack: Option<i64>, resolved: Option<i64>) -> Episode {
        Episode { rule: rule.into(), severity: severity.into(), fired_ms: fired, acknowledged_ms: ack, resolved_ms: resolved }
    }

    const MIN: i64 = 60_000;

    /// A week of episodes whose numbers are worked out by hand in the test below.
    fn week() -> (Digest, Period, Vec<Episode>, BTreeMap<String, u64>) {
        let d = digest(Some(chrono::Weekday::Mon), "08:00", "Europe/Berlin");
        let p = period("2026-03-23T07:00:00Z", "2026-03-30T06:00:00Z");
        let t = p.start_ms;
        let episodes = vec![
            // Acknowledged after 1, 2, 5 and 10 minutes; resolved after 10, 20, 30 minutes.
            episode("DiskFull", "critical", t + HOUR, Some(t + HOUR + MIN), Some(t + HOUR + 10 * MIN)),
            episode("DiskFull", "critical", t + 2 * HOUR, Some(t + 2 * HOUR + 2 * MIN), Some(t + 2 * HOUR + 20 * MIN)),
            episode("HighLatency", "warning", t + 3 * HOUR, Some(t + 3 * HOUR + 5 * MIN), Some(t + 3 * HOUR + 30 * MIN)),
            episode("HighLatency", "warning", t + 4 * HOUR, Some(t + 4 * HOUR + 10 * MIN), None),
            episode("HighLatency", "warning", t + 5 * HOUR, None, None),
            episode("CertExpiry", "info", t + 6 * HOUR, None, None),
            // Acknowledged and resolved only after the period: open in this digest.
            episode("Unlabelled", "", p.end_ms - MIN, Some(p.end_ms + MIN), Some(p.end_ms + 2 * MIN)),
            // Fired before the period: not this digest's.
            episode("Old", "critical", t - MIN, Some(t), Some(t + MIN)),
        ];
        let notifications = [("HighLatency", 4), ("DiskFull", 6), ("Repeating", 3), ("Quiet", 0)]
            .into_iter()
            .map(|(r, n)| (r.to_string(), n))
            .collect();
        (d, p, episodes, notifications)
    }

    #[test]
    fn the_numbers_are_the_hand_computed_ones() {
        let (d, p, episodes, notifications) = week();
        let r = Report::new(&d, "acme", p, p.end_ms + HOUR, "http://m/alerts", &episodes, &notifications);
        assert_eq!(r.fired_total, 7);
        assert_eq!(
            r.fired,
            [("critical".to_string(), 2), ("warning".to_string(), 3), ("info".to_string(), 1), (String::new(), 1)]
        );
        assert_eq!((r.acknowledged, r.resolved), (4, 3));
        // Acknowledged after 1, 2, 5, 10 min: median (2 + 5) / 2 = 3.5 min; p90 at rank
        // 0.9 × 3 = 2.7, 5 + 0.7 × 5 = 8.5 min.
        assert_eq!(r.time_to_acknowledge, Some(Spread { median_ms: 210_000, p90_ms: 510_000 }));
        // Resolved after 10, 20, 30 min: median 20; p90 at rank 1.8, 20 + 0.8 × 10 = 28 min.
        assert_eq!(r.time_to_resolve, Some(Spread { median_ms: 20 * MIN, p90_ms: 28 * MIN }));
        let noisiest: Vec<(&str, u64, u64)> =
            r.noisiest.iter().map(|n| (n.rule.as_str(), n.episodes, n.notifications)).collect();
        // Most alerts first, then most notifications, then by name; five at most.
        assert_eq!(
            noisiest,
            [("HighLatency", 3, 4), ("DiskFull", 2, 6), ("CertExpiry", 1, 0), ("Unlabelled", 1, 0), ("Repeating", 0, 3)]
        );
        assert!(!r.partial());
        assert_eq!(r.dates_text(), "23–30 Mar 2026");
        assert_eq!(r.subject(), "Weekly digest for acme: 7 alerts fired, 23–30 Mar 2026");
        assert_eq!(r.period_text(), "Mon 23 Mar 2026 08:00 CET – Mon 30 Mar 2026 08:00 CEST");
        assert_eq!(r.fired_text(), "7 alerts fired: critical 2, warning 3, info 1, no severity 1");
        assert_eq!(r.acknowledged_text(), "Acknowledged: 4 of 7 · median 3m 30s · p90 8m 30s");
        assert_eq!(r.resolved_text(), "Resolved: 3 of 7 · median 20m · p90 28m");
    }

    #[test]
    fn a_preview_counts_only_what_happened_so_far() {
        let (d, p, episodes, notifications) = week();
        let as_of = p.start_ms + 3 * HOUR + 6 * MIN;
        let r = Report::new(&d, "acme", p, as_of, "", &episodes, &notifications);
        assert!(r.partial());
        assert_eq!((r.fired_total, r.acknowledged, r.resolved), (3, 3, 2));
        assert!(r.period_text().ends_with("(so far, as of Mon 23 Mar 2026 11:06 CET)"), "{}", r.period_text());
        let empty = Report::new(&d, "acme", p, p.end_ms, "", &[], &BTreeMap::new());
        assert_eq!(empty.subject(), "Weekly digest for acme: no alerts fired, 23–30 Mar 2026");
        assert_eq!((empty.time_to_acknowledge, empty.time_to_resolve), (None, None));
        assert_eq!(empty.acknowledged_text(), "Acknowledged: 0 of 0");
        assert!(empty.text().contains("Noisiest rules (alerts fired, notifications sent):\n  none\n"));
    }

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7));
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(3)); // 2.5 rounds half away from zero
        assert_eq!(quantile(&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9), Some(91));
    }

    #[test]
    fn durations_read_in_two_units() {
        assert_eq!(duration_text(45_000), "45s");
        assert_eq!(duration_text(270_000), "4m 30s");
        assert_eq!(duration_text(20 * MIN), "20m");
        assert_eq!(duration_text(65 * MIN), "1h 5m");
        assert_eq!(duration_text(51 * HOUR), "2d 3h");
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(250), "250ms");
    }

    #[test]
    fn every_rendering_escapes_and_carries_the_numbers() {
        let (d, p, mut episodes, notifications) = week();
        episodes.push(episode("<script>x</script>", "crit\"ical", p.start_ms + MIN, None, None));
        let r = Report::new(&d, "a&b", p, p.end_ms, "http://m/alerts?x=1&y=\"2\"", &episodes, &notifications);
        let html = r.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;") && html.contains("crit&quot;ical"), "{html}");
        assert!(html.contains("for a&amp;b") && html.contains(r#"href="http://m/alerts?x=1&amp;y=&quot;2&quot;""#));
        assert!(!html.contains("<style") && !html.contains("class="), "inline styles only");
        for part in [&html, &r.text()] {
            for needle in ["HighLatency", "DiskFull", "4 of 8", "3m 30s", "28m"] {
                assert!(part.contains(needle), "{needle}: {part}");
            }
        }
        let text = r.text();
        assert!(text.starts_with("Weekly digest for a&b\nMon 23 Mar 2026 08:00 CET"), "{text}");
        assert!(text.contains("  - HighLatency: 3 fired, 4 notified\n"), "{text}");
        assert!(text.contains("Alerts in Meridian: http://m/alerts?x=1&y=\"2\""), "the text is not HTML: {text}");
        let hook = r.webhook_body();
        assert_eq!(hook["kind"], "digest");
        assert_eq!(hook["periodEnd"], "2026-03-30T06:00:00Z");
        assert_eq!(hook["digest"]["fired_total"], 8);
        let back: Report = serde_json::from_value(hook["digest"].clone()).unwrap();
        assert_eq!(back, r, "the outbox keeps the report as JSON");
        let slack = r.slack_body("#ops", "{{ template }}");
        assert_eq!(slack["channel"], "#ops");
        assert!(slack.get("username").is_none());
        assert!(slack["text"].as_str().unwrap().starts_with("*Weekly digest for a&b: 8 alerts fired"));
    }
}
