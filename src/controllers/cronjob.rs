//! The CronJob controller (pkg/controller/cronjob/cronjob_controllerv2.go and utils.go), with
//! the cron schedule parser it relies on (github.com/robfig/cron/v3 `ParseStandard`).
//!
//! For each CronJob the controller finds the most recent unmet schedule time since
//! `status.lastScheduleTime` (or the CronJob's creation) and creates a Job named
//! `<cronjob>-<scheduled time in minutes since the Unix epoch>` from `spec.jobTemplate`, with a
//! controller ownerReference, the template's labels and annotations and the
//! `batch.kubernetes.io/cronjob-scheduled-timestamp` annotation (CronJobsScheduledAnnotation,
//! on by default since v1.32); then it sleeps until the next schedule time + 100ms.
//! `concurrencyPolicy: Forbid` skips a run while a Job is active (`JobAlreadyActive`), `Replace`
//! deletes the active Jobs first; a run later than `startingDeadlineSeconds` is missed
//! (`MissSchedule`) and more than 100 missed runs warn (`TooManyMissedTimes`). It keeps
//! `status.active`, `lastScheduleTime` and `lastSuccessfulTime` (`SawCompletedJob`,
//! `MissingJob`, `UnexpectedJob`) and deletes the oldest finished Jobs beyond
//! `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` (background propagation).
//!
//! Schedules: five fields (minute hour day-of-month month day-of-week) with `*`, `?`, lists,
//! ranges, steps (`N/step` means `N-max/step`), month and weekday names (`jan`, `mon`), and the
//! descriptors `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly` and
//! `@every <duration>`. When both day fields are restricted (neither is `*` or `?`; a stepped
//! `*/2` counts as restricted) a day matches if *either* matches, as in cron(8).
//!
//! Simplifications:
//! - UTC only: the calendar is the scenario's start instant (`api::time::Epoch`) plus virtual
//!   time, in UTC. A `spec.timeZone` (or `TZ=` prefix) other than UTC or one of its aliases is
//!   refused with an `UnknownTimeZone` event, as upstream does for a zone it cannot load.
//! - `@every` durations use kubesim's duration syntax (`90s`, `1h30m`), not Go's (`1.5h`).
//! - When it sees an unfinished Job missing from `status.active`, upstream re-reads the CronJob
//!   and continues with the fresh copy; kubesim re-reads it only to recognise its own Job.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::chrono::{
    DateTime, Datelike, Duration as ChronoDuration, NaiveDate, SecondsFormat, Timelike, Utc,
};

use super::job::{finished_condition, is_finished};
use super::workqueue::{key_of, ControllerQueue, ObjectKey};
use crate::api::pod as podutil;
use crate::api::time::Epoch;
use crate::api::{Kind, KindOf, Object};
use crate::apiserver::{ApiError, DeleteOptions, Propagation, Reporter, WatchEventType, WatchSpec};
use crate::client::{record_event, Informer};
use crate::sim::{Component, Context, Event, SimDuration, SimTime, Timer};

/// Requeue padding after the next schedule time (`nextScheduleDelta`).
pub const NEXT_SCHEDULE_DELTA: SimDuration = SimDuration::from_millis(100);
/// More missed schedule times than this only warn (`TooManyMissedTimes`).
pub const MAX_MISSED_SCHEDULES: i64 = 100;
/// The annotation with the scheduled time on each Job (`batchv1.CronJobScheduledTimestampAnnotation`).
pub const SCHEDULED_TIMESTAMP_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

// ------------------------------------------------------------------------------ schedules

/// Set in a field's bits when it was written `*` or `?` (robfig's `starBit`).
const STAR_BIT: u64 = 1 << 63;

/// A field's range and names (robfig's `bounds`).
struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DOM: Bounds = Bounds { min: 1, max: 31, names: &[] };
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
    names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)],
};

/// Time zone names that mean UTC (the only zone kubesim models). "" is what Go's
/// `time.LoadLocation` reads as UTC too.
const UTC_NAMES: &[&str] = &[
    "",
    "UTC",
    "Etc/UTC",
    "Etc/UCT",
    "UCT",
    "Etc/Universal",
    "Universal",
    "Etc/Zulu",
    "Zulu",
    "GMT",
    "Etc/GMT",
];

/// Whether kubesim can honour a time zone name.
pub fn is_utc(zone: &str) -> bool {
    UTC_NAMES.contains(&zone)
}

/// A cron schedule, as robfig/cron v3's standard parser reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Five fields, or a descriptor such as `@daily`.
    Spec(SpecSchedule),
    /// `@every <duration>`: a constant delay (whole seconds, at least one).
    Every(SimDuration),
}

/// The five fields as bit sets (bit n = value n), plus `STAR_BIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecSchedule {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

/// Bits `min..=max` every `step` (robfig's `getBits`).
fn bits(min: u32, max: u32, step: u32) -> u64 {
    if step == 1 {
        return !(u64::MAX << (max + 1)) & (u64::MAX << min);
    }
    (min..=max).step_by(step as usize).fold(0u64, |acc, i| acc | 1u64 << i)
}

/// Every value of a field, written `*`.
fn all(b: &Bounds) -> u64 {
    bits(b.min, b.max, 1) | STAR_BIT
}

