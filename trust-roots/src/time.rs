//! The reference time: the instant at which expiry is evaluated, and why.
//!
//! This crate never reads the clock. The CLI reads it and passes "now" in;
//! reports always say which instant was used and why it was chosen.

use crate::error::{Error, Result};
use jiff::{SignedDuration, Timestamp};

/// The default `--max-age`: how old a snapshot's fetch time may be before
/// it is no longer accepted as the reference time.
pub const DEFAULT_MAX_AGE: SignedDuration = SignedDuration::from_hours(30 * 24);

/// An instant at which TUF expiry is evaluated, with the reason it was
/// chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReferenceTime {
    at: Timestamp,
    reason: TimeReason,
}

/// Why a [`ReferenceTime`] was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeReason {
    /// The local clock, as read by the caller.
    LocalClock,
    /// Given explicitly by the operator (`--at`).
    Operator,
    /// The time the snapshot was fetched (from its index.json), accepted
    /// because it was within `max_age` of the local clock and not after it.
    SnapshotFetchTime {
        /// The local clock when it was checked.
        local_clock: Timestamp,
        /// The allowed age.
        max_age: SignedDuration,
    },
}

impl ReferenceTime {
    /// The local clock's "now", read by the caller.
    pub fn local_clock(now: Timestamp) -> Self {
        Self {
            at: now,
            reason: TimeReason::LocalClock,
        }
    }

    /// An instant the operator chose (`--at`).
    pub fn operator(at: Timestamp) -> Self {
        Self {
            at,
            reason: TimeReason::Operator,
        }
    }

    /// A snapshot's fetch time, accepted only if it is not in the future of
    /// `local_clock` and not older than `max_age`.
    pub fn snapshot_fetch_time(
        fetched_at: Timestamp,
        local_clock: Timestamp,
        max_age: SignedDuration,
    ) -> Result<Self> {
        if fetched_at > local_clock {
            return Err(Error::FetchTimeInFuture {
                fetched_at,
                now: local_clock,
            });
        }
        if local_clock.duration_since(fetched_at) > max_age {
            return Err(Error::SnapshotTooOld {
                fetched_at,
                now: local_clock,
                max_age,
            });
        }
        Ok(Self {
            at: fetched_at,
            reason: TimeReason::SnapshotFetchTime {
                local_clock,
                max_age,
            },
        })
    }

    /// The instant.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// Why it was chosen.
    pub fn reason(&self) -> TimeReason {
        self.reason
    }

    /// Whether metadata expiring at `expires` is expired at this time.
    ///
    /// Expired means the reference time has reached the expiry: the TUF
    /// specification requires the expiry to be *higher* than the update
    /// start time, so an expiry equal to the reference time is expired
    /// (as in python-tuf; sigstore-tuf accepts that instant).
    pub fn has_reached(&self, expires: Timestamp) -> bool {
        self.at >= expires
    }
}

impl std::fmt::Display for ReferenceTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason {
            TimeReason::LocalClock => write!(f, "{} (local clock)", self.at),
            TimeReason::Operator => write!(f, "{} (given with --at)", self.at),
            TimeReason::SnapshotFetchTime {
                local_clock,
                max_age,
            } => write!(
                f,
                "{} (snapshot fetch time from index.json, {} before the local clock {}, \
                 within --max-age {})",
                self.at,
                human(local_clock.duration_since(self.at)),
                local_clock,
                human(max_age)
            ),
        }
    }
}

/// `93d 4h` style, for people.
pub(crate) fn human(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    let (days, hours, mins) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, h) => format!("{h}h{mins:02}m"),
        (d, h) => format!("{d}d{h}h"),
    }
}

/// Parse a `--max-age` value: a number with a unit `s`, `m`, `h`, `d` or
/// `w` (e.g. `30d`), or a friendly/ISO 8601 duration jiff understands.
pub fn parse_max_age(text: &str) -> Result<SignedDuration> {
    let t = text.trim();
    let unit_secs = |u: &str| match u {
        "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        "w" => Some(7 * 86_400),
        _ => None,
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let parsed = match (num.parse::<i64>(), unit_secs(unit)) {
        (Ok(n), Some(mult)) => n.checked_mul(mult).map(SignedDuration::from_secs),
        _ => t.parse::<SignedDuration>().ok(),
    };
    match parsed {
        Some(d) if d.is_positive() => Ok(d),
        _ => Err(Error::Usage(format!(
            "invalid duration {text:?}: use e.g. 30d, 72h or 2w"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn fetch_time_is_bounded_by_max_age_and_the_clock() {
        let now = ts("2026-11-23T00:00:00Z");
        let ok =
            ReferenceTime::snapshot_fetch_time(ts("2026-11-01T00:00:00Z"), now, DEFAULT_MAX_AGE)
                .unwrap();
        assert_eq!(ok.at(), ts("2026-11-01T00:00:00Z"));
        assert!(ok.to_string().contains("22d0h"), "{ok}");
        let old =
            ReferenceTime::snapshot_fetch_time(ts("2026-08-22T00:00:00Z"), now, DEFAULT_MAX_AGE);
        assert!(matches!(old, Err(Error::SnapshotTooOld { .. })));
        let future =
            ReferenceTime::snapshot_fetch_time(ts("2026-11-24T00:00:00Z"), now, DEFAULT_MAX_AGE);
        assert!(matches!(future, Err(Error::FetchTimeInFuture { .. })));
        // Exactly max_age old is still accepted.
        let edge =
            ReferenceTime::snapshot_fetch_time(ts("2026-10-24T00:00:00Z"), now, DEFAULT_MAX_AGE);
        assert!(edge.is_ok());
    }

    #[test]
    fn expiry_at_the_reference_instant_counts_as_expired() {
        let t = ReferenceTime::operator(ts("2026-08-28T19:25:56Z"));
        assert!(t.has_reached(ts("2026-08-28T19:25:56Z")));
        assert!(!t.has_reached(ts("2026-08-28T19:25:57Z")));
    }

    #[test]
    fn max_age_parses_units_and_refuses_nonsense() {
        assert_eq!(parse_max_age("30d").unwrap(), DEFAULT_MAX_AGE);
        assert_eq!(
            parse_max_age("72h").unwrap(),
            SignedDuration::from_hours(72)
        );
        assert_eq!(
            parse_max_age("2w").unwrap(),
            SignedDuration::from_hours(14 * 24)
        );
        for bad in ["", "0d", "-1d", "30x", "d", "99999999999999999999d"] {
            assert!(parse_max_age(bad).is_err(), "{bad}");
        }
    }
}
