//! When a CronJob should run (upstream `cronjob/utils.go`): the most recent unmet
//! schedule time since the last one (or creation), how many were missed, and when to
//! look again.
//!
//! Entry points: [`schedule_of`], [`most_recent_schedule_time`], [`next_schedule_time`],
//! [`requeue_after`].

use std::time::Duration;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::jiff::tz::TimeZone;
use refkube_resources::cron::{self, Schedule};

use crate::util::time::{Timestamp, duration_until, nanos_between, plus_millis, plus_secs};

/// Upstream's `nextScheduleDelta`: wake a little after the time, never just before.
const NEXT_SCHEDULE_DELTA_MS: i64 = 100;

/// How many schedule times were missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    None,
    Few,
    /// More than 100: `TooManyMissedTimes`.
    Many,
}

/// Why a schedule cannot be used (upstream's messages).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// `cron.ParseStandard` rejected it (its message).
    #[error("{0}")]
    Unparseable(String),
    /// It parses but two consecutive times are less than a second apart.
    #[error("time difference between two schedules is less than 1 second")]
    TooFrequent,
}

/// `formatSchedule` + `cron.ParseStandard`: a `timeZone` becomes a `TZ=` prefix unless
/// the schedule carries its own (then `Some(true)` asks for the UnsupportedSchedule
/// event).
pub fn schedule_of(cj: &CronJob) -> (Result<Schedule, ScheduleError>, bool) {
    let parse = |text: &str| cron::parse_standard(text).map_err(ScheduleError::Unparseable);
    let spec = cj.spec.clone().unwrap_or_default();
    if spec.schedule.contains("TZ") {
        return (parse(&spec.schedule), true);
    }
    let text = match &spec.time_zone {
        Some(z) if cron::load_zone(z).is_ok() => format!("TZ={z} {}", spec.schedule),
        _ => spec.schedule.clone(),
    };
    (parse(&text), false)
}

/// `mostRecentScheduleTime`: (the earliest time considered, the most recent schedule
/// time not after `now`, how many were missed). The error is upstream's for a schedule
/// that parses but never repeats sensibly.
pub fn most_recent_schedule_time(
    cj: &CronJob,
    now: Timestamp,
    sched: &Schedule,
    zone: &TimeZone,
    with_deadline: bool,
) -> Result<(Timestamp, Option<Timestamp>, Missed), (Timestamp, ScheduleError)> {
    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let status = cj.status.clone().unwrap_or_default();
    let mut earliest = status.last_schedule_time.map_or(created, |t| t.0);
    let deadline = cj.spec.as_ref().and_then(|s| s.starting_deadline_seconds);
    if with_deadline && let Some(d) = deadline {
        let limit = plus_secs(now, -d);
        if limit > earliest {
            earliest = limit;
        }
    }
    let next = |t: Timestamp| sched.next(t, zone);
    let Some(t1) = next(earliest) else {
        return Ok((earliest, None, Missed::None));
    };
    if now < t1 {
        return Ok((earliest, None, Missed::None));
    }
    let Some(t2) = next(t1) else {
        return Ok((earliest, Some(t1), Missed::None));
    };
    if now < t2 {
        return Ok((earliest, Some(t1), Missed::None));
    }
    // Rounded to the nearest second, as Go's Duration.Round(time.Second).
    let between = (nanos_between(t2, t1) + 500_000_000).div_euclid(1_000_000_000);
    let between = i64::try_from(between).unwrap_or(i64::MAX);
    if between < 1 {
        return Err((earliest, ScheduleError::TooFrequent));
    }
    let elapsed = i64::try_from(nanos_between(now, t1) / 1_000_000_000).unwrap_or(i64::MAX);
    let missed = elapsed / between + 1;
    // Jump near the end, then let the schedule walk the last stretch exactly.
    let start = plus_secs(t1, (missed - 2).saturating_mul(between));
    let mut most_recent = None;
    let mut t = next(start);
    while let Some(x) = t.filter(|x| *x <= now) {
        most_recent = Some(x);
        t = next(x);
    }
    let kind = match missed {
        m if m > 100 => Missed::Many,
        m if m > 1 => Missed::Few,
        _ => Missed::None,
    };
    Ok((earliest, most_recent, kind))
}

/// `nextScheduleTime`: the schedule time to run now, if any, and whether too many were
/// missed; the error is upstream's InvalidSchedule reason.
pub fn next_schedule_time(
    cj: &CronJob,
    now: Timestamp,
    sched: &Schedule,
    zone: &TimeZone,
) -> Result<(Option<Timestamp>, Missed), ScheduleError> {
    match most_recent_schedule_time(cj, now, sched, zone, true) {
        Ok((_, Some(t), missed)) if t <= now => Ok((Some(t), missed)),
        Ok(_) => Ok((None, Missed::None)),
        Err((_, e)) => Err(e),
    }
}

/// `nextScheduleTimeDuration`: how long until the next schedule time (plus 100 ms).
pub fn requeue_after(cj: &CronJob, now: Timestamp, sched: &Schedule, zone: &TimeZone) -> Duration {
    let from = match most_recent_schedule_time(cj, now, sched, zone, false) {
        Err(_) => now,
        Ok((_, Some(t), _)) => t,
        Ok((earliest, None, Missed::None)) => earliest,
        Ok((_, None, _)) => now,
    };
    match sched.next(from, zone) {
        Some(t) => duration_until(plus_millis(t, NEXT_SCHEDULE_DELTA_MS), now),
        // Nothing within five years: look again in a day.
        None => Duration::from_secs(24 * 60 * 60),
    }
}
