//! Time as the files and outputs of the command line print it: RFC 3339 in UTC.

use hexvault::audit::Timestamp;

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by H. Hinnant's
/// `civil_from_days`; exact for every day a `u64` of nanoseconds reaches (to 2554).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 (719 468 days before 1970-01-01), so a year runs from
    // March to February and leap days fall at its end.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, 0..=146 096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

/// RFC 3339 in UTC with nanoseconds, e.g. `2026-11-30T04:37:26.123456789Z`.
pub fn rfc3339(timestamp: Timestamp) -> String {
    let nanos = timestamp.unix_nanos();
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        let at = |nanos: u64| rfc3339(Timestamp::from_unix_nanos(nanos));
        assert_eq!(at(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            at(1_796_013_446_123_456_789),
            "2026-11-30T04:37:26.123456789Z"
        );
        // Leap days: 2000 is a leap year (divisible by 400), 1900 is out of range, 2100 is not.
        assert_eq!(
            at(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(
            at(951_868_800_000_000_000),
            "2000-03-01T00:00:00.000000000Z"
        );
        assert_eq!(
            at(4_107_542_400_000_000_000),
            "2100-03-01T00:00:00.000000000Z"
        );
        assert_eq!(
            at(1_709_164_799_999_999_999),
            "2024-02-28T23:59:59.999999999Z"
        );
        assert_eq!(
            at(1_735_689_599_000_000_001),
            "2024-12-31T23:59:59.000000001Z"
        );
        // The last representable instant (u64 nanoseconds).
        assert_eq!(at(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }
}
