//! Time helpers over `k8s_openapi::jiff::Timestamp` (the type behind `metav1.Time`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
pub use k8s_openapi::jiff::Timestamp;

/// The current wall-clock time; drivers call this once per sync and hand it to the pure logic.
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// Wraps a timestamp as a `metav1.Time`.
pub fn time(t: Timestamp) -> Time {
    Time(t)
}

/// `t + secs` seconds, saturating at the representable range rather than failing.
pub fn plus_secs(t: Timestamp, secs: i64) -> Timestamp {
    plus_millis(t, secs.saturating_mul(1000))
}

/// `t + ms` milliseconds, saturating at the representable range.
pub fn plus_millis(t: Timestamp, ms: i64) -> Timestamp {
    let nanos = t.as_nanosecond().saturating_add(i128::from(ms) * 1_000_000);
    Timestamp::from_nanosecond(nanos).unwrap_or(if ms >= 0 {
        Timestamp::MAX
    } else {
        Timestamp::MIN
    })
}

/// `later - earlier` in nanoseconds (negative when `later` is before `earlier`).
pub fn nanos_between(later: Timestamp, earlier: Timestamp) -> i128 {
    later.as_nanosecond() - earlier.as_nanosecond()
}

/// `later - earlier` as a std duration, zero when `later` is not after `earlier`.
pub fn duration_until(later: Timestamp, earlier: Timestamp) -> std::time::Duration {
    let nanos = nanos_between(later, earlier);
    if nanos <= 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Unix seconds, handy for building test fixtures.
pub fn from_unix(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The current time truncated to whole seconds: `metav1.Time` is stored with second
/// precision, so conditions written with sub-second times would never compare equal to
/// what is read back.
pub fn now_seconds() -> Timestamp {
    let t = Timestamp::now();
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}