/// Go's `strconv.Atoi` plus robfig's non-negative check (`mustParseInt`).
fn parse_int(expr: &str) -> Result<u32, String> {
    let n: i64 = expr.parse().map_err(|_| {
        format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax")
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    u32::try_from(n).map_err(|_| format!("failed to parse int from {expr}: value out of range"))
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_ascii_lowercase();
    match b.names.iter().find(|(name, _)| *name == lower) {
        Some((_, n)) => Ok(*n),
        None => parse_int(expr),
    }
}

/// One element of a list: `*`, `?`, `N`, `N-M`, each optionally `/step` (robfig's `getRange`).
fn get_range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end, mut extra) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (b.min, b.max, STAR_BIT)
    } else {
        let start = parse_int_or_name(low_and_high[0], b)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end, 0)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if single {
                end = b.max;
            }
            // A step other than 1 makes `*` a restriction (it no longer counts as a star).
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", b.min));
    }
    if end > b.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", b.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(bits(start, end, step) | extra)
}

/// A comma-separated field (robfig's `getField`).
fn get_field(field: &str, b: &Bounds) -> Result<u64, String> {
    field.split(',').filter(|r| !r.is_empty()).try_fold(0u64, |acc, r| get_range(r, b).map(|set| acc | set))
}

fn parse_descriptor(spec: &str) -> Result<Schedule, String> {
    let first_minute: u64 = 1 << MINUTES.min;
    let first_hour: u64 = 1 << HOURS.min;
    let first_day: u64 = 1 << DOM.min;
    let first_month: u64 = 1 << MONTHS.min;
    let s = match spec {
        "@yearly" | "@annually" => SpecSchedule {
            minute: first_minute,
            hour: first_hour,
            dom: first_day,
            month: first_month,
            dow: all(&DOW),
        },
        "@monthly" => SpecSchedule {
            minute: first_minute,
            hour: first_hour,
            dom: first_day,
            month: all(&MONTHS),
            dow: all(&DOW),
        },
        "@weekly" => SpecSchedule {
            minute: first_minute,
            hour: first_hour,
            dom: all(&DOM),
            month: all(&MONTHS),
            dow: 1 << DOW.min,
        },
        "@daily" | "@midnight" => SpecSchedule {
            minute: first_minute,
            hour: first_hour,
            dom: all(&DOM),
            month: all(&MONTHS),
            dow: all(&DOW),
        },
        "@hourly" => SpecSchedule {
            minute: first_minute,
            hour: all(&HOURS),
            dom: all(&DOM),
            month: all(&MONTHS),
            dow: all(&DOW),
        },
        _ => {
            let Some(text) = spec.strip_prefix("@every ") else {
                return Err(format!("unrecognized descriptor: {spec}"));
            };
            let d = SimDuration::parse(text).map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
            // robfig's Every: at least a second, whole seconds.
            let whole = SimDuration::from_secs(d.as_secs().max(1));
            return Ok(Schedule::Every(whole));
        }
    };
    Ok(Schedule::Spec(s))
}

impl Schedule {
    /// Parses a schedule as `cron.ParseStandard` does (the error texts are robfig's).
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        let mut spec = spec;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let (Some(eq), Some(space)) = (spec.find('='), spec.find(' ')) else {
                return Err(format!("provided bad location: no schedule after {spec:?}"));
            };
            let zone = &spec[eq + 1..space];
            if !is_utc(zone) {
                return Err(format!("provided bad location {zone}: unknown time zone {zone}"));
            }
            spec = spec[space..].trim();
        }
        if spec.starts_with('@') {
            return parse_descriptor(spec);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
        }
        Ok(Schedule::Spec(SpecSchedule {
            minute: get_field(fields[0], &MINUTES)?,
            hour: get_field(fields[1], &HOURS)?,
            dom: get_field(fields[2], &DOM)?,
            month: get_field(fields[3], &MONTHS)?,
            dow: get_field(fields[4], &DOW)?,
        }))
    }

    /// The first activation strictly after `t`, or `None` if there is none within five years
    /// (robfig's `Next`, which returns the zero time then).
    pub fn next(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(delay) => {
                let whole_second = DateTime::from_timestamp(t.timestamp(), 0)?;
                Some(whole_second + ChronoDuration::milliseconds(delay.as_millis() as i64))
            }
            Schedule::Spec(s) => s.next(t),
        }
    }
}

impl SpecSchedule {
    fn next(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // The earliest candidate: the next whole minute (the seconds field is always 0).
        let mut t = DateTime::from_timestamp((t.timestamp().div_euclid(60) + 1) * 60, 0)?;
        let year_limit = t.year() + 5;
        while t.year() <= year_limit {
            if self.month & (1u64 << t.month()) == 0 {
                let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
                t = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?.and_utc();
            } else if !self.day_matches(&t) {
                t = t.date_naive().succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc();
            } else if self.hour & (1u64 << t.hour()) == 0 {
                t = t - ChronoDuration::minutes(i64::from(t.minute())) + ChronoDuration::hours(1);
            } else if self.minute & (1u64 << t.minute()) == 0 {
                t += ChronoDuration::minutes(1);
            } else {
                return Some(t);
            }
        }
        None
    }

    /// robfig's `dayMatches`: with a `*` in either day field both must match, otherwise
    /// either one.
    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.dom & (1u64 << t.day()) != 0;
        let dow = self.dow & (1u64 << t.weekday().num_days_from_sunday()) != 0;
        if self.dom & STAR_BIT != 0 || self.dow & STAR_BIT != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }
}

