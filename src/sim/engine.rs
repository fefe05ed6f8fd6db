//! The event loop.
//!
//! # Ordering contract
//! Every event is scheduled for an instant and gets a sequence number from one global counter.
//! Events are delivered in `(time, seq)` order: by time, and at the same instant in the order
//! they were scheduled. Nothing else (hash-map order, wall clock, threads) influences the order,
//! so a scenario and a seed determine the whole run.
//!
//! ```text
//!   component A ──ctx.after(5s, Timer)──────────────┐
//!   component B ──ctx.api.update(..)──► kube-apiserver ──watch fan-out (+latency)──┐
//!                                                   ▼                              ▼
//!                                  queue: (time, seq) ──► engine.step() ──► component.handle()
//! ```
//!
//! Components never touch each other's memory: they talk through the API server (synchronous
//! requests that can fail, and watch events delivered later through the queue) and through
//! events addressed by [`ComponentId`]. Node agents also write the nodes' data-plane state
//! ([`Network`]: installed rule tables, listening pods), which carries the scenario's traffic.

use std::collections::{BTreeMap, VecDeque};

use super::event::Event;
use super::hash::Fingerprint;
use super::lookup::LookupMap;
use super::rng::{component_rng, SimRng};
use super::time::{SimDuration, SimTime};
use crate::apiserver::ApiServer;
use crate::network::Network;
use crate::scheduler::decisions::DecisionLog;

/// Index of a registered component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(pub usize);

/// A simulated process: a kubelet, the scheduler, a controller, the scenario driver.
pub trait Component {
    /// Handles one event. Everything the component may do goes through `ctx`.
    fn handle(&mut self, event: Event, ctx: &mut Context<'_>);
}

/// A line of the run's timeline: a Kubernetes Event as it was recorded, or a scenario action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    pub time: SimTime,
    /// Reporting component, as `kubectl get events` shows it (`default-scheduler`,
    /// `kubelet/worker-1`, `node-controller`, `scenario`).
    pub source: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub message: String,
}

/// What a component sees while handling an event.
pub struct Context<'a> {
    now: SimTime,
    me: ComponentId,
    /// This component's own random stream.
    pub rng: &'a mut SimRng,
    /// The kube-apiserver.
    pub api: &'a mut ApiServer,
    /// The nodes' data plane (kernel state written by kubelets and kube-proxies).
    pub net: &'a mut Network,
    /// The scheduler's recorded decisions (`run --decisions`, `kubesim explain`).
    pub decisions: &'a mut DecisionLog,
    queue: &'a mut Queue,
    trace: &'a mut Vec<TraceEntry>,
    names: &'a ComponentNames,
}

/// The registered components' names, by id and by name (a cluster registers two components
/// per node: a linear search made registering 5,000 nodes quadratic).
#[derive(Default)]
struct ComponentNames {
    by_id: Vec<String>,
    ids: LookupMap<String, ComponentId>,
}

impl ComponentNames {
    fn get(&self, name: &str) -> Option<ComponentId> {
        self.ids.get(name).copied()
    }
    fn name(&self, id: ComponentId) -> &str {
        &self.by_id[id.0]
    }
    /// Adds `name` as the next id; panics if it is taken (a wiring bug, not an input error).
    fn push(&mut self, name: String) -> ComponentId {
        let id = ComponentId(self.by_id.len());
        assert!(self.ids.insert(name.clone(), id).is_none(), "component {name} registered twice");
        self.by_id.push(name);
        id
    }
}

impl Context<'_> {
    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn me(&self) -> ComponentId {
        self.me
    }
    pub fn name(&self) -> &str {
        self.names.name(self.me)
    }
    /// Schedules an event for this component after `delay`.
    pub fn after(&mut self, delay: SimDuration, event: Event) {
        self.queue.push(self.now + delay, self.me, event);
    }
    /// Sends an event to another component after `delay`.
    pub fn send(&mut self, to: ComponentId, delay: SimDuration, event: Event) {
        self.queue.push(self.now + delay, to, event);
    }
    /// Finds a component by its registered name.
    pub fn lookup(&self, name: &str) -> Option<ComponentId> {
        self.names.get(name)
    }
    /// Appends a line to the run's timeline without creating an API object (scenario actions).
    pub fn trace(&mut self, entry: TraceEntry) {
        self.trace.push(entry);
    }
}

struct Scheduled {
    time: SimTime,
    seq: u64,
    to: ComponentId,
    event: Event,
}

/// The event queue, in `(time, seq)` order: one first-in-first-out bucket per pending
/// instant, the instants in an ordered map. Within an instant, events leave in the order they
/// were scheduled, which is `seq` order because `seq` counts every push.
///
/// Simulated clusters schedule in bursts at few instants (5,000 kubelets renewing their Leases
/// on the same 10-second beat, their watch events one latency later), so most pushes land in
/// an existing bucket and most pops are a `pop_front`, where a heap sifted every one of
/// thousands of pending events. Emptied buckets are kept for reuse, so a steady run does not
/// allocate here.
#[derive(Default)]
pub struct Queue {
    instants: BTreeMap<SimTime, VecDeque<(u64, ComponentId, Event)>>,
    spare: Vec<VecDeque<(u64, ComponentId, Event)>>,
    len: usize,
    seq: u64,
}

