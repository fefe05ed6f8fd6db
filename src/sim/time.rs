//! Integer virtual time.
//!
//! [`SimTime`] is an instant measured in milliseconds since the start of the simulation and
//! [`SimDuration`] a span in milliseconds. Both are plain `u64`s, so time never needs an epsilon
//! and every run is exact. Durations are written in scenario files the way Kubernetes flags and
//! `kubectl` accept them: `500ms`, `30s`, `5m`, `1h30m`, `2h`, combined freely (`1m30s500ms`).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant of virtual time, in milliseconds since the simulation started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of virtual time, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed since `earlier`, or zero when `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// `HH:MM:SS.mmm` since the start, as printed in the run timeline.
    pub fn clock(self) -> String {
        let ms = self.0;
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        format!("{h:02}:{m:02}:{s:02}.{milli:03}")
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms)
    }
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1000)
    }
    pub const fn from_mins(m: u64) -> Self {
        SimDuration(m * 60_000)
    }
    pub fn as_millis(self) -> u64 {
        self.0
    }
    pub fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Go's `time.Duration.String()` at millisecond precision, as kubelet messages print
    /// durations: `500ms`, `3s`, `1.5s`, `1m15s`, `1h0m0s`.
    pub fn go_string(self) -> String {
        let ms = self.0;
        if ms == 0 {
            return "0s".into();
        }
        if ms < 1000 {
            return format!("{ms}ms");
        }
        let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let secs = if frac == 0 {
            format!("{s}s")
        } else {
            format!("{s}.{}s", format!("{frac:03}").trim_end_matches('0'))
        };
        match (h, m) {
            (0, 0) => secs,
            (0, m) => format!("{m}m{secs}"),
            (h, m) => format!("{h}h{m}m{secs}"),
        }
    }

    /// Parses `500ms`, `30s`, `5m`, `1h30m`, `1d`, and fractions as Go's `time.ParseDuration`
    /// takes them (`1.5s`, `0.5m`), to the millisecond; units may be combined. A bare `0` is
    /// accepted; any other bare number is rejected because its unit is ambiguous.
    pub fn parse(text: &str) -> Result<SimDuration, DurationError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(DurationError(text.to_string()));
        }
        if s == "0" {
            return Ok(SimDuration::ZERO);
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(DurationError(text.to_string()));
            }
            let number: u64 = s[start..i].parse().map_err(|_| DurationError(text.to_string()))?;
            // A fraction: `.5` of the unit that follows.
            let mut fraction: Option<&str> = None;
            if i < bytes.len() && bytes[i] == b'.' {
                let f_start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if f_start == i {
                    return Err(DurationError(text.to_string()));
                }
                fraction = Some(&s[f_start..i]);
            }
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit_ms: u64 = match &s[unit_start..i] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(DurationError(text.to_string())),
            };
            let mut part = number.checked_mul(unit_ms).ok_or_else(|| DurationError(text.to_string()))?;
            if let Some(f) = fraction {
                // unit_ms × 0.f, truncated to the millisecond (kubesim's resolution).
                let digits = &f[..f.len().min(9)];
                let scale = 10u64.pow(digits.len() as u32);
                let value: u64 = digits.parse().map_err(|_| DurationError(text.to_string()))?;
                part += unit_ms * value / scale;
            }
            total = total.checked_add(part).ok_or_else(|| DurationError(text.to_string()))?;
        }
        Ok(SimDuration(total))
    }
}

/// A duration string that is not of the form `500ms`, `30s`, `5m`, `1h30m`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected a number with a unit (ms, s, m, h, d), e.g. 500ms, 30s, 5m, 1h30m")]
pub struct DurationError(pub String);

impl fmt::Display for SimDuration {
    /// Shortest exact form: `1h30m`, `45s`, `1m0s500ms` is printed `1m500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, ms) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if rest >= ms {
                write!(f, "{}{unit}", rest / ms)?;
                rest %= ms;
            }
        }
        Ok(())
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&SimDuration(self.0), f)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 500ms, 30s, 5m or 1h30m")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                SimDuration::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimDuration, E> {
                if v == 0 {
                    Ok(SimDuration::ZERO)
                } else {
                    Err(E::custom(format!(
                        "invalid duration {v}: a bare number has no unit; write {v}s or {v}ms"
                    )))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SimDuration, E> {
                self.visit_u64(u64::try_from(v).map_err(|_| E::custom("negative duration"))?)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_style_durations() {
        assert_eq!(SimDuration::parse("500ms").unwrap(), SimDuration(500));
        assert_eq!(SimDuration::parse("30s").unwrap(), SimDuration(30_000));
        assert_eq!(SimDuration::parse("5m").unwrap(), SimDuration(300_000));
        assert_eq!(SimDuration::parse("1h30m").unwrap(), SimDuration(5_400_000));
        assert_eq!(SimDuration::parse("1m30s500ms").unwrap(), SimDuration(90_500));
        assert_eq!(SimDuration::parse("0").unwrap(), SimDuration(0));
        // Fractions as Go's time.ParseDuration takes them, to the millisecond.
        assert_eq!(SimDuration::parse("1.5s").unwrap(), SimDuration(1_500));
        assert_eq!(SimDuration::parse("0.25m").unwrap(), SimDuration(15_000));
        assert_eq!(SimDuration::parse("1h0.5m").unwrap(), SimDuration(3_630_000));
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in ["", "5", "s", "1.s", "5x", "-3s", "1h 30m", "99999999999999999999h"] {
            assert!(SimDuration::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn prints_shortest_form_and_round_trips() {
        for text in ["1h30m", "45s", "1m500ms", "0s", "2h1s"] {
            let d = SimDuration::parse(text).unwrap();
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(SimTime(3_723_004).clock(), "01:02:03.004");
    }

    #[test]
    fn go_duration_strings() {
        for (ms, text) in [
            (0, "0s"),
            (500, "500ms"),
            (3000, "3s"),
            (1500, "1.5s"),
            (75_000, "1m15s"),
            (3_600_000, "1h0m0s"),
            (3_723_040, "1h2m3.04s"),
        ] {
            assert_eq!(SimDuration(ms).go_string(), text);
        }
    }
}