/// How many schedule times were missed (`missedSchedulesType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missed {
    Zero,
    Few,
    Many,
}

/// (earliest time considered, most recent schedule time not after now, missed runs).
pub type ScheduleWindow = (DateTime<Utc>, Option<DateTime<Utc>>, Missed);

const SCHEDULE_GAP_ERROR: &str = "time difference between two schedules is less than 1 second";

/// `mostRecentScheduleTime`: the earliest time considered (last schedule time or creation,
/// moved up to `now − startingDeadlineSeconds` when a deadline is given), the most recent
/// schedule time not after `now` (if any), and how many were missed.
pub fn most_recent_schedule_time(
    created: DateTime<Utc>,
    last_scheduled: Option<DateTime<Utc>>,
    starting_deadline_seconds: Option<i64>,
    now: DateTime<Utc>,
    schedule: &Schedule,
) -> Result<ScheduleWindow, String> {
    let mut earliest = last_scheduled.unwrap_or(created);
    if let Some(seconds) = starting_deadline_seconds {
        // Nothing before this point will be scheduled.
        let deadline = now - ChronoDuration::seconds(seconds);
        if deadline > earliest {
            earliest = deadline;
        }
    }
    let Some(t1) = schedule.next(earliest) else {
        return Err(SCHEDULE_GAP_ERROR.into());
    };
    if now < t1 {
        return Ok((earliest, None, Missed::Zero));
    }
    let Some(t2) = schedule.next(t1) else {
        return Err(SCHEDULE_GAP_ERROR.into());
    };
    if now < t2 {
        return Ok((earliest, Some(t1), Missed::Zero));
    }
    // Upstream estimates the number of missed times from the first gap, then walks from just
    // before the estimate to find the most recent one exactly.
    let between = (t2 - t1).num_seconds();
    if between < 1 {
        return Err(SCHEDULE_GAP_ERROR.into());
    }
    let elapsed = (now - t1).num_seconds();
    let missed_count = elapsed / between + 1;
    let potential_earliest = t1 + ChronoDuration::seconds((missed_count - 2) * between);
    let mut most_recent = None;
    let mut cursor = schedule.next(potential_earliest);
    while let Some(t) = cursor.filter(|t| *t <= now) {
        most_recent = Some(t);
        cursor = schedule.next(t);
    }
    let missed = if missed_count > MAX_MISSED_SCHEDULES {
        Missed::Many
    } else if missed_count > 0 {
        Missed::Few
    } else {
        Missed::Zero
    };
    Ok((earliest, most_recent, missed))
}

/// `nextScheduleTimeDuration` as an instant: the schedule time after the most recent one (or
/// after the last schedule time / creation), plus 100ms.
pub fn next_schedule_requeue(
    created: DateTime<Utc>,
    last_scheduled: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    schedule: &Schedule,
) -> Option<DateTime<Utc>> {
    let base = match most_recent_schedule_time(created, last_scheduled, None, now, schedule) {
        Err(_) => now,
        Ok((earliest, None, Missed::Zero)) => earliest,
        Ok((_, None, _)) => now,
        Ok((_, Some(t), _)) => t,
    };
    Some(schedule.next(base)? + ChronoDuration::milliseconds(NEXT_SCHEDULE_DELTA.as_millis() as i64))
}

/// `getJobName`: `<cronjob>-<scheduled time in minutes since the Unix epoch>`.
pub fn job_name(cronjob: &str, scheduled: DateTime<Utc>) -> String {
    format!("{cronjob}-{}", scheduled.timestamp() / 60)
}

// ------------------------------------------------------------------------------ controller

fn reporter() -> Reporter<'static> {
    Reporter { component: "cronjob-controller", host: None }
}

fn active_refs(cj: &CronJob) -> &[ObjectReference] {
    cj.status.as_ref().and_then(|s| s.active.as_deref()).unwrap_or(&[])
}

fn in_active_list(cj: &CronJob, uid: &str) -> bool {
    active_refs(cj).iter().any(|r| r.uid.as_deref() == Some(uid))
}

fn delete_from_active_list(cj: &mut CronJob, uid: &str) {
    if let Some(status) = cj.status.as_mut() {
        if let Some(active) = status.active.as_mut() {
            active.retain(|r| r.uid.as_deref() != Some(uid));
            if active.is_empty() {
                status.active = None;
            }
        }
    }
}

/// `IsJobSucceeded`: a `Complete=True` condition.
fn is_succeeded(job: &Job) -> bool {
    finished_condition(job).is_some_and(|c| c.type_ == "Complete")
}

/// `formatSchedule`: the schedule, with `TZ=<zone>` in front when `spec.timeZone` is set and
/// known; and whether the schedule itself carries a `TZ`/`CRON_TZ` prefix (unsupported).
fn format_schedule(cj: &CronJob) -> (String, bool) {
    let spec = cj.spec.clone().unwrap_or_default();
    if spec.schedule.contains("TZ") {
        return (spec.schedule, true);
    }
    match spec.time_zone.as_deref() {
        Some(zone) if is_utc(zone) => (format!("TZ={zone} {}", spec.schedule), false),
        _ => (spec.schedule, false),
    }
}

fn object_ref(job: &Object) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: Some(job.name().to_string()),
        namespace: job.namespace().map(Into::into),
        uid: job.meta().uid.clone(),
        resource_version: job.meta().resource_version.clone(),
        ..Default::default()
    }
}

