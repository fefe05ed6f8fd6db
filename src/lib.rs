//! kubesim: a deterministic discrete-event simulator of a Kubernetes cluster.

pub mod api;
pub mod apiserver;
pub mod sim;
pub mod store;
pub mod client;
pub mod node;
pub mod scheduler;
pub mod controllers;
pub mod invariants;
pub mod output;
pub mod scenario;
pub mod simulation;

pub use simulation::{Outcome, RunOptions, Simulation};
pub mod cli;
