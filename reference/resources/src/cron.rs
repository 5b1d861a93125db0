//! Cron schedules as upstream reads them: `robfig/cron/v3`'s `ParseStandard` (five
//! fields, month and weekday names, `*`/`?`, ranges, steps, the `@yearly` ... `@hourly`
//! and `@every <duration>` descriptors, a `TZ=`/`CRON_TZ=` prefix) with its error
//! messages, and its `Next` (the first matching whole minute after a time).
//!
//! Entry points: [`parse_standard`], [`Schedule::next`], [`load_zone`], [`local_zone`].
//! Zones come from the system's tz database (`/usr/share/zoneinfo`), as Go's
//! `time.LoadLocation` reads them; this is the only I/O in the crate.
//!
//! The search runs on wall-clock time in the zone, so across a DST change a skipped
//! time resolves to the later instant; robfig steps zoned time and can differ there.

use k8s_openapi::jiff::civil::{Date, DateTime};
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::{Timestamp, ToSpan};

/// Set on a field written `*` or `?` (the day-of-month/day-of-week rule looks at it).
const STAR: u64 = 1 << 63;

/// A parsed schedule.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// Field bit sets; `zone` is `None` when the spec names none (the caller's default).
    Spec {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        zone: Option<TimeZone>,
    },
    /// `@every <duration>`, in whole seconds (at least 1).
    Every(i64),
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// Loads a zone as Go's `time.LoadLocation` does: "" and "UTC" are UTC, anything else
/// is read from the tz database; the error is Go's `unknown time zone NAME`.
pub fn load_zone(name: &str) -> Result<TimeZone, String> {
    if name.is_empty() || name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    let unknown = || format!("unknown time zone {name}");
    let safe = !name.starts_with('/') && name.split('/').all(|p| p != ".." && !p.is_empty());
    if !safe {
        return Err(unknown());
    }
    let dir = std::env::var("ZONEINFO").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
    let bytes = std::fs::read(std::path::Path::new(&dir).join(name)).map_err(|_| unknown())?;
    TimeZone::tzif(name, &bytes).map_err(|_| unknown())
}

/// Go's `time.Local`: the zone named by `TZ`, else `/etc/localtime`, else UTC (what a
/// schedule without a zone runs in, upstream in the controller manager's zone).
pub fn local_zone() -> TimeZone {
    if let Ok(tz) = std::env::var("TZ") {
        return load_zone(tz.trim_start_matches(':')).unwrap_or(TimeZone::UTC);
    }
    std::fs::read("/etc/localtime")
        .ok()
        .and_then(|b| TimeZone::tzif("Local", &b).ok())
        .unwrap_or(TimeZone::UTC)
}

/// `cron.ParseStandard`.
pub fn parse_standard(spec: &str) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut spec = spec;
    let mut zone = None;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let eq = spec.find('=').unwrap_or(0);
        let end = spec.find(' ').unwrap_or(spec.len());
        let name = &spec[eq + 1..end];
        let z = load_zone(name).map_err(|e| format!("provided bad location {name}: {e}"))?;
        zone = Some(z);
        spec = spec[end..].trim();
    }
    if spec.starts_with('@') {
        return descriptor(spec, zone);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    Ok(Schedule::Spec {
        minute: field(fields[0], &MINUTES)?,
        hour: field(fields[1], &HOURS)?,
        dom: field(fields[2], &DOM)?,
        month: field(fields[3], &MONTHS)?,
        dow: field(fields[4], &DOW)?,
        zone,
    })
}

fn descriptor(d: &str, zone: Option<TimeZone>) -> Result<Schedule, String> {
    let all = |b: &Bounds| bits(b.min, b.max, 1) | STAR;
    let (minute, hour, dom, month, dow) = match d {
        "@yearly" | "@annually" => (1, 1, 1 << 1, 1 << 1, all(&DOW)),
        "@monthly" => (1, 1, 1 << 1, all(&MONTHS), all(&DOW)),
        "@weekly" => (1, 1, all(&DOM), all(&MONTHS), 1),
        "@daily" | "@midnight" => (1, 1, all(&DOM), all(&MONTHS), all(&DOW)),
        "@hourly" => (1, all(&HOURS), all(&DOM), all(&MONTHS), all(&DOW)),
        _ => {
            if let Some(rest) = d.strip_prefix("@every ") {
                let nanos =
                    go_duration(rest).map_err(|e| format!("failed to parse duration {d}: {e}"))?;
                let secs = i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX);
                return Ok(Schedule::Every(secs.max(1)));
            }
            return Err(format!("unrecognized descriptor: {d}"));
        }
    };
    Ok(Schedule::Spec {
        minute,
        hour,
        dom,
        month,
        dow,
        zone,
    })
}