/// `getJobFromTemplate2`: the Job for one scheduled time.
pub fn job_from_template(cj: &CronJob, scheduled: DateTime<Utc>) -> Job {
    let template = cj.spec.as_ref().map(|s| s.job_template.clone()).unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    annotations
        .insert(SCHEDULED_TIMESTAMP_ANNOTATION.into(), scheduled.to_rfc3339_opts(SecondsFormat::Secs, true));
    let name = cj.metadata.name.clone().unwrap_or_default();
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(&name, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: tmeta.labels.filter(|l| !l.is_empty()),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "CronJob".into(),
                name,
                uid: cj.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// What one `syncCronJob` decided.
#[derive(Clone, Copy, Debug, Default)]
struct SyncOutcome {
    /// Sync again then.
    requeue_at: Option<SimTime>,
    update_status: bool,
    /// A request failed: retry with back-off.
    failed: bool,
}

/// The controller component.
#[derive(Default)]
pub struct CronJobController {
    cronjobs: Option<Informer>,
    jobs: Option<Informer>,
    queue: ControllerQueue,
}

impl CronJobController {
    pub fn new() -> Self {
        Self::default()
    }

    /// `resolveControllerRef`: the CronJob (by name and UID) controlling a Job.
    fn cronjob_of(&self, job: &Object) -> Option<ObjectKey> {
        let owner = podutil::controller_of(job.meta())?;
        if owner.kind != "CronJob" {
            return None;
        }
        let namespace = job.namespace().unwrap_or("");
        let cj = self.cronjobs.as_ref()?.get(namespace, &owner.name)?;
        (cj.uid() == owner.uid).then(|| (namespace.to_string(), owner.name.clone()))
    }

    fn on_job(&mut self, obj: &Arc<Object>, old: Option<&Arc<Object>>) {
        let current = self.cronjob_of(obj);
        if let Some(previous) = old.and_then(|o| self.cronjob_of(o)) {
            if current.as_ref() != Some(&previous) {
                self.queue.add(previous);
            }
        }
        if let Some(key) = current {
            self.queue.add(key);
        }
    }

    /// `updateCronJob`: a new schedule or time zone requeues for the next schedule time;
    /// anything else syncs now.
    fn on_cronjob(
        &mut self,
        ctx: &mut Context<'_>,
        kind: WatchEventType,
        obj: &Arc<Object>,
        old: Option<&Arc<Object>>,
    ) {
        let key = key_of(obj);
        let prev = old.and_then(|o| o.as_type::<CronJob>());
        if let (WatchEventType::Modified, Some(cur), Some(prev)) = (kind, obj.as_type::<CronJob>(), prev) {
            let timing = |c: &CronJob| c.spec.as_ref().map(|s| (s.schedule.clone(), s.time_zone.clone()));
            if timing(cur) != timing(prev) {
                match Schedule::parse(&format_schedule(cur).0) {
                    Err(_) => {
                        let schedule = cur.spec.as_ref().map(|s| s.schedule.clone()).unwrap_or_default();
                        let msg = format!("unparseable schedule for cronjob: {schedule}");
                        record_event(ctx, reporter(), obj, "Warning", "UnParseableCronJobSchedule", msg);
                    }
                    Ok(schedule) => {
                        let epoch = ctx.api.epoch();
                        if let Some(at) = Self::requeue_time(cur, ctx.now(), &schedule, epoch) {
                            self.queue.add_at(key, at);
                        }
                    }
                }
                return;
            }
        }
        self.queue.add(key);
    }

    fn requeue_time(cj: &CronJob, now: SimTime, schedule: &Schedule, epoch: Epoch) -> Option<SimTime> {
        let now_at = epoch.at(now);
        let created = cj.metadata.creation_timestamp.as_ref().map_or(now_at, |t| t.0);
        let last = cj.status.as_ref().and_then(|s| s.last_schedule_time.as_ref()).map(|t| t.0);
        next_schedule_requeue(created, last, now_at, schedule).map(|t| epoch.sim_time(&t))
    }

    fn sync(&mut self, ctx: &mut Context<'_>, key: ObjectKey) {
        let now = ctx.now();
        let Some(cj_obj) = self.cronjobs.as_ref().and_then(|c| c.get(&key.0, &key.1)).cloned() else {
            return;
        };
        // All updates go to one copy, written once at the end.
        let mut next = cj_obj.as_type::<CronJob>().expect("cronjob informer").clone();
        // getJobsToBeReconciled: every Job of the namespace whose controller has this name.
        let jobs: Vec<Job> = self
            .jobs
            .iter()
            .flat_map(|j| j.in_namespace(&key.0))
            .filter_map(|o| o.as_type::<Job>())
            .filter(|j| podutil::controller_of(&j.metadata).is_some_and(|r| r.name == key.1))
            .cloned()
            .collect();
        let cleaned = self.cleanup_finished_jobs(ctx, &cj_obj, &mut next, &jobs);
        let outcome = self.sync_cronjob(ctx, &cj_obj, &mut next, &jobs);
        if (cleaned || outcome.update_status) && ctx.api.update_status_as(next).is_err() {
            self.queue.add_rate_limited(key, now);
            return;
        }
        match outcome.requeue_at {
            Some(at) => {
                self.queue.forget(&key);
                self.queue.add_at(key, at);
            }
            None if outcome.failed => self.queue.add_rate_limited(key, now),
            None => {}
        }
    }

    /// `syncCronJob`: reconciles `status.active` with the Jobs, then starts the Job for the
    /// most recent unmet schedule time if the policies allow it.
    fn sync_cronjob(
        &mut self,
        ctx: &mut Context<'_>,
        cj_obj: &Object,
        cj: &mut CronJob,
        jobs: &[Job],
    ) -> SyncOutcome {
        let now = ctx.now();
        let epoch = ctx.api.epoch();
        let now_at = epoch.at(now);
        let namespace = cj.metadata.namespace.clone().unwrap_or_default();
        let cj_name = cj.metadata.name.clone().unwrap_or_default();
        let mut out = SyncOutcome::default();

        let children: BTreeSet<&str> = jobs.iter().filter_map(|j| j.metadata.uid.as_deref()).collect();
        for j in jobs {
            let uid = j.metadata.uid.clone().unwrap_or_default();
            let name = j.metadata.name.clone().unwrap_or_default();
            let found = in_active_list(cj, &uid);
            if !found && !is_finished(j) {
                // Our own status write may not be in the cache yet: ask the API server.
                match ctx.api.get_as::<CronJob>(Some(&namespace), &cj_name) {
                    Err(_) => {
                        out.failed = true;
                        return out;
                    }
                    Ok(fresh) if in_active_list(&fresh, &uid) => continue,
                    Ok(_) => {
                        let msg = format!("Saw a job that the controller did not create or forgot: {name}");
                        record_event(ctx, reporter(), cj_obj, "Warning", "UnexpectedJob", msg);
                    }
                }
            } else if found && is_finished(j) {
                let status = finished_condition(j).map(|c| c.type_.clone()).unwrap_or_default();
                delete_from_active_list(cj, &uid);
                let msg = format!("Saw completed job: {name}, status: {status}");
                record_event(ctx, reporter(), cj_obj, "Normal", "SawCompletedJob", msg);
                out.update_status = true;
            } else if is_succeeded(j) {
                // A Job leaving the active list above is only looked at here on the next sync,
                // as upstream (an else-if chain).
                if let Some(completed) = j.status.as_ref().and_then(|s| s.completion_time.as_ref()) {
                    let status = cj.status.get_or_insert_with(Default::default);
                    if status.last_successful_time.as_ref().is_none_or(|t| completed.0 > t.0) {
                        status.last_successful_time = Some(completed.clone());
                        out.update_status = true;
                    }
                }
            }
        }
        // Active references whose Job is gone (checked against the API server, not the cache).
        for r in active_refs(cj).to_vec() {
            let uid = r.uid.clone().unwrap_or_default();
            if children.contains(uid.as_str()) {
                continue;
            }
            let name = r.name.clone().unwrap_or_default();
            let ns = r.namespace.clone().unwrap_or_else(|| namespace.clone());
            match ctx.api.get(Kind::Job, Some(&ns), &name) {
                Err(e) if e.is_not_found() => {
                    let msg = format!("Active job went missing: {name}");
                    record_event(ctx, reporter(), cj_obj, "Normal", "MissingJob", msg);
                    delete_from_active_list(cj, &uid);
                    out.update_status = true;
                }
                Err(_) => {
                    out.failed = true;
                    return out;
                }
                Ok(_) => {}
            }
        }

        if cj.metadata.deletion_timestamp.is_some() {
            return out;
        }
        let spec = cj.spec.clone().unwrap_or_default();
        if let Some(zone) = spec.time_zone.as_deref().filter(|z| !is_utc(z)) {
            let msg =
                format!("invalid timeZone: {zone:?}: unknown time zone {zone} (kubesim models UTC only)");
            record_event(ctx, reporter(), cj_obj, "Warning", "UnknownTimeZone", msg);
            return out;
        }
        if spec.suspend == Some(true) {
            return out;
        }
        let (text, tz_prefix) = format_schedule(cj);
        if tz_prefix {
            let msg = format!(
                "CRON_TZ or TZ used in schedule {:?} is not officially supported, see \
                 https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
                spec.schedule
            );
            record_event(ctx, reporter(), cj_obj, "Warning", "UnsupportedSchedule", msg);
        }
        let schedule = match Schedule::parse(&text) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("unparseable schedule: {:?} : {e}", spec.schedule);
                record_event(ctx, reporter(), cj_obj, "Warning", "UnparseableSchedule", msg);
                return out;
            }
        };
        let created = cj.metadata.creation_timestamp.as_ref().map_or(now_at, |t| t.0);
        let last = cj.status.as_ref().and_then(|s| s.last_schedule_time.as_ref()).map(|t| t.0);
        let deadline = spec.starting_deadline_seconds;
        let scheduled = match most_recent_schedule_time(created, last, deadline, now_at, &schedule) {
            Err(e) => {
                let msg = format!("invalid schedule: {} : {e}", spec.schedule);
                record_event(ctx, reporter(), cj_obj, "Warning", "InvalidSchedule", msg);
                return out;
            }
            Ok((_, None, _)) => {
                out.requeue_at = Self::requeue_time(cj, now, &schedule, epoch);
                return out;
            }
            Ok((_, Some(t), missed)) => {
                if missed == Missed::Many {
                    let msg =
                        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or \
                               check clock skew"
                            .to_string();
                    record_event(ctx, reporter(), cj_obj, "Warning", "TooManyMissedTimes", msg);
                }
                t
            }
        };
        if deadline.is_some_and(|d| scheduled + ChronoDuration::seconds(d) < now_at) {
            let when = scheduled.format("%a, %d %b %Y %H:%M:%S %z");
            let msg = format!("Missed scheduled time to start a job: {when}");
            record_event(ctx, reporter(), cj_obj, "Warning", "MissSchedule", msg);
            out.requeue_at = Self::requeue_time(cj, now, &schedule, epoch);
            return out;
        }
        let name = job_name(&cj_name, scheduled);
        let started = active_refs(cj).iter().any(|r| {
            r.name.as_deref() == Some(name.as_str()) && r.namespace.as_deref() == Some(namespace.as_str())
        });
        if started || last == Some(scheduled) {
            // This schedule time was already processed.
            out.requeue_at = Self::requeue_time(cj, now, &schedule, epoch);
            return out;
        }
        let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
        if policy == "Forbid" && !active_refs(cj).is_empty() {
            let msg = "Not starting job because prior execution is running and concurrency policy is Forbid";
            record_event(ctx, reporter(), cj_obj, "Normal", "JobAlreadyActive", msg.to_string());
            out.requeue_at = Self::requeue_time(cj, now, &schedule, epoch);
            return out;
        }
        if policy == "Replace" {
            for r in active_refs(cj).to_vec() {
                let job_ns = r.namespace.clone().unwrap_or_else(|| namespace.clone());
                let active_name = r.name.clone().unwrap_or_default();
                let job = match ctx.api.get_as::<Job>(Some(&job_ns), &active_name) {
                    Ok(job) => job,
                    Err(e) => {
                        let msg = format!("Get job: {e}");
                        record_event(ctx, reporter(), cj_obj, "Warning", "FailedGet", msg);
                        out.failed = true;
                        return out;
                    }
                };
                if !Self::delete_job(ctx, cj_obj, cj, &job) {
                    out.failed = true;
                    return out;
                }
                out.update_status = true;
            }
        }
        let created_job = match ctx.api.create(job_from_template(cj, scheduled).into_object()) {
            Ok(job) => {
                let msg = format!("Created job {}", job.name());
                record_event(ctx, reporter(), cj_obj, "Normal", "SuccessfulCreate", msg);
                job
            }
            Err(ApiError::AlreadyExists { .. }) => {
                // Created before, but the status update that should have recorded it was lost:
                // record it now if it is ours and not yet in the active list.
                let Ok(existing) = ctx.api.get(Kind::Job, Some(&namespace), &name) else {
                    out.failed = true;
                    return out;
                };
                let ours = podutil::controller_of(existing.meta())
                    .is_some_and(|r| Some(&r.uid) == cj.metadata.uid.as_ref());
                if !ours || in_active_list(cj, existing.uid()) {
                    return out;
                }
                existing
            }
            Err(e) => {
                let msg = format!("Error creating job: {e}");
                record_event(ctx, reporter(), cj_obj, "Warning", "FailedCreate", msg);
                out.failed = true;
                return out;
            }
        };
        let status = cj.status.get_or_insert_with(Default::default);
        status.active.get_or_insert_with(Vec::new).push(object_ref(&created_job));
        status.last_schedule_time = Some(Time(scheduled));
        out.update_status = true;
        out.requeue_at = Self::requeue_time(cj, now, &schedule, epoch);
        out
    }

    /// `deleteJob`: deletes a Job (background propagation) and drops it from the active list.
    fn delete_job(ctx: &mut Context<'_>, cj_obj: &Object, cj: &mut CronJob, job: &Job) -> bool {
        let namespace = job.metadata.namespace.clone().unwrap_or_default();
        let name = job.metadata.name.clone().unwrap_or_default();
        // realJobControl.DeleteJob asks for background propagation explicitly (a Job's own
        // default is to orphan its pods).
        let opts = DeleteOptions { propagation: Some(Propagation::Background), ..Default::default() };
        match ctx.api.delete(Kind::Job, Some(&namespace), &name, opts) {
            Err(e) => {
                record_event(ctx, reporter(), cj_obj, "Warning", "FailedDelete", format!("Deleted job: {e}"));
                false
            }
            Ok(_) => {
                delete_from_active_list(cj, job.metadata.uid.as_deref().unwrap_or(""));
                let msg = format!("Deleted job {name}");
                record_event(ctx, reporter(), cj_obj, "Normal", "SuccessfulDelete", msg);
                true
            }
        }
    }

    /// `cleanupFinishedJobs`: deletes the oldest finished Jobs beyond the history limits.
    fn cleanup_finished_jobs(
        &mut self,
        ctx: &mut Context<'_>,
        cj_obj: &Object,
        cj: &mut CronJob,
        jobs: &[Job],
    ) -> bool {
        let spec = cj.spec.clone().unwrap_or_default();
        let mut successful: Vec<&Job> = Vec::new();
        let mut failed: Vec<&Job> = Vec::new();
        for job in jobs {
            match finished_condition(job).map(|c| c.type_.as_str()) {
                Some("Complete") => successful.push(job),
                Some("Failed") => failed.push(job),
                _ => {}
            }
        }
        let mut update = false;
        for (limit, finished) in
            [(spec.successful_jobs_history_limit, successful), (spec.failed_jobs_history_limit, failed)]
        {
            let Some(limit) = limit else {
                continue;
            };
            update |= Self::remove_oldest_jobs(ctx, cj_obj, cj, finished, limit);
        }
        update
    }

    /// `removeOldestJobs`: oldest by `status.startTime` (Jobs without one last), then name.
    fn remove_oldest_jobs(
        ctx: &mut Context<'_>,
        cj_obj: &Object,
        cj: &mut CronJob,
        mut jobs: Vec<&Job>,
        limit: i32,
    ) -> bool {
        let surplus = jobs.len() as i64 - i64::from(limit);
        if surplus <= 0 {
            return false;
        }
        jobs.sort_by(|a, b| {
            let start = |j: &Job| j.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0);
            let (sa, sb) = (start(a), start(b));
            (sa.is_none(), sa, &a.metadata.name).cmp(&(sb.is_none(), sb, &b.metadata.name))
        });
        let mut update = false;
        for job in jobs.into_iter().take(surplus as usize) {
            update |= Self::delete_job(ctx, cj_obj, cj, job);
        }
        update
    }
}

