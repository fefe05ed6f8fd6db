//! Mapping virtual time onto the wall-clock timestamps objects carry
//! (`creationTimestamp`, `lastHeartbeatTime`, a Lease's `renewTime`).
//!
//! A scenario has a fixed start instant (default 2025-01-01T00:00:00Z); virtual millisecond `t`
//! is that instant plus `t`. Nothing reads the host's clock.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::chrono::{DateTime, Duration, TimeZone, Utc};

use crate::sim::SimTime;

/// The wall-clock instant of virtual time zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epoch(pub DateTime<Utc>);

impl Default for Epoch {
    fn default() -> Self {
        Epoch(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().expect("valid date"))
    }
}

impl Epoch {
    /// Parses an RFC 3339 timestamp such as `2025-01-01T00:00:00Z`.
    pub fn parse(text: &str) -> Result<Epoch, String> {
        DateTime::parse_from_rfc3339(text).map(|t| Epoch(t.with_timezone(&Utc))).map_err(|e| {
            format!("invalid start time {text:?}: {e}; expected RFC 3339 like 2025-01-01T00:00:00Z")
        })
    }
    pub fn at(&self, t: SimTime) -> DateTime<Utc> {
        self.0 + Duration::milliseconds(t.as_millis() as i64)
    }
    /// A `metav1.Time` (second precision when serialized, as upstream).
    pub fn time(&self, t: SimTime) -> Time {
        Time(self.at(t))
    }
    pub fn micro_time(&self, t: SimTime) -> MicroTime {
        MicroTime(self.at(t))
    }
    /// Virtual time of a timestamp (0 for instants before the epoch).
    pub fn sim_time(&self, ts: &DateTime<Utc>) -> SimTime {
        SimTime((*ts - self.0).num_milliseconds().max(0) as u64)
    }
}
