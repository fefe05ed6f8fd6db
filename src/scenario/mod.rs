//! Scenario files: real Kubernetes manifests, a timeline of actions and faults, expectations,
//! and component settings. See `scenarios/README.md` for the format.

pub mod driver;
pub mod expect;
pub mod load;
pub mod locate;
pub mod schema;

pub use load::{
    load, load_with_registry, parse, parse_with_registry, Action, Check, Expectation, Scenario,
    ScenarioError, Timing,
};