fn bits(start: u32, end: u32, step: u32) -> u64 {
    (start..=end)
        .step_by(step.max(1) as usize)
        .fold(0, |acc, i| acc | (1 << i))
}

fn field(f: &str, b: &Bounds) -> Result<u64, String> {
    f.split(',')
        .filter(|e| !e.is_empty())
        .try_fold(0, |acc, e| Ok(acc | range(e, b)?))
}

fn range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end, mut extra);
    if low_high[0] == "*" || low_high[0] == "?" {
        (start, end, extra) = (b.min, b.max, STAR);
    } else {
        start = int_or_name(low_high[0], b)?;
        end = match low_high.len() {
            1 => start,
            2 => int_or_name(low_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        extra = 0;
    }
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if low_high.len() == 1 {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(bits(start, end, step) | extra)
}

fn int_or_name(e: &str, b: &Bounds) -> Result<u32, String> {
    let lower = e.to_ascii_lowercase();
    match b.names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v),
        None => must_int(e),
    }
}

/// `mustParseInt`, with Go's `strconv.Atoi` wording.
fn must_int(e: &str) -> Result<u32, String> {
    let n: i64 = match e.parse::<i64>() {
        Ok(n) if !e.starts_with('+') || e.len() > 1 => n,
        Ok(_) | Err(_) => {
            let why = if !e.is_empty()
                && e.trim_start_matches(['+', '-'])
                    .bytes()
                    .all(|c| c.is_ascii_digit())
                && e.len() > 1
            {
                "value out of range"
            } else {
                "invalid syntax"
            };
            return Err(format!(
                "failed to parse int from {e}: strconv.Atoi: parsing {e:?}: {why}"
            ));
        }
    };
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {e}"));
    }
    // Larger values fail the range checks, with the number in the message.
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Go's `time.ParseDuration`, in nanoseconds (for `@every`).
fn go_duration(s: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_len].parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        total += num * scale;
    }
    let n = total as i128;
    Ok(if neg { -n } else { n })
}

fn has(set: u64, i: i8) -> bool {
    i >= 0 && set & (1 << i) != 0
}

impl Schedule {
    /// The first activation strictly after `after` (robfig's `Next`), or `None` when
    /// nothing matches within five years (for example the 31st of February).
    pub fn next(&self, after: Timestamp, default_zone: &TimeZone) -> Option<Timestamp> {
        // Rounds up to the next whole second, as robfig does before searching.
        let sub = i64::from(after.subsec_nanosecond());
        let start = after
            .checked_add((1_000_000_000 - sub).nanoseconds())
            .ok()?;
        let (minute, hour, dom, month, dow, zone) = match self {
            Schedule::Every(secs) => return start.checked_add((*secs - 1).seconds()).ok(),
            Schedule::Spec {
                minute,
                hour,
                dom,
                month,
                dow,
                zone,
            } => (*minute, *hour, *dom, *month, *dow, zone.as_ref()),
        };
        let zone = zone.unwrap_or(default_zone);
        let mut t = zone.to_datetime(start);
        // Whole minutes only: the seconds field is always 0.
        if t.second() != 0 || t.subsec_nanosecond() != 0 {
            t = t.with().second(0).subsec_nanosecond(0).build().ok()?;
            t = t.checked_add(1.minute()).ok()?;
        }
        let limit = t.year() + 5;
        let day_ok = |d: DateTime| {
            let dom_match = has(dom, d.day());
            let dow_match = has(dow, d.weekday().to_sunday_zero_offset());
            if dom & STAR != 0 || dow & STAR != 0 {
                dom_match && dow_match
            } else {
                dom_match || dow_match
            }
        };
        'wrap: loop {
            if t.year() > limit {
                return None;
            }
            while !has(month, t.month()) {
                t = Date::new(t.year(), t.month(), 1)
                    .ok()?
                    .to_datetime(Default::default());
                t = t.checked_add(1.month()).ok()?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !day_ok(t) {
                t = t.date().to_datetime(Default::default());
                t = t.checked_add(1.day()).ok()?;
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while !has(hour, t.hour()) {
                t = t.with().minute(0).build().ok()?;
                t = t.checked_add(1.hour()).ok()?;
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while !has(minute, t.minute()) {
                t = t.checked_add(1.minute()).ok()?;
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            let at = zone.to_ambiguous_timestamp(t).compatible().ok()?;
            if at > after {
                return Some(at);
            }
            // A repeated wall-clock hour (DST ending) maps back before `after`.
            t = t.checked_add(1.minute()).ok()?;
        }
    }
}

#[cfg(test)]
mod tests;
