//! The discrete-event engine: integer virtual time, one totally ordered event queue,
//! components behind one trait, one RNG stream per component, and a running hash of every
//! delivered event.

pub mod hash;
pub mod lookup;
pub mod rng;
pub mod time;

pub use lookup::LookupMap;
pub use time::{SimDuration, SimTime};
pub mod engine;
pub mod event;

pub use engine::{Component, ComponentId, Context, Engine, TraceEntry};
pub use event::{Event, Fault, PodStep, ProbeKind, Timer};