impl Queue {
    pub fn push(&mut self, time: SimTime, to: ComponentId, event: Event) {
        self.seq += 1;
        self.len += 1;
        let entry = (self.seq, to, event);
        if let Some(bucket) = self.instants.get_mut(&time) {
            bucket.push_back(entry);
            return;
        }
        let mut bucket = self.spare.pop().unwrap_or_default();
        bucket.push_back(entry);
        self.instants.insert(time, bucket);
    }
    fn pop(&mut self) -> Option<Scheduled> {
        let mut first = self.instants.first_entry()?;
        let time = *first.key();
        let (seq, to, event) = first.get_mut().pop_front().expect("buckets in the map are not empty");
        if first.get().is_empty() {
            self.spare.push(first.remove());
        }
        self.len -= 1;
        Some(Scheduled { time, seq, to, event })
    }
    pub fn peek_time(&self) -> Option<SimTime> {
        self.instants.first_key_value().map(|(time, _)| *time)
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One delivered event, as reported to observers after the component handled it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub time: SimTime,
    pub seq: u64,
    pub to: ComponentId,
    pub event: Event,
}

struct Slot {
    component: Box<dyn Component>,
    rng: SimRng,
}

/// The engine: clock, queue, components, API server, and the event-stream fingerprint.
pub struct Engine {
    now: SimTime,
    seed: u64,
    queue: Queue,
    slots: Vec<Slot>,
    names: ComponentNames,
    pub api: ApiServer,
    /// The nodes' data plane.
    pub net: Network,
    /// The scheduler's recorded decisions (off unless enabled).
    pub decisions: DecisionLog,
    trace: Vec<TraceEntry>,
    hash: Fingerprint,
    delivered: u64,
    /// When the last delivered event happened.
    last_event: Option<SimTime>,
    /// Delay between a write and its watch events reaching watchers.
    pub watch_latency: SimDuration,
}

impl Engine {
    pub fn new(seed: u64, api: ApiServer, watch_latency: SimDuration) -> Self {
        Engine {
            now: SimTime::ZERO,
            seed,
            queue: Queue::default(),
            slots: Vec::new(),
            names: ComponentNames::default(),
            api,
            net: Network::new(),
            decisions: DecisionLog::default(),
            trace: Vec::new(),
            hash: Fingerprint::new(),
            delivered: 0,
            last_event: None,
            watch_latency,
        }
    }

    /// Registers a component under a unique name; it receives [`Event::Start`] at time zero.
    pub fn register(&mut self, name: impl Into<String>, component: Box<dyn Component>) -> ComponentId {
        let name = name.into();
        let rng = component_rng(self.seed, &name);
        let id = self.names.push(name);
        debug_assert_eq!(id.0, self.slots.len());
        self.slots.push(Slot { component, rng });
        self.queue.push(self.now, id, Event::Start);
        id
    }

    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn events_delivered(&self) -> u64 {
        self.delivered
    }
    /// The running hash of every delivered event: `(time, seq, destination, payload)`.
    pub fn event_hash(&self) -> u64 {
        self.hash.finish()
    }
    pub fn next_event_time(&self) -> Option<SimTime> {
        self.queue.peek_time()
    }
    /// When the last delivered event happened, if any was.
    pub fn last_event_time(&self) -> Option<SimTime> {
        self.last_event
    }
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }
    pub fn component_name(&self, id: ComponentId) -> &str {
        self.names.name(id)
    }
    pub fn lookup(&self, name: &str) -> Option<ComponentId> {
        self.names.get(name)
    }
    /// Schedules an event from outside any component (tests, the interactive shell).
    pub fn schedule(&mut self, at: SimTime, to: ComponentId, event: Event) {
        self.queue.push(at.max(self.now), to, event);
    }
    /// Timeline lines recorded so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }
    /// Moves the clock forward without delivering anything (used to stop exactly at `until`).
    pub fn advance_clock(&mut self, to: SimTime) {
        self.now = self.now.max(to);
        self.api.set_now(self.now);
    }

    /// Delivers the next event, if any. Watch events the handler caused are queued with the
    /// watch latency.
    pub fn step(&mut self) -> Option<Delivered> {
        let Scheduled { time, seq, to, event } = self.queue.pop()?;
        self.now = time;
        self.delivered += 1;
        self.last_event = Some(time);
        self.hash.u64(time.as_millis());
        self.hash.u64(seq);
        self.hash.u64(to.0 as u64);
        event.fingerprint(&mut self.hash);
        self.api.set_now(time);
        self.api.set_caller(Some(to));
        let observed = event.clone();
        let slot = &mut self.slots[to.0];
        let mut ctx = Context {
            now: time,
            me: to,
            rng: &mut slot.rng,
            api: &mut self.api,
            net: &mut self.net,
            decisions: &mut self.decisions,
            queue: &mut self.queue,
            trace: &mut self.trace,
            names: &self.names,
        };
        slot.component.handle(event, &mut ctx);
        self.api.set_caller(None);
        self.flush_watch_deliveries();
        Some(Delivered { time, seq, to, event: observed })
    }

    /// Queues the watch events produced by API writes made outside a handler (scenario setup).
    pub fn flush_watch_deliveries(&mut self) {
        let at = self.now + self.watch_latency;
        for (to, ev) in self.api.drain_deliveries() {
            self.queue.push(at, to, Event::Watch(ev));
        }
    }
}
