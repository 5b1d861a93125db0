//! When the kubelet asks for a new service account token (upstream's token manager
//! `requiresRefresh`): once 80% of its life has passed, or after 24 hours, whichever
//! comes first. Pure: times are passed in. Entry point: [`refresh_after`].

use std::time::Duration;

/// A token older than this is renewed whatever its expiry (upstream's `maxTTL`).
pub const MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// How long after `now` a token expiring at `expires` (seconds since the epoch) after
/// a life of `ttl_seconds` should be replaced; zero when that time has come.
pub fn refresh_after(now: i64, expires: i64, ttl_seconds: i64) -> Duration {
    let issued = expires - ttl_seconds;
    let by_share = issued + ttl_seconds * 8 / 10;
    let by_age = issued + i64::try_from(MAX_AGE.as_secs()).unwrap_or(i64::MAX);
    let at = by_share.min(by_age);
    Duration::from_secs(u64::try_from(at - now).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_at_80_percent_of_its_life() {
        // Issued at 1000 for an hour: renewed at 1000 + 2880.
        assert_eq!(refresh_after(1000, 4600, 3600), Duration::from_secs(2880));
        assert_eq!(refresh_after(3880, 4600, 3600), Duration::ZERO);
        assert_eq!(refresh_after(4000, 4600, 3600), Duration::ZERO);
    }

    #[test]
    fn a_long_lived_token_is_renewed_after_a_day() {
        let year = 365 * 24 * 3600;
        assert_eq!(refresh_after(0, year, year), MAX_AGE);
    }
}
