//! What `switchboard-ls stats` shows: the stats file's lines over a window, per
//! provider, as a [`Report`] (its JSON is the `--json` output, see `docs/STATS.md`) and
//! as text that fits an 80-column terminal: a table, a summary in words, and an hourly
//! health strip per provider.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::record::{HOUR, HourCounts, Line, StateChange, hour_of};
use super::recorder::FLUSH_PERIOD;

/// The version of the `--json` shape.
pub const JSON_VERSION: u32 = 1;

/// Columns the strip's marks may take (80 columns less the name and margins).
const STRIP_CELLS: u64 = 64;
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const NO_TRAFFIC: char = '·';
const DOWN: char = '✗';

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub version: u32,
    /// RFC 3339, UTC: the start of the first hour shown, and now.
    pub since: String,
    pub until: String,
    pub hours: u64,
    /// `last 7 days`, `last 24 hours`.
    pub window: String,
    pub providers: Vec<ProviderReport>,
    pub total: Totals,
    /// The summary in words.
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProviderReport {
    pub name: String,
    pub served: u64,
    pub accepted: u64,
    /// `accepted / served` in percent, rounded; `null` when nothing was served.
    pub accepted_pct: Option<u64>,
    pub cached: u64,
    pub stale: u64,
    pub local: u64,
    /// Completions it served after another provider failed.
    pub failovers: u64,
    /// Its failed attempts by error class.
    pub failures: BTreeMap<String, u64>,
    pub latency_ms: Quantiles,
    pub outages: Vec<Outage>,
    pub down_minutes: u64,
    /// One entry per hour of the window, oldest first.
    pub hourly: Vec<HourReport>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct Quantiles {
    pub p50: Option<u64>,
    pub p95: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outage {
    pub start: String,
    pub end: String,
    pub minutes: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HourReport {
    pub hour: String,
    pub served: u64,
    pub p50_ms: Option<u64>,
    pub down: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Totals {
    pub served: u64,
    pub accepted: u64,
    pub accepted_pct: Option<u64>,
    pub cached: u64,
    pub stale: u64,
    pub local: u64,
    pub cache_hit_pct: Option<u64>,
}

/// A span of seconds `[start, end)`.
type Span = (u64, u64);

/// Builds the report for the `span_secs` before `now` (whole hours, the current one last).
pub fn build(lines: &[Line], now: u64, span_secs: u64) -> Report {
    let hours = span_secs.div_ceil(HOUR).max(1);
    let first = hour_of(now).saturating_sub((hours - 1) * HOUR);
    let mut counts: BTreeMap<(String, u64), HourCounts> = BTreeMap::new();
    let mut changes: Vec<&StateChange> = Vec::new();
    for line in lines {
        match line {
            Line::Hour(h) if h.hour >= first && h.hour <= now => {
                counts
                    .entry((h.provider.clone(), h.hour))
                    .or_insert_with(|| HourCounts::new(h.hour, &h.provider))
                    .add(h);
            }
            Line::Change(c) => changes.push(c),
            Line::Hour(_) => {}
        }
    }
    let outages = outages(&changes, first, now);
    let names: BTreeSet<String> = counts
        .keys()
        .map(|(name, _)| name.clone())
        .chain(outages.keys().cloned())
        .collect();
    let mut providers: Vec<ProviderReport> = names
        .into_iter()
        .map(|name| {
            let down = outages.get(&name).cloned().unwrap_or_default();
            provider_report(&name, &counts, &down, first, hours)
        })
        .collect();
    providers.sort_by(|a, b| b.served.cmp(&a.served).then(a.name.cmp(&b.name)));

    let mut total = Totals::default();
    for p in &providers {
        total.served += p.served;
        total.accepted += p.accepted;
        total.cached += p.cached;
        total.stale += p.stale;
        total.local += p.local;
    }
    total.accepted_pct = percent(total.accepted, total.served);
    total.cache_hit_pct = percent(total.cached, total.served);
    let window = window_words(hours);
    let summary = summary(&window, &providers, &counts, &outages);
    Report {
        version: JSON_VERSION,
        since: rfc3339(first),
        until: rfc3339(now),
        hours,
        window,
        providers,
        total,
        summary,
    }
}

fn provider_report(
    name: &str,
    counts: &BTreeMap<(String, u64), HourCounts>,
    down: &[(Span, String)],
    first: u64,
    hours: u64,
) -> ProviderReport {
    let mut sum = HourCounts::new(first, name);
    let mut hourly = Vec::with_capacity(hours as usize);
    for i in 0..hours {
        let hour = first + i * HOUR;
        let here = counts.get(&(name.to_string(), hour));
        if let Some(h) = here {
            sum.add(h);
        }
        hourly.push(HourReport {
            hour: rfc3339(hour),
            served: here.map_or(0, |h| h.served),
            p50_ms: here.and_then(|h| h.latency_quantile(0.5)),
            down: down
                .iter()
                .any(|((start, end), _)| *start < hour + HOUR && *end > hour),
        });
    }
    let down_secs: u64 = down.iter().map(|((s, e), _)| e - s).sum();
    ProviderReport {
        name: name.to_string(),
        served: sum.served,
        accepted: sum.accepted,
        accepted_pct: percent(sum.accepted, sum.served),
        cached: sum.cached,
        stale: sum.stale,
        local: sum.local,
        failovers: sum.failovers,
        failures: sum.failures.clone(),
        latency_ms: Quantiles {
            p50: sum.latency_quantile(0.5),
            p95: sum.latency_quantile(0.95),
        },
        outages: down
            .iter()
            .map(|((start, end), reason)| Outage {
                start: rfc3339(*start),
                end: rfc3339(*end),
                minutes: minutes(end - start),
                reason: reason.clone(),
            })
            .collect(),
        down_minutes: minutes(down_secs),
        hourly,
    }
}

fn minutes(secs: u64) -> u64 {
    secs.div_ceil(60)
}

fn percent(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| (part * 100 + whole / 2) / whole)
}

/// Each provider's time down, clipped to `[from, now]`: per server (session) from the
/// change to `down` to the next change away from it; an outage a server never saw end
/// (it died) ends a little after the last time it noted it, at most now. Outages seen
/// by several servers at once are one outage. The reason is the opening change's.
fn outages(changes: &[&StateChange], from: u64, now: u64) -> BTreeMap<String, Vec<(Span, String)>> {
    let mut by_key: BTreeMap<(&str, &str), Vec<&StateChange>> = BTreeMap::new();
    for change in changes {
        by_key
            .entry((change.provider.as_str(), change.session.as_str()))
            .or_default()
            .push(change);
    }
    let grace = FLUSH_PERIOD.as_secs() * 2;
    let mut spans: BTreeMap<String, Vec<(Span, String)>> = BTreeMap::new();
    for ((provider, _), mut list) in by_key {
        list.sort_by_key(|c| c.at);
        let mut open: Option<(u64, u64, String)> = None;
        let mut found = Vec::new();
        for change in list {
            match (&mut open, change.to == "down") {
                (None, true) => open = Some((change.at, change.at, change.reason.clone())),
                (Some((_, seen, _)), true) => *seen = change.at,
                (Some((start, _, reason)), false) => {
                    found.push(((*start, change.at), reason.clone()));
                    open = None;
                }
                (None, false) => {}
            }
        }
        if let Some((start, seen, reason)) = open {
            found.push(((start, (seen + grace).min(now).max(start)), reason));
        }
        spans.entry(provider.to_string()).or_default().extend(found);
    }
    for list in spans.values_mut() {
        list.sort_by_key(|((start, _), _)| *start);
        let mut merged: Vec<(Span, String)> = Vec::new();
        for ((start, end), reason) in list.drain(..) {
            let (start, end) = (start.max(from), end.min(now));
            if end <= start {
                continue;
            }
            match merged.last_mut() {
                Some(((_, last_end), _)) if start <= *last_end => {
                    *last_end = (*last_end).max(end);
                }
                _ => merged.push(((start, end), reason)),
            }
        }
        *list = merged;
    }
    spans.retain(|_, list| !list.is_empty());
    spans
}

fn window_words(hours: u64) -> String {
    match hours {
        1 => "last hour".to_string(),
        h if h % 24 == 0 && h > 24 => format!("last {} days", h / 24),
        24 => "last 24 hours".to_string(),
        h => format!("last {h} hours"),
    }
}

fn duration_words(minutes: u64) -> String {
    if minutes < 60 {
        format!("{minutes} min")
    } else {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "last 7 days: claude down 3 times, 52 min in all; 412 completions served by gpt and
/// 38 from cache meanwhile". "Meanwhile" is counted by the hour: the hours an outage
/// touched.
fn summary(
    window: &str,
    providers: &[ProviderReport],
    counts: &BTreeMap<(String, u64), HourCounts>,
    outages: &BTreeMap<String, Vec<(Span, String)>>,
) -> String {
    let total: u64 = providers.iter().map(|p| p.served).sum();
    if total == 0 && outages.is_empty() {
        return format!("{window}: no completions recorded");
    }
    let mut clauses = Vec::new();
    for (name, spans) in outages {
        let down_minutes: u64 = spans.iter().map(|((s, e), _)| minutes(e - s)).sum();
        let times = match spans.len() {
            1 => "once".to_string(),
            2 => "twice".to_string(),
            n => format!("{n} times"),
        };
        let mut clause = format!(
            "{name} down {times}, {} in all",
            duration_words(down_minutes)
        );
        // What served in the hours it was down.
        let touched: BTreeSet<u64> = spans
            .iter()
            .flat_map(|((s, e), _)| (hour_of(*s)..*e).step_by(HOUR as usize))
            .collect();
        let mut by_provider: BTreeMap<&str, u64> = BTreeMap::new();
        let mut from_cache = 0;
        for ((provider, hour), h) in counts {
            if !touched.contains(hour) {
                continue;
            }
            // Its own cached answers count as from cache.
            from_cache += h.cached;
            if provider != name {
                *by_provider.entry(provider.as_str()).or_default() +=
                    h.served.saturating_sub(h.cached);
            }
        }
        let mut served: Vec<(&str, u64)> =
            by_provider.into_iter().filter(|(_, n)| *n > 0).collect();
        served.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut parts: Vec<String> = served
            .iter()
            .map(|(p, n)| format!("{} served by {p}", plural(*n, "completion", "completions")))
            .collect();
        if from_cache > 0 {
            parts.push(format!("{from_cache} from cache"));
        }
        if !parts.is_empty() {
            let last = parts.pop().unwrap_or_default();
            let list = if parts.is_empty() {
                last
            } else {
                format!("{} and {last}", parts.join(", "))
            };
            clause.push_str(&format!("; {list} meanwhile"));
        }
        clauses.push(clause);
    }
    if clauses.is_empty() {
        let accepted: u64 = providers.iter().map(|p| p.accepted).sum();
        let cached: u64 = providers.iter().map(|p| p.cached).sum();
        clauses.push(format!(
            "no outages; {} served, {}% accepted, {}% from cache",
            plural(total, "completion", "completions"),
            percent(accepted, total).unwrap_or(0),
            percent(cached, total).unwrap_or(0)
        ));
    }
    format!("{window}: {}", clauses.join("; "))
}

fn latency_words(ms: Option<u64>) -> String {
    match ms {
        None => "—".to_string(),
        Some(ms) if ms < 1000 => format!("{ms}ms"),
        Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
    }
}

fn fit(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let cut: String = name.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}

/// The report as text, no line wider than 80 columns.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Switchboard — {} ({} → {} UTC)\n\n",
        report.window,
        short_time(&report.since),
        short_time(&report.until)
    ));
    if report.providers.is_empty() {
        out.push_str(&format!("{}.\n", report.summary));
        return out;
    }
    out.push_str(&format!(
        "{:<12} {:>7} {:>8} {:>7} {:>7} {:>9}  {}\n",
        "provider", "served", "accepted", "p50", "p95", "failovers", "outages"
    ));
    for p in &report.providers {
        let outages = if p.outages.is_empty() {
            "—".to_string()
        } else {
            format!("{}, {}", p.outages.len(), duration_words(p.down_minutes))
        };
        out.push_str(&format!(
            "{:<12} {:>7} {:>8} {:>7} {:>7} {:>9}  {}\n",
            fit(&p.name, 12),
            p.served,
            p.accepted_pct.map_or("—".to_string(), |n| format!("{n}%")),
            latency_words(p.latency_ms.p50),
            latency_words(p.latency_ms.p95),
            p.failovers,
            outages
        ));
    }
    let t = &report.total;
    out.push_str(&format!(
        "\nfrom cache: {} of {} ({}%), {} stale; local engine: {}\n",
        t.cached,
        t.served,
        t.cache_hit_pct.unwrap_or(0),
        t.stale,
        t.local
    ));
    let failing: Vec<String> = report
        .providers
        .iter()
        .filter(|p| !p.failures.is_empty())
        .map(|p| {
            let classes: Vec<String> = p
                .failures
                .iter()
                .map(|(class, n)| format!("{n} {class}"))
                .collect();
            format!("{} {}", p.name, classes.join(", "))
        })
        .collect();
    if !failing.is_empty() {
        out.push_str(&wrap(&format!("failures: {}", failing.join("; ")), 80));
    }
    out.push('\n');
    out.push_str(&wrap(&format!("{}.", report.summary), 80));
    out.push('\n');
    let per = report.hours.div_ceil(STRIP_CELLS).max(1);
    out.push_str(&format!(
        "hourly health, oldest first ({} a mark; ▁…█ latency, {NO_TRAFFIC} no traffic, {DOWN} down)\n",
        if per == 1 {
            "an hour".to_string()
        } else {
            format!("{per} hours")
        }
    ));
    let cells: Vec<Vec<Cell>> = report.providers.iter().map(|p| cells(p, per)).collect();
    let max = cells
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Cell::Latency(ms) => Some(*ms),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    for (p, row) in report.providers.iter().zip(cells) {
        let strip: String = row.iter().map(|c| c.mark(max)).collect();
        out.push_str(&format!("{:<12} {strip}\n", fit(&p.name, 12)));
    }
    out
}

enum Cell {
    Empty,
    Down,
    Latency(u64),
}

impl Cell {
    fn mark(&self, max: u64) -> char {
        match self {
            Cell::Empty => NO_TRAFFIC,
            Cell::Down => DOWN,
            Cell::Latency(ms) => {
                let level = if max == 0 {
                    0
                } else {
                    ((*ms * SPARKS.len() as u64).div_ceil(max)).clamp(1, SPARKS.len() as u64) - 1
                };
                SPARKS[level as usize]
            }
        }
    }
}

/// The strip's marks for `per` hours each: down beats latency, which beats no traffic.
fn cells(p: &ProviderReport, per: u64) -> Vec<Cell> {
    p.hourly
        .chunks(per as usize)
        .map(|hours| {
            if hours.iter().any(|h| h.down) {
                Cell::Down
            } else {
                // The slowest hour's median in the group.
                match hours.iter().filter_map(|h| h.p50_ms).max() {
                    Some(ms) => Cell::Latency(ms),
                    None if hours.iter().any(|h| h.served > 0) => Cell::Latency(0),
                    None => Cell::Empty,
                }
            }
        })
        .collect()
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `2026-12-04T02:40:00Z` → `2026-12-04 02:40`.
fn short_time(rfc: &str) -> String {
    rfc.get(..16).unwrap_or(rfc).replace('T', " ")
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SS` with `Z` or `±HH:MM` (fractions ignored) → unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (h, mi, s) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if text.get(4..5)? != "-" || text.get(7..8)? != "-" || text.get(13..14)? != ":" {
        return None;
    }
    if !matches!(text.get(10..11)?, "T" | "t" | " ")
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            if rest.len() != 6 || rest.get(3..4)? != ":" {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `24h`, `7d`, `90m`, `2w` → seconds.
pub fn parse_span(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit = match unit {
        "m" | "min" => 60,
        "h" => HOUR,
        "d" => 24 * HOUR,
        "w" => 7 * 24 * HOUR,
        _ => return None,
    };
    n.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for secs in [0, 951_782_400, 1_764_806_400, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs));
        }
        assert_eq!(rfc3339(1_764_816_000), "2025-12-04T02:40:00Z");
        assert_eq!(
            parse_rfc3339("2025-12-04T04:40:00.123+02:00"),
            Some(1_764_816_000)
        );
        for bad in ["", "2025-13-01T00:00:00Z", "2025-12-04 02:40", "yesterday"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("24h"), Some(86_400));
        assert_eq!(parse_span("7d"), Some(7 * 86_400));
        assert_eq!(parse_span("30m"), Some(1800));
        for bad in ["7", "d", "0d", "7y", "-1d"] {
            assert_eq!(parse_span(bad), None, "{bad}");
        }
    }

    fn change(at: u64, session: &str, to: &str) -> StateChange {
        StateChange {
            at,
            provider: "claude".into(),
            from: String::new(),
            to: to.into(),
            reason: "529 retryable".into(),
            session: session.into(),
        }
    }

    #[test]
    fn outages_seen_by_two_servers_are_one() {
        let a = [change(1000, "a", "down"), change(1600, "a", "healthy")];
        let b = [change(1200, "b", "down"), change(1900, "b", "exit")];
        let all: Vec<&StateChange> = a.iter().chain(&b).collect();
        let spans = outages(&all, 0, 10_000);
        assert_eq!(
            spans["claude"],
            vec![((1000, 1900), "529 retryable".to_string())]
        );
    }

    #[test]
    fn an_outage_never_seen_to_end_stops_soon_after_it_was_last_noted() {
        let c = [change(1000, "a", "down"), change(1060, "a", "down")];
        let all: Vec<&StateChange> = c.iter().collect();
        let grace = FLUSH_PERIOD.as_secs() * 2;
        assert_eq!(
            outages(&all, 0, 100_000)["claude"][0].0,
            (1000, 1060 + grace)
        );
        // Still going now.
        assert_eq!(outages(&all, 0, 1100)["claude"][0].0, (1000, 1100));
    }

    #[test]
    fn every_window_fits_80_columns() {
        let now = 1_796_387_400;
        let mut lines = Vec::new();
        for (i, name) in ["a-very-long-provider-name", "gpt", "local"]
            .iter()
            .enumerate()
        {
            for h in 0..24 * 40 {
                let mut counts = HourCounts::new(hour_of(now) - h * HOUR, name);
                counts.served = 1_000_000 + h;
                counts.accepted = h;
                counts.failovers = 123_456_789;
                counts.record_latency(50 + h * 10 * (i as u64 + 1));
                counts.failures.insert("rate_limited".into(), 77);
                lines.push(Line::Hour(counts));
            }
            lines.push(Line::Change(StateChange {
                at: now - 3 * 24 * HOUR,
                provider: name.to_string(),
                to: "down".into(),
                session: "s".into(),
                ..Default::default()
            }));
        }
        for span in [
            HOUR,
            24 * HOUR,
            7 * 24 * HOUR,
            30 * 24 * HOUR,
            35 * 24 * HOUR,
        ] {
            let text = render(&build(&lines, now, span));
            for line in text.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "{} columns: {line}",
                    line.chars().count()
                );
            }
        }
    }
}