impl Component for CronJobController {
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>) {
        match event {
            Event::Start => {
                self.cronjobs = Informer::start(ctx, WatchSpec::all(Kind::CronJob)).ok();
                self.jobs = Informer::start(ctx, WatchSpec::all(Kind::Job)).ok();
                self.queue.add_all(self.cronjobs.as_ref());
            }
            Event::Watch(ev) => {
                if self.cronjobs.as_ref().is_some_and(|c| c.owns(&ev)) {
                    let old = self.cronjobs.as_mut().expect("checked").apply(&ev);
                    self.on_cronjob(ctx, ev.kind, &ev.object, old.as_ref());
                } else if self.jobs.as_ref().is_some_and(|j| j.owns(&ev)) {
                    let old = self.jobs.as_mut().expect("checked").apply(&ev);
                    self.on_job(&ev.object, old.as_ref());
                }
            }
            Event::Timer(Timer::Reconcile) => {
                for key in self.queue.due(ctx.now()) {
                    self.sync(ctx, key);
                }
            }
            _ => {}
        }
        self.queue.arm(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid date")
    }

    fn next(spec: &str, from: DateTime<Utc>) -> DateTime<Utc> {
        Schedule::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}")).next(from).expect("a next time")
    }

    #[test]
    fn every_fifteen_minutes() {
        let s = "*/15 * * * *";
        assert_eq!(next(s, at(2025, 1, 1, 0, 0)), at(2025, 1, 1, 0, 15));
        assert_eq!(next(s, at(2025, 1, 1, 0, 14) + ChronoDuration::seconds(59)), at(2025, 1, 1, 0, 15));
        assert_eq!(next(s, at(2025, 1, 1, 0, 15)), at(2025, 1, 1, 0, 30));
        assert_eq!(next(s, at(2025, 1, 1, 23, 50)), at(2025, 1, 2, 0, 0));
    }

    #[test]
    fn weekdays_at_nine() {
        // 2025-01-01 is a Wednesday; 2025-01-03 a Friday.
        let s = "0 9 * * 1-5";
        assert_eq!(next(s, at(2025, 1, 1, 8, 59)), at(2025, 1, 1, 9, 0));
        assert_eq!(next(s, at(2025, 1, 3, 10, 0)), at(2025, 1, 6, 9, 0));
        assert_eq!(next("0 9 * * mon-fri", at(2025, 1, 3, 10, 0)), at(2025, 1, 6, 9, 0));
    }

    #[test]
    fn descriptors() {
        let from = at(2025, 1, 1, 0, 30);
        assert_eq!(next("@daily", at(2025, 1, 1, 0, 0)), at(2025, 1, 2, 0, 0));
        assert_eq!(next("@midnight", from), at(2025, 1, 2, 0, 0));
        assert_eq!(next("@hourly", from), at(2025, 1, 1, 1, 0));
        assert_eq!(next("@weekly", from), at(2025, 1, 5, 0, 0));
        assert_eq!(next("@monthly", from), at(2025, 2, 1, 0, 0));
        assert_eq!(next("@yearly", from), at(2026, 1, 1, 0, 0));
        assert_eq!(next("@annually", from), at(2026, 1, 1, 0, 0));
        let half_second = at(2025, 1, 1, 0, 0) + ChronoDuration::milliseconds(500);
        assert_eq!(next("@every 90s", half_second), at(2025, 1, 1, 0, 1) + ChronoDuration::seconds(30));
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_restricted() {
        // The 13th or any Friday.
        let s = "0 0 13 * 5";
        assert_eq!(next(s, at(2025, 1, 1, 0, 0)), at(2025, 1, 3, 0, 0));
        assert_eq!(next(s, at(2025, 1, 10, 0, 0)), at(2025, 1, 13, 0, 0));
        // A `*` in either field: both must match.
        assert_eq!(next("0 0 13 * *", at(2025, 1, 1, 0, 0)), at(2025, 1, 13, 0, 0));
        assert_eq!(next("0 0 * * 5", at(2025, 1, 4, 0, 0)), at(2025, 1, 10, 0, 0));
        assert_eq!(next("0 0 */1 * 1", at(2025, 1, 1, 0, 0)), at(2025, 1, 6, 0, 0));
        // `*/2` is a restriction: odd days or Mondays.
        assert_eq!(next("0 0 */2 * 1", at(2025, 1, 1, 0, 0)), at(2025, 1, 3, 0, 0));
    }

    #[test]
    fn lists_names_and_single_value_steps() {
        let s = "30 6 1,15 jan,JUL *";
        assert_eq!(next(s, at(2025, 1, 2, 0, 0)), at(2025, 1, 15, 6, 30));
        assert_eq!(next(s, at(2025, 1, 16, 0, 0)), at(2025, 7, 1, 6, 30));
        assert_eq!(next("0 12 * * sat,sun", at(2025, 1, 1, 0, 0)), at(2025, 1, 4, 12, 0));
        // "5/20" is "5-59/20": 5, 25, 45.
        assert_eq!(next("5/20 * * * *", at(2025, 1, 1, 0, 0)), at(2025, 1, 1, 0, 5));
        assert_eq!(next("5/20 * * * *", at(2025, 1, 1, 0, 45)), at(2025, 1, 1, 1, 5));
        assert_eq!(next("TZ=UTC 0 9 * * *", at(2025, 1, 1, 0, 0)), at(2025, 1, 1, 9, 0));
    }

    #[test]
    fn impossible_dates_have_no_next_time() {
        let s = Schedule::parse("0 0 30 2 *").expect("parses, as with robfig");
        assert_eq!(s.next(at(2025, 1, 1, 0, 0)), None);
        let leap = Schedule::parse("0 0 29 2 *").unwrap();
        assert_eq!(leap.next(at(2025, 1, 1, 0, 0)), Some(at(2028, 2, 29, 0, 0)));
    }

    #[test]
    fn rejects_bad_schedules() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "5-1 * * * *",
            "*/0 * * * *",
            "1-2-3 * * * *",
            "*/5/2 * * * *",
            "a * * * *",
            "-1 * * * *",
            "@fortnightly",
            "TZ=Europe/Paris 0 9 * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Schedule::parse("61 * * * *").unwrap_err(), "end of range (61) above maximum (59): 61");
    }

    #[test]
    fn most_recent_unmet_schedule_time() {
        let s = Schedule::parse("*/30 * * * *").unwrap();
        let created = at(2025, 1, 1, 0, 0);
        let r = most_recent_schedule_time(created, None, None, at(2025, 1, 1, 0, 20), &s).unwrap();
        assert_eq!(r, (created, None, Missed::Zero));
        let r = most_recent_schedule_time(created, None, None, at(2025, 1, 1, 0, 45), &s).unwrap();
        assert_eq!(r, (created, Some(at(2025, 1, 1, 0, 30)), Missed::Zero));
        let r = most_recent_schedule_time(created, None, None, at(2025, 1, 1, 2, 10), &s).unwrap();
        assert_eq!(r.1, Some(at(2025, 1, 1, 2, 0)));
        assert_eq!(r.2, Missed::Few);
        // With a 5-minute starting deadline, 02:00 is too old at 02:10.
        let last = Some(at(2025, 1, 1, 0, 30));
        let r = most_recent_schedule_time(created, last, Some(300), at(2025, 1, 1, 2, 10), &s).unwrap();
        assert_eq!(r.1, None);
        let every_minute = Schedule::parse("* * * * *").unwrap();
        let r = most_recent_schedule_time(created, None, None, at(2025, 1, 3, 0, 0), &every_minute).unwrap();
        assert_eq!(r.1, Some(at(2025, 1, 3, 0, 0)));
        assert_eq!(r.2, Missed::Many);
        let never = Schedule::parse("0 0 30 2 *").unwrap();
        assert!(most_recent_schedule_time(created, None, None, at(2025, 1, 3, 0, 0), &never).is_err());
    }

    #[test]
    fn requeue_is_the_next_schedule_time_plus_100ms() {
        let s = Schedule::parse("*/30 * * * *").unwrap();
        let created = at(2025, 1, 1, 0, 0);
        let padded = |t: DateTime<Utc>| Some(t + ChronoDuration::milliseconds(100));
        assert_eq!(next_schedule_requeue(created, None, created, &s), padded(at(2025, 1, 1, 0, 30)));
        let last = Some(at(2025, 1, 1, 0, 30));
        let now = at(2025, 1, 1, 0, 30) + ChronoDuration::milliseconds(100);
        assert_eq!(next_schedule_requeue(created, last, now, &s), padded(at(2025, 1, 1, 1, 0)));
    }

    #[test]
    fn jobs_are_named_after_the_scheduled_minute() {
        // 2025-01-01T00:30:00Z is 1735691400 seconds after the Unix epoch.
        assert_eq!(job_name("report", at(2025, 1, 1, 0, 30)), "report-28928190");
        let mut cj = CronJob::default();
        cj.metadata.name = Some("report".into());
        cj.metadata.namespace = Some("default".into());
        cj.metadata.uid = Some("uid-1".into());
        let job = job_from_template(&cj, at(2025, 1, 1, 0, 30));
        assert_eq!(job.metadata.name.as_deref(), Some("report-28928190"));
        let annotations = job.metadata.annotations.unwrap();
        assert_eq!(annotations[SCHEDULED_TIMESTAMP_ANNOTATION], "2025-01-01T00:30:00Z");
        let owner = &job.metadata.owner_references.unwrap()[0];
        let owner = (owner.kind.as_str(), owner.uid.as_str(), owner.controller);
        assert_eq!(owner, ("CronJob", "uid-1", Some(true)));
    }
}
